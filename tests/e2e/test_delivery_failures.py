"""Delivery when the upstream says no, or is not there: 4xx retried with backoff, 5xx bounced at
once per recipient with an RFC 3464 DSN, an upstream that is down and comes back, the lifetime
running out (DSN with 4.4.7), and an upstream whose certificate does not verify.

Retries here are a second or two apart, so each test takes seconds.
"""
import email
import email.policy
import time
import unittest

from e2e_base import ALICE, BOB
from relay import Sink, make_certificate, free_port, wait_until
from test_delivery import DeliveryTestCase, mail, subject_of

# aiosmtpd reports MAIL FROM:<> as "<>".
NULL_SENDER = ("", "<>")
FAST_RETRIES = {"first_retry_seconds": 1, "max_retry_seconds": 2}


def parse(data):
    return email.message_from_bytes(data, policy=email.policy.compat32)


class DsnChecks:
    """Asserts about a DSN as it reached the sink."""

    def assert_dsn(self, dsn, original_sender, failed, original_subject):
        """failed: {recipient: (status, text the diagnostic must contain)}; returns the per-
        recipient status fields."""
        self.assertIn(dsn["mail_from"], NULL_SENDER, "a DSN has the null sender")
        self.assertEqual(dsn["rcpt_tos"], [original_sender])
        message = parse(dsn["data"])
        self.assertEqual(message.get_content_type(), "multipart/report")
        self.assertEqual(message.get_param("report-type"), "delivery-status")
        self.assertEqual(message["To"], f"<{original_sender}>")
        self.assertEqual(message["Auto-Submitted"], "auto-replied")
        parts = message.get_payload()
        self.assertEqual([p.get_content_type() for p in parts],
                         ["text/plain", "message/delivery-status", "text/rfc822-headers"])
        # message/delivery-status: the per-message block, then one block per recipient.
        status_text = dsn["data"].split(b"Content-Type: message/delivery-status")[1].split(b"\r\n--")[0]
        blocks = [b for b in status_text.decode().split("\r\n\r\n")[1:] if b.strip()]
        def fields_of(block):  # unfolded
            return dict(line.partition(": ")[::2] for line in block.replace("\r\n ", " ").split("\r\n"))
        per_message = fields_of(blocks[0])
        self.assertEqual(per_message["Reporting-MTA"], "dns; relay.test")
        self.assertRegex(per_message["Arrival-Date"], r"^\w{3}, \d{1,2} \w{3} \d{4} \d\d:\d\d:\d\d \+0000$")
        recipients = {}
        for block in blocks[1:]:
            fields = fields_of(block)
            recipients[fields["Final-Recipient"]] = fields
        self.assertEqual(set(recipients), {f"rfc822; {r}" for r in failed})
        for recipient, (status, text) in failed.items():
            fields = recipients[f"rfc822; {recipient}"]
            self.assertEqual(fields["Action"], "failed")
            self.assertEqual(fields["Status"], status)
            self.assertIn(text, fields["Diagnostic-Code"])
        # The notification names each recipient; the original headers come back.
        notification = parts[0].get_payload()
        for recipient, (_, text) in failed.items():
            self.assertIn(f"<{recipient}>", notification)
        self.assertIn(f"Subject: {original_subject}", parts[2].get_payload())
        return recipients

    def dsns_to(self, sink, sender):
        return [m for m in sink.messages() if m["mail_from"] in NULL_SENDER and m["rcpt_tos"] == [sender]]

    def dsn_about(self, sink, sender, original_subject):
        return [m for m in self.dsns_to(sink, sender)
                if f"Subject: {original_subject}\r\n".encode() in m["data"]]


