"""Per-user sending limits: the messages limits refuse MAIL FROM and the recipients limits refuse
RCPT with `450 4.7.1 Sending rate limit exceeded, try again later`; a new window starts from zero;
a user's own limits set with `mailadmin limit` apply at once; and two replicas on one database
share the counts (each adds its own in batches, about every sync interval, and reads the sum)."""
import time
import unittest

from e2e_base import RelayTestCase
from relay import RawSmtp, RelayServer, wait_until
from test_http import get

EXCEEDED = "450 4.7.1 Sending rate limit exceeded, try again later\r\n"
WINDOW = 6  # seconds: the short window of these tests ("hour_seconds")


def wait_for_window_start(length=WINDOW, margin=0.5):
    """Sleeps until a window of `length` seconds has just begun (windows start at multiples of
    their length in Unix time), so a test has the whole window minus margin to itself."""
    into = time.time() % length
    if into > margin:
        time.sleep(length - into + 0.05)


def refusals(relay, limit):
    _, _, body = get(relay.http_port, "/metrics")
    wanted = f'postern_sending_limit_refusals_total{{limit="{limit}"}} '
    return next(int(line[len(wanted):]) for line in body.splitlines() if line.startswith(wanted))


class SendingLimits(RelayTestCase):

    relay_config = {"sending_limits": {"messages_per_hour": 2, "recipients_per_hour": 3,
                                       "hour_seconds": WINDOW, "day_seconds": 3600,
                                       "sync_milliseconds": 200}}

    def setUp(self):
        self.user = f"limited{int(time.monotonic() * 1000) % 10**9}"
        self.password = "Limited-pw-31"
        self.address = f"{self.user}@example.com"
        self.admin.add_user(self.user, self.password)
        self.admin.grant_address(self.address, self.user)

    def session(self, relay=None):
        relay = relay or self.relay
        client = RawSmtp(relay.port)
        self.addCleanup(client.close)
        client.login(self.user, self.password, cafile=relay.cafile)
        return client

    def mail(self, client, recipients=1):
        """MAIL FROM and RCPTs, then RSET; the raw replies."""
        replies = [client.command(f"MAIL FROM:<{self.address}>").raw.decode()]
        if replies[0].startswith("250"):
            for i in range(recipients):
                replies.append(client.command(f"RCPT TO:<r{i}@example.net>").raw.decode())
        client.command("RSET")
        return replies

    def test_the_messages_limit_refuses_mail_from_until_the_window_passes(self):
        wait_for_window_start()
        client = self.session()
        before = refusals(self.relay, "messages")
        self.assertEqual(self.mail(client, 0), ["250 2.1.0 Ok\r\n"])
        self.assertEqual(self.mail(client, 0), ["250 2.1.0 Ok\r\n"])
        self.assertEqual(self.mail(client, 0), [EXCEEDED])
        self.assertEqual(refusals(self.relay, "messages"), before + 1)
        # Another session of the same user is over the limit too.
        self.assertEqual(self.mail(self.session(), 0), [EXCEEDED])
        wait_for_window_start(margin=0)
        self.assertEqual(self.mail(client, 0), ["250 2.1.0 Ok\r\n"])

    def test_the_recipients_limit_refuses_rcpt(self):
        wait_for_window_start()
        client = self.session()
        replies = self.mail(client, 4)
        self.assertEqual(replies, ["250 2.1.0 Ok\r\n"] + ["250 2.1.5 Ok\r\n"] * 3 + [EXCEEDED])
        self.assertEqual(self.mail(client, 1), ["250 2.1.0 Ok\r\n", EXCEEDED])

    def test_a_users_own_limit_set_by_mailadmin_applies_at_once(self):
        self.admin.ok("limit", self.user, "messages", "1/hour")
        wait_for_window_start()
        client = self.session()
        self.assertEqual(self.mail(client, 0), ["250 2.1.0 Ok\r\n"])
        self.assertEqual(self.mail(client, 0), [EXCEEDED])
        self.admin.ok("limit", self.user, "messages", "unlimited/hour")
        wait_until(lambda: self.mail(client, 0) == ["250 2.1.0 Ok\r\n"], timeout=1.0,
                   message="the user's own unlimited to apply")
        for _ in range(3):
            self.assertEqual(self.mail(client, 0), ["250 2.1.0 Ok\r\n"])
        self.admin.ok("limit", self.user, "default")
        wait_until(lambda: self.mail(client, 0) == [EXCEEDED], timeout=1.0,
                   message="the default limit to apply again")

    def test_two_replicas_share_the_counts(self):
        other = RelayServer(self.db, **self.relay_config)
        self.addCleanup(other.cleanup)
        self.addCleanup(other.stop)
        self.admin.ok("limit", self.user, "messages", "3/day")  # the long window: no boundary here
        self.admin.ok("limit", self.user, "messages", "unlimited/hour")
        a, b = self.session(), self.session(other)
        self.assertEqual(self.mail(a, 0), ["250 2.1.0 Ok\r\n"])
        self.assertEqual(self.mail(a, 0), ["250 2.1.0 Ok\r\n"])
        # A adds its counts within a sync interval (0.2 s) and B reads them at its next one.
        time.sleep(1.0)
        self.assertEqual(self.mail(b, 0), ["250 2.1.0 Ok\r\n"])
        self.assertEqual(self.mail(b, 0), [EXCEEDED])
        time.sleep(1.0)
        self.assertEqual(self.mail(a, 0), [EXCEEDED])


if __name__ == "__main__":
    unittest.main()
