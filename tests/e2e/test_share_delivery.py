"""Secret sharing end to end: real postern, PostgreSQL, SMTP sinks standing for three providers
and a plain upstream, and postern-combine. A message to a mapped recipient and a plain one in
one transaction: the plain recipient gets the message; each provider gets one share that holds
nothing of it in clear; the shares combine to exactly the message the plain recipient got. With a
threshold any k combine and fewer do not; a provider that is down gets its share later, the same
share, and the others are not sent again; a provider that refuses makes a DSN naming the mapped
recipient and the destination."""
import base64
import email
import email.policy
import json
import os
import re
import subprocess
import tempfile
import unittest

from e2e_base import ALICE
from relay import BUILD_DIR, Sink, queued, wait_until
from test_delivery import DeliveryTestCase

COMBINE = os.path.join(BUILD_DIR, "combine", "postern-combine")
PROVIDERS = ("provider-a", "provider-b", "provider-c")
SHARED = "bob@proxy.example"
MAILBOXES = {p: f"bob@mail-{p[-1]}.example" for p in PROVIDERS}


def rich_message(subject, attachment_kib=64):
    """multipart/mixed: 8-bit UTF-8 text and a binary attachment (bytes of every value)."""
    attachment = bytes(range(256)) * (4 * attachment_kib)
    encoded = base64.encodebytes(attachment).replace(b"\n", b"\r\n")
    return (b"From: alice@example.com\r\nTo: bob@proxy.example, plain@example.net\r\n"
            b"Subject: " + subject.encode() + b"\r\n"
            b"Message-ID: <rich-" + subject.encode() + b"@client.example>\r\n"
            b"Date: Mon, 2 Jun 2025 10:00:00 +0200\r\nMIME-Version: 1.0\r\n"
            b"Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n"
            b"--b1\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
            + "Grüße aus Köln: the secret line nobody may read.\r\n".encode() +
            b"--b1\r\nContent-Type: application/octet-stream; name=\"blob.bin\"\r\n"
            b"Content-Transfer-Encoding: base64\r\n\r\n" + encoded + b"--b1--\r\n")


def wait_for_map(client, recipient):
    """Until the relay accepts `recipient` at RCPT (it hears of a map change through NOTIFY), in a
    transaction that is then reset: the client (smtplib, logged in) is ready to send."""
    wait_until(lambda: client.docmd("RSET")[0] == 250 and
               client.docmd("MAIL FROM:<alice@example.com>")[0] == 250 and
               client.docmd(f"RCPT TO:<{recipient}>")[0] == 250, timeout=10, interval=0.1,
               message=f"the relay to accept {recipient} as shares")
    client.docmd("RSET")