class UpstreamFailures(DeliveryTestCase, DsnChecks):
    """The default upstream "main" (rules per test); "flaky", a sink that tests stop and start;
    "untrusted", STARTTLS with a self-signed certificate and no ca_file. Bounces (null sender)
    go to "main"."""

    @classmethod
    def make_sinks(cls):
        return {"main": Sink(), "flaky": Sink(),
                "untrusted": Sink(tls=make_certificate(cls.work, "untrusted"))}

    @classmethod
    def configure(cls):
        s = cls.sinks
        return {"upstreams": [s["main"].upstream("main"), s["flaky"].upstream("flaky"),
                              s["untrusted"].upstream("untrusted")],  # system CAs: will not verify
                "routes": [{"sender": "down@corp.example", "upstream": "flaky"},
                           {"sender": "untrusted@corp.example", "upstream": "untrusted"}],
                "default_upstream": "main",
                "delivery": dict(FAST_RETRIES, lifetime_seconds=3600)}

    def restart_main(self, rules):
        """The main sink with fresh rules (its count of DATA replies used starts again)."""
        main = self.sinks["main"]
        main.stop()
        main.set_rules(rules)
        main.start()
        self.addCleanup(main.set_rules, {})
        return main

    def delivery_log(self, queue_id):
        return [line for line in self.relay.log_text().splitlines()
                if "event=delivery " in line and f"id={queue_id} " in line]

    def test_451_twice_then_accepted_is_delivered_exactly_once(self):
        main = self.restart_main({"data": ["451 4.3.0 Try later (1)", "451 4.3.0 Try later (2)"]})
        data = mail("alice@example.com")
        sent = time.monotonic()
        queue_id = self.send(data, "alice@example.com")
        # While it waits, the queue shows the attempts and the upstream's reply.
        shown = self.wait_until_deferred(queue_id, "451 4.3.0 Try later", timeout=10)
        self.assertEqual(shown["recipients"][0]["status"], "pending")
        self.assertIn("451 4.3.0 Try later", shown["recipients"][0]["last_reply"])
        self.wait_for_subject(main, subject_of(data), timeout=20)
        took = time.monotonic() - sent
        self.wait_until_gone(queue_id)
        log = self.delivery_log(queue_id)
        self.assertEqual(len(log), 3, "\n".join(log))
        self.assertIn("result=deferred attempt=1 reply=\"451 4.3.0 Try later (1)\"", log[0])
        self.assertIn("result=deferred attempt=2 reply=\"451 4.3.0 Try later (2)\"", log[1])
        self.assertIn("result=delivered attempt=3", log[2])
        # Backoff: about 1 s, then about 2 s (each +-20 %), not at once.
        self.assertGreater(took, 0.8 + 1.6 - 0.1)
        time.sleep(0.5)  # nothing more may come for it (a late duplicate would show here)
        self.assertEqual(len(self.by_subject(main.messages(), subject_of(data))), 1)
        self.assertEqual(self.dsns_to(main, "alice@example.com"), [])
        print(f"\n[delivery] 451, 451, 250: delivered after {took:.1f} s", flush=True)

    def test_550_for_one_recipient_delivers_the_other_and_bounces_with_a_dsn(self):
        main = self.restart_main({"rcpt": {"bad@example.org": "550 5.1.1 <bad@example.org>: no such user"}})
        data = mail("alice@example.com", to="good@example.net, bad@example.org")
        subject = subject_of(data)
        queue_id = self.send(data, "alice@example.com", ["good@example.net", "bad@example.org"])
        delivered = self.wait_for_subject(main, subject)
        self.assertEqual(delivered["rcpt_tos"], ["good@example.net"])
        self.assertEqual(delivered["mail_from"], "alice@example.com")
        dsn = wait_until(lambda: self.dsn_about(main, "alice@example.com", subject), 10,
                         message="the DSN at the sink")
        self.assertEqual(len(dsn), 1)
        fields = self.assert_dsn(dsn[0], "alice@example.com",
                                 {"bad@example.org": ("5.1.1", "550 5.1.1 <bad@example.org>: no such user")},
                                 subject)
        self.assertEqual(fields["rfc822; bad@example.org"]["Diagnostic-Code"],
                         "smtp; 550 5.1.1 <bad@example.org>: no such user")
        self.assertEqual(fields["rfc822; bad@example.org"]["Remote-MTA"], "dns; 127.0.0.1")
        self.assertIn(f"X-Postern-Queue-ID: {queue_id}", dsn[0]["data"].decode())
        self.wait_until_gone(queue_id)
        self.wait_until_queue_empty()  # the DSN itself was delivered and left too
        log = self.delivery_log(queue_id)
        self.assertTrue(any("recipient=bad@example.org" in l and "result=failed" in l for l in log), log)
        self.assertTrue(any("recipient=good@example.net" in l and "result=delivered" in l for l in log), log)

    def test_550_for_every_recipient_bounces_once_and_the_dsn_itself_never_bounces(self):
        main = self.restart_main({"rcpt": {"x1@example.org": "550 5.1.1 no such user",
                                           "x2@example.org": "553 5.1.3 bad address",
                                           "alice@example.com": "550 5.1.1 sender unknown too"}})
        data = mail("alice@example.com")
        subject = subject_of(data)
        queue_id = self.send(data, "alice@example.com", ["x1@example.org", "x2@example.org"])
        self.wait_until_gone(queue_id)
        # The DSN to alice is refused too: null-sender mail is dropped, not bounced in a loop.
        self.wait_until_queue_empty()
        self.assertEqual(self.by_subject(main.messages(), subject), [])
        self.assertEqual(self.dsns_to(main, "alice@example.com"), [])
        log = self.relay.log_text()
        self.assertEqual(log.count("original=" + queue_id), 1)

    def test_upstream_down_then_back_delivers_what_was_queued_meanwhile(self):
        flaky = self.sinks["flaky"]
        flaky.stop()
        pid = self.relay.process.pid
        sent = {}
        for _ in range(3):
            data = mail("down@corp.example")
            sent[self.send(data, "down@corp.example", user=BOB)] = subject_of(data)
        for queue_id in sent:
            shown = self.wait_until_deferred(queue_id, "127.0.0.1")
            self.assertRegex(shown["last_error"], r"(?i)refused")
        for subject in sent.values():
            self.assertEqual(self.by_subject(flaky.messages(), subject), [])
        flaky.start()  # the same port
        back = time.monotonic()
        for subject in sent.values():
            self.wait_for_subject(flaky, subject, timeout=15)
        print(f"\n[delivery] upstream back -> 3 deferred messages delivered in {time.monotonic() - back:.1f} s",
              flush=True)
        self.wait_until_gone(*sent)
        self.assertEqual(self.relay.process.pid, pid)
        self.assertIsNone(self.relay.process.poll())

    def test_upstream_cut_while_idle_session_is_pooled_is_recovered(self):
        # The relay keeps an idle session to "flaky"; the sink restarts under it.
        flaky = self.sinks["flaky"]
        if not flaky.running():
            flaky.start()
        first = mail("down@corp.example")
        self.send(first, "down@corp.example", user=BOB)
        self.wait_for_subject(flaky, subject_of(first))
        flaky.stop()
        flaky.start()
        second = mail("down@corp.example")
        self.send(second, "down@corp.example", user=BOB)
        self.wait_for_subject(flaky, subject_of(second), timeout=10)

    def test_certificate_verification_failure_keeps_the_message_queued_with_a_clear_error(self):
        untrusted = self.sinks["untrusted"]
        data = mail("untrusted@corp.example")
        queue_id = self.send(data, "untrusted@corp.example", user=BOB)
        shown = self.wait_until_deferred(queue_id, "certificate verify failed")
        self.assertRegex(shown["last_error"], r"self.signed certificate")
        self.assertEqual(shown["recipients"][0]["status"], "pending")
        self.assertIn("certificate verify failed", shown["recipients"][0]["last_reply"])
        self.assertRegex(shown["recipients"][0]["last_reply"], r"^4\d\d ")
        # The human form says it as plainly.
        text = self.admin.ok("queue", "show", queue_id)
        self.assertRegex(text, r"Last error: .*certificate verify failed")
        # It is tried again (and fails again); nothing ever reaches the upstream.
        wait_until(lambda: self.show(queue_id)["attempts"] >= 2, 10, 0.05, message="a second attempt")
        self.assertEqual(untrusted.count(), 0)
        self.assertIn(queue_id, {m["id"] for m in self.queue_list()})
        self.assertEqual(self.dsns_to(self.sinks["main"], "bob@example.com"), [])
        self.admin.ok("queue", "delete", queue_id)


