"""Delivery, end to end: the real postern takes mail from a client, queues it in PostgreSQL and
delivers it to real upstreams (tests/support/smtp_sink.py, a separate aiosmtpd process, and a
maildir), routed by sender, with header rewrites; `mailadmin queue` steers it while it runs.

test_delivery_failures.py has the upstream failures (4xx, 5xx, down, expiry, TLS), and
test_delivery_crash.py kill -9 and two replicas on one database. DeliveryTestCase, below, is
what the three files share: a seeded database per class, sinks, and helpers.
"""
import json
import os
import re
import shutil
import smtplib
import statistics
import tempfile
import time
import unittest
import uuid

import pgcluster
from e2e_base import ALICE, BOB, PASSWORDS, RelayTestCase
from relay import RelayServer, Sink, make_certificate, queued, wait_until

UPSTREAM_USER, UPSTREAM_PASSWORD = "relay-user", "Upstream-pw-4e1f9b"


def mail(sender, to="rcpt@example.net", subject=None, body="Hi.\r\n", headers=(), message_id=True,
         date=True):
    """A message with CRLF line ends whose Subject (unique unless given) identifies it. With
    message_id and date, the relay adds nothing but its Received header."""
    subject = subject or f"test {uuid.uuid4().hex}"
    lines = [f"From: {sender}", f"To: {to}", f"Subject: {subject}"]
    if message_id:
        lines.append(f"Message-ID: <{uuid.uuid4().hex}@client.example>")
    if date:
        lines.append("Date: Mon, 2 Jun 2025 10:00:00 +0200")
    lines.extend(headers)
    return ("\r\n".join(lines) + "\r\n\r\n" + body).encode()


def subject_of(data):
    found = re.search(rb"^Subject: (.*)\r\n", data, re.M)
    return found.group(1).decode() if found else None


def without_received(data):
    """The message without its first field, which must be postern's Received (with continuation
    lines): what is left is what the client sent."""
    assert data.startswith(b"Received: "), data[:80]
    end = 0
    while True:
        end = data.index(b"\r\n", end) + 2
        if data[end:end + 1] not in (b"\t", b" "):
            return data[end:]


def maildir_files(folder):
    new = os.path.join(folder, "new")
    if not os.path.isdir(new):
        return {}
    out = {}
    for name in os.listdir(new):
        with open(os.path.join(new, name), "rb") as f:
            out[name] = f.read()
    return out


