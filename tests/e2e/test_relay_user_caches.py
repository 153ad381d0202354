"""What each replica remembers about a user, and how fast it forgets: a login with a remembered
password skips Argon2id, MAIL FROM uses grants held in memory, and a change made with mailadmin
on any replica's database reaches every replica at once through NOTIFY. Two postern processes on
one database: a session already logged in on one replica is refused at its next MAIL FROM within
a second of `mailadmin revoke` or `disable`. A replica that loses its listening connection keeps
nothing cached until it is back."""
import time
import unittest

import pgcluster
from e2e_base import RelayTestCase
from relay import RawSmtp, RelayServer, wait_until
from test_http import get


def counter(relay, cache, result):
    """postern_cache_lookups_total{cache, result} from the replica's /metrics."""
    _, _, body = get(relay.http_port, "/metrics")
    wanted = f'postern_cache_lookups_total{{cache="{cache}",result="{result}"}} '
    for line in body.splitlines():
        if line.startswith(wanted):
            return int(line[len(wanted):])
    raise AssertionError(f"no {wanted.strip()} in /metrics")


class CachesOnTwoReplicas(RelayTestCase):
    """`self.relay` is replica A; replica B runs on the same database."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.other = RelayServer(cls.db)

    @classmethod
    def tearDownClass(cls):
        try:
            cls.other.stop()
        finally:
            cls.other.cleanup()
            super().tearDownClass()

    def setUp(self):
        # A user of each test's own, so that revoking and disabling touch no other test.
        self.user = f"cache{int(time.monotonic() * 1000) % 10**9}"
        self.password = "Cache-pw-91c2"
        self.address = f"{self.user}@example.com"
        self.admin.add_user(self.user, self.password)
        self.admin.grant_address(self.address, self.user)

    def session(self, relay, password=None):
        client = RawSmtp(relay.port)
        self.addCleanup(client.close)
        client.login(self.user, password or self.password, cafile=relay.cafile)
        return client

    def mail_from(self, client):
        reply = client.command(f"MAIL FROM:<{self.address}>")
        if reply.code == 250:
            self.assertEqual(client.command("RSET").code, 250)
        return reply

    def refused_within(self, client, seconds):
        """MAIL FROM again and again until refused; the seconds it took."""
        start = time.monotonic()
        while time.monotonic() - start < 5:
            reply = self.mail_from(client)
            if reply.code != 250:
                self.assertEqual(reply.code, 553, reply)
                elapsed = time.monotonic() - start
                self.assertLess(elapsed, seconds)
                return elapsed
            time.sleep(0.01)
        self.fail("MAIL FROM still accepted 5 s after the change")

    def test_a_second_login_is_served_from_memory(self):
        before_hit = counter(self.relay, "credentials", "hit")
        before_miss = counter(self.relay, "credentials", "miss")
        self.session(self.relay).command("QUIT")
        self.session(self.relay).command("QUIT")
        self.assertEqual(counter(self.relay, "credentials", "miss"), before_miss + 1)
        self.assertEqual(counter(self.relay, "credentials", "hit"), before_hit + 1)

    def test_a_wrong_password_is_never_served_from_memory(self):
        self.session(self.relay).command("QUIT")
        client = RawSmtp(self.relay.port)
        self.addCleanup(client.close)
        client.reply()
        client.ehlo()
        client.starttls(self.relay.cafile)
        client.ehlo()
        self.assertEqual(client.auth_plain(self.user, self.password + "x").code, 535)

    def test_grants_are_served_from_memory_after_the_first_mail_from(self):
        client = self.session(self.relay)
        before = counter(self.relay, "grants", "hit")
        self.assertEqual(self.mail_from(client).code, 250)
        self.assertEqual(self.mail_from(client).code, 250)
        self.assertGreaterEqual(counter(self.relay, "grants", "hit"), before + 1)

    def test_revoke_reaches_a_session_on_the_other_replica_within_a_second(self):
        client = self.session(self.other)
        self.assertEqual(self.mail_from(client).code, 250)
        self.assertEqual(self.mail_from(client).code, 250)  # the grants are in B's memory now
        self.admin.ok("revoke", "address", self.address, "from", self.user)
        self.refused_within(client, 1.0)

    def test_disable_reaches_a_session_on_the_other_replica_within_a_second(self):
        client = self.session(self.other)
        self.assertEqual(self.mail_from(client).code, 250)
        self.assertEqual(self.mail_from(client).code, 250)
        self.admin.disable(self.user)
        self.refused_within(client, 1.0)
        # And its remembered login is gone: the same password is refused now.
        fresh = RawSmtp(self.other.port)
        self.addCleanup(fresh.close)
        fresh.reply()
        fresh.ehlo()
        fresh.starttls(self.other.cafile)
        fresh.ehlo()
        self.assertEqual(fresh.auth_plain(self.user, self.password).code, 535)

    def test_a_new_password_replaces_the_remembered_one_on_every_replica(self):
        for relay in (self.relay, self.other):
            self.session(relay).command("QUIT")
            self.session(relay).command("QUIT")  # remembered on both
        self.admin.ok("passwd", self.user, "--password-stdin", input="New-pw-4411\n")
        for relay in (self.relay, self.other):
            def old_refused():
                client = RawSmtp(relay.port)
                try:
                    client.reply()
                    client.ehlo()
                    client.starttls(relay.cafile)
                    client.ehlo()
                    return client.auth_plain(self.user, self.password).code == 535
                finally:
                    client.close()
            wait_until(old_refused, timeout=1.0, message="the old password refused")
            self.session(relay, password="New-pw-4411").command("QUIT")

    def test_a_replica_that_cannot_hear_postgresql_keeps_nothing(self):
        self.session(self.other).command("QUIT")
        self.session(self.other).command("QUIT")  # remembered
        # Cut B's listening connection (and every other LISTENing backend: A reconnects too).
        pgcluster.psql(self.db, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                "WHERE query LIKE 'LISTEN%' AND pid <> pg_backend_pid()")
        self.other.wait_for_log(r"notification_listener_lost", timeout=10)
        before = counter(self.other, "credentials", "miss")
        self.session(self.other).command("QUIT")
        self.assertEqual(counter(self.other, "credentials", "miss"), before + 1)
        self.other.wait_for_log(r"notification_listener_reconnected", timeout=10)


if __name__ == "__main__":
    unittest.main()
