"""Catch-all intake, end to end: the real postern takes mail for trap domains through an inbound
(port 25 style) listener and an LMTP listener (Python's smtplib.LMTP), relays nowhere else, routes
it by recipient domain (one message may go several ways), fans a recipient out to several
upstreams (each copy retried on its own), and never sends a DSN to the forged senders of inbound
mail: what finally fails stays in the queue, logged and counted, until deleted or expired.
"""
import os
import re
import smtplib
import time
import unittest

from relay import RawSmtp, Sink, free_port, wait_until
from test_delivery import DeliveryTestCase, maildir_files, mail, subject_of, without_received
from test_delivery_pop_before_smtp import metrics

FAST_RETRIES = {"first_retry_seconds": 1, "max_retry_seconds": 2}


def counter(text, name):
    found = re.search(r"^" + re.escape(name) + r" (\d+)$", text, re.M)
    return int(found.group(1)) if found else 0


class InboundTestCase(DeliveryTestCase):
    """Sinks "sink" (the default upstream) and "other", a maildir "backup"; an inbound listener
    for trap.example, trap2.example and trap3.example, an LMTP listener for trap.example and
    trap2.example, and an inbound listener with DSNs on for dsn.example. Routes: trap.example fans
    out to sink and backup, trap2.example goes to other, anything else to sink."""

    extra_delivery = {}

    @classmethod
    def make_sinks(cls):
        return {"sink": Sink(), "other": Sink()}

    @classmethod
    def configure(cls):
        cls.inbound_port, cls.lmtp_port, cls.dsn_port = free_port(), free_port(), free_port()
        cls.backup = os.path.join(cls.work, "backup")
        cls.lmtp_socket = os.path.join(cls.work, "lmtp.sock")
        return {
            "extra_listeners": [
                {"role": "inbound", "address": "127.0.0.1", "port": cls.inbound_port,
                 "accept_domains": ["trap.example", "trap2.example", "trap3.example"]},
                {"kind": "lmtp", "port": cls.lmtp_port, "accept_domains": ["trap.example", "trap2.example"]},
                {"kind": "lmtp", "path": cls.lmtp_socket, "accept_domains": ["trap2.example"]},
                {"role": "inbound", "address": "127.0.0.1", "port": cls.dsn_port,
                 "accept_domains": ["dsn.example"], "dsn": True},
            ],
            "upstreams": [cls.sinks["sink"].upstream("sink"), cls.sinks["other"].upstream("other"),
                          {"name": "backup", "kind": "maildir", "path": cls.backup}],
            "routes": [{"recipient_domain": "trap.example", "upstreams": ["sink", "backup"]},
                       {"recipient_domain": "trap2.example", "upstream": "other"}],
            "default_upstream": "sink",
            "delivery": dict(FAST_RETRIES, **cls.extra_delivery),
        }

    def setUp(self):
        for sink in self.sinks.values():
            sink.set_rules({})

    def inbound(self, port=None):
        client = smtplib.SMTP("127.0.0.1", port or self.inbound_port, local_hostname="mx.client.test", timeout=15)
        self.addCleanup(self._quietly_close, client)
        client.ehlo()
        return client

    def deliver_inbound(self, data, sender, recipients, port=None):
        client = self.inbound(port)
        return self.transaction(client, data, sender, recipients)


