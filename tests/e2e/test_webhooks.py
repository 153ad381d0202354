"""Delivery webhooks, end to end: the real postern writes message events to the PostgreSQL outbox
and POSTs them, signed, to a receiver that lives in this file (an HTTPS server with a certificate
of the test's own CA, which checks Postern-Signature with hmac.compare_digest and records every
POST). Shown here:

  - a message to two recipients: accepted twice, then delivered twice, with the right fields;
  - 451 then 250: deferred, then delivered; 550: bounced; the lifetime running out: expired;
  - the receiver down while mail flows: mail is delivered all the same, and once the receiver is
    back every event arrives, in order per message;
  - 500 then 200: the same event id again (at least once: receivers dedupe by id);
  - a receiver with a wrong secret fails the check (negative control);
  - an endpoint whose certificate does not verify gets nothing; its events wait in the outbox
    with last_error set;
  - an event older than give_up_hours is dropped, logged and counted;
  - PostgreSQL frozen: the dispatcher logs, backs off and sends again once it answers;
  - SIGHUP adds an endpoint to a relay started without one;
  - a relay without endpoints writes no outbox rows at all.

Order per message and endpoint: the order the events were written (accepted before deferred
before delivered, bounced or expired).
"""
import hashlib
import hmac
import http.server
import json
import os
import re
import signal
import socket
import ssl
import threading
import time
import unittest
import urllib.request

import pgcluster
from certificates import issue, make_ca
from e2e_base import ALICE, BOB
from relay import Sink, free_port, make_certificate, wait_until
from test_delivery import DeliveryTestCase, mail

SECRET = "whsec-7c1d0f2e9b4a4e55"
FAST = {"first_retry_seconds": 1, "max_retry_seconds": 2}


def signature_ok(secret, header, body):
    """Postern-Signature "t=<unix>,v1=<hex>" checked as a receiver should: HMAC-SHA256 of
    "<t>.<body>" under the secret, compared in constant time."""
    fields = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    if "t" not in fields or "v1" not in fields:
        return False
    expected = hmac.new(secret.encode(), fields["t"].encode() + b"." + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, fields["v1"])


class Receiver:
    """An HTTPS webhook receiver on a fixed loopback port: records every POST (headers, body,
    whether the signature verified, the status answered). fail_next(n) answers the next n POSTs
    with 500; stop() closes the port (nothing listens), start() opens it again."""

    def __init__(self, certificate, key, secret):
        self.port = free_port()
        self.certificate, self.key, self.secret = certificate, key, secret
        self.posts = []
        self.failures_left = 0
        self.connections = set()  # open ones, which stop() cuts (kept-alive ones included)
        self.lock = threading.Lock()
        self.server = None
        self.start()

    def start(self):
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as the relay uses it

            def setup(self):
                super().setup()
                with receiver.lock:
                    receiver.connections.add(self.connection)

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                verified = signature_ok(receiver.secret, self.headers.get("Postern-Signature", ""), body)
                with receiver.lock:
                    status = 401 if not verified else 500 if receiver.failures_left > 0 else 200
                    if verified and receiver.failures_left > 0:
                        receiver.failures_left -= 1
                    receiver.posts.append({"headers": dict(self.headers), "body": body, "verified": verified,
                                           "status": status, "event": json.loads(body)})
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.certificate, self.key)
        deadline = time.monotonic() + 10
        while True:
            try:
                self.server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        self.server.daemon_threads = True
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None
        with self.lock:
            connections, self.connections = self.connections, set()
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            connection.close()

    def fail_next(self, count):
        with self.lock:
            self.failures_left = count

    def all_posts(self):
        with self.lock:
            return list(self.posts)

    def events_of(self, queue_id):
        """The events of one message as first received (a repeat of an id is left out)."""
        seen, events = set(), []
        for post in self.all_posts():
            event = post["event"]
            if post["status"] == 200 and event["message"]["id"] == queue_id and event["id"] not in seen:
                seen.add(event["id"])
                events.append(event)
        return events

    def wait_for_events(self, queue_id, count, timeout=20.0):
        return wait_until(lambda: len(self.events_of(queue_id)) >= count and self.events_of(queue_id), timeout,
                          0.05, message=f"{count} webhook events of {queue_id}")


