"""The operations HTTP endpoint: GET /healthz, /readyz and /metrics on their own port; readiness
follows PostgreSQL, the migrations and the drain; the metrics pass `promtool check metrics` and
move when mail is accepted or refused; bad HTTP never disturbs SMTP."""
import http.client
import re
import shutil
import signal
import smtplib
import socket
import subprocess
import unittest

import pgcluster
from e2e_base import ALICE, RelayTestCase, message
from relay import RawSmtp, RelayServer, wait_until
import test_relay_database

PROMTOOL = shutil.which("promtool") or "/usr/bin/promtool"


def get(port, path, method="GET", body=None, headers=None):
    """(status, headers dict with lower-case names, body text) of one request."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read().decode()
    finally:
        connection.close()


def raw_http(port, data):
    """Sends raw bytes; returns everything the server answers before it closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=15) as s:
        s.sendall(data)
        received = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                return received
            received += chunk


SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{[^}]*\})?) (\S+)$")


def wait_ready(relay):
    """/readyz answers from a background check of PostgreSQL: wait for the first one."""
    wait_until(lambda: get(relay.http_port, "/readyz")[::2] == (200, "ready\n"), message="readiness")


def parse_metrics(text):
    """{'name{labels}': value} of every sample."""
    samples = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        match = SAMPLE.match(line)
        assert match, f"not a sample line: {line!r}"
        samples[match.group(1)] = float(match.group(2))
    return samples


