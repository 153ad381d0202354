"""Journaling to hpfeeds, end to end: what the spamtrap collector did, without losing mail. Mail
for a trap domain comes in through the LMTP listener (Python's smtplib.LMTP) or the inbound one
(a relay attempt to an outside domain refused), and the real postern publishes it from its queue
to the project's test broker (tests/support/hpfeeds_broker.py); a subscriber receives the seed's
JSON {"msg", "sha256"} with the SHA-256 of the bytes as delivered. A message that is not UTF-8
arrives losslessly (msg_base64); a broker that is down leaves the mail queued and retried until it
is back; a wrong secret shows the broker's error in `mailadmin queue show`; a route fans out to
the journal and a maildir; a message too large for a frame fails at once with a clear reason.
"""
import base64
import hashlib
import json
import os
import smtplib
import unittest

from hpfeeds_broker import HpfeedsBroker, HpfeedsSubscriber
from relay import free_port, wait_until
from test_delivery import DeliveryTestCase, maildir_files, mail, subject_of, without_received

FAST_RETRIES = {"first_retry_seconds": 1, "max_retry_seconds": 2}
SECRET = "Collector-s3cret-71d2"
AUTH = {"collector": {"owner": "postern", "secret": SECRET, "pubchans": ["spam.mails", "spam.copy"]},
        "reader": {"owner": "tests", "secret": "Reader-s3cret", "subchans": ["spam.mails", "spam.copy"]}}


def raw_of(payload):
    """The message bytes a JSON payload carries."""
    obj = json.loads(payload)
    return base64.b64decode(obj["msg_base64"]) if "msg_base64" in obj else obj["msg"].encode()


