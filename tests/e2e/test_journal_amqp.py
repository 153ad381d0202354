"""Journaling to a real RabbitMQ, end to end: mail for a trap domain comes in over LMTP (Python's
smtplib.LMTP) and the real postern publishes it from its queue to an exchange with publisher
confirms. A bound durable queue receives every message, persistent, with the routing key and the
exact bytes; a broker stopped and restarted mid-stream loses nothing; a message nobody's queue is
bound for (mandatory: returned) stays queued in Postern until one is.

One RabbitMQ node for the whole file (tests/support/rabbitmq.py), started as its own node on free
ports in a temporary folder.
"""
import base64
import hashlib
import json
import os
import unittest

from rabbitmq import RabbitMQ
from relay import free_port, wait_until
from test_delivery import DeliveryTestCase, mail, subject_of, without_received

FAST_RETRIES = {"first_retry_seconds": 1, "max_retry_seconds": 2}
broker = None


def setUpModule():
    global broker
    broker = RabbitMQ()
    broker.start()


def tearDownModule():
    if broker is not None:
        broker.close()


class AmqpJournal(DeliveryTestCase):
    """An LMTP listener for trap.example (to the "journal" exchange, raw), trap2.example (to an
    exchange where nobody listens on the routing key) and json.example (the JSON form)."""

    @classmethod
    def configure(cls):
        cls.lmtp_port = free_port()
        password_file = os.path.join(cls.work, "amqp-password")
        with open(password_file, "w") as f:
            f.write(broker.password + "\n")
        amqp = {"kind": "amqp", "host": "127.0.0.1", "port": broker.port, "security": "none",
                "username": broker.user, "password_file": password_file, "timeout_seconds": 5}
        broker.declare_queue("journal-all", "journal", "spam.mails")
        broker.declare_queue("journal-json", "journal-json", "spam.json")
        return {
            "extra_listeners": [{"kind": "lmtp", "port": cls.lmtp_port,
                                 "accept_domains": ["trap.example", "trap2.example", "json.example"]}],
            "upstreams": [
                dict(amqp, name="rabbit", exchange="journal", routing_key="spam.mails"),
                dict(amqp, name="unrouted", exchange="journal", routing_key="nobody.listens"),
                dict(amqp, name="rabbit-json", exchange="journal-json", routing_key="spam.json", format="json"),
                {"name": "backup", "kind": "maildir", "path": os.path.join(cls.work, "backup")},
            ],
            "routes": [{"recipient_domain": "trap.example", "upstream": "rabbit"},
                       {"recipient_domain": "trap2.example", "upstream": "unrouted"},
                       {"recipient_domain": "json.example", "upstream": "rabbit-json"}],
            "default_upstream": "backup",
            "delivery": FAST_RETRIES,
        }

    def collected(self, queue, into):
        into.extend(broker.messages(queue))
        return into

    def test_a_bound_queue_receives_every_message_persistent_with_the_routing_key(self):
        sent = {}
        for i in range(5):
            data = mail("spammer@forged.example", to="catch@trap.example",
                        body=f"message {i}\r\n" + ("\u00e9t\u00e9 \xff\r\n" if i == 3 else ""))
            if i == 3:
                data = data.replace("\u00e9t\u00e9 \xff".encode(), b"\xe9t\xe9 \xff")  # not UTF-8
            queue_id = self.lmtp_send(self.lmtp_port, data, ["catch@trap.example", "other@trap.example"])
            sent[subject_of(data)] = (queue_id, data)
        got = []
        wait_until(lambda: len(self.collected("journal-all", got)) >= 5, 20, 0.2, message="5 messages in RabbitMQ")
        self.assertEqual(len(got), 5, "one publish per message, whatever its recipients")
        for m in got:
            queue_id, data = sent[subject_of(m.body)]
            self.assertEqual(without_received(m.body), data)  # the exact bytes, as queued
            self.assertEqual(m.delivery_mode, 2)
            self.assertEqual(m.routing_key, "spam.mails")
            self.assertEqual(m.exchange, "journal")
            self.assertEqual(m.content_type, "message/rfc822")
        for queue_id, _ in sent.values():
            self.wait_until_gone(queue_id)

    def test_the_json_form_carries_the_sha256_of_the_raw_bytes(self):
        data = mail("spammer@forged.example", to="x@json.example", body="caf\xe9 \r\n")
        data = data.replace("caf\xe9".encode(), b"caf\xe9")  # Latin-1: not UTF-8
        queue_id = self.lmtp_send(self.lmtp_port, data, ["x@json.example"])
        got = []
        wait_until(lambda: self.collected("journal-json", got), 20, 0.2, message="the JSON message")
        self.wait_until_gone(queue_id)
        obj = json.loads(got[0].body)
        self.assertEqual(got[0].content_type, "application/json")
        raw = base64.b64decode(obj["msg_base64"])
        self.assertEqual(without_received(raw), data)
        self.assertEqual(obj["sha256"], hashlib.sha256(raw).hexdigest())
        self.assertIn("caf\ufffd", obj["msg"])

    def test_broker_stopped_and_restarted_mid_stream_loses_nothing(self):
        subjects = []
        for i in range(20):
            if i == 6:
                broker.stop()
            data = mail("spammer@forged.example", to="catch@trap.example")
            self.lmtp_send(self.lmtp_port, data, ["catch@trap.example"])  # queued, the broker up or not
            subjects.append(subject_of(data))
        shown = wait_until(lambda: [m for m in self.queue_list() if "amqp" in (m["last_error"] or "")], 20, 0.2,
                           message="a deferral while the broker is down")
        self.assertTrue(shown)
        broker.start()
        got = []
        wait_until(lambda: {subject_of(m.body) for m in self.collected("journal-all", got)} >= set(subjects),
                   60, 0.5, message="every message once the broker is back")
        self.assertEqual({subject_of(m.body) for m in got}, set(subjects))
        self.wait_until_queue_empty(timeout=30)

    def test_an_unroutable_message_stays_queued_until_a_queue_is_bound(self):
        data = mail("spammer@forged.example", to="lost@trap2.example")
        queue_id = self.lmtp_send(self.lmtp_port, data, ["lost@trap2.example"])
        shown = self.wait_until_deferred(queue_id, "unroutable")
        self.assertIn("312 NO_ROUTE", shown["last_error"])
        self.assertEqual(shown["recipients"][0]["status"], "pending")
        broker.declare_queue("late-listener", "journal", "nobody.listens")
        self.wait_until_gone(queue_id, timeout=20)
        got = broker.messages("late-listener")
        self.assertEqual([subject_of(m.body) for m in got], [subject_of(data)])


if __name__ == "__main__":
    unittest.main()