class HttpEndpoint(RelayTestCase):

    def metrics(self):
        status, headers, body = get(self.relay.http_port, "/metrics")
        self.assertEqual(status, 200)
        return parse_metrics(body)

    def assert_moved(self, before, after, expected):
        for name, delta in expected.items():
            self.assertEqual(after.get(name, 0) - before.get(name, 0), delta, name)

    # ---- routes ----

    def test_healthz_says_ok(self):
        status, headers, body = get(self.relay.http_port, "/healthz")
        self.assertEqual((status, body), (200, "ok\n"))
        self.assertTrue(headers["content-type"].startswith("text/plain"))

    def test_readyz_says_ready(self):
        wait_ready(self.relay)

    def test_metrics_are_prometheus_text_that_promtool_accepts(self):
        status, headers, body = get(self.relay.http_port, "/metrics")
        self.assertEqual(status, 200)
        self.assertTrue(headers["content-type"].startswith("text/plain; version=0.0.4"), headers)
        for name in ("postern_connections_open", "postern_connections_total", "postern_messages_accepted_total",
                     "postern_queue_depth", "postern_queue_oldest_message_age_seconds"):
            self.assertIn(f"\n{name} ", "\n" + body)
        self.assertIn('postern_auth_results_total{result="throttled"} ', body)
        self.assertIn('postern_accept_duration_seconds_bucket{le="+Inf"} ', body)
        check = subprocess.run([PROMTOOL, "check", "metrics"], input=body, capture_output=True, text=True,
                               timeout=60)
        self.assertEqual(check.returncode, 0, check.stdout + check.stderr)

    def test_unknown_path_is_404(self):
        self.assertEqual(get(self.relay.http_port, "/nope")[0], 404)
        self.assertEqual(get(self.relay.http_port, "/")[0], 404)

    def test_other_methods_are_405(self):
        for method in ("POST", "PUT", "DELETE", "HEAD"):
            with self.subTest(method=method):
                status, headers, _ = get(self.relay.http_port, "/metrics", method=method, body="x")
                self.assertEqual(status, 405)
                self.assertEqual(headers["allow"], "GET")

    def test_query_string_is_ignored(self):
        self.assertEqual(get(self.relay.http_port, "/healthz?probe=1")[::2], (200, "ok\n"))

    def test_keep_alive_serves_several_requests_on_one_connection(self):
        wait_ready(self.relay)
        connection = http.client.HTTPConnection("127.0.0.1", self.relay.http_port, timeout=15)
        try:
            for path in ("/healthz", "/readyz", "/metrics", "/healthz"):
                connection.request("GET", path)
                response = connection.getresponse()
                response.read()
                self.assertEqual(response.status, 200, path)
        finally:
            connection.close()

    def test_idle_keep_alive_clients_cannot_keep_probes_out(self):
        wait_ready(self.relay)
        # More idle connections than the endpoint serves at once (32): kept-alive ones that asked
        # once, and silent ones that never ask. Each probe still gets its answer.
        idle = []
        try:
            for i in range(40):
                connection = http.client.HTTPConnection("127.0.0.1", self.relay.http_port, timeout=15)
                idle.append(connection)
                if i % 2 == 0:
                    connection.request("GET", "/healthz")
                    connection.getresponse().read()
                else:
                    connection.connect()
            for _ in range(5):
                self.assertEqual(get(self.relay.http_port, "/readyz")[::2], (200, "ready\n"))
                self.assertEqual(get(self.relay.http_port, "/healthz")[::2], (200, "ok\n"))
        finally:
            for connection in idle:
                connection.close()

    def test_malformed_and_oversized_requests_get_400_and_smtp_carries_on(self):
        for data in (b"GARBAGE\r\n\r\n",
                     b"GET /healthz HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n",
                     b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 20000 + b"\r\n\r\n",
                     b"GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n"):
            with self.subTest(data=data[:40]):
                answer = raw_http(self.relay.http_port, data)
                self.assertTrue(answer.startswith(b"HTTP/1.1 400 "), answer[:200])
        with RawSmtp(self.relay.port) as client:
            self.assertEqual(client.reply().code, 220)
        self.assertEqual(get(self.relay.http_port, "/healthz")[::2], (200, "ok\n"))
        self.assertIsNone(self.relay.process.poll())

    def test_a_silent_client_does_not_block_others(self):
        with socket.create_connection(("127.0.0.1", self.relay.http_port), timeout=15) as idle:
            idle.sendall(b"GET /healthz HTTP/1.1\r\n")  # and never finishes
            self.assertEqual(get(self.relay.http_port, "/healthz")[::2], (200, "ok\n"))

    # ---- counters ----

    def test_counters_move_when_a_message_is_accepted(self):
        # A session of an earlier test may still be closing: start from none open.
        before = wait_until(lambda: (m := self.metrics())["postern_connections_open"] == 0 and m,
                            message="earlier sessions to end")
        client = self.smtp(ALICE)
        client.sendmail("alice@example.com", ["one@example.net", "two@example.net"], message())
        client.quit()
        after = wait_until(lambda: (m := self.metrics())["postern_connections_open"] == before["postern_connections_open"]
                           and m, message="the session to end")
        self.assert_moved(before, after, {
            "postern_messages_accepted_total": 1,
            "postern_recipients_accepted_total": 2,
            "postern_connections_total": 1,
            'postern_tls_handshakes_total{result="ok"}': 1,
            'postern_auth_results_total{result="accepted"}': 1,
            "postern_grant_check_duration_seconds_count": 1,
            "postern_accept_duration_seconds_count": 1,
        })
        self.assertGreater(after["postern_accepted_bytes_total"] - before["postern_accepted_bytes_total"],
                           len(message()))
        # No upstream: the message stays queued, and the queue gauges see it at their next check.
        after = wait_until(lambda: (m := self.metrics())["postern_queue_depth"] >= 1 and m,
                           message="the queue gauge to count the message")
        self.assertGreaterEqual(after["postern_queue_oldest_message_age_seconds"], 0)
        self.assertEqual(after["postern_database_up"], 1)

    def test_counters_move_when_messages_are_refused(self):
        before = self.metrics()
        client = self.smtp(ALICE)
        with self.assertRaises(smtplib.SMTPSenderRefused):
            client.sendmail("mallory@example.com", ["r@example.net"], message("mallory@example.com"))
        client.rset()
        with self.assertRaises(smtplib.SMTPDataError) as refused:
            client.sendmail("alice@example.com", ["r@example.net"], message("mallory@example.com"))
        self.assertEqual(refused.exception.smtp_code, 550)
        client.rset()
        # smtplib.sendmail announces SIZE=, which MAIL FROM would refuse: go to DATA by hand.
        self.assertEqual(client.mail("alice@example.com")[0], 250)
        self.assertEqual(client.rcpt("r@example.net")[0], 250)
        self.assertEqual(client.data(message(body="x" * 990 + "\r\n") * 120)[0], 552)
        client.quit()
        after = self.metrics()
        self.assert_moved(before, after, {
            'postern_messages_rejected_total{reason="sender_denied"}': 1,
            'postern_messages_rejected_total{reason="header_from"}': 1,
            'postern_messages_rejected_total{reason="size"}': 1,
            "postern_messages_accepted_total": 0,
            "postern_accept_duration_seconds_count": 0,
        })

    def test_bare_lf_in_data_counts_as_bad_data(self):
        before = self.metrics()
        client = self.raw_logged_in(ALICE)
        for line in ("MAIL FROM:<alice@example.com>", "RCPT TO:<r@example.net>", "DATA"):
            client.command(line)
        client.send(b"Subject: x\r\n\r\nbare\nLF\r\n.\r\n")
        self.assertEqual(client.reply().code, 550)
        after = self.metrics()
        self.assert_moved(before, after, {'postern_messages_rejected_total{reason="bad_data"}': 1})

    def test_failed_auth_counts_as_rejected(self):
        before = self.metrics()
        client = self.raw()
        self.assertEqual(client.reply().code, 220)
        client.ehlo()
        client.starttls(self.relay.cafile)
        client.ehlo()
        self.assertEqual(client.auth_plain(ALICE, "wrong password").code, 535)
        after = self.metrics()
        self.assert_moved(before, after, {'postern_auth_results_total{result="rejected"}': 1})