def receiver_with_test_ca(folder):
    """A Receiver whose certificate (localhost, 127.0.0.1) is issued by a CA made in folder
    (ca.pem: the endpoint's ca_file)."""
    make_ca(folder)
    issue(folder, "receiver", "DNS:localhost,IP:127.0.0.1")
    return Receiver(os.path.join(folder, "receiver.pem"), os.path.join(folder, "receiver.key"), SECRET)


def types(events):
    return [(e["type"], e["recipient"]["address"]) for e in events]


class WebhookTestCase(DeliveryTestCase):
    """A DeliveryTestCase with a receiver (its certificate from the test CA, cls.work/ca.pem) that
    make_sinks() starts with the upstreams of make_upstreams() and the class stops; endpoint() is
    its postern.yaml entry."""

    @classmethod
    def make_receivers(cls):
        cls.receiver = receiver_with_test_ca(cls.work)
        return [cls.receiver]

    @classmethod
    def make_upstreams(cls):
        return {"main": Sink()}

    @classmethod
    def make_sinks(cls):
        cls.receivers = cls.make_receivers()
        return cls.make_upstreams()

    @classmethod
    def tearDownClass(cls):
        try:
            super().tearDownClass()
        finally:
            for receiver in getattr(cls, "receivers", []):
                receiver.stop()

    @classmethod
    def endpoint(cls, name="hooks", host="127.0.0.1", receiver=None, **extra):
        """The endpoint entry for a receiver (default: cls.receiver), the secret in a file."""
        secret_file = os.path.join(cls.work, "webhook-secret")
        with open(secret_file, "w") as f:
            f.write(SECRET + "\n")
        port = (receiver or cls.receiver).port
        return dict({"name": name, "url": f"https://{host}:{port}/postern/events", "secret_file": secret_file,
                     "ca_file": os.path.join(cls.work, "ca.pem")}, **extra)