class DeliveryTestCase(RelayTestCase):
    """A class of delivery tests: its own seeded database (what one class leaves queued cannot
    reach another's upstreams), the sinks that make_sinks() starts, and one postern configured
    by configure() (None: no postern; the class starts its own)."""

    @classmethod
    def database_url(cls):
        return pgcluster.fresh_database("e2e_dlv")

    @classmethod
    def make_sinks(cls):
        """Starts the class's upstreams; returns {name: Sink}."""
        return {}

    @classmethod
    def configure(cls):
        """The postern config overrides, once the sinks run; None: start no postern."""
        return None

    @classmethod
    def setUpClass(cls):
        cls.work = tempfile.mkdtemp(prefix="postern-dlv-")
        cls.sinks = {}
        try:
            cls.sinks = cls.make_sinks()
            config = cls.configure()
            cls.start_relay = config is not None
            cls.relay_config = config or {}
            super().setUpClass()
        except BaseException:
            cls._cleanup_sinks()
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            super().tearDownClass()
        finally:
            cls._cleanup_sinks()

    @classmethod
    def _cleanup_sinks(cls):
        for sink in cls.sinks.values():
            sink.cleanup()
        if not os.environ.get("POSTERN_KEEP_E2E_DIRS"):
            shutil.rmtree(cls.work, ignore_errors=True)

    @classmethod
    def password_file(cls):
        path = os.path.join(cls.work, "upstream-password")
        with open(path, "w") as f:
            f.write(UPSTREAM_PASSWORD + "\n")
        return path

    # ---- submitting ----

    def send(self, data, sender, recipients=("rcpt@example.net",), user=ALICE, relay=None):
        """Submits one message (STARTTLS, AUTH) and returns its queue id."""
        relay = relay or self.relay
        client = smtplib.SMTP("127.0.0.1", relay.port, local_hostname="client.test", timeout=15)
        try:
            client.starttls(context=relay.client_context())
            client.login(user, PASSWORDS[user])
            return self.transaction(client, data, sender, recipients)
        finally:
            self._quietly_close(client)

    def transaction(self, client, data, sender, recipients=("rcpt@example.net",)):
        """One MAIL/RCPT/DATA on a logged-in smtplib client; returns the queue id."""
        code, reply = client.mail(sender)
        self.assertEqual(code, 250, reply)
        for r in recipients:
            code, reply = client.rcpt(r)
            self.assertEqual(code, 250, reply)
        code, reply = client.data(data)
        self.assertEqual(code, 250, reply)
        return re.search(rb"queued as (\S+)", reply).group(1).decode()

    def lmtp_send(self, port, data, recipients, sender="spammer@forged.example"):
        """One transaction over LMTP (smtplib.LMTP, to an LMTP listener on `port`): every recipient
        accepted, then one 250 per recipient after the data (RFC 2033 §4.2); returns the queue id."""
        client = smtplib.LMTP("127.0.0.1", port, local_hostname="mx.client.test", timeout=15)
        try:
            client.ehlo_or_helo_if_needed()
            code, reply = client.mail(sender)
            self.assertEqual(code, 250, reply)
            for r in recipients:
                self.assertEqual(client.rcpt(r)[0], 250)
            code, reply = client.data(data)
            self.assertEqual(code, 250, reply)
            for _ in recipients[1:]:
                self.assertEqual(client.getreply()[0], 250)
            return re.search(rb"queued as (\S+)", reply).group(1).decode()
        finally:
            self._quietly_close(client)

    def logged_in(self, user=ALICE, relay=None):
        relay = relay or self.relay
        client = smtplib.SMTP("127.0.0.1", relay.port, local_hostname="client.test", timeout=30)
        self.addCleanup(self._quietly_close, client)
        client.starttls(context=relay.client_context())
        client.login(user, PASSWORDS[user])
        return client

    # ---- the queue, through mailadmin ----

    def show(self, queue_id):
        """`mailadmin queue show --json ID`'s message, or None once it left the queue."""
        code, out, err = self.admin.run("queue", "show", "--json", queue_id)
        if code == 3:
            return None
        self.assertEqual(code, 0, err)
        return json.loads(out)["message"]

    def queue_list(self):
        return json.loads(self.admin.ok("queue", "list", "--json"))["queue"]

    def wait_until_gone(self, *queue_ids, timeout=15.0):
        wait_until(lambda: not ({m["id"] for m in self.queue_list()} & set(queue_ids)), timeout, 0.05,
                   message=f"{queue_ids} to leave the queue")

    def wait_until_queue_empty(self, timeout=15.0):
        wait_until(lambda: self.queue_list() == [], timeout, 0.05, message="an empty queue")

    def wait_until_deferred(self, queue_id, containing="", timeout=15.0):
        """Waits until the message was tried and is waiting again with a last error (containing
        the text); returns `queue show`'s message."""
        def deferred():
            m = self.show(queue_id)
            self.assertIsNotNone(m, f"{queue_id} left the queue")
            return m if (m["attempts"] >= 1 and not m["leased"] and m["last_error"]
                         and containing in m["last_error"]) else None
        return wait_until(deferred, timeout, 0.05, message=f"{queue_id} deferred ({containing!r})")

    # ---- sinks ----

    @staticmethod
    def by_subject(messages, subject):
        return [m for m in messages if subject_of(m["data"]) == subject]

    def wait_for_subject(self, sink, subject, timeout=15.0):
        """Waits for the message with this Subject at the sink; returns it (asserts it came once)."""
        wait_until(lambda: self.by_subject(sink.messages(), subject), timeout, 0.005,
                   message=f"{subject!r} at the sink")
        found = self.by_subject(sink.messages(), subject)
        self.assertEqual(len(found), 1, f"{subject!r} delivered {len(found)} times")
        return found[0]


