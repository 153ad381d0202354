"""DKIM signing, end to end: keys made with `mailadmin dkim add` (sealed with the queue's seal
key), the body hash taken at intake, the signature made at delivery, and what the upstream sink
received checked by an independent verifier (dkimpy, Debian's python3-dkim) against the DNS
records `mailadmin dkim show` printed: both algorithms, folded headers, an 8-bit body, an empty
body, a 5 MiB attachment, and an upstream that rewrites headers (the signature covers the
rewritten ones); share mails and DSNs; a key added while the relay runs. Mail from a domain
without a key, and inbound mail (even with a forged From: of a signed domain), arrive unsigned.
"""
import base64
import os
import re
import smtplib
import unittest
import uuid

import dkim

from e2e_base import BOB, PASSWORDS
from relay import Sink, free_port, wait_until
from test_delivery import DeliveryTestCase, subject_of

SIGNED_DOMAIN = "corp.example"  # bob's domain grant: both an RSA and an Ed25519 key
MIB = 1024 * 1024


def write_seal_key(folder, key_id):
    """A queue seal key file (schema/include/postern/schema/seal.hpp's format)."""
    path = os.path.join(folder, f"{key_id}.key")
    with open(path, "w") as f:
        f.write(f"{key_id}:{base64.b64encode(os.urandom(32)).decode()}\n")
    os.chmod(path, 0o600)
    return path


def signature_tags(data):
    """The tags of each DKIM-Signature field of a message, in order, as dicts."""
    header = data.split(b"\r\n\r\n")[0].decode("utf-8", "replace")
    unfolded = re.sub(r"\r\n[ \t]", " ", header)
    found = []
    for line in unfolded.split("\r\n"):
        if line.lower().startswith("dkim-signature:"):
            value = line.split(":", 1)[1]
            tags = {}
            for part in value.split(";"):
                if "=" in part:
                    name, text = part.split("=", 1)
                    tags[name.strip()] = re.sub(r"\s+", "", text)
            found.append(tags)
    return found