class ShareDelivery(DeliveryTestCase):

    @classmethod
    def make_sinks(cls):
        return {name: Sink() for name in (*PROVIDERS, "plain")}

    @classmethod
    def configure(cls):
        return {"upstreams": [cls.sinks[name].upstream(name) for name in (*PROVIDERS, "plain")],
                "default_upstream": "plain",
                "limits": {"max_message_size": 8 * 1024 * 1024},
                "delivery": {"first_retry_seconds": 1, "max_retry_seconds": 2}}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.admin.ok("add", "share", SHARED)
        for provider in PROVIDERS:
            cls.admin.ok("share", SHARED, "to", MAILBOXES[provider], "via", provider)

    def setUp(self):
        self.admin.ok("set", "share", SHARED, "threshold", "all")
        self.admin.ok("set", "share", SHARED, "format", "postern")
        for sink in self.sinks.values():
            sink.set_rules({})
        self.work = tempfile.mkdtemp(prefix="postern-shares-")

    def send(self, subject, recipients=(SHARED, "plain@example.net"), attachment_kib=64):
        client = self.smtp(ALICE)
        wait_for_map(client, SHARED)
        client.sendmail("alice@example.com", list(recipients), rich_message(subject, attachment_kib))
        client.quit()

    def combine(self, mails):
        folder = tempfile.mkdtemp(dir=self.work)
        inputs = []
        for i, data in enumerate(mails):
            path = os.path.join(folder, f"share{i}.eml")
            with open(path, "wb") as f:
                f.write(data)
            inputs.append(path)
        out = tempfile.mkdtemp(dir=self.work)
        run = subprocess.run([COMBINE, "--out", out, *inputs], capture_output=True, text=True, timeout=60)
        restored = []
        for name in sorted(os.listdir(out)):
            with open(os.path.join(out, name), "rb") as f:
                restored.append(f.read())
        return run, restored

    def plain_copy(self, subject):
        messages = wait_until(lambda: [m for m in self.sinks["plain"].messages()
                                       if f"Subject: {subject}".encode() in m["data"]],
                              timeout=20, interval=0.1, message="the plain recipient's copy")
        return messages[0]["data"]

    def share_mails(self, provider):
        return [m["data"] for m in self.sinks[provider].messages() if m["rcpt_tos"] == [MAILBOXES[provider]]]

    def wait_share_count(self, provider, count):
        wait_until(lambda: len(self.share_mails(provider)) >= count, timeout=20, interval=0.1,
                   message=f"{count} share mail(s) at {provider}")
        return self.share_mails(provider)

    # ---- tests ----

    def test_each_provider_gets_one_share_and_they_combine_to_the_message(self):
        before = {p: len(self.share_mails(p)) for p in PROVIDERS}
        self.send("shared-all", attachment_kib=5 * 1024)  # a 5 MiB binary part
        original = self.plain_copy("shared-all")
        shares = [self.wait_share_count(p, before[p] + 1)[-1] for p in PROVIDERS]
        for provider, share in zip(PROVIDERS, shares):
            self.assertIn(b"X-Postern-Share: v=1; scheme=xor;", share)
            self.assertRegex(share, rb"\r\nTo: " + re.escape(MAILBOXES[provider].encode()) + rb"\r\n")
            for secret in (b"shared-all", "Köln".encode(), b"secret line", bytes(range(64, 128)),
                           b"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4v"):
                self.assertNotIn(secret, share, provider)
        run, restored = self.combine(shares)
        self.assertEqual(run.returncode, 0, run.stderr)
        self.assertEqual(restored, [original])
        # Two of three XOR shares restore nothing.
        run, restored = self.combine(shares[:2])
        self.assertEqual((run.returncode, restored), (1, []), run.stderr)
        self.assertIn("incomplete", run.stderr)

    def test_with_a_threshold_any_two_of_three_combine(self):
        self.admin.ok("set", "share", SHARED, "threshold", "2")
        before = {p: len(self.share_mails(p)) for p in PROVIDERS}
        self.send("shared-two")
        original = self.plain_copy("shared-two")
        shares = [self.wait_share_count(p, before[p] + 1)[-1] for p in PROVIDERS]
        self.assertIn(b"scheme=shamir;", shares[0])
        for pair in ((0, 1), (0, 2), (1, 2)):
            run, restored = self.combine([shares[i] for i in pair])
            self.assertEqual(run.returncode, 0, run.stderr)
            self.assertEqual(restored, [original], pair)
        run, restored = self.combine(shares[:1])
        self.assertEqual((run.returncode, restored), (1, []), run.stderr)

    def test_a_provider_down_gets_the_same_share_later_and_the_others_are_not_sent_again(self):
        down = self.sinks["provider-c"]
        down.stop()
        self.addCleanup(lambda: down.running() or down.start())
        before = {p: len(self.share_mails(p)) for p in PROVIDERS}
        self.send("shared-later")
        original = self.plain_copy("shared-later")
        first = [self.wait_share_count(p, before[p] + 1)[-1] for p in PROVIDERS[:2]]
        # mailadmin shows each share's destination and state.
        pending = [m for m in queued(self.db) if m["sender"] == "alice@example.com"]
        self.assertEqual(len(pending), 1)
        shown = json.loads(self.admin.ok("queue", "show", pending[0]["id"], "--json"))
        shared = next(r for r in shown["message"]["recipients"] if r["address"] == SHARED)
        wait_until(lambda: [s["status"] for s in json.loads(self.admin.ok(
            "queue", "show", pending[0]["id"], "--json"))["message"]["recipients"][0]["shares"]]
            == ["delivered", "delivered", "pending"], timeout=20, interval=0.2,
            message="shares 1 and 2 recorded as delivered")
        self.assertEqual([(s["index"], s["mailbox"], s["upstream"]) for s in shared["shares"]],
                         [(i + 1, MAILBOXES[p], p) for i, p in enumerate(PROVIDERS)])
        down.start()
        late = self.wait_share_count("provider-c", before["provider-c"] + 1)[-1]
        run, restored = self.combine([*first, late])
        self.assertEqual(run.returncode, 0, run.stderr)
        self.assertEqual(restored, [original])
        # Delivered once each: the retry sent provider-c's share only.
        wait_until(lambda: not [m for m in queued(self.db) if m["sender"] == "alice@example.com"], timeout=20,
                   interval=0.2, message="the message to leave the queue")
        for provider in PROVIDERS[:2]:
            self.assertEqual(len(self.share_mails(provider)), before[provider] + 1, provider)

    def test_killed_between_two_shares_the_restarted_postern_sends_the_same_draw(self):
        """SIGKILL while the second share's provider holds its DATA: after the restart the shares
        still to go are drawn as before, so they combine with the one delivered before the kill."""
        self.sinks["provider-b"].set_rules({"data_delay_seconds": 30})
        before = {p: len(self.share_mails(p)) for p in PROVIDERS}
        self.send("shared-killed")
        original = self.plain_copy("shared-killed")
        before_kill = self.wait_share_count("provider-a", before["provider-a"] + 1)[-1]
        self.relay.kill()  # share 1 is at its provider; share 2 is held in provider-b's DATA
        self.sinks["provider-b"].set_rules({})
        self.sinks["provider-b"].stop()  # ends the held transaction: nothing of it is kept
        self.sinks["provider-b"].start()
        self.relay.start()  # same identity: it releases the dead boot's lease at once
        after = [self.wait_share_count(p, before[p] + 1)[-1] for p in PROVIDERS[1:]]
        run, restored = self.combine([before_kill, *after])
        self.assertEqual(run.returncode, 0, run.stderr)
        self.assertEqual(restored, [original])
        # Share 1 may have gone again (its record died with the process): the same mail then.
        self.assertTrue(all(m == before_kill for m in self.share_mails("provider-a")[before["provider-a"]:]))

    def test_a_dsn_to_a_mapped_sender_goes_as_shares_too(self):
        mapped_sender = "alice@example.com"
        self.admin.ok("add", "share", mapped_sender)
        self.addCleanup(self.admin.run, "del", "share", mapped_sender)
        boxes = {p: f"alice@mail-{p[-1]}.example" for p in PROVIDERS}
        for provider in PROVIDERS:
            self.admin.ok("share", mapped_sender, "to", boxes[provider], "via", provider)
        self.sinks["plain"].set_rules({"rcpt": {"nobody@example.net": "550 5.1.1 No such user"}})
        before_plain = len(self.sinks["plain"].messages())

        def shares_to_alice():
            return {p: [m["data"] for m in self.sinks[p].messages() if m["rcpt_tos"] == [boxes[p]]]
                    for p in PROVIDERS}
        before = {p: len(mails) for p, mails in shares_to_alice().items()}
        client = self.smtp(ALICE)
        wait_for_map(client, mapped_sender)
        client.sendmail("alice@example.com", ["nobody@example.net"],
                        b"From: alice@example.com\r\nTo: nobody@example.net\r\nSubject: to-nobody\r\n\r\nHi.\r\n")
        wait_until(lambda: all(len(m) > before[p] for p, m in shares_to_alice().items()), timeout=20,
                   interval=0.1, message="the DSN's shares at the three providers")
        shares = [mails[-1] for mails in shares_to_alice().values()]
        for share in shares:
            self.assertNotIn(b"to-nobody", share)
        run, restored = self.combine(shares)
        self.assertEqual(run.returncode, 0, run.stderr)
        self.assertIn(b"multipart/report", restored[0])
        self.assertIn(b"Final-Recipient: rfc822; nobody@example.net", restored[0])
        self.assertIn(b"Subject: to-nobody", restored[0])
        # Never in clear: nothing reached the plain upstream for the sender.
        self.assertFalse([m for m in self.sinks["plain"].messages()[before_plain:]
                          if m["rcpt_tos"] == ["alice@example.com"]])

    def test_the_privmail_format_carries_subject_and_text_and_refuses_other_shapes(self):
        self.admin.ok("set", "share", SHARED, "format", "privmail")
        before = {p: len(self.share_mails(p)) for p in PROVIDERS}
        client = self.smtp(ALICE)
        wait_for_map(client, SHARED)
        text = "Dear Bob,\r\nthe secret line nobody may read.\r\n"
        client.sendmail("alice@example.com", [SHARED],
                        ("From: alice@example.com\r\nTo: bob@proxy.example\r\nSubject: privmail-subject\r\n"
                         "\r\n" + text).encode())
        shares = [self.wait_share_count(p, before[p] + 1)[-1] for p in PROVIDERS]
        for share in shares:
            self.assertIn(b"-----BEGIN SECRET SHARE BLOCK Ver1.0-----", share)
            self.assertNotIn(b"privmail-subject", share)
            self.assertNotIn(b"secret line", share)
        run, restored = self.combine(shares)
        self.assertEqual(run.returncode, 0, run.stderr)
        self.assertEqual(len(restored), 1)
        self.assertIn(b"\r\nSubject: privmail-subject\r\n", restored[0])
        self.assertTrue(restored[0].endswith(text.encode()), restored[0][-200:])
        # A message the format cannot carry is refused before the 250, never cut down.
        self.assertEqual(client.mail("alice@example.com")[0], 250)
        self.assertEqual(client.rcpt(SHARED)[0], 250)
        code, reply = client.data(rich_message("privmail-multipart"))
        self.assertEqual(code, 554, reply)
        self.assertTrue(reply.startswith(b"5.6.0 "), reply)

    def test_a_refused_share_makes_a_dsn_naming_the_recipient_and_the_destination(self):
        self.sinks["provider-b"].set_rules({"rcpt": {MAILBOXES["provider-b"]: "550 5.1.1 No such mailbox"}})
        before_plain = len(self.sinks["plain"].messages())
        self.send("shared-refused", recipients=(SHARED,))
        dsn = wait_until(lambda: [m for m in self.sinks["plain"].messages()[before_plain:]
                                  if m["mail_from"] in ("", "<>") and m["rcpt_tos"] == ["alice@example.com"]],
                         timeout=20, interval=0.1, message="the DSN to the sender")[0]["data"]
        parsed = email.message_from_bytes(dsn, policy=email.policy.compat32)
        text = dsn.decode("utf-8", "replace")
        self.assertIn("Final-Recipient: rfc822; bob@proxy.example", text)
        self.assertIn("share 2 of 3 to bob@mail-b.example via provider-b", text)
        self.assertIn("550 5.1.1", text)
        self.assertEqual(parsed.get_content_type(), "multipart/report")
        self.assertNotIn("secret line", text)


if __name__ == "__main__":
    unittest.main()