class DeliveredBytes(DeliveryTestCase):
    """What the upstream receives is exactly what the queue held: a relay without upstreams
    queues the messages, the queue is read, then a delivering relay starts on the database."""

    start_relay = False

    @classmethod
    def make_sinks(cls):
        return {"sink": Sink()}

    def test_delivered_bytes_equal_queued_bytes_and_the_queue_empties(self):
        maildir = os.path.join(self.work, "maildir-bytes")
        sink = self.sinks["sink"]
        with RelayServer(self.db) as queue_only:  # no upstreams: delivery is disabled
            bodies = [
                "Hi.\r\n",
                # Lines that SMTP dot-stuffs, an empty last line, long lines, 8-bit text.
                ".leading dot\r\n..two dots\r\n.\r\nmiddle\r\n" + "x" * 990 + "\r\n\r\n",
                "".join(f"line {i} " + "abcdefghij" * 7 + "\r\n" for i in range(800)),
                "Gr\u00fc\u00dfe aus K\u00f6ln \u2014 8-bit body\r\n",
            ]
            ids = []
            client = self.logged_in(ALICE, relay=queue_only)
            for i, body in enumerate(bodies):
                data = mail("alice@example.com", body=body, message_id=i % 2 == 0, date=i % 2 == 0)
                if i == 3:
                    data = mail("alice@example.com", body=body,
                                headers=["MIME-Version: 1.0",
                                         "Content-Type: text/plain; charset=utf-8",
                                         "Content-Transfer-Encoding: 8bit"])
                    client.ehlo("client.test")
                    code, reply = client.mail("alice@example.com", ["BODY=8BITMIME"])
                    self.assertEqual(code, 250, reply)
                    client.rcpt("rcpt@example.net")
                    code, reply = client.data(data)
                    self.assertEqual(code, 250, reply)
                    ids.append(re.search(rb"queued as (\S+)", reply).group(1).decode())
                    continue
                ids.append(self.transaction(client, data, "alice@example.com",
                                            ["rcpt@example.net", "second@example.org"]))
            bob = self.logged_in(BOB, relay=queue_only)
            ids.append(self.transaction(bob, mail("bob@example.com", body="To the maildir.\r\n.\r\n"),
                                        "bob@example.com"))
            stored = {m["id"]: m for m in queued(self.db)}
            self.assertEqual(set(stored), set(ids))
            self.assertEqual(sink.count(), 0)

        config = {"upstreams": [sink.upstream("sink"),
                                {"name": "local", "kind": "maildir", "path": maildir}],
                  "routes": [{"sender": "bob@example.com", "upstream": "local"}],
                  "default_upstream": "sink"}
        with RelayServer(self.db, **config) as relay:
            received = sink.wait_for_messages(4)
            wait_until(lambda: maildir_files(maildir), 10, message="the maildir delivery")
            self.wait_until_queue_empty()
            self.assertEqual(queued(self.db), [])
            self.assertEqual(relay.process.poll(), None)

        self.assertEqual(len(received), 4)
        by_bytes = {m["data"]: m for m in received}
        for queue_id in ids[:4]:
            original = stored[queue_id]
            self.assertIn(original["message"], by_bytes, f"{queue_id}: delivered bytes differ")
            got = by_bytes[original["message"]]
            self.assertEqual(got["mail_from"], "alice@example.com")
            self.assertEqual(got["rcpt_tos"], original["recipients"])
        self.assertEqual(list(maildir_files(maildir).values()), [stored[ids[4]]["message"]])
        self.assertEqual(os.listdir(os.path.join(maildir, "tmp")), [])