class LifetimeExpiry(DeliveryTestCase, DsnChecks):
    """lifetime_seconds: 3. Mail from alice goes to "down" (nothing listens) and mail from bob to
    "busy" (always 451); bounces go to "main", which works."""

    @classmethod
    def make_sinks(cls):
        return {"main": Sink(), "busy": Sink(rules={"data": ["451 4.3.0 Busy, try later"] * 1000})}

    @classmethod
    def configure(cls):
        s = cls.sinks
        return {"upstreams": [s["main"].upstream("main"), s["busy"].upstream("busy"),
                              {"name": "down", "kind": "smtp", "host": "127.0.0.1", "port": free_port(),
                               "security": "none"}],
                "routes": [{"sender_domain": "example.com", "upstream": "down"},
                           {"sender_domain": "corp.example", "upstream": "busy"}],
                "default_upstream": "main",
                "delivery": dict(FAST_RETRIES, lifetime_seconds=3)}

    def expire(self, sender, user, recipients):
        main = self.sinks["main"]
        data = mail(sender)
        subject = subject_of(data)
        sent = time.monotonic()
        queue_id = self.send(data, sender, recipients, user=user)
        dsn = wait_until(lambda: self.dsn_about(main, sender, subject), 20, 0.02, message="the DSN")
        took = time.monotonic() - sent
        self.wait_until_gone(queue_id)
        self.assertEqual(len(dsn), 1)
        self.assertEqual(self.by_subject(main.messages(), subject), [])
        print(f"\n[delivery] lifetime 3 s: DSN 4.4.7 at the sink {took:.1f} s after submission", flush=True)
        self.assertGreater(took, 1.0)  # not on the first failure
        return dsn[0], subject

    def test_upstream_down_until_the_lifetime_ends_bounces_with_4_4_7(self):
        dsn, subject = self.expire("alice@example.com", ALICE, ["r1@example.net", "r2@example.net"])
        fields = self.assert_dsn(dsn, "alice@example.com",
                                 {"r1@example.net": ("4.4.7", "expired"),
                                  "r2@example.net": ("4.4.7", "expired")}, subject)
        self.assertIn("refused", fields["rfc822; r1@example.net"]["Diagnostic-Code"].lower())

    def test_always_451_until_the_lifetime_ends_bounces_with_4_4_7_and_the_last_reply(self):
        dsn, subject = self.expire("bob@corp.example", BOB, ["r@example.net"])
        self.assert_dsn(dsn, "bob@corp.example",
                        {"r@example.net": ("4.4.7", "451 4.3.0 Busy, try later")}, subject)


if __name__ == "__main__":
    unittest.main()
