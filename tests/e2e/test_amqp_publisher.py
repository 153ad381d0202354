"""The AMQP journal publisher (server/delivery/amqp_*.cpp) against a real RabbitMQ node
(tests/support/rabbitmq.py, one for the whole file), through tests/support/amqp_publish_driver.cpp.

The driver prints one line per message: "delivered", "deferred: <detail>" or "failed: <detail>";
with --verbose the publisher's log lines (which start with the time) come in between. Each test
uses exchanges and queues of its own, so they share the broker; the broker's own checks (pika)
say what arrived: which bytes, with which routing key and properties.
"""
import hashlib
import json
import os
import re
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import unittest

from certificates import issue, make_ca
from drivers import require_driver
from rabbitmq import RabbitMQ

HOST = "127.0.0.1"
MIB = 1024 * 1024
MAX_MESSAGE_SIZE = 32 * MIB  # the broker's max_message_size: a larger message can never pass
RESULT = re.compile(r"^(delivered|deferred: .*|failed: .*)$", re.M)
BROKER = None
FOLDER = None


def setUpModule():
    global BROKER, FOLDER
    FOLDER = tempfile.mkdtemp(prefix="postern-amqp-")
    # ca.pem, and broker.pem signed by it for IP:127.0.0.1 only (not for localhost)
    make_ca(FOLDER)
    issue(FOLDER, "broker", "IP:127.0.0.1", common_name="postern-test-broker")
    BROKER = RabbitMQ(tls_cert=os.path.join(FOLDER, "broker.pem"), tls_key=os.path.join(FOLDER, "broker.key"),
                      max_message_size=MAX_MESSAGE_SIZE)
    BROKER.start()


def tearDownModule():
    try:
        if BROKER is not None:
            BROKER.close()
    finally:
        if FOLDER is not None:
            shutil.rmtree(FOLDER, ignore_errors=True)