class DkimSigning(DeliveryTestCase):
    @classmethod
    def make_sinks(cls):
        cls.seal_key = write_seal_key(cls.work, "2026-12")
        return {"sink": Sink()}

    @classmethod
    def configure(cls):
        sink = cls.sinks["sink"]
        cls.inbound_port = free_port()
        return {
            "extra_listeners": [{"role": "inbound", "address": "127.0.0.1", "port": cls.inbound_port,
                                 "accept_domains": ["trap.example"]}],
            "limits": {"max_message_size": 8 * MIB, "data_timeout_seconds": 120},
            "queue": {"seal_key_files": [cls.seal_key]},
            "upstreams": [sink.upstream("plain"),
                          sink.upstream("rewriting", rewrite={"reply_to": "support@corp.example"})],
            "routes": [{"sender": "news@corp.example", "upstream": "rewriting"}],
            "default_upstream": "plain",
        }

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.records = {}
        for selector, algorithm in (("rsa1", "rsa2048"), ("ed1", "ed25519")):
            cls.admin.ok("--seal-key-file", cls.seal_key, "dkim", "add", SIGNED_DOMAIN,
                         "--selector", selector, "--algorithm", algorithm)
        # DSNs come from MAILER-DAEMON@ the relay's hostname: its key signs them.
        cls.admin.ok("--seal-key-file", cls.seal_key, "dkim", "add", cls.relay.hostname, "--selector", "dsn",
                     "--algorithm", "ed25519")
        shown = cls.admin.ok("dkim", "show", SIGNED_DOMAIN) + cls.admin.ok("dkim", "show", cls.relay.hostname)
        for line in shown.splitlines():
            if line.startswith(";") or not line.strip():
                continue
            name, rest = line.split(" IN TXT ", 1)
            strings = re.findall(r'"([^"]*)"', rest)
            assert all(len(s) <= 255 for s in strings), line
            cls.records[name.encode()] = "".join(strings).encode()

    def dns(self, name, timeout=5):
        return self.records.get(name)

    def send_as_bob(self, data, sender, eight_bit=False):
        client = smtplib.SMTP("127.0.0.1", self.relay.port, local_hostname="client.test", timeout=60)
        try:
            client.starttls(context=self.relay.client_context())
            client.login(BOB, PASSWORDS[BOB])
            code, reply = client.mail(sender, ["BODY=8BITMIME"] if eight_bit else [])
            self.assertEqual(code, 250, reply)
            code, reply = client.rcpt("rcpt@example.net")
            self.assertEqual(code, 250, reply)
            code, reply = client.data(data)
            self.assertEqual(code, 250, reply)
        finally:
            self._quietly_close(client)
        return self.wait_for_subject(self.sinks["sink"], subject_of(data), timeout=60)["data"]

    def assert_verifies(self, received):
        tags = signature_tags(received)
        self.assertEqual(sorted(t["a"] for t in tags), ["ed25519-sha256", "rsa-sha256"])
        for idx, t in enumerate(tags):
            self.assertEqual((t["d"], t["c"]), (SIGNED_DOMAIN, "relaxed/relaxed"))
            self.assertTrue(dkim.DKIM(received).verify(idx=idx, dnsfunc=self.dns),
                            f"signature {idx} ({t['a']}) does not verify")
        return tags

    def headers(self, sender, subject, extra=()):
        return [f"From: News <{sender}>", "To: rcpt@example.net", f"Subject: {subject}",
                f"Message-ID: <{uuid.uuid4().hex}@client.example>", "Date: Mon, 2 Jun 2025 10:00:00 +0200",
                *extra]

    def test_both_algorithms_sign_and_a_changed_header_fails(self):
        subject = f"dkim {uuid.uuid4().hex}"
        data = ("\r\n".join(self.headers("bob@corp.example", subject)) + "\r\n\r\nHi.\r\n\r\n\r\n").encode()
        received = self.send_as_bob(data, "bob@corp.example")
        tags = self.assert_verifies(received)
        # From is oversigned: listed once more than present.
        self.assertEqual([h.lower() for h in tags[0]["h"].split(":")].count("from"), 2)
        tampered = received.replace(subject.encode(), b"changed", 1)
        self.assertFalse(dkim.DKIM(tampered).verify(idx=0, dnsfunc=self.dns))

    def test_folded_headers(self):
        subject = f"dkim folded {uuid.uuid4().hex}"
        head = "\r\n".join(self.headers("bob@corp.example", subject,
                                        ["Cc: first@example.net,\r\n\tsecond@example.net,\r\n   third@example.net"]))
        data = (head + "\r\n\r\nFolded   headers,  spaced\tbody \r\n").encode()
        received = self.send_as_bob(data, "bob@corp.example")
        self.assertIn(b"\r\n\tsecond@example.net", received)
        self.assert_verifies(received)

    def test_eight_bit_body(self):
        subject = f"dkim 8bit {uuid.uuid4().hex}"
        head = "\r\n".join(self.headers("bob@corp.example", subject,
                                        ["MIME-Version: 1.0", "Content-Type: text/plain; charset=utf-8",
                                         "Content-Transfer-Encoding: 8bit"]))
        data = (head + "\r\n\r\nGrüße, ça va? 😀\r\n").encode()
        received = self.send_as_bob(data, "bob@corp.example", eight_bit=True)
        self.assertIn("Grüße".encode(), received)
        self.assert_verifies(received)

    def test_empty_body(self):
        subject = f"dkim empty {uuid.uuid4().hex}"
        data = ("\r\n".join(self.headers("bob@corp.example", subject)) + "\r\n\r\n").encode()
        received = self.send_as_bob(data, "bob@corp.example")
        self.assert_verifies(received)

    def test_five_mib_attachment(self):
        subject = f"dkim large {uuid.uuid4().hex}"
        attachment = base64.encodebytes(os.urandom(5 * MIB)).replace(b"\n", b"\r\n")
        head = "\r\n".join(self.headers("bob@corp.example", subject,
                                        ["MIME-Version: 1.0", 'Content-Type: multipart/mixed; boundary="b1"']))
        data = (head.encode() + b"\r\n\r\n--b1\r\nContent-Type: text/plain\r\n\r\nSee attached.\r\n"
                b"--b1\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n"
                + attachment + b"--b1--\r\n")
        received = self.send_as_bob(data, "bob@corp.example")
        self.assertGreater(len(received), 5 * MIB)
        self.assert_verifies(received)

    def test_signature_covers_the_headers_the_upstream_rewrote(self):
        subject = f"dkim rewritten {uuid.uuid4().hex}"
        data = ("\r\n".join(self.headers("news@corp.example", subject, ["Reply-To: news@corp.example"]))
                + "\r\n\r\nNews.\r\n").encode()
        received = self.send_as_bob(data, "news@corp.example")
        self.assertIn(b"\r\nReply-To: support@corp.example\r\n", received)
        tags = self.assert_verifies(received)
        self.assertIn("reply-to", [h.lower() for h in tags[0]["h"].split(":")])

    def test_share_mails_are_signed_with_the_senders_key(self):
        shared = "vault@shares.example"
        self.admin.ok("add", "share", shared)
        self.addCleanup(self.admin.run, "del", "share", shared)
        for n, upstream in ((1, "plain"), (2, "rewriting")):  # an upstream per destination
            self.admin.ok("share", shared, "to", f"box{n}@provider{n}.example", "via", upstream)
        subject = f"dkim shared {uuid.uuid4().hex}"
        data = ("\r\n".join(self.headers("bob@corp.example", subject)) + "\r\n\r\nSecret.\r\n").encode()
        client = smtplib.SMTP("127.0.0.1", self.relay.port, local_hostname="client.test", timeout=60)
        try:
            client.starttls(context=self.relay.client_context())
            client.login(BOB, PASSWORDS[BOB])
            client.sendmail("bob@corp.example", [shared], data)
        finally:
            self._quietly_close(client)
        sink = self.sinks["sink"]

        def shares():
            return [m for m in sink.messages() if m["rcpt_tos"][0] in ("box1@provider1.example", "box2@provider2.example")]
        wait_until(lambda: len(shares()) == 2, 30, 0.05, message="two share mails at the sink")
        for mail in shares():
            self.assertNotIn(subject.encode(), mail["data"])  # a share, not the message
            self.assert_verifies(mail["data"])

    def test_a_dsn_is_signed_with_the_key_of_the_relays_hostname(self):
        sink = self.sinks["sink"]
        sink.set_rules({"rcpt": {"bounce-me@example.net": "550 5.1.1 No such user"}})
        self.addCleanup(sink.set_rules, {})
        subject = f"dkim bounced {uuid.uuid4().hex}"
        data = ("\r\n".join(self.headers("bob@corp.example", subject)) + "\r\n\r\nLost.\r\n").encode()
        client = smtplib.SMTP("127.0.0.1", self.relay.port, local_hostname="client.test", timeout=60)
        try:
            client.starttls(context=self.relay.client_context())
            client.login(BOB, PASSWORDS[BOB])
            client.sendmail("bob@corp.example", ["bounce-me@example.net"], data)
        finally:
            self._quietly_close(client)

        def dsns():
            return [m for m in sink.messages()
                    if m["mail_from"] in ("", "<>") and subject.encode() in m["data"]]
        wait_until(lambda: dsns(), 30, 0.05, message="the DSN at the sink")
        dsn = dsns()[0]["data"]
        tags = signature_tags(dsn)
        self.assertEqual([(t["d"], t["a"]) for t in tags], [(self.relay.hostname, "ed25519-sha256")])
        self.assertTrue(dkim.DKIM(dsn).verify(idx=0, dnsfunc=self.dns))

    def test_a_domain_without_a_key_is_sent_unsigned(self):
        subject = f"dkim unsigned {uuid.uuid4().hex}"
        data = ("\r\n".join(self.headers("bob@example.com", subject)) + "\r\n\r\nHi.\r\n").encode()
        received = self.send_as_bob(data, "bob@example.com")
        self.assertNotIn(b"DKIM-Signature", received)
        # A key added now signs the next message at once: the relay hears NOTIFY postern_dkim_keys.
        shown = self.admin.ok("dkim", "add", "example.com", "--selector", "late", "--algorithm", "ed25519")
        self.addCleanup(self.admin.run, "dkim", "del", "example.com", "--selector", "late")
        name, rest = [line for line in shown.splitlines() if not line.startswith(";")][0].split(" IN TXT ", 1)
        self.records[name.encode()] = "".join(re.findall(r'"([^"]*)"', rest)).encode()
        self.addCleanup(self.records.pop, name.encode())
        subject = f"dkim late key {uuid.uuid4().hex}"
        data = ("\r\n".join(self.headers("bob@example.com", subject)) + "\r\n\r\nHi.\r\n").encode()
        received = self.send_as_bob(data, "bob@example.com")
        self.assertEqual([(t["d"], t["s"]) for t in signature_tags(received)], [("example.com", "late")])
        self.assertTrue(dkim.DKIM(received).verify(idx=0, dnsfunc=self.dns))

    def test_inbound_mail_with_a_forged_from_of_a_signed_domain_is_not_signed(self):
        subject = f"dkim inbound {uuid.uuid4().hex}"
        data = ("\r\n".join(self.headers("ceo@corp.example", subject)) + "\r\n\r\nPay now.\r\n").encode()
        client = smtplib.SMTP("127.0.0.1", self.inbound_port, local_hostname="mx.client.test", timeout=15)
        try:
            client.sendmail("ceo@corp.example", ["x@trap.example"], data)
        finally:
            self._quietly_close(client)
        received = self.wait_for_subject(self.sinks["sink"], subject, timeout=30)["data"]
        self.assertNotIn(b"DKIM-Signature", received)

    def test_show_prints_the_records_and_list_names_the_keys(self):
        self.assertEqual(len(self.records), 3)
        ed = self.records[b"ed1._domainkey.corp.example."]
        self.assertTrue(ed.startswith(b"v=DKIM1; k=ed25519; p="))
        self.assertEqual(len(base64.b64decode(ed.split(b"p=")[1])), 32)
        self.assertTrue(self.records[b"rsa1._domainkey.corp.example."].startswith(b"v=DKIM1; k=rsa; p="))
        listed = self.admin.ok("dkim", "list")
        self.assertIn("corp.example  selector ed1  ed25519", listed)
        code, _, stderr = self.admin.run("dkim", "add", SIGNED_DOMAIN, "--selector", "ed1", "--algorithm", "ed25519")
        self.assertEqual(code, 4, stderr)
        code, _, stderr = self.admin.run("dkim", "show", "nokey.example")
        self.assertEqual(code, 3, stderr)


if __name__ == "__main__":
    unittest.main()
