"""The hpfeeds journal publisher (server/delivery/hpfeeds_*.cpp) against the test broker
(tests/support/hpfeeds_broker.py), through tests/support/hpfeeds_publish_driver.cpp.

The driver prints one line per publish: "delivered", "deferred: <detail>" or "failed: <detail>",
among the publisher's log lines.
Each test starts its own broker, with the behaviour it needs, and a subscriber that records what
the broker forwards.
"""
import hashlib
import json
import os
import queue
import shutil
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from certificates import issue, make_ca, self_signed  # noqa: E402
from drivers import require_driver  # noqa: E402
from hpfeeds_broker import HpfeedsBroker, HpfeedsSubscriber, MAX_PUBLISH_FRAME  # noqa: E402
from relay import free_port  # noqa: E402

HOST = "127.0.0.1"
IDENT, SECRET = "collector", "Coll-secret-4e1b9a"
READER, READER_SECRET = "reader", "Reader-secret-77c2"
CHANNELS = ["spam.mails", "spam.archive"]
AUTH = {
    IDENT: {"owner": "postern", "secret": SECRET, "pubchans": CHANNELS, "subchans": []},
    "narrow": {"owner": "postern", "secret": "Narrow-secret-0a", "pubchans": ["spam.mails"], "subchans": []},
    READER: {"owner": "tests", "secret": READER_SECRET, "pubchans": [], "subchans": CHANNELS},
}
MESSAGE = b"From: trap@example.net\r\nSubject: win\r\n\r\nbody \x00\xff\xfe bytes\r\n"


def is_result(line):
    return line == "delivered" or line.startswith(("deferred: ", "failed: "))