class InboundListener(InboundTestCase):

    def test_ehlo_offers_starttls_but_no_auth_and_auth_is_refused(self):
        client = self.inbound()
        self.assertIn("starttls", client.esmtp_features)
        self.assertNotIn("auth", client.esmtp_features)
        self.assertEqual(client.docmd("AUTH", "PLAIN AGFsaWNlAHg="), (503, b"5.5.1 Authentication not enabled"))
        client.starttls(context=self.relay.client_context())
        client.ehlo()
        self.assertNotIn("auth", client.esmtp_features)

    def test_any_sender_including_the_null_sender_reaches_the_trap_domain_as_sent(self):
        data = mail("spammer@forged.example", to="whoever@trap2.example", message_id=False, date=False)
        for sender in ("", "spammer@forged.example"):
            with self.subTest(sender=sender):
                queue_id = self.deliver_inbound(data, sender, ["Whoever@TRAP2.example"])
                got = self.wait_for_subject(self.sinks["other"], subject_of(data))
                self.assertEqual(got["mail_from"], sender or "<>")
                self.assertEqual(got["rcpt_tos"], ["Whoever@TRAP2.example"])
                # Only the trace field is added: no Message-ID, no Date (RFC 6409 §8 is for submission).
                self.assertEqual(without_received(got["data"]), data)
                received = got["data"][:got["data"].index(b"\r\n\r\n")].decode()
                self.assertIn(f"with ESMTP id {queue_id}", received.replace("\r\n\t", " "))
                self.assertNotIn("authenticated", received)
                data = mail("spammer@forged.example", to="whoever@trap2.example", message_id=False, date=False)

    def test_relay_attempt_to_an_outside_domain_is_refused(self):
        before = {m["id"] for m in self.queue_list()}
        client = self.inbound()
        self.assertEqual(client.mail("spammer@forged.example")[0], 250)
        for outside in ("victim@example.net", "victim@sub.trap.example", "victim@trap.example.evil"):
            self.assertEqual(client.rcpt(outside), (554, b"5.7.1 Relay access denied"))
        self.assertEqual(client.docmd("DATA")[0], 503)  # no recipient: nothing to queue
        self.assertEqual({m["id"] for m in self.queue_list()}, before)
        self.assertIn('postern_messages_rejected_total{reason="relay_denied"}', metrics(self.relay.http_port))

    def test_submission_listener_still_needs_auth(self):
        client = smtplib.SMTP("127.0.0.1", self.relay.port, local_hostname="client.test", timeout=15)
        self.addCleanup(self._quietly_close, client)
        client.ehlo()
        self.assertEqual(client.mail("spammer@forged.example")[0], 530)

    def test_recipients_of_one_message_go_different_ways(self):
        data = mail("spammer@forged.example", to="several")
        queue_id = self.deliver_inbound(data, "spammer@forged.example", ["a@trap2.example", "b@trap3.example"])
        at_other = self.wait_for_subject(self.sinks["other"], subject_of(data))
        at_sink = self.wait_for_subject(self.sinks["sink"], subject_of(data))
        self.assertEqual(at_other["rcpt_tos"], ["a@trap2.example"])
        self.assertEqual(at_sink["rcpt_tos"], ["b@trap3.example"])
        self.wait_until_gone(queue_id)