class InteractiveDriver:
    """A driver run with --stdin: one publisher for the messages the test hands it one by one."""

    def __init__(self, args):
        self.process = subprocess.Popen(args + ["--stdin"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, text=True)
        self.output = []

    def publish(self, path, timeout=60):
        self.process.stdin.write(path + "\n")
        self.process.stdin.flush()
        line = [None]

        def read():
            for text in self.process.stdout:
                self.output.append(text)
                if RESULT.match(text.rstrip("\n")):
                    line[0] = text.rstrip("\n")
                    return

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        reader.join(timeout)
        if line[0] is None:
            raise AssertionError(f"no result within {timeout} s; output so far:\n{''.join(self.output)}")
        return line[0]

    def finish(self):
        """Ends the input; returns the exit status and standard error."""
        rest, errors = self.process.communicate(timeout=60)
        self.output.append(rest)
        return self.process.returncode, errors

    def kill(self):
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        for pipe in (self.process.stdin, self.process.stdout, self.process.stderr):
            try:
                pipe.close()
            except (OSError, ValueError):
                pass


class AmqpPublisherTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        # A missing driver fails the suite: a skip would pass CI with the publisher untested.
        cls.driver = require_driver("POSTERN_AMQP_DRIVER", "amqp-publish-driver")

    def setUp(self):
        # Names of this test's own: exchanges, queues and routing keys never meet another test's.
        self.name = self.id().rsplit(".", 1)[-1].replace("test_", "")[:40]

    # ---- helpers ----

    def message_file(self, data):
        with tempfile.NamedTemporaryFile(dir=FOLDER, delete=False) as f:
            f.write(data)
        self.addCleanup(os.unlink, f.name)
        return f.name

    def args(self, exchange, routing_key="spam.mails", *, port=None, host=HOST, user=None, password=None,
             extra=()):
        return [self.driver, "--host", host, "--port", str(port or BROKER.port), "--user", user or BROKER.user,
                "--password", password or BROKER.password, "--exchange", exchange, "--routing-key", routing_key,
                "--timeout", "5", *extra]

    def publish(self, exchange, *messages, routing_key="spam.mails", extra=(), timeout=120, **kwargs):
        """Runs the driver on the messages (bytes); returns its result lines and its whole output."""
        files = [self.message_file(m) for m in messages]
        done = subprocess.run(self.args(exchange, routing_key, extra=extra, **kwargs) + files, capture_output=True,
                              text=True, timeout=timeout)
        self.assertEqual(done.returncode, 0, done.stderr + done.stdout)
        self.assertNotIn(BROKER.password, done.stdout + done.stderr)
        return RESULT.findall(done.stdout), done.stdout

    def interactive(self, exchange, routing_key="spam.mails", extra=()):
        driver = InteractiveDriver(self.args(exchange, routing_key, extra=extra))
        self.addCleanup(driver.kill)
        return driver

    def bound_queue(self, exchange, routing_key="spam.mails", vhost="/"):
        queue = f"q-{self.name}"
        BROKER.declare_queue(queue, exchange, routing_key, vhost=vhost)
        return queue

    @staticmethod
    def mail(n=1, body="Hi.\r\n"):
        return (f"From: alice@example.com\r\nTo: rcpt@example.net\r\nSubject: message {n}\r\n"
                f"Message-ID: <{n}.{time.time_ns()}@test>\r\n\r\n{body}").encode()

    # ---- delivery ----

    def test_a_bound_durable_queue_receives_each_message_persistent_and_byte_exact(self):
        exchange = f"x-{self.name}"
        queue = self.bound_queue(exchange)
        messages = [self.mail(1), self.mail(2, body=".dot\r\n\r\n..two\r\nno final line end"),
                    b"Subject: latin-1 \xe9\xe8 and NUL \x00 bytes\r\n\r\n\xff\xfe\r\n"]
        results, _ = self.publish(exchange, *messages)
        self.assertEqual(results, ["delivered"] * 3)
        got = BROKER.messages(queue)
        self.assertEqual([m.body for m in got], messages)
        for m in got:
            self.assertEqual(m.delivery_mode, 2)
            self.assertEqual(m.routing_key, "spam.mails")
            self.assertEqual(m.exchange, exchange)
            self.assertEqual(m.content_type, "message/rfc822")

    def test_json_format_is_the_seed_collectors_object(self):
        exchange = f"x-{self.name}"
        queue = self.bound_queue(exchange)
        data = self.mail(1, body="caf\u00e9 \u2713\r\n")
        results, _ = self.publish(exchange, data, extra=["--format", "json"])
        self.assertEqual(results, ["delivered"])
        [got] = BROKER.messages(queue)
        self.assertEqual(got.content_type, "application/json")
        self.assertEqual(json.loads(got.body),
                         {"msg": data.decode("utf-8"), "sha256": hashlib.sha256(data).hexdigest()})

    def test_transient_messages_go_with_delivery_mode_1(self):
        exchange = f"x-{self.name}"
        queue = self.bound_queue(exchange)
        results, _ = self.publish(exchange, self.mail(), extra=["--transient"])
        self.assertEqual(results, ["delivered"])
        self.assertEqual([m.delivery_mode for m in BROKER.messages(queue)], [1])

    def test_the_configured_vhost(self):
        exchange = f"x-{self.name}"
        queue = self.bound_queue(exchange, vhost=BROKER.vhost)
        results, _ = self.publish(exchange, self.mail(), extra=["--vhost", BROKER.vhost])
        self.assertEqual(results, ["delivered"])
        self.assertEqual(len(BROKER.messages(queue, vhost=BROKER.vhost)), 1)

    def test_a_direct_exchange(self):
        exchange = f"x-{self.name}"
        queue = f"q-{self.name}"
        BROKER.declare_queue(queue, exchange, "mails", exchange_type="direct")
        results, _ = self.publish(exchange, self.mail(), routing_key="mails", extra=["--exchange-type", "direct"])
        self.assertEqual(results, ["delivered"])
        self.assertEqual([m.routing_key for m in BROKER.messages(queue)], ["mails"])

    def test_a_25_mib_message(self):
        exchange = f"x-{self.name}"
        queue = self.bound_queue(exchange)
        line = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789\r\n"
        data = self.mail(body="") + line * (25 * MIB // len(line))
        self.assertGreater(len(data), 25 * MIB - 100)
        results, _ = self.publish(exchange, data)
        self.assertEqual(results, ["delivered"])
        [got] = BROKER.messages(queue)
        self.assertEqual(len(got.body), len(data))
        self.assertEqual(hashlib.sha256(got.body).digest(), hashlib.sha256(data).digest())

    def test_a_message_over_the_brokers_max_message_size_fails_and_the_next_one_passes(self):
        exchange = f"x-{self.name}"
        queue = self.bound_queue(exchange)
        too_big = self.mail(body="") + b"x" * (MAX_MESSAGE_SIZE + MIB)
        results, _ = self.publish(exchange, too_big, self.mail(2))
        self.assertEqual(len(results), 2, results)
        self.assertRegex(results[0], r"^failed: amqp: broker refused the message: 406 PRECONDITION_FAILED - "
                                     r"message size \d+ is larger than configured max size \d+$")
        self.assertEqual(results[1], "delivered")
        self.assertEqual(len(BROKER.messages(queue)), 1)

    # ---- refusals: Deferred, never a silent loss ----

    def test_an_unroutable_message_is_deferred_with_the_returns_reply(self):
        exchange = f"x-{self.name}"
        driver = self.interactive(exchange, routing_key="spam.unbound")
        message = self.message_file(self.mail())
        self.assertEqual(driver.publish(message),
                         f"deferred: amqp: unroutable: 312 NO_ROUTE (exchange {exchange}, routing key spam.unbound)")
        # A 1 MiB return on the same connection: its content is skipped, the connection stays good.
        big = self.message_file(self.mail(body="") + b"y" * MIB)
        self.assertTrue(driver.publish(big).startswith("deferred: amqp: unroutable: 312 NO_ROUTE"))
        queue = self.bound_queue(exchange, routing_key="spam.unbound")
        self.assertEqual(driver.publish(message), "delivered")
        code, errors = driver.finish()
        self.assertEqual(code, 0, errors)
        self.assertEqual(len(BROKER.messages(queue)), 1)  # nothing of the returned ones got through
        self.assertNotIn("amqp_connection_dropped", "".join(driver.output))

    def test_without_mandatory_an_unroutable_message_counts_as_delivered(self):
        # What mandatory: false means (the broker drops it): the reason it is on by default.
        results, _ = self.publish(f"x-{self.name}", self.mail(), extra=["--no-mandatory"])
        self.assertEqual(results, ["delivered"])

    def test_a_wrong_password_is_deferred_with_the_login_refusal(self):
        results, output = self.publish(f"x-{self.name}", self.mail(), password="not-the-password-9c2e",
                                       extra=["--verbose"])
        self.assertEqual(results, ["deferred: amqp: login refused: 403 ACCESS_REFUSED - Login was refused using "
                                   "authentication mechanism PLAIN. For details see the broker logfile."])
        self.assertNotIn("not-the-password-9c2e", output)

    def test_an_unknown_vhost_is_deferred_with_the_brokers_reply(self):
        results, _ = self.publish(f"x-{self.name}", self.mail(), extra=["--vhost", "no-such-vhost"])
        self.assertEqual(len(results), 1)
        self.assertRegex(results[0], r"^deferred: amqp: login refused: 530 NOT_ALLOWED - .*no-such-vhost")

    def test_a_missing_exchange_not_declared_is_deferred_with_the_404_and_then_found(self):
        exchange = f"x-{self.name}"
        driver = self.interactive(exchange, extra=["--no-declare", "--verbose"])
        message = self.message_file(self.mail())
        self.assertEqual(driver.publish(message),
                         f"deferred: amqp: broker closed the channel: 404 NOT_FOUND - no exchange '{exchange}' "
                         f"in vhost '/'")
        queue = self.bound_queue(exchange)  # declares the exchange
        self.assertEqual(driver.publish(message), "delivered")  # on a fresh connection
        code, errors = driver.finish()
        self.assertEqual(code, 0, errors)
        self.assertEqual(len(BROKER.messages(queue)), 1)
        self.assertEqual("".join(driver.output).count("amqp_connection_dropped"), 1)

    def test_an_exchange_of_another_type_is_deferred_with_the_brokers_reply(self):
        exchange = f"x-{self.name}"
        self.bound_queue(exchange)  # a topic exchange
        results, _ = self.publish(exchange, self.mail(), extra=["--exchange-type", "fanout"])
        self.assertEqual(len(results), 1)
        self.assertRegex(results[0], r"^deferred: amqp: exchange.declare of x-\S+ failed: 406 PRECONDITION_FAILED - "
                                     r"inequivalent arg 'type'")

    def test_nobody_listening_is_a_connect_error(self):
        with socket.socket() as s:
            s.bind((HOST, 0))
            port = s.getsockname()[1]
            results, _ = self.publish(f"x-{self.name}", self.mail(), port=port)
        self.assertEqual(results, [f"deferred: amqp: connect to {HOST}:{port} failed: Connection refused"])

    def test_a_server_that_never_answers_times_out(self):
        silent = socket.socket()
        silent.bind((HOST, 0))
        silent.listen(5)
        self.addCleanup(silent.close)
        port = silent.getsockname()[1]
        started = time.monotonic()
        results, _ = self.publish(f"x-{self.name}", self.mail(), port=port, extra=["--timeout", "1"])
        self.assertEqual(results, [f"deferred: amqp: login to {HOST}:{port} failed: timed out after 1 s"])
        self.assertLess(time.monotonic() - started, 10)

    def test_a_blocked_broker_is_a_timeout_and_unblocked_it_takes_messages_again(self):
        # A memory alarm: RabbitMQ stops reading from publishing connections (connection.blocked).
        exchange = f"x-{self.name}"
        queue = self.bound_queue(exchange)
        driver = self.interactive(exchange, extra=["--timeout", "2"])
        message = self.message_file(self.mail())
        self.assertEqual(driver.publish(message), "delivered")
        BROKER.ctl("set_vm_memory_high_watermark", "absolute", "1")
        try:
            self.assertEqual(driver.publish(message),
                             f"deferred: amqp: no confirm from {HOST}:{BROKER.port} within 2 s")
        finally:
            BROKER.ctl("set_vm_memory_high_watermark", "0.4")
        deadline = time.monotonic() + 30
        while True:  # the alarm clears at the broker's next memory check
            result = driver.publish(message)
            if result == "delivered" or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        self.assertEqual(result, "delivered")
        driver.finish()
        # The blocked message may still have been routed later: at least once, never lost.
        self.assertGreaterEqual(len(BROKER.messages(queue)), 2)

    # ---- the broker away ----

    def test_zz_broker_stopped_and_restarted_loses_nothing(self):
        # Named to run last: the broker goes away in the middle of it.
        exchange = f"x-{self.name}"
        queue = self.bound_queue(exchange)
        driver = self.interactive(exchange, extra=["--verbose"])
        before = [self.message_file(self.mail(n)) for n in range(3)]
        for path in before:
            self.assertEqual(driver.publish(path), "delivered")
        BROKER.stop()
        try:
            away = self.message_file(self.mail(10))
            self.assertEqual(driver.publish(away),
                             f"deferred: amqp: connect to {HOST}:{BROKER.port} failed: Connection refused")
        finally:
            BROKER.start()
        after = self.message_file(self.mail(20))
        self.assertEqual(driver.publish(after), "delivered")
        code, errors = driver.finish()
        self.assertEqual(code, 0, errors)
        got = [m.body for m in BROKER.messages(queue)]
        expected = []
        for path in before + [after]:
            with open(path, "rb") as f:
                expected.append(f.read())
        self.assertEqual(got, expected)  # durable queue, persistent messages: the restart lost none
        self.assertIn("amqp_connection_stale", "".join(driver.output))

    # ---- many at once ----

    def test_200_publishes_over_4_connections_are_all_confirmed_and_queued(self):
        exchange = f"x-{self.name}"
        queue = self.bound_queue(exchange)
        results, output = self.publish(exchange, self.mail(), extra=["--concurrent", "200", "--max-connections", "4",
                                                                     "--verbose"])
        self.assertEqual(results, ["delivered"] * 200)
        self.assertEqual(len(BROKER.messages(queue)), 200)
        connects = output.count("amqp_connected")
        self.assertGreaterEqual(connects, 2, output[-2000:])  # several threads at work...
        self.assertLessEqual(connects, 4)                    # ...each with its own connection, kept

    # ---- TLS ----

    def tls(self, exchange, host=HOST, extra=()):
        return self.publish(exchange, self.mail(), host=host, port=BROKER.tls_port,
                            extra=["--security", "tls", *extra])[0]

    def test_tls_with_the_brokers_ca_by_ip_address(self):
        exchange = f"x-{self.name}"
        queue = self.bound_queue(exchange)
        self.assertEqual(self.tls(exchange, extra=["--ca", os.path.join(FOLDER, "ca.pem")]), ["delivered"])
        self.assertEqual(len(BROKER.messages(queue)), 1)

    def test_tls_refuses_a_certificate_for_another_name(self):
        self.assertEqual(self.tls(f"x-{self.name}", host="localhost", extra=["--ca", os.path.join(FOLDER, "ca.pem")]),
                         [f"deferred: amqp: TLS handshake with localhost:{BROKER.tls_port} failed: certificate "
                          f"verify failed (hostname mismatch)"])

    def test_tls_refuses_a_ca_outside_the_system_store(self):
        self.assertEqual(self.tls(f"x-{self.name}"),
                         [f"deferred: amqp: TLS handshake with {HOST}:{BROKER.tls_port} failed: certificate verify "
                          f"failed (unable to get local issuer certificate)"])

    def test_tls_without_verification_when_configured_so(self):
        exchange = f"x-{self.name}"
        queue = self.bound_queue(exchange)
        self.assertEqual(self.tls(exchange, host="localhost", extra=["--no-verify"]), ["delivered"])
        self.assertEqual(len(BROKER.messages(queue)), 1)

    def test_tls_with_a_missing_ca_file(self):
        [result] = self.tls(f"x-{self.name}", extra=["--ca", os.path.join(FOLDER, "missing.pem")])
        self.assertEqual(result, f"deferred: amqp: TLS set-up failed: cannot load CA file "
                                 f"{os.path.join(FOLDER, 'missing.pem')}")


if __name__ == "__main__":
    unittest.main()
