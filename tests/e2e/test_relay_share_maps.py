"""RCPT and the share maps: a recipient with a share map is never accepted to go out in clear.
postern loads the maps from PostgreSQL, and a change made with mailadmin reaches it at once
(NOTIFY); a map that is not usable — fewer than two destinations, two on one upstream, an
upstream this relay does not have — is refused with 451 4.3.5 and its reason, found the way the grant check finds addresses (case, subaddress); a usable one is
accepted, to be delivered as shares."""
import unittest

from e2e_base import ALICE, ALICE_PW, RelayTestCase
from relay import RawSmtp, free_port, wait_until

MAPPED = "shared@proxy.example"


def upstream(name):
    """An upstream nothing listens on: these tests never let a message reach delivery."""
    return {"name": name, "kind": "smtp", "host": "127.0.0.1", "port": free_port(), "security": "none"}


class ShareMapsAtRcpt(RelayTestCase):

    relay_config = {"upstreams": [upstream("provider-a"), upstream("provider-b"), upstream("plain")],
                    "default_upstream": "plain"}

    def setUp(self):
        self.admin.run("del", "share", MAPPED)  # each test builds the map it needs
        self.client = RawSmtp(self.relay.port)
        self.addCleanup(self.client.close)
        self.client.login(ALICE, ALICE_PW, cafile=self.relay.cafile)
        self.assertEqual(self.client.command("MAIL FROM:<alice@example.com>").code, 250)

    def rcpt(self, address):
        reply = self.client.command(f"RCPT TO:<{address}>")
        return reply.raw.decode()

    def until_rcpt(self, address, expected):
        """The relay hears of a map change through NOTIFY: wait for it, briefly."""
        seen = []
        wait_until(lambda: (seen.append(self.rcpt(address)) or seen[-1]) == expected, timeout=10, interval=0.05,
                   message=f"RCPT {address} to get {expected!r} (last: {seen[-1:]!r})")

    def test_an_unmapped_recipient_is_accepted(self):
        self.assertEqual(self.rcpt("someone@example.net"), "250 2.1.5 Ok\r\n")

    def test_a_map_being_built_refuses_its_recipient_until_usable(self):
        self.admin.ok("add", "share", MAPPED)
        self.until_rcpt(MAPPED, "451 4.3.5 Recipient's share map is not usable: "
                                "no destinations yet, at least two are needed\r\n")
        self.admin.ok("share", MAPPED, "to", "shared@mail-a.example", "via", "provider-a")
        self.until_rcpt(MAPPED, "451 4.3.5 Recipient's share map is not usable: "
                                "only 1 destination, at least two are needed\r\n")
        # Found as the grant check finds addresses: case and subaddress do not escape the map.
        self.assertTrue(self.rcpt("Shared+news@Proxy.EXAMPLE").startswith("451 4.3.5 "))
        self.admin.ok("share", MAPPED, "to", "shared@mail-c.example", "via", "elsewhere")
        self.until_rcpt(MAPPED, "451 4.3.5 Recipient's share map is not usable: "
                                "destination 2 goes through upstream elsewhere, which the relay's "
                                "configuration does not name\r\n")
        self.admin.ok("unshare", MAPPED, "to", "shared@mail-c.example")
        self.admin.ok("share", MAPPED, "to", "shared@mail-b.example", "via", "provider-b")
        # Usable: accepted, to be delivered as shares (test_share_delivery).
        self.until_rcpt(MAPPED, "250 2.1.5 Ok\r\n")
        # Other recipients of the same transaction are not affected.
        self.assertEqual(self.rcpt("someone@example.net"), "250 2.1.5 Ok\r\n")
        self.admin.ok("del", "share", MAPPED)
        self.until_rcpt(MAPPED, "250 2.1.5 Ok\r\n")

    def test_refused_recipients_are_logged_with_the_reason(self):
        self.admin.ok("add", "share", MAPPED)
        self.until_rcpt(MAPPED, "451 4.3.5 Recipient's share map is not usable: "
                                "no destinations yet, at least two are needed\r\n")
        self.relay.wait_for_log(r"event=recipient_refused .*recipient=shared@proxy\.example")


if __name__ == "__main__":
    unittest.main()