class LmtpListener(InboundTestCase):

    def test_lhlo_and_one_reply_per_accepted_recipient(self):
        client = smtplib.LMTP("127.0.0.1", self.lmtp_port, local_hostname="mx.client.test", timeout=15)
        self.addCleanup(self._quietly_close, client)
        client.ehlo_or_helo_if_needed()
        self.assertIn("pipelining", client.esmtp_features)
        self.assertNotIn("auth", client.esmtp_features)
        self.assertNotIn("starttls", client.esmtp_features)
        self.assertEqual(client.docmd("EHLO", "x")[0], 500)
        self.assertEqual(client.mail("")[0], 250)
        self.assertEqual(client.rcpt("one@trap2.example")[0], 250)
        self.assertEqual(client.rcpt("outside@example.net"),
                         (550, b"5.1.1 Recipient address rejected: domain not accepted here"))
        self.assertEqual(client.rcpt("two@trap2.example")[0], 250)
        data = mail("spammer@forged.example", to="two recipients")
        code, first = client.data(data)
        self.assertEqual(code, 250, first)
        second = client.getreply()
        self.assertEqual(second[0], 250, second)
        queue_id = re.search(rb"queued as (\S+)", first).group(1).decode()
        self.assertIn(queue_id.encode(), second[1])
        got = self.wait_for_subject(self.sinks["other"], subject_of(data))
        self.assertEqual(sorted(got["rcpt_tos"]), ["one@trap2.example", "two@trap2.example"])
        self.assertIn(b" with LMTP id " + queue_id.encode(), got["data"].replace(b"\r\n\t", b" "))
        # The session goes on.
        self.assertEqual(client.noop()[0], 250)

    def test_lmtp_on_a_unix_socket(self):
        client = smtplib.LMTP(self.lmtp_socket, local_hostname="mx.client.test", timeout=15)
        self.addCleanup(self._quietly_close, client)
        client.ehlo_or_helo_if_needed()
        data = mail("spammer@forged.example", to="sock@trap2.example")
        queue_id = self.transaction(client, data, "", ["sock@trap2.example"])
        got = self.wait_for_subject(self.sinks["other"], subject_of(data))
        self.assertIn(b"from mx.client.test (local)", got["data"].replace(b"\r\n\t", b" "))
        self.wait_until_gone(queue_id)
        self.assertEqual(client.rcpt("x@trap.example")[0], 503)  # no transaction open
        client.mail("")
        self.assertEqual(client.rcpt("x@trap.example")[0], 550)  # not this listener's domain

    def test_lmtp_refusal_of_the_data_is_one_reply_per_recipient(self):
        client = smtplib.LMTP("127.0.0.1", self.lmtp_port, local_hostname="mx.client.test", timeout=15)
        self.addCleanup(self._quietly_close, client)
        client.ehlo_or_helo_if_needed()
        client.mail("")
        client.rcpt("one@trap2.example")
        client.rcpt("two@trap2.example")
        too_big = mail("s@forged.example", body="x" * 998 + "\r\n") * 120  # over max_message_size (100000)
        code, _ = client.data(too_big)
        self.assertEqual(code, 552)
        self.assertEqual(client.getreply()[0], 552)
        self.assertEqual(client.noop()[0], 250)


class FanOut(InboundTestCase):

    def test_a_recipient_goes_to_every_upstream_of_its_route(self):
        data = mail("spammer@forged.example", to="catch@trap.example")
        queue_id = self.lmtp_send(self.lmtp_port, data, ["catch@trap.example"])
        got = self.wait_for_subject(self.sinks["sink"], subject_of(data))
        self.assertEqual(got["rcpt_tos"], ["catch@trap.example"])
        wait_until(lambda: [m for m in maildir_files(self.backup).values() if subject_of(m) == subject_of(data)],
                   15, message="the maildir copy")
        copies = [m for m in maildir_files(self.backup).values() if subject_of(m) == subject_of(data)]
        self.assertEqual(copies, [got["data"]])  # the same bytes
        self.wait_until_gone(queue_id)

    def test_each_copy_is_retried_on_its_own(self):
        self.sinks["sink"].set_rules({"data": ["451 4.3.0 Try later", "451 4.3.0 Try later"]})
        data = mail("spammer@forged.example", to="catch@trap.example")
        queue_id = self.deliver_inbound(data, "spammer@forged.example", ["catch@trap.example"])
        # The maildir copy goes at once, the sink's waits for its retries.
        wait_until(lambda: [m for m in maildir_files(self.backup).values() if subject_of(m) == subject_of(data)],
                   15, message="the maildir copy")
        shown = self.wait_until_deferred(queue_id, "Try later")
        copies = shown["recipients"][0]["shares"]
        self.assertEqual([(c["kind"], c["upstream"]) for c in copies], [("copy", "sink"), ("copy", "backup")])
        self.assertEqual(copies[1]["status"], "delivered")
        self.assertEqual(copies[0]["status"], "pending")
        text = self.admin.ok("queue", "show", queue_id)
        self.assertIn("copy 1 of 2 to catch@trap.example via sink  pending", text)
        self.assertIn("copy 2 of 2 to catch@trap.example via backup  delivered", text)
        self.wait_for_subject(self.sinks["sink"], subject_of(data))
        self.wait_until_gone(queue_id)
        copies = [m for m in maildir_files(self.backup).values() if subject_of(m) == subject_of(data)]
        self.assertEqual(len(copies), 1, "the delivered copy is never sent again")

    def test_recipients_of_two_domains_fan_out_and_route(self):
        data = mail("spammer@forged.example", to="both")
        queue_id = self.deliver_inbound(data, "spammer@forged.example", ["x@trap.example", "y@trap3.example"])
        # Both recipients reach the sink in one transaction: the copy of x and the plain y.
        got = self.wait_for_subject(self.sinks["sink"], subject_of(data))
        self.assertEqual(sorted(got["rcpt_tos"]), ["x@trap.example", "y@trap3.example"])
        self.wait_until_gone(queue_id)


