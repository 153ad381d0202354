"""Large messages through delivery, end to end: a 24 MiB message streams from the queue's chunks to
an SMTP upstream and to a maildir, each with Return-Path and Reply-To rewrites, and arrives byte
for byte as queued but for the rewritten header fields; a 24 MiB message whose upstream answers
550 after the data bounces with a DSN that carries the original's header section only.

Memory is not asserted here (bench/memory.sh measures it): these tests check the bytes.
"""
import os
import unittest
import uuid

from e2e_base import ALICE, BOB
from relay import Sink, wait_until
from test_delivery import DeliveryTestCase, maildir_files, subject_of, without_received
from test_delivery_failures import DsnChecks

SIZE = 24 * 1024 * 1024
REWRITE = {"return_path": "bounces@example.com", "reply_to": "support@example.com"}


def large_message(sender, size=SIZE):
    """About `size` bytes from `sender` with a unique Subject, a Reply-To and a Return-Path to be
    rewritten, then base64-like lines, every 50th starting with a dot (dot-stuffed on the wire),
    some looking like the fields the rewrites touch (the body must stream past unchanged)."""
    head = (f"From: {sender}\r\nTo: rcpt@example.net\r\nSubject: large {uuid.uuid4().hex}\r\n"
            f"Reply-To: <old-reply@example.org>\r\nMessage-ID: <{uuid.uuid4().hex}@client.test>\r\n"
            f"Return-Path: <old-return@example.org>\r\nDate: Mon, 1 Jun 2026 10:00:00 +0000\r\n\r\n").encode()
    alphabet = bytes(range(0x21, 0x7f))
    lines = []
    total = len(head)
    n = 0
    while total < size:
        if n % 997 == 0:
            line = b"Reply-To: in-the-body@example.org\r\n"
        else:
            line = (b"." if n % 50 == 0 else b"") + alphabet[n % 31:] + alphabet[:n % 31] + b"\r\n"
        lines.append(line)
        total += len(line)
        n += 1
    return head + b"".join(lines) + b"the end\r\n"


def rewritten(message):
    """What the rewrites make of the client's message (the relay's Received field aside)."""
    return (message.replace(b"Reply-To: <old-reply@example.org>\r\n", b"Reply-To: support@example.com\r\n", 1)
                   .replace(b"Return-Path: <old-return@example.org>\r\n", b"", 1))


def first_difference(a, b):
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            return i
    return min(len(a), len(b))


class LargeMessageDelivery(DeliveryTestCase, DsnChecks):
    """alice -> "rewriting" (sink A, rewrites); bob@example.com -> "local" (a maildir, rewrites);
    *@corp.example -> "refusing" (sink B: 550 after the data); everyone else, DSNs included ->
    "plain" (sink A)."""

    @classmethod
    def make_sinks(cls):
        return {"a": Sink(), "b": Sink(rules={"data": ["550 5.6.0 Message content refused"]})}

    @classmethod
    def configure(cls):
        cls.maildir = os.path.join(cls.work, "maildir")
        a, b = cls.sinks["a"], cls.sinks["b"]
        return {
            "limits": {"max_message_size": 25 * 1024 * 1024, "data_timeout_seconds": 300},
            "upstreams": [
                a.upstream("plain"),
                a.upstream("rewriting", rewrite=REWRITE, timeout_seconds=120),
                {"name": "local", "kind": "maildir", "path": cls.maildir, "rewrite": REWRITE},
                b.upstream("refusing", timeout_seconds=120),
            ],
            "routes": [
                {"sender": "alice@example.com", "upstream": "rewriting"},
                {"sender": "bob@example.com", "upstream": "local"},
                {"sender_domain": "corp.example", "upstream": "refusing"},
            ],
            "default_upstream": "plain",
        }

    def send_large(self, sender, user):
        data = large_message(sender)
        client = self.logged_in(user)
        client.timeout = 300
        client.sock.settimeout(300)
        return data, self.transaction(client, data, sender)

    def assert_same(self, got, expected):
        self.assertEqual(len(got), len(expected))
        self.assertTrue(got == expected,  # not assertEqual: no 24 MiB diff
                        f"first difference at byte {first_difference(got, expected)}")

    def test_24_mib_through_an_smtp_upstream_arrives_byte_exact_with_the_rewrites(self):
        data, queue_id = self.send_large("alice@example.com", ALICE)
        got = self.wait_for_subject(self.sinks["a"], subject_of(data), timeout=120)
        self.assertEqual((got["mail_from"], got["rcpt_tos"]), ("alice@example.com", ["rcpt@example.net"]))
        delivered = got["data"]
        # The rewrite's Return-Path first, then the relay's Received, then the client's message.
        prefix = b"Return-Path: <bounces@example.com>\r\n"
        self.assertTrue(delivered.startswith(prefix + b"Received: "), delivered[:120])
        self.assert_same(without_received(delivered[len(prefix):]), rewritten(data))
        self.wait_until_gone(queue_id, timeout=30)

    def test_24_mib_into_a_maildir_arrives_byte_exact_with_the_rewrites(self):
        before = set(maildir_files(self.maildir))
        data, queue_id = self.send_large("bob@example.com", BOB)
        self.wait_until_gone(queue_id, timeout=120)
        files = {n: d for n, d in maildir_files(self.maildir).items() if n not in before}
        self.assertEqual(len(files), 1)
        [delivered] = files.values()
        prefix = b"Return-Path: <bounces@example.com>\r\n"
        self.assertTrue(delivered.startswith(prefix + b"Received: "), delivered[:120])
        self.assert_same(without_received(delivered[len(prefix):]), rewritten(data))
        self.assertEqual(os.listdir(os.path.join(self.maildir, "tmp")), [])

    def test_24_mib_refused_with_550_bounces_with_the_original_headers_only(self):
        a = self.sinks["a"]
        data, queue_id = self.send_large("news@corp.example", BOB)
        subject = subject_of(data)
        dsns = wait_until(lambda: self.dsn_about(a, "news@corp.example", subject), 120, 0.05,
                          message="the DSN at the sink")
        self.assertEqual(len(dsns), 1)
        dsn = dsns[0]
        fields = self.assert_dsn(dsn, "news@corp.example",
                                 {"rcpt@example.net": ("5.6.0", "550 5.6.0 Message content refused")}, subject)
        self.assertEqual(fields["rfc822; rcpt@example.net"]["Diagnostic-Code"],
                         "smtp; 550 5.6.0 Message content refused")
        self.assertIn(f"X-Postern-Queue-ID: {queue_id}".encode(), dsn["data"])
        # The third part is the original's header section as queued (Received, then the client's
        # fields), and nothing of its body.
        headers_part = dsn["data"].split(b"Content-Description: Undelivered message headers\r\n\r\n", 1)[1]
        headers_part = headers_part[:headers_part.index(b"\r\n--postern-dsn-")]
        client_header = data.split(b"\r\n\r\n", 1)[0] + b"\r\n"
        self.assertTrue(headers_part.startswith(b"Received: from client.test "), headers_part[:80])
        self.assertEqual(without_received(headers_part), client_header)
        self.assertNotIn(b"in-the-body@example.org", dsn["data"])
        self.assertLess(len(dsn["data"]), 16 * 1024)
        self.assertRegex(self.relay.log_text(), rf"event=bounce_queued id=\S+ original={queue_id} ")
        self.wait_until_gone(queue_id, timeout=30)
        self.wait_until_queue_empty(timeout=30)  # the DSN was delivered and left too


if __name__ == "__main__":
    unittest.main()