class RoutedDelivery(DeliveryTestCase):
    """One postern with four routes:
         news@corp.example   -> "rewriting": sink A, Reply-To and Return-Path rewritten
         *@corp.example      -> "secure": sink B, STARTTLS (certificate checked) + AUTH
         bob@example.com     -> "local": a maildir
         everyone else       -> "plain": sink A
    """

    @classmethod
    def make_sinks(cls):
        cls.certificate = make_certificate(cls.work, "upstream")
        return {"a": Sink(), "b": Sink(tls=cls.certificate, auth=(UPSTREAM_USER, UPSTREAM_PASSWORD))}

    @classmethod
    def configure(cls):
        cls.maildir = os.path.join(cls.work, "maildir")
        a, b = cls.sinks["a"], cls.sinks["b"]
        return {
            "upstreams": [
                a.upstream("plain"),
                a.upstream("rewriting", rewrite={"reply_to": "support@example.com",
                                                 "return_path": "bounces@example.com"}),
                b.upstream("secure", ca_file=cls.certificate[0], username=UPSTREAM_USER,
                           password_file=cls.password_file()),
                {"name": "local", "kind": "maildir", "path": cls.maildir},
            ],
            "routes": [
                {"sender": "news@corp.example", "upstream": "rewriting"},
                {"sender_domain": "corp.example", "upstream": "secure"},
                {"sender": "bob@example.com", "upstream": "local"},
            ],
            "default_upstream": "plain",
        }

    def test_a_new_message_leaves_at_once_on_an_idle_relay(self):
        sink = self.sinks["a"]
        client = self.logged_in(ALICE)
        latencies = []
        for i in range(10):
            data = mail("alice@example.com")
            before = sink.count()
            self.transaction(client, data, "alice@example.com")
            accepted = time.monotonic()  # the client has the 250
            wait_until(lambda: sink.count() > before, 5, 0.001, message="the message at the sink")
            latencies.append(time.monotonic() - accepted)
            self.assertEqual(self.by_subject(sink.messages(), subject_of(data))[0]["data"][-len(data):],
                             data)
        print(f"\n[delivery] idle latency, client's 250 -> file at the sink: first "
              f"{latencies[0] * 1000:.1f} ms (new upstream session), then median "
              f"{statistics.median(latencies[1:]) * 1000:.1f} ms, max {max(latencies[1:]) * 1000:.1f} ms",
              flush=True)
        self.assertLess(max(latencies), 5.0)

    def test_plain_upstream_gets_the_clients_message_after_the_received_header(self):
        sink = self.sinks["a"]
        data = mail("alice@example.com", body="First line.\r\n.dotted\r\n\r\nLast line.\r\n",
                    headers=["Reply-To: alice@example.com"])
        queue_id = self.send(data, "alice@example.com", ["x@example.net", "y@example.org"])
        got = self.wait_for_subject(sink, subject_of(data))
        self.assertEqual(without_received(got["data"]), data)
        self.assertIn(f"id {queue_id}".encode(), got["data"].split(b"\r\n\r\n")[0])
        self.assertEqual((got["mail_from"], got["rcpt_tos"]), ("alice@example.com", ["x@example.net", "y@example.org"]))
        self.assertFalse(got["tls"])
        self.assertIsNone(got["auth_user"])
        self.wait_until_gone(queue_id)

    def test_message_id_and_date_added_by_the_relay_are_delivered(self):
        data = mail("alice@example.com", message_id=False, date=False)
        queue_id = self.send(data, "alice@example.com")
        got = self.wait_for_subject(self.sinks["a"], subject_of(data))["data"]
        header = got.split(b"\r\n\r\n")[0]
        self.assertIn(f"Message-ID: <{queue_id}@relay.test>\r\n".encode(), got)
        self.assertRegex(header, rb"\r\nDate: \w{3}, \d{1,2} \w{3} \d{4} \d\d:\d\d:\d\d \+0000")
        self.assertTrue(got.endswith(b"\r\n\r\nHi.\r\n"))

    def test_starttls_and_auth_upstream_sees_tls_and_the_configured_user(self):
        data = mail("team@corp.example")
        queue_id = self.send(data, "team@corp.example", ["x@example.net"], user=BOB)
        got = self.wait_for_subject(self.sinks["b"], subject_of(data))
        self.assertTrue(got["tls"])
        self.assertEqual(got["auth_user"], UPSTREAM_USER)  # never the client's (bob)
        self.assertEqual(without_received(got["data"]), data)
        self.assertEqual(got["mail_from"], "team@corp.example")
        self.assertEqual(self.by_subject(self.sinks["a"].messages(), subject_of(data)), [])
        self.wait_until_gone(queue_id)
        self.assertRegex(self.relay.log_text(),
                         r"event=upstream_session upstream=secure peer=\S+ tls=(?!none)\S+ auth=(?!none)\S+")
        self.assert_secret_not_logged(UPSTREAM_PASSWORD)

    def test_maildir_upstream_gets_the_message_byte_for_byte(self):
        before = set(maildir_files(self.maildir))
        data = mail("bob@example.com", body="Line one\r\n.dot line\r\n")
        queue_id = self.send(data, "bob@example.com", user=BOB)
        files = wait_until(lambda: {n: d for n, d in maildir_files(self.maildir).items() if n not in before},
                           10, 0.01, message="a new maildir file")
        [(name, got)] = files.items()
        self.assertEqual(without_received(got), data)
        self.assertNotIn(":", name)  # new/ holds names without the info suffix
        self.assertEqual(os.listdir(os.path.join(self.maildir, "tmp")), [])
        self.wait_until_gone(queue_id)

    def test_rewrite_replaces_reply_to_and_return_path(self):
        data = mail("news@corp.example", headers=["Reply-To: <editor@corp.example>",
                                                  "reply-to: second@corp.example",
                                                  "Return-Path: <old@corp.example>"])
        self.send(data, "news@corp.example", user=BOB)
        got = self.wait_for_subject(self.sinks["a"], subject_of(data))["data"]
        self.assertTrue(got.startswith(b"Return-Path: <bounces@example.com>\r\nReceived: "), got[:100])
        expected = (data.replace(b"Reply-To: <editor@corp.example>\r\n", b"Reply-To: support@example.com\r\n")
                        .replace(b"reply-to: second@corp.example\r\n", b"")
                        .replace(b"Return-Path: <old@corp.example>\r\n", b""))
        self.assertEqual(without_received(got[len(b"Return-Path: <bounces@example.com>\r\n"):]), expected)

    def test_rewrite_adds_reply_to_when_missing(self):
        data = mail("news@corp.example")
        self.send(data, "news@corp.example", user=BOB)
        got = self.wait_for_subject(self.sinks["a"], subject_of(data))["data"]
        header, body = got.split(b"\r\n\r\n", 1)
        self.assertEqual(re.findall(rb"(?im)^reply-to:.*$", header), [b"Reply-To: support@example.com"])
        self.assertEqual(body, b"Hi.\r\n")

    def test_routes_pick_the_upstream_by_sender(self):
        a, b = self.sinks["a"], self.sinks["b"]
        before_maildir = set(maildir_files(self.maildir))
        cases = [("alice@example.com", ALICE, "a"), ("sales@corp.example", BOB, "b"),
                 ("SALES@CORP.EXAMPLE", BOB, "b"), ("bob@example.com", BOB, "maildir"),
                 ("news@corp.example", BOB, "a")]
        sent = []
        for sender, user, where in cases:
            data = mail(sender)
            self.send(data, sender, user=user)
            sent.append((subject_of(data), where))
        for subject, where in sent:
            if where == "maildir":
                wait_until(lambda: any(subject_of(d) == subject for n, d in maildir_files(self.maildir).items()
                                       if n not in before_maildir), 10, 0.01, message="the maildir message")
                self.assertEqual(self.by_subject(a.messages() + b.messages(), subject), [])
                continue
            self.wait_for_subject(a if where == "a" else b, subject)
            other = b if where == "a" else a
            self.assertEqual(self.by_subject(other.messages(), subject), [], f"{subject} also at the other sink")