class Webhooks(WebhookTestCase):
    """Endpoint "hooks": the receiver, by name (localhost) with the test CA. Endpoint "untrusted":
    a receiver whose self-signed certificate that CA does not vouch for. Upstreams: "main" (550
    for bad@example.org), "flaky" (451 once) for defer@corp.example, "down" (nothing listens) for
    expire@corp.example; a 3 s lifetime."""

    @classmethod
    def make_receivers(cls):
        cls.untrusted = Receiver(*make_certificate(cls.work, "untrusted"), SECRET)
        return super().make_receivers() + [cls.untrusted]

    @classmethod
    def make_upstreams(cls):
        return {"main": Sink(rules={"rcpt": {"bad@example.org": "550 5.1.1 <bad@example.org>: no such user"}}),
                "flaky": Sink(rules={"data": ["451 4.3.0 Try later"]})}

    @classmethod
    def configure(cls):
        s = cls.sinks
        return {"upstreams": [s["main"].upstream("main"), s["flaky"].upstream("flaky"),
                              {"name": "down", "kind": "smtp", "host": "127.0.0.1", "port": free_port(),
                               "security": "none"}],
                "routes": [{"sender": "defer@corp.example", "upstream": "flaky"},
                           {"sender": "expire@corp.example", "upstream": "down"}],
                "default_upstream": "main",
                "delivery": dict(FAST, lifetime_seconds=3),
                "webhooks": dict(FAST, poll_milliseconds=100, timeout_seconds=3, endpoints=[
                    cls.endpoint(host="localhost"),
                    cls.endpoint("untrusted", receiver=cls.untrusted, events=["accepted"])])}

    def outbox(self, endpoint):
        rows = pgcluster.psql(self.db, "SELECT coalesce(json_agg(json_build_object('message_id', message_id, "
                                       "'event', event, 'attempts', attempts, 'last_error', last_error) ORDER BY id), "
                                       f"'[]') FROM postern_webhook_outbox WHERE endpoint = '{endpoint}'")
        return json.loads(rows)

    def test_two_recipients_are_accepted_then_delivered_with_every_field(self):
        queue_id = self.send(mail("alice@example.com"), "alice@example.com", ["r1@example.net", "r2@example.net"])
        events = self.receiver.wait_for_events(queue_id, 4)
        self.assertEqual(types(events), [("message.accepted", "r1@example.net"), ("message.accepted", "r2@example.net"),
                                         ("message.delivered", "r1@example.net"),
                                         ("message.delivered", "r2@example.net")])
        for event in events:
            self.assertRegex(event["id"], r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
            self.assertRegex(event["created_at"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
            self.assertEqual(event["message"], {"id": queue_id, "sender": "alice@example.com", "auth_user": ALICE,
                                                "intake": "submission"})
            self.assertNotIn("share", event["recipient"])
            self.assertEqual(event["attempt"], 0)
        self.assertNotIn("reply", events[0])
        self.assertTrue(events[2]["reply"].startswith("250"), events[2]["reply"])
        posts = [p for p in self.receiver.all_posts() if p["event"]["message"]["id"] == queue_id]
        for post in posts:
            self.assertTrue(post["verified"])
            headers = post["headers"]
            self.assertEqual(headers["Content-Type"], "application/json")
            self.assertEqual(headers["User-Agent"], "Postern")
            self.assertEqual(headers["Postern-Event-Id"], post["event"]["id"])
            self.assertEqual(headers["Postern-Event-Type"], post["event"]["type"])
            self.assertRegex(headers["Postern-Signature"], r"^t=\d+,v1=[0-9a-f]{64}$")
        self.assert_secret_not_logged(SECRET)

    def test_451_then_250_is_deferred_then_delivered(self):
        queue_id = self.send(mail("defer@corp.example"), "defer@corp.example", user=BOB)
        events = self.receiver.wait_for_events(queue_id, 3)
        self.assertEqual([e["type"] for e in events], ["message.accepted", "message.deferred", "message.delivered"])
        self.assertIn("451 4.3.0 Try later", events[1]["reply"])
        self.assertEqual(events[0]["message"]["auth_user"], BOB)

    def test_550_is_bounced(self):
        queue_id = self.send(mail("alice@example.com"), "alice@example.com", ["bad@example.org"])
        events = self.receiver.wait_for_events(queue_id, 2)
        self.assertEqual(types(events), [("message.accepted", "bad@example.org"),
                                         ("message.bounced", "bad@example.org")])
        self.assertIn("550 5.1.1", events[1]["reply"])

    def test_the_lifetime_running_out_is_expired(self):
        queue_id = self.send(mail("expire@corp.example"), "expire@corp.example", user=BOB)
        events = wait_until(lambda: [e for e in self.receiver.events_of(queue_id)
                                     if e["type"] == "message.expired"] and self.receiver.events_of(queue_id),
                            30, 0.05, message="the expired event")
        kinds = [e["type"] for e in events]
        print(f"\n[webhooks] lifetime 3 s, upstream down: {kinds}", flush=True)
        self.assertEqual(kinds[0], "message.accepted")
        self.assertEqual(kinds[-1], "message.expired")
        self.assertGreaterEqual(len(kinds), 3)  # tried (and deferred) before the lifetime ran out
        self.assertEqual(set(kinds[1:-1]), {"message.deferred"})
        self.assertIn("refused", events[-1]["reply"].lower())

    def test_receiver_down_costs_mail_nothing_and_every_event_arrives_once_it_is_up(self):
        self.receiver.stop()
        try:
            main = self.sinks["main"]
            before = main.count()
            started = time.monotonic()
            queue_ids = [self.send(mail("alice@example.com"), "alice@example.com") for _ in range(3)]
            main.wait_for_messages(before + 3, timeout=15)
            took = time.monotonic() - started
            # The events wait in the outbox, failing.
            def all_failed():
                failed = {row["message_id"] for row in self.outbox("hooks") if row["last_error"]}
                return failed >= set(queue_ids)
            wait_until(all_failed, 15, 0.1, message="a failed post of each message in the outbox")
            print(f"\n[webhooks] receiver down: 3 messages delivered in {took:.1f} s", flush=True)
        finally:
            self.receiver.start()
        for queue_id in queue_ids:
            events = self.receiver.wait_for_events(queue_id, 2, timeout=30)
            self.assertEqual(types(events), [("message.accepted", "rcpt@example.net"),
                                             ("message.delivered", "rcpt@example.net")])
            self.assertGreaterEqual(events[0]["attempt"], 1)  # tried while the receiver was down
        wait_until(lambda: not [r for r in self.outbox("hooks") if r["message_id"] in queue_ids], 10, 0.1,
                   message="the outbox rows of those messages to go")

    def test_500_then_200_sends_the_same_event_id_again(self):
        self.receiver.fail_next(1)
        queue_id = self.send(mail("alice@example.com"), "alice@example.com")
        self.receiver.wait_for_events(queue_id, 2)
        posts = [p for p in self.receiver.all_posts() if p["event"]["message"]["id"] == queue_id]
        self.assertEqual(posts[0]["status"], 500)
        again = [p for p in posts[1:] if p["event"]["id"] == posts[0]["event"]["id"]]
        self.assertEqual(len(again), 1)
        self.assertEqual(again[0]["status"], 200)
        self.assertEqual(again[0]["event"]["attempt"], 1)
        self.assertEqual(again[0]["event"]["created_at"], posts[0]["event"]["created_at"])

    def test_a_wrong_secret_fails_verification(self):
        queue_id = self.send(mail("alice@example.com"), "alice@example.com")
        self.receiver.wait_for_events(queue_id, 1)
        post = next(p for p in self.receiver.all_posts() if p["event"]["message"]["id"] == queue_id)
        header = post["headers"]["Postern-Signature"]
        self.assertTrue(signature_ok(SECRET, header, post["body"]))
        self.assertFalse(signature_ok(SECRET + "x", header, post["body"]))
        self.assertFalse(signature_ok(SECRET, header, post["body"] + b" "))

    def test_an_endpoint_whose_certificate_does_not_verify_gets_nothing(self):
        queue_id = self.send(mail("alice@example.com"), "alice@example.com")
        self.receiver.wait_for_events(queue_id, 2)

        def failed_rows():
            rows = [r for r in self.outbox("untrusted") if r["message_id"] == queue_id]
            return rows if rows and rows[0]["attempts"] >= 1 else None
        rows = wait_until(failed_rows, 15, 0.1, message="the untrusted endpoint's event to fail")
        self.assertEqual([r["event"] for r in rows], ["accepted"])
        self.assertIn("certificate verify failed", rows[0]["last_error"])
        self.assertEqual(self.untrusted.all_posts(), [])
        self.assertRegex(self.relay.log_text(), r"event=webhook_post_failed endpoint=untrusted .*certificate verify failed")


class GiveUp(WebhookTestCase):
    """give_up_hours: 1. An event written two hours ago and never acknowledged is dropped when the
    relay starts (and every few minutes): logged with its ids, counted, gone from the outbox."""

    @classmethod
    def configure(cls):
        return {"upstreams": [cls.sinks["main"].upstream("main")], "default_upstream": "main",
                "webhooks": {"give_up_hours": 1, "endpoints": [cls.endpoint()]}}

    def test_an_event_older_than_give_up_hours_is_dropped_and_logged(self):
        event_id = pgcluster.psql(
            self.db, "INSERT INTO postern_webhook_outbox (endpoint, event, message_id, sender, intake, recipient, "
                     "attempts, last_error, created_at, next_attempt_at) VALUES ('hooks', 'accepted', 'OLD1', "
                     "'alice@example.com', 'submission', 'bob@example.org', 9, 'HTTP 503', now() - interval '2 hours', "
                     "now() + interval '1 hour') RETURNING event_id").splitlines()[0]
        self.assertEqual(self.relay.stop(), 0)
        self.relay.start()
        self.relay.wait_for_log(r"event=webhook_event_dropped endpoint=hooks event_id=" + event_id +
                                r" type=accepted message_id=OLD1 attempts=9")
        self.assertEqual(pgcluster.psql(self.db, "SELECT count(*) FROM postern_webhook_outbox"), "0")
        with urllib.request.urlopen(f"http://127.0.0.1:{self.relay.http_port}/metrics", timeout=10) as answer:
            metrics = answer.read().decode()
        self.assertIn('postern_webhook_events_dropped_total{endpoint="hooks"} 1', metrics)
        self.assertEqual(self.receiver.all_posts(), [])


class DatabaseFrozen(WebhookTestCase):
    """Its own PostgreSQL cluster, frozen (SIGSTOP) for a while: the dispatcher's queries time out
    (database.wait_timeout_seconds), it logs and backs off, and once PostgreSQL answers again the
    same postern sends the events of the next message."""

    @classmethod
    def database_url(cls):
        cls.cluster = pgcluster.PrivateCluster()
        cls.addClassCleanup(cls.cluster.destroy)  # thaws first
        return cls.cluster.start()

    @classmethod
    def configure(cls):
        return {"upstreams": [cls.sinks["main"].upstream("main")], "default_upstream": "main",
                "database": {"timeout_seconds": 2, "wait_timeout_seconds": 2},
                "webhooks": {"poll_milliseconds": 100, "endpoints": [cls.endpoint()]}}

    def test_the_dispatcher_backs_off_while_postgres_is_frozen_and_sends_again_after(self):
        self.cluster.freeze()
        try:
            self.relay.wait_for_log(r"event=webhook_outbox_failed ", timeout=20)
        finally:
            self.cluster.thaw()
        queue_id = self.send(mail("alice@example.com"), "alice@example.com")
        events = self.receiver.wait_for_events(queue_id, 2, timeout=30)
        self.assertEqual([e["type"] for e in events], ["message.accepted", "message.delivered"])
        self.assertIsNone(self.relay.process.poll())


class ReloadAddsAnEndpoint(WebhookTestCase):
    """Started without endpoints; SIGHUP adds one: the events of mail from then on reach it."""

    @classmethod
    def configure(cls):
        return {"upstreams": [cls.sinks["main"].upstream("main")], "default_upstream": "main"}

    def test_sighup_adds_an_endpoint(self):
        before = self.send(mail("alice@example.com"), "alice@example.com")
        self.wait_until_gone(before)
        self.relay.config["webhooks"] = {"poll_milliseconds": 100, "endpoints": [self.endpoint()]}
        reloads = self.relay.log_text().count("event=config_reloaded ")
        self.relay._write_config()
        self.relay.signal(signal.SIGHUP)
        wait_until(lambda: self.relay.log_text().count("event=config_reloaded ") > reloads, message="the reload")
        self.assertRegex(self.relay.log_text(), r"event=config_reloaded .*webhooks.endpoints")
        queue_id = self.send(mail("alice@example.com"), "alice@example.com")
        events = self.receiver.wait_for_events(queue_id, 2)
        self.assertEqual([e["type"] for e in events], ["message.accepted", "message.delivered"])
        self.assertEqual(self.receiver.events_of(before), [])


class NoEndpoints(DeliveryTestCase):
    """A relay without webhooks: no outbox rows, whatever happens to the mail."""

    @classmethod
    def make_sinks(cls):
        return {"main": Sink(rules={"rcpt": {"bad@example.org": "550 5.1.1 no such user"}})}

    @classmethod
    def configure(cls):
        return {"upstreams": [cls.sinks["main"].upstream("main")], "default_upstream": "main"}

    def test_no_outbox_rows_are_written(self):
        queue_id = self.send(mail("alice@example.com"), "alice@example.com", ["ok@example.net", "bad@example.org"])
        self.wait_until_gone(queue_id)
        self.wait_until_queue_empty()  # the DSN too
        self.assertEqual(pgcluster.psql(self.db, "SELECT count(*) FROM postern_webhook_outbox"), "0")
        self.assertNotRegex(self.relay.log_text(), re.compile(r"event=webhook"))


if __name__ == "__main__":
    unittest.main()