class DisabledEndpoint(RelayTestCase):
    relay_config = {"http": {"port": 0}}

    def test_port_zero_disables_the_endpoint(self):
        self.assertIn("http=off", self.relay.log_text())
        self.assertNotIn("http_listening", self.relay.log_text())


class ReadinessMigrations(unittest.TestCase):

    def test_readyz_is_503_while_migrations_are_pending(self):
        db = pgcluster.fresh_database("e2e")  # empty: nothing migrated, no relay role granted
        with RelayServer(db, as_owner=True) as relay:
            wait_until(lambda: get(relay.http_port, "/readyz")[2] != "database not checked yet\n",
                       message="the first database check")
            status, _, body = get(relay.http_port, "/readyz")
            self.assertEqual(status, 503)
            self.assertRegex(body, r"^migrations pending: \d+\n$")
            self.assertEqual(get(relay.http_port, "/healthz")[0], 200)


class ReadinessDatabaseOutage(RelayTestCase):
    """PostgreSQL of its own, stopped and started again on the same port."""

    relay_config = {"database": {"timeout_seconds": 2, "pool_size": 2}}
    # The same private cluster handling as test_relay_database's outage tests.
    database_url = test_relay_database.DatabaseOutage.__dict__["database_url"]
    stop_postgres = test_relay_database.DatabaseOutage.__dict__["stop_postgres"]
    start_postgres = test_relay_database.DatabaseOutage.__dict__["start_postgres"]

    def test_readyz_follows_postgres(self):
        wait_ready(self.relay)
        self.stop_postgres()
        try:
            wait_until(lambda: get(self.relay.http_port, "/readyz")[::2] == (503, "database unreachable\n"),
                       message="readiness to see the outage")
            self.assertEqual(get(self.relay.http_port, "/healthz")[::2], (200, "ok\n"))
            status, _, text = get(self.relay.http_port, "/metrics")
            self.assertEqual(status, 200)
            self.assertEqual(parse_metrics(text)["postern_database_up"], 0)
        finally:
            self.start_postgres()
        wait_until(lambda: get(self.relay.http_port, "/readyz")[::2] == (200, "ready\n"), timeout=20,
                   interval=0.2, message="readiness to return")
        self.assertEqual(parse_metrics(get(self.relay.http_port, "/metrics")[2])["postern_database_up"], 1)


class ReadinessDrain(RelayTestCase):
    start_relay = False

    def test_readyz_is_503_draining_while_sessions_finish(self):
        relay = RelayServer(self.db, shutdown_grace_seconds=5)
        self.addCleanup(relay.cleanup)
        wait_ready(relay)
        session = RawSmtp(relay.port)
        self.addCleanup(session.close)
        self.assertEqual(session.reply().code, 220)
        session.ehlo()
        relay.signal(signal.SIGTERM)
        relay.wait_for_log(r"event=draining|draining")
        status, _, body = get(relay.http_port, "/readyz")
        self.assertEqual((status, body), (503, "draining\n"))
        self.assertEqual(get(relay.http_port, "/healthz")[::2], (200, "ok\n"))
        self.assertIsNone(relay.process.poll(), "postern waits for the open session")
        self.assertEqual(session.command("QUIT").code, 221)
        self.assertEqual(relay.wait(timeout=15), 0)


if __name__ == "__main__":
    unittest.main()