class NoBackscatter(InboundTestCase):

    def test_a_failed_inbound_recipient_makes_no_dsn_and_stays_queued(self):
        self.sinks["other"].set_rules({"rcpt": {"dead@trap2.example": "550 5.1.1 No such user"}})
        before = counter(metrics(self.relay.http_port), "postern_undeliverable_without_dsn_total")
        data = mail("spammer@forged.example", to="dead@trap2.example")
        queue_id = self.deliver_inbound(data, "spammer@forged.example", ["dead@trap2.example", "live@trap2.example"])
        self.wait_for_subject(self.sinks["other"], subject_of(data))
        shown = wait_until(lambda: (lambda m: m if m and m["recipients_pending"] == 0 and not m["leased"] else None)(
            self.show(queue_id)), 15, 0.05, message="the recipients settled")
        self.assertFalse(shown["dsn"])
        self.assertEqual(shown["intake"], "inbound")
        self.assertIsNone(shown["auth_user"])
        statuses = {r["address"]: r["status"] for r in shown["recipients"]}
        self.assertEqual(statuses, {"dead@trap2.example": "failed", "live@trap2.example": "delivered"})
        self.assertIn("no DSN", shown["last_error"])
        text = self.admin.ok("queue", "show", queue_id)
        self.assertIn("by inbound intake from 127.0.0.1", text)
        self.assertIn("DSN: none", text)
        wait_until(lambda: counter(metrics(self.relay.http_port), "postern_undeliverable_without_dsn_total") == before + 1,
                   10, message="the metric")
        self.relay.wait_for_log(r'event=undeliverable id=' + queue_id)
        time.sleep(1.5)  # nothing more happens to it, and no DSN goes anywhere
        for sink in self.sinks.values():
            self.assertFalse([m for m in sink.messages() if m["mail_from"] in ("", "<>")], "no DSN")
        self.assertIsNotNone(self.show(queue_id))
        self.admin.ok("queue", "delete", queue_id)
        self.assertIsNone(self.show(queue_id))

    def test_a_listener_with_dsn_on_bounces_to_the_sender(self):
        self.sinks["sink"].set_rules({"rcpt": {"dead@dsn.example": "550 5.1.1 No such user"}})
        data = mail("sender@example.org", to="dead@dsn.example")
        queue_id = self.deliver_inbound(data, "sender@example.org", ["dead@dsn.example"], port=self.dsn_port)
        wait_until(lambda: [m for m in self.sinks["sink"].messages()
                            if m["mail_from"] in ("", "<>") and m["rcpt_tos"] == ["sender@example.org"]],
                   15, message="the DSN")
        self.wait_until_gone(queue_id)


class KeptUntilExpiry(InboundTestCase):
    extra_delivery = {"lifetime_seconds": 6}

    def test_a_kept_message_leaves_the_queue_when_its_lifetime_ends(self):
        self.sinks["other"].set_rules({"rcpt": {"dead@trap2.example": "550 5.1.1 No such user"}})
        data = mail("spammer@forged.example", to="dead@trap2.example")
        queue_id = self.deliver_inbound(data, "spammer@forged.example", ["dead@trap2.example"])
        wait_until(lambda: (lambda m: m and m["recipients_pending"] == 0)(self.show(queue_id)), 10, 0.05,
                   message="the recipient failed")
        self.wait_until_gone(queue_id, timeout=20)
        self.relay.wait_for_log(r'event=kept_message_expired id=' + queue_id)


if __name__ == "__main__":
    unittest.main()