class QueueAdministration(DeliveryTestCase):
    """mailadmin queue hold/release/retry against a running postern. Retries are a minute
    apart, so a deferred message goes only when told; "later" is an upstream that is down until
    a test starts it."""

    @classmethod
    def make_sinks(cls):
        return {"main": Sink(), "later": Sink(start=False)}

    @classmethod
    def configure(cls):
        return {"upstreams": [cls.sinks["main"].upstream("main"), cls.sinks["later"].upstream("later")],
                "routes": [{"sender_domain": "corp.example", "upstream": "later"}],
                "default_upstream": "main",
                "delivery": {"first_retry_seconds": 60, "max_retry_seconds": 120}}

    def setUp(self):
        self.sinks["later"].stop()

    def deferred_message(self):
        """A message to the "later" upstream while it is down, once it was tried; (id, subject)."""
        data = mail("ops@corp.example")
        queue_id = self.send(data, "ops@corp.example", user=BOB)
        shown = self.wait_until_deferred(queue_id, "127.0.0.1")
        self.assertEqual(shown["attempts"], 1)
        self.assertEqual(shown["recipients"][0]["status"], "pending")
        self.assertGreater(time.mktime(time.strptime(shown["next_attempt_at"], "%Y-%m-%d %H:%M:%S"))
                           - time.mktime(time.gmtime()), 30)
        return queue_id, subject_of(data)

    def test_queue_retry_sends_a_deferred_message_at_once(self):
        queue_id, subject = self.deferred_message()
        later = self.sinks["later"].start()
        self.assertEqual(json.loads(self.admin.ok("queue", "retry", "--json", queue_id)), {"retried": 1})
        retried = time.monotonic()
        self.wait_for_subject(later, subject, timeout=10)
        print(f"\n[delivery] queue retry -> delivered in {(time.monotonic() - retried) * 1000:.0f} ms",
              flush=True)
        self.wait_until_gone(queue_id)

    def test_queue_retry_all_sends_every_deferred_message(self):
        first, s1 = self.deferred_message()
        second, s2 = self.deferred_message()
        later = self.sinks["later"].start()
        retried = json.loads(self.admin.ok("queue", "retry", "--all", "--json"))["retried"]
        self.assertGreaterEqual(retried, 2)
        self.wait_for_subject(later, s1, timeout=10)
        self.wait_for_subject(later, s2, timeout=10)
        self.wait_until_gone(first, second)

    def test_a_held_message_waits_until_released(self):
        queue_id, subject = self.deferred_message()
        self.assertEqual(json.loads(self.admin.ok("queue", "hold", "--json", queue_id)), {"held": 1})
        later = self.sinks["later"].start()
        # Neither a retry of the message nor of the whole queue moves a held message.
        self.admin.ok("queue", "retry", queue_id)
        self.admin.ok("queue", "retry", "--all")
        deadline = time.monotonic() + 2.0
        while time.monotonic() < deadline:  # a negative: it must not arrive within this window
            self.assertEqual(self.by_subject(later.messages(), subject), [], "a held message was delivered")
            time.sleep(0.05)
        shown = self.show(queue_id)
        self.assertTrue(shown["held"])
        self.assertEqual(shown["attempts"], 1)
        self.assertEqual(json.loads(self.admin.ok("queue", "release", "--json", queue_id)), {"released": 1})
        released = time.monotonic()
        self.wait_for_subject(later, subject, timeout=10)
        self.assertLess(time.monotonic() - released, 5)
        self.wait_until_gone(queue_id)

    def test_queue_delete_drops_a_deferred_message_without_a_bounce(self):
        queue_id, subject = self.deferred_message()
        main_before = self.sinks["main"].count()
        self.admin.ok("queue", "delete", queue_id)
        self.assertIsNone(self.show(queue_id))
        later = self.sinks["later"].start()
        self.admin.ok("queue", "retry", "--all")
        # Another message on the same route goes through: the deleted one never does.
        data = mail("ops@corp.example")
        self.send(data, "ops@corp.example", user=BOB)
        self.wait_for_subject(later, subject_of(data))
        self.assertEqual(self.by_subject(later.messages(), subject), [])
        self.assertEqual(self.sinks["main"].count(), main_before)  # no DSN


if __name__ == "__main__":
    unittest.main()
