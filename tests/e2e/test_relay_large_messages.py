"""Large messages: a 24 MiB message is accepted and queued byte for byte (it goes through the
spool file and into 256 KiB chunks), a header section over 256 KiB is refused with 552, a spool
directory that vanished defers a large message with 451, and one that does not exist stops the
start with a line naming the key."""
import json
import os
import re
import unittest

import pgcluster
from e2e_base import ALICE, RelayTestCase
from relay import Mailadmin, RelayServer, run_postern


def large_message(size):
    """A message of about `size` bytes: From alice, a Message-ID and a Date (so the relay adds
    only its Received field), then base64-like lines, some starting with a dot (dot-stuffed on
    the wire), and every byte value a 7-bit line may hold."""
    head = (b"From: alice@example.com\r\nTo: rcpt@example.net\r\nSubject: large\r\n"
            b"Message-ID: <large@client.test>\r\nDate: Mon, 1 Jun 2026 10:00:00 +0000\r\n\r\n")
    alphabet = bytes(range(0x21, 0x7f))
    lines = []
    total = len(head)
    n = 0
    while total < size:
        line = (b"." if n % 50 == 0 else b"") + alphabet[n % 31:] + alphabet[:n % 31] + b"\r\n"
        lines.append(line)
        total += len(line)
        n += 1
    return head + b"".join(lines)


class LargeMessages(RelayTestCase):
    relay_config = {"limits": {"max_message_size": 25 * 1024 * 1024, "data_timeout_seconds": 120}}

    def send(self, message):
        """Sends as alice; returns the DATA reply (code, text)."""
        client = self.smtp(ALICE)
        client.mail("alice@example.com")
        client.rcpt("rcpt@example.net")
        return client.data(message)

    def test_24_mib_message_is_accepted_and_queued_byte_exact(self):
        message = large_message(24 * 1024 * 1024)
        code, reply = self.send(message)
        self.assertEqual(code, 250, reply)
        queue_id = re.fullmatch(rb"2\.0\.0 Ok: queued as (\w+)", reply).group(1).decode()
        admin = Mailadmin(self.db)
        queued = admin.queued_message(queue_id)
        # What the relay queued: its Received field, then the client's message unchanged.
        self.assertTrue(queued.endswith(message), "the message was changed on its way in")
        received = queued[:-len(message)]
        self.assertTrue(received.startswith(b"Received: from client.test "), received)
        self.assertTrue(all(line.startswith(b"\t") for line in received.split(b"\r\n")[1:-1]), received)
        details = json.loads(admin.ok("queue", "show", queue_id, "--json"))["message"]
        self.assertEqual(details["size"], len(queued))
        self.assertEqual(os.listdir(self.relay.spool_dir), [])  # spool files never have a name

    def test_header_section_over_256_kib_is_refused_with_552(self):
        before = self.queue_snapshot()
        filler = b"".join(b"X-Filler-%d: %s\r\n" % (n, b"f" * 900) for n in range(300))
        code, reply = self.send(b"From: alice@example.com\r\n" + filler + b"\r\nbody\r\n")
        self.assertEqual((code, reply), (552, b"5.3.4 Message header too large"))
        self.assert_nothing_queued_since(before)


class SpoolDirectoryGoneAway(RelayTestCase):
    """The spool directory vanishes while the relay runs: a large message gets a 4xx, not a loss."""

    relay_config = {"limits": {"max_message_size": 25 * 1024 * 1024}}

    def test_large_message_is_deferred_with_451_and_the_session_goes_on(self):
        before = self.queue_snapshot()
        os.rmdir(self.relay.spool_dir)
        client = self.smtp(ALICE)
        client.mail("alice@example.com")
        client.rcpt("rcpt@example.net")
        self.assertEqual(client.data(large_message(2 * 1024 * 1024)),
                         (451, b"4.3.0 Temporary failure, try again later"))
        self.assert_nothing_queued_since(before)
        self.assertIn("event=spool_failed", self.relay.log_text())
        client.mail("alice@example.com")  # a small message stays in memory and is queued
        client.rcpt("rcpt@example.net")
        self.assertEqual(client.data(large_message(1000))[0], 250)


class SpoolDirectory(unittest.TestCase):

    def test_missing_spool_directory_stops_the_start_naming_the_key(self):
        db = pgcluster.fresh_database("e2e")
        Mailadmin(db).migrate()
        relay = RelayServer(db, start=False, queue={"spool_directory": "/nonexistent/postern-spool"})
        self.addCleanup(relay.cleanup)
        out = run_postern("--config", relay.config_path)
        self.assertEqual(out.returncode, 1)
        self.assertEqual(out.stderr, "postern: queue.spool_directory: cannot create a temporary file in "
                                     "/nonexistent/postern-spool: No such file or directory\n")


if __name__ == "__main__":
    unittest.main()