class StepDriver:
    """The driver with --stdin-paths: one publisher, one publish per publish() call, so a test
    can change the broker between two publishes."""

    def __init__(self, command):
        self.process = subprocess.Popen([*command, "--stdin-paths"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, text=True)
        self.lines = queue.Queue()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.process.stdout:
            if is_result(line.rstrip("\n")):
                self.lines.put(line.rstrip("\n"))

    def publish(self, path, timeout=30):
        self.process.stdin.write(path + "\n")
        self.process.stdin.flush()
        return self.lines.get(timeout=timeout)

    def finish(self):
        """Ends the driver; its exit code, and its standard error."""
        self.process.stdin.close()
        code = self.process.wait(30)
        self.reader.join(5)
        errors = self.process.stderr.read()
        self.process.stdout.close()
        self.process.stderr.close()
        return code, errors


class HpfeedsPublisherTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.driver = require_driver("POSTERN_HPFEEDS_DRIVER", "hpfeeds-publish-driver")
        cls.folder = tempfile.mkdtemp(prefix="postern-hpfeeds-")
        # ca.pem, localhost.pem (by the CA, for localhost and 127.0.0.1), selfsigned.pem (no CA)
        make_ca(cls.folder)
        issue(cls.folder, "localhost", "DNS:localhost,IP:127.0.0.1")
        self_signed(cls.folder, "selfsigned", "DNS:localhost,IP:127.0.0.1")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.folder, ignore_errors=True)

    def path(self, name):
        return os.path.join(self.folder, name)

    def payload_file(self, data, name="message.eml"):
        path = self.path(f"{self._testMethodName}-{name}")
        with open(path, "wb") as f:
            f.write(data)
        return path

    def broker(self, **kwargs):
        broker = HpfeedsBroker(auth=AUTH, **kwargs).start()
        self.addCleanup(broker.stop)
        return broker

    def tls_broker(self, name="localhost", **kwargs):
        return self.broker(tls_cert=self.path(f"{name}.pem"), tls_key=self.path(f"{name}.key"), **kwargs)

    def subscriber(self, broker, channels=CHANNELS, host=HOST, tls=None):
        subscriber = HpfeedsSubscriber(broker.port, READER, READER_SECRET, channels, host=host, tls=tls)
        self.addCleanup(subscriber.close)
        for channel in channels:
            broker.wait_for_subscribers(channel)
        return subscriber

    def command(self, port, host=HOST, ident=IDENT, secret=SECRET, channels=CHANNELS, extra=()):
        return [self.driver, "--host", host, "--port", str(port), "--ident", ident, "--secret", secret,
                "--channels", ",".join(channels), "--timeout", "10", *extra]

    def publish(self, port, files, timeout=120, **kwargs):
        """The driver's result lines, and its whole output (stdout + stderr) for messages."""
        done = subprocess.run(self.command(port, **kwargs) + list(files), capture_output=True, text=True,
                              timeout=timeout)
        self.assertEqual(done.returncode, 0, done.stderr)
        return [line for line in done.stdout.splitlines() if is_result(line)], done.stdout + done.stderr

    # ---- delivery ----

    def test_payload_reaches_every_channel_exactly(self):
        broker = self.broker()
        subscriber = self.subscriber(broker)
        lines, out = self.publish(broker.port, [self.payload_file(MESSAGE)])
        self.assertEqual(lines, ["delivered"], out)
        self.assertEqual(subscriber.wait_for(2), [("spam.mails", IDENT, MESSAGE), ("spam.archive", IDENT, MESSAGE)])
        self.assertEqual(broker.logins, [READER, IDENT])
        self.assertEqual(broker.errors, [])

    def test_json_payload_is_the_collectors_object(self):
        broker = self.broker()
        subscriber = self.subscriber(broker, channels=["spam.mails"])
        text = "From: trap@example.net\r\nSubject: caf\u00e9\r\n\r\nHi.\r\n".encode()
        lines, out = self.publish(broker.port, [self.payload_file(text)], channels=["spam.mails"],
                                  extra=("--format", "json"))
        self.assertEqual(lines, ["delivered"], out)
        [(channel, ident, payload)] = subscriber.wait_for(1)
        self.assertEqual(json.loads(payload), {"msg": text.decode(), "sha256": hashlib.sha256(text).hexdigest()})

    def test_publishes_in_a_row_share_one_connection(self):
        broker = self.broker()
        subscriber = self.subscriber(broker)
        files = [self.payload_file(MESSAGE + str(i).encode(), f"m{i}.eml") for i in range(25)]
        lines, out = self.publish(broker.port, files, extra=("--grace", "20"))
        self.assertEqual(lines, ["delivered"] * 25, out)
        received = subscriber.wait_for(50)
        self.assertEqual([payload for _, _, payload in received],
                         [MESSAGE + str(i).encode() for i in range(25) for _ in CHANNELS])
        self.assertEqual((broker.connections, broker.logins), (2, [READER, IDENT]))  # the subscriber's and ours

    def test_concurrent_publishes_are_pipelined_on_one_connection(self):
        broker = self.broker()
        subscriber = self.subscriber(broker, channels=["spam.mails"])
        data = os.urandom(3072).hex().encode()[:4096]
        started = time.monotonic()
        lines, out = self.publish(broker.port, [self.payload_file(data)], channels=["spam.mails"],
                                  extra=("--concurrent", "100", "--repeat", "5", "--grace", "300"))
        elapsed = time.monotonic() - started
        self.assertEqual(lines, ["delivered"] * 500, out)
        self.assertEqual(len(subscriber.wait_for(500)), 500)
        self.assertEqual(set(payload for _, _, payload in subscriber.messages()), {data})
        self.assertEqual((broker.connections, broker.logins), (2, [READER, IDENT]))  # the subscriber's and ours
        # One after the other, 500 graces of 0.3 s would take 150 s.
        self.assertLess(elapsed, 30)

    def test_largest_frame_the_broker_takes_is_delivered(self):
        broker = self.broker()
        subscriber = self.subscriber(broker, channels=["spam.mails"])
        overhead = 5 + 1 + len(IDENT) + 1 + len("spam.mails")
        data = b"x" * (MAX_PUBLISH_FRAME - overhead)
        lines, out = self.publish(broker.port, [self.payload_file(data)], channels=["spam.mails"])
        self.assertEqual(lines, ["delivered"], out)
        self.assertEqual(subscriber.wait_for(1), [("spam.mails", IDENT, data)])

    # ---- refusals by the broker ----

    def test_wrong_secret_is_deferred_with_the_brokers_words(self):
        broker = self.broker()
        lines, out = self.publish(broker.port, [self.payload_file(MESSAGE)], secret="not-the-secret")
        self.assertEqual(lines, ["deferred: hpfeeds broker: Authentication failed for collector"], out)
        self.assertEqual(broker.published, [])  # nothing went out after the refused login
        self.assertEqual(broker.logins, [])

    def test_unknown_ident_is_deferred(self):
        broker = self.broker()
        lines, out = self.publish(broker.port, [self.payload_file(MESSAGE)], ident="stranger")
        self.assertEqual(lines, ["deferred: hpfeeds broker: Authentication failed for stranger"], out)

    def test_channel_not_allowed_is_deferred_with_the_brokers_words(self):
        broker = self.broker()
        lines, out = self.publish(broker.port, [self.payload_file(MESSAGE)], ident="narrow",
                                  secret="Narrow-secret-0a", channels=["spam.mails", "spam.archive"])
        self.assertEqual(
            lines, ["deferred: hpfeeds broker: Authkey not allowed to pub here. ident=narrow, chan=spam.archive"], out)
        # At least once: the allowed channel may already have it; the retry publishes again.
        self.assertEqual(broker.published, [("narrow", "spam.mails", MESSAGE)])

    def test_broker_with_a_smaller_limit_is_deferred_with_its_words(self):
        # The broker refuses the frame from its header and hangs up on the rest of it: the
        # publisher still reports the broker's OP_ERROR, not the broken pipe that follows.
        broker = self.broker(max_publish_bytes=1000)
        lines, out = self.publish(broker.port, [self.payload_file(b"x" * 200000)], channels=["spam.mails"])
        self.assertEqual(lines, ["deferred: hpfeeds broker: Not respecting MAXBUF."], out)
        self.assertEqual(broker.published, [])

    def test_secret_is_never_shown(self):
        broker = self.broker()
        lines, out = self.publish(broker.port, [self.payload_file(MESSAGE)], secret="Wrong-secret-6d2f",
                                  extra=("--verbose",))
        self.assertTrue(lines[0].startswith("deferred: "), out)
        self.assertIn("event=hpfeeds_connect_failed", out)
        self.assertNotIn("Wrong-secret-6d2f", out)
        lines, out = self.publish(broker.port, [self.payload_file(MESSAGE)], extra=("--verbose",))
        self.assertEqual(lines, ["delivered"], out)
        self.assertIn("event=hpfeeds_login", out)
        self.assertNotIn(SECRET, out)

    # ---- the broker away ----

    def test_broker_down_then_back(self):
        port = free_port()
        path = self.payload_file(MESSAGE)
        driver = StepDriver(self.command(port, channels=["spam.mails"], extra=("--grace", "50")))
        try:
            self.assertEqual(driver.publish(path), f"deferred: connect to {HOST}:{port} failed: Connection refused")
            broker = self.broker(port=port)
            subscriber = self.subscriber(broker, channels=["spam.mails"])
            self.assertEqual(driver.publish(path), "delivered")
            self.assertEqual(driver.publish(path), "delivered")
            broker.stop()
            # The publisher saw its connection go: the next publish reconnects, and finds no one.
            time.sleep(0.2)
            self.assertEqual(driver.publish(path), f"deferred: connect to {HOST}:{port} failed: Connection refused")
            broker.start()
            self.assertEqual(driver.publish(path), "delivered")
        finally:
            code, errors = driver.finish()
        self.assertEqual(code, 0, errors)
        self.assertEqual(broker.logins, [READER, IDENT, IDENT])  # one connection before the stop, one after
        self.assertEqual([payload for _, _, payload in subscriber.wait_for(2)], [MESSAGE, MESSAGE])

    def test_close_within_the_grace_is_deferred(self):
        broker = self.broker(close_after_publish=True)
        lines, out = self.publish(broker.port, [self.payload_file(MESSAGE)], channels=["spam.mails"],
                                  extra=("--grace", "2000"))
        self.assertEqual(lines, [f"deferred: hpfeeds: broker {HOST}:{broker.port} closed the connection"], out)

    def test_close_with_many_in_flight_defers_them_and_reconnects(self):
        # Every connection is dropped at its 40th PUBLISH, with up to 10 publishes in flight: a
        # publish may count as delivered only if the broker took it.
        broker = self.broker(close_after_publish=40)
        lines, out = self.publish(broker.port, [self.payload_file(MESSAGE)], channels=["spam.mails"],
                                  extra=("--concurrent", "10", "--repeat", "20", "--grace", "300"))
        self.assertEqual(len(lines), 200, out)
        delivered = lines.count("delivered")
        deferred = [line for line in lines if line != "delivered"]
        self.assertTrue(deferred, out)
        for line in deferred:
            self.assertRegex(line, f"^deferred: hpfeeds: (broker {HOST}:{broker.port} closed the connection"
                                   f"|connection to {HOST}:{broker.port} lost: |writing to {HOST}:{broker.port} failed: )")
        self.assertGreater(delivered, 0)
        self.assertLessEqual(delivered, len(broker.published))
        self.assertGreater(broker.connections, 1)

    def test_no_info_times_out(self):
        broker = self.broker(send_info=False)
        started = time.monotonic()
        lines, out = self.publish(broker.port, [self.payload_file(MESSAGE)], extra=("--timeout", "1"))
        self.assertLess(time.monotonic() - started, 8)
        self.assertEqual(lines, [f"deferred: hpfeeds: no INFO from broker {HOST}:{broker.port} within 1 s"], out)

    def test_unresolvable_host_is_deferred(self):
        lines, out = self.publish(1, [self.payload_file(MESSAGE)], host="no-such-host.invalid")
        self.assertEqual(len(lines), 1, out)
        self.assertTrue(lines[0].startswith("deferred: cannot resolve no-such-host.invalid"), lines)

    def test_idle_connection_is_closed(self):
        broker = self.broker()
        path = self.payload_file(MESSAGE)
        driver = StepDriver(self.command(broker.port, channels=["spam.mails"], extra=("--grace", "20", "--idle", "1")))
        try:
            self.assertEqual(driver.publish(path), "delivered")
            self.assertEqual(driver.publish(path), "delivered")  # within idle_seconds: same connection
            time.sleep(1.6)
            self.assertEqual(driver.publish(path), "delivered")
        finally:
            code, errors = driver.finish()
        self.assertEqual(code, 0, errors)
        self.assertEqual(broker.connections, 2)

    # ---- too large ----

    def test_frame_too_large_fails_without_connecting(self):
        broker = self.broker()
        lines, out = self.publish(broker.port, [self.payload_file(b"x" * 2000)], extra=("--max-frame", "1000"))
        largest = 5 + 1 + len(IDENT) + 1 + len("spam.archive") + 2000  # the longer channel's frame
        self.assertEqual(lines, ["failed: message too large for hpfeeds:"
                                 f" PUBLISH frame of {largest} bytes exceeds max_frame_bytes 1000"], out)
        self.assertEqual(broker.connections, 0)

    def test_over_the_default_limit_fails(self):
        broker = self.broker()
        lines, out = self.publish(broker.port, [self.payload_file(b"x" * (1024 * 1024))], channels=["spam.mails"])
        self.assertEqual(len(lines), 1, out)
        self.assertTrue(lines[0].startswith("failed: message too large for hpfeeds: PUBLISH frame of 1048602 bytes"),
                        lines)
        self.assertEqual(broker.connections, 0)

    # ---- TLS ----

    def test_tls_verified_against_the_ca_file(self):
        broker = self.tls_broker()
        context = ssl.create_default_context(cafile=self.path("ca.pem"))
        subscriber = self.subscriber(broker, host="localhost", tls=context)
        lines, out = self.publish(broker.port, [self.payload_file(MESSAGE)], host="localhost",
                                  extra=("--security", "tls", "--ca", self.path("ca.pem"), "--verbose"))
        self.assertEqual(lines, ["delivered"], out)
        self.assertIn("tls=TLSv1.3", out)
        self.assertEqual(subscriber.wait_for(2), [("spam.mails", IDENT, MESSAGE), ("spam.archive", IDENT, MESSAGE)])

    def test_tls_many_publishes_on_one_connection(self):
        broker = self.tls_broker()
        lines, out = self.publish(broker.port, [self.payload_file(MESSAGE * 100)], host="localhost",
                                  extra=("--security", "tls", "--ca", self.path("ca.pem"), "--concurrent", "20",
                                         "--repeat", "5", "--grace", "100"))
        self.assertEqual(lines, ["delivered"] * 100, out)
        self.assertEqual(len(broker.wait_for_published(200)), 200)
        self.assertEqual(broker.connections, 1)

    def test_tls_untrusted_certificate_is_deferred(self):
        broker = self.tls_broker("selfsigned")
        lines, out = self.publish(broker.port, [self.payload_file(MESSAGE)], host="localhost",
                                  extra=("--security", "tls", "--ca", self.path("ca.pem")))
        self.assertEqual(
            lines, [f"deferred: TLS handshake with localhost:{broker.port} failed: certificate verify failed"
                    " (self-signed certificate)"], out)
        self.assertEqual(broker.logins, [])

    def test_tls_to_a_plaintext_broker_is_deferred(self):
        broker = self.broker()
        lines, out = self.publish(broker.port, [self.payload_file(MESSAGE)], host="localhost",
                                  extra=("--security", "tls", "--ca", self.path("ca.pem"), "--timeout", "2"))
        self.assertEqual(len(lines), 1, out)
        self.assertTrue(lines[0].startswith(f"deferred: TLS handshake with localhost:{broker.port} failed: "), lines)


if __name__ == "__main__":
    unittest.main()