class HpfeedsJournal(DeliveryTestCase):
    """Listeners: LMTP and inbound for the trap domains. Routes: trap.example fans out to the
    journal "feed" (channels spam.mails and spam.copy) and the maildir "backup"; trap2.example to
    "feed"; wrong.example to "feed-wrong" (a wrong secret); small.example to "feed-small" (frames
    of 4 KiB at most)."""

    @classmethod
    def make_sinks(cls):
        cls.broker = HpfeedsBroker(auth=AUTH).start()
        return {}

    @classmethod
    def _cleanup_sinks(cls):
        cls.broker.stop()
        super()._cleanup_sinks()

    @classmethod
    def configure(cls):
        cls.lmtp_port, cls.inbound_port = free_port(), free_port()
        cls.backup = os.path.join(cls.work, "backup")
        secret_file = os.path.join(cls.work, "hpfeeds-secret")
        with open(secret_file, "w") as f:
            f.write(SECRET + "\n")
        wrong_file = os.path.join(cls.work, "hpfeeds-wrong")
        with open(wrong_file, "w") as f:
            f.write("not-the-secret\n")
        feed = {"kind": "hpfeeds", "host": "127.0.0.1", "port": cls.broker.port, "security": "none",
                "ident": "collector", "secret_file": secret_file, "channels": ["spam.mails"],
                "timeout_seconds": 5, "error_grace_milliseconds": 100}
        domains = ["trap.example", "trap2.example", "wrong.example", "small.example"]
        return {
            "extra_listeners": [
                {"kind": "lmtp", "port": cls.lmtp_port, "accept_domains": domains},
                {"role": "inbound", "address": "127.0.0.1", "port": cls.inbound_port, "accept_domains": domains},
            ],
            "upstreams": [
                dict(feed, name="feed", channels=["spam.mails", "spam.copy"]),
                dict(feed, name="feed-wrong", secret_file=wrong_file),
                dict(feed, name="feed-small", max_frame_bytes=4096),
                {"name": "backup", "kind": "maildir", "path": cls.backup},
            ],
            "routes": [{"recipient_domain": "trap.example", "upstreams": ["feed", "backup"]},
                       {"recipient_domain": "trap2.example", "upstream": "feed"},
                       {"recipient_domain": "wrong.example", "upstream": "feed-wrong"},
                       {"recipient_domain": "small.example", "upstream": "feed-small"}],
            "default_upstream": "backup",
            "delivery": dict(FAST_RETRIES, workers=32),
        }

    def setUp(self):
        self.subscriber = HpfeedsSubscriber(self.broker.port, "reader", "Reader-s3cret", ["spam.mails", "spam.copy"])
        self.addCleanup(self.subscriber.close)
        self.broker.wait_for_subscribers("spam.copy")

    def published(self, subject, channel="spam.mails", timeout=20):
        """The JSON objects the subscriber got on `channel` for the message with this Subject."""
        def found():
            out = []
            for got_channel, ident, payload in self.subscriber.messages():
                obj, raw = json.loads(payload), raw_of(payload)
                if got_channel == channel and subject_of(raw) == subject:
                    self.assertEqual(ident, "collector")
                    out.append((obj, raw))
            return out
        return wait_until(found, timeout, 0.05, message=f"{subject!r} on {channel}")

    def assert_seed_json(self, obj, raw, data):
        self.assertEqual(without_received(raw), data)  # the message as sent, after our trace field
        self.assertEqual(obj["sha256"], hashlib.sha256(raw).hexdigest())

    def test_lmtp_mail_reaches_the_subscriber_and_the_maildir(self):
        data = mail("spammer@forged.example", to="catch@trap.example")
        queue_id = self.lmtp_send(self.lmtp_port, data, ["catch@trap.example", "other@trap.example"])
        [(obj, raw)] = self.published(subject_of(data))
        self.assertEqual(sorted(obj), ["msg", "sha256"])
        self.assert_seed_json(obj, raw, data)
        [(copy_obj, _)] = self.published(subject_of(data), channel="spam.copy")
        self.assertEqual(copy_obj, obj)  # every channel gets the same payload
        # The maildir backup has the same bytes: the same digest.
        wait_until(lambda: [m for m in maildir_files(self.backup).values() if subject_of(m) == subject_of(data)],
                   15, message="the maildir copy")
        [copy] = [m for m in maildir_files(self.backup).values() if subject_of(m) == subject_of(data)]
        self.assertEqual(hashlib.sha256(copy).hexdigest(), obj["sha256"])
        self.wait_until_gone(queue_id)
        self.assertEqual(len(self.published(subject_of(data))), 1, "one publish for two recipients")

    def test_inbound_mail_reaches_the_subscriber_and_a_relay_attempt_does_not(self):
        client = smtplib.SMTP("127.0.0.1", self.inbound_port, local_hostname="mx.client.test", timeout=15)
        self.addCleanup(self._quietly_close, client)
        client.ehlo()
        self.assertEqual(client.mail("")[0], 250)
        self.assertEqual(client.rcpt("victim@example.net"), (554, b"5.7.1 Relay access denied"))
        self.assertEqual(client.rcpt("catch@trap2.example")[0], 250)
        data = mail("spammer@forged.example", to="catch@trap2.example")
        code, reply = client.data(data)
        self.assertEqual(code, 250, reply)
        [(obj, raw)] = self.published(subject_of(data))
        self.assert_seed_json(obj, raw, data)
        self.assertIn(b" with ESMTP id ", raw.replace(b"\r\n\t", b" "))

    def test_mail_that_is_not_utf8_arrives_losslessly(self):
        data = mail("spammer@forged.example", to="x@trap2.example", body="PLACEHOLDER\r\n")
        data = data.replace(b"PLACEHOLDER", b"Gr\xfc\xdfe \xff\xfe \xe2\x82 cut")
        self.lmtp_send(self.lmtp_port, data, ["x@trap2.example"])
        [(obj, raw)] = self.published(subject_of(data))
        self.assertEqual(sorted(obj), ["msg", "msg_base64", "sha256"])
        self.assert_seed_json(obj, raw, data)
        self.assertIn("Gr\ufffd\ufffde \ufffd\ufffd \ufffd cut", obj["msg"])

    def test_broker_down_queues_and_publishes_everything_when_it_returns(self):
        self.subscriber.close()
        self.broker.stop()
        subjects = []
        try:
            for _ in range(5):
                data = mail("spammer@forged.example", to="x@trap2.example")
                queue_id = self.lmtp_send(self.lmtp_port, data, ["x@trap2.example"])
                subjects.append(subject_of(data))
            shown = self.wait_until_deferred(queue_id, "connect")
            self.assertEqual(shown["recipients"][0]["status"], "pending")
            published_before = len(self.broker.published)
        finally:
            self.broker.start()
        def all_published():
            return {subject_of(raw_of(p)) for _, _, p in self.broker.published[published_before:]} >= set(subjects)
        wait_until(all_published, 30, 0.1, message="every queued message published once the broker is back")
        self.wait_until_queue_empty(timeout=30)
        self.subscriber = HpfeedsSubscriber(self.broker.port, "reader", "Reader-s3cret", ["spam.copy"])
        self.addCleanup(self.subscriber.close)

    def test_a_wrong_secret_shows_the_brokers_error(self):
        data = mail("spammer@forged.example", to="x@wrong.example")
        queue_id = self.lmtp_send(self.lmtp_port, data, ["x@wrong.example"])
        shown = self.wait_until_deferred(queue_id, "Authentication failed")
        self.assertIn("hpfeeds broker: Authentication failed for collector", shown["last_error"])
        text = self.admin.ok("queue", "show", queue_id)
        self.assertIn("Authentication failed for collector", text)
        self.assertNotIn("not-the-secret", text + self.relay.log_text())
        self.admin.ok("queue", "delete", queue_id)

    def test_a_message_too_large_for_a_frame_fails_with_a_clear_reason(self):
        data = mail("spammer@forged.example", to="x@small.example", body=("z" * 76 + "\r\n") * 60)
        queue_id = self.lmtp_send(self.lmtp_port, data, ["x@small.example"])
        shown = wait_until(lambda: (lambda m: m if m and m["recipients_pending"] == 0 else None)(self.show(queue_id)),
                           15, 0.05, message="the recipient failed")
        reply = shown["recipients"][0]["last_reply"]
        self.assertEqual(shown["recipients"][0]["status"], "failed")
        self.assertIn("554 5.3.4 message too large for hpfeeds", reply)
        self.assertIn("exceeds max_frame_bytes 4096", reply)
        self.assertFalse(shown["dsn"])  # LMTP mail: kept, no DSN
        self.admin.ok("queue", "delete", queue_id)


if __name__ == "__main__":
    unittest.main()
