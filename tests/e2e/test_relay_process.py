"""The postern process: --version, --check-config, start-up failures, secrets in the start-up
log, and SIGTERM with sessions open."""
import os
import re
import signal
import socket
import time
import unittest

import pgcluster
from e2e_base import ALICE, RelayTestCase, message
from relay import Mailadmin, RawSmtp, RelayServer, queued, run_postern


class CommandLine(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        # A configuration that is never started: the database need not exist.
        cls.relay = RelayServer("postgresql://postern@127.0.0.1:1/unused", start=False)
        cls.addClassCleanup(cls.relay.cleanup)

    def write(self, name, text):
        path = os.path.join(self.relay.dir, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def test_version_prints_the_version_and_exits_0(self):
        out = run_postern("--version")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertRegex(out.stdout, r"^postern \d+\.\d+\.\d+\S*\n$")
        self.assertEqual(out.stderr, "")

    def test_check_config_accepts_a_good_config_and_exits_0(self):
        out = run_postern("--check-config", "--config", self.relay.config_path)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertTrue(out.stdout.startswith(f"{self.relay.config_path}: ok ("), out.stdout)
        self.assertEqual(out.stderr, "")

    def test_check_config_names_the_file_line_and_key_of_a_misspelt_key(self):
        path = self.write("misspelt.yaml", "database:\n  url: postgresql://postern@db/postern\n"
                                           "limits:\n  max_recipients: 5\n  max_mesage_size: 10\n")
        out = run_postern("--check-config", "--config", path)
        self.assertEqual(out.returncode, 2)
        self.assertEqual(out.stdout, "")
        self.assertEqual(out.stderr.count("\n"), 1, out.stderr)
        self.assertRegex(out.stderr, rf"^postern: {re.escape(path)}:5: .*limits\.max_mesage_size")

    def test_check_config_names_the_line_of_a_bad_value(self):
        path = self.write("bad-port.yaml", "database:\n  url: postgresql://postern@db/postern\n"
                                           "listeners:\n  - address: 127.0.0.1\n    port: 70000\n")
        out = run_postern("--check-config", "--config", path)
        self.assertEqual(out.returncode, 2)
        self.assertEqual(out.stderr.count("\n"), 1, out.stderr)
        self.assertRegex(out.stderr, rf"^postern: {re.escape(path)}:5: .*port")

    def test_check_config_of_a_missing_file_fails(self):
        out = run_postern("--check-config", "--config", os.path.join(self.relay.dir, "absent.yaml"))
        self.assertNotEqual(out.returncode, 0)
        self.assertIn("absent.yaml", out.stderr)

    def test_unknown_argument_is_a_usage_error(self):
        out = run_postern("--frobnicate")
        self.assertEqual(out.returncode, 2)
        self.assertIn("usage: postern", out.stderr)


class StartupFailures(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.db = pgcluster.fresh_database("e2e")
        Mailadmin(cls.db).migrate()

    def start_expecting_failure(self, **overrides):
        relay = RelayServer(self.db, start=False, **overrides)
        self.addCleanup(relay.cleanup)
        out = run_postern("--config", relay.config_path)
        self.assertNotEqual(out.returncode, 0)
        return relay, out

    def test_unreadable_certificate_stops_start_up_with_a_one_line_error(self):
        _, out = self.start_expecting_failure(tls={"certificate": "/nonexistent/tls.crt"})
        self.assertRegex(out.stderr, r"^postern: .*/nonexistent/tls\.crt.*\n$")

    def test_port_in_use_stops_start_up_with_a_one_line_error(self):
        with socket.socket() as busy:
            busy.bind(("127.0.0.1", 0))
            busy.listen()
            port = busy.getsockname()[1]
            _, out = self.start_expecting_failure(listeners=[{"address": "127.0.0.1", "port": port}])
        self.assertRegex(out.stderr, rf"^postern: cannot listen on 127\.0\.0\.1:{port}: .*\n$")

    def test_database_password_never_reaches_the_log(self):
        url = re.sub(r"^postgresql://postern@", "postgresql://postern:Db-S3cret-pw@", self.db)
        with RelayServer(url) as relay:
            with RawSmtp(relay.port) as client:
                self.assertEqual(client.reply().code, 220)
            self.assertEqual(relay.stop(), 0)
            self.assertIn(f"database.url=postgresql://{pgcluster.RELAY_ROLE}:***@", relay.log_text())
            self.assertNotIn("Db-S3cret-pw", relay.log_text())


class Shutdown(RelayTestCase):
    """Each test starts its own postern: each one ends it."""

    start_relay = False

    def relay_with(self, **config):
        relay = RelayServer(self.db, **config)
        self.addCleanup(relay.cleanup)
        return relay

    def test_sigterm_lets_a_session_mid_message_finish_and_exits_0(self):
        relay = self.relay_with(shutdown_grace_seconds=20)
        client = RawSmtp(relay.port)
        self.addCleanup(client.close)
        client.login(ALICE, "Alice-pw-7f3c1e", cafile=relay.cafile)
        for line in ("MAIL FROM:<alice@example.com>", "RCPT TO:<rcpt@example.net>"):
            self.assertEqual(client.command(line).code, 250)
        self.assertEqual(client.command("DATA").code, 354)
        client.send(message(subject="half sent")[:20])

        relay.signal(signal.SIGTERM)
        relay.wait_for_log(r"event=draining signal=SIGTERM sessions=1")
        with self.assertRaises(ConnectionRefusedError):  # no new sessions while draining
            socket.create_connection(("127.0.0.1", relay.port), timeout=5).close()

        client.send(message(subject="half sent")[20:] + b".\r\n")
        reply = client.reply()
        self.assertEqual(reply.code, 250, reply)
        self.assertEqual(client.command("QUIT").code, 221)
        client.close()
        self.assertEqual(relay.wait(timeout=15), 0)
        self.assertIn("event=stopped", relay.log_text())
        self.assertIn(reply.text.rsplit(" ", 1)[1], {m["id"] for m in queued(self.db)})

    def test_sigterm_cuts_sessions_after_the_grace_period_and_exits_0(self):
        relay = self.relay_with(shutdown_grace_seconds=1)
        client = RawSmtp(relay.port)
        self.addCleanup(client.close)
        self.assertEqual(client.reply().code, 220)
        started = time.monotonic()
        relay.signal(signal.SIGTERM)
        self.assertEqual(relay.wait(timeout=15), 0)
        self.assertLess(time.monotonic() - started, 10)
        self.assertIn("event=grace_period_over sessions=1", relay.log_text())

    def test_session_cut_at_the_end_of_the_grace_period_gets_421(self):
        relay = self.relay_with(shutdown_grace_seconds=1)
        client = RawSmtp(relay.port)
        self.addCleanup(client.close)
        self.assertEqual(client.reply().code, 220)
        relay.signal(signal.SIGTERM)
        self.assertEqual(relay.wait(timeout=15), 0)
        try:
            reply = client.reply()
        except (EOFError, ConnectionResetError) as e:
            self.fail(f"no 421 before the connection was cut: {e}")
        self.assertEqual(reply.code, 421)

    def test_sigterm_with_no_sessions_exits_0_at_once(self):
        relay = self.relay_with(shutdown_grace_seconds=30)
        started = time.monotonic()
        self.assertEqual(relay.stop(timeout=10), 0)
        self.assertLess(time.monotonic() - started, 5)

    def test_sigint_drains_like_sigterm(self):
        relay = self.relay_with()
        relay.signal(signal.SIGINT)
        self.assertEqual(relay.wait(timeout=10), 0)
        self.assertIn("event=draining signal=SIGINT", relay.log_text())


if __name__ == "__main__":
    unittest.main()
