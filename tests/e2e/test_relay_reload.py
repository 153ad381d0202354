"""SIGHUP reloads postern.yaml: listeners come and go (sessions open on a removed one finish),
limits apply to new sessions while open ones keep theirs, a changed upstream takes the next
deliveries, keys that need a restart are named, and a broken file changes nothing."""
import email
import os
import re
import signal
import smtplib
import socket
import unittest

from e2e_base import ALICE, PASSWORDS, RelayTestCase, message
from relay import RawSmtp, RelayServer, Sink, free_port, to_yaml, wait_until
from test_http import get, parse_metrics, wait_ready


class Reload(RelayTestCase):
    """Each test starts its own postern and changes its file."""

    start_relay = False

    def relay_with(self, **config):
        relay = RelayServer(self.db, **config)
        self.addCleanup(relay.cleanup)
        # Cleanups run last first: after its reloads, the relay still drains and exits 0.
        self.addCleanup(lambda: self.assertEqual(relay.stop(), 0, "postern's exit status after SIGTERM"))
        return relay

    @staticmethod
    def hang_up(relay, event):
        """Sends SIGHUP and waits for the next log line of event."""
        before = relay.log_text().count(f"event={event} ")
        relay.signal(signal.SIGHUP)
        wait_until(lambda: relay.log_text().count(f"event={event} ") > before, message=f"{event} after SIGHUP")

    def reload(self, relay):
        """Writes relay.config and waits until SIGHUP applied it."""
        relay._write_config()
        self.hang_up(relay, "config_reloaded")

    def client(self, relay, port=None, login=True):
        """smtplib over STARTTLS to port (the relay's first listener by default), logged in as alice."""
        client = smtplib.SMTP("127.0.0.1", port or relay.port, local_hostname="client.test", timeout=15)
        self.addCleanup(self._quietly_close, client)
        client.ehlo()
        client.starttls(context=relay.client_context())
        client.ehlo()
        if login:
            client.login(ALICE, PASSWORDS[ALICE])
        return client

    def assert_sends(self, client, recipients=("rcpt@example.net",), subject="Hello"):
        refused = client.sendmail("alice@example.com", list(recipients), message(subject=subject))
        self.assertEqual(refused, {})

    def assert_refused(self, port):
        with self.assertRaises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", port), timeout=5).close()

    # ---- listeners ----

    def test_an_added_listener_accepts_and_a_removed_one_lets_its_open_session_finish(self):
        leaving, coming = free_port(), free_port()
        relay = self.relay_with(extra_listeners=[{"address": "127.0.0.1", "port": leaving}])
        before = self.queue_snapshot()
        open_session = self.client(relay, port=leaving)
        self.assertEqual(open_session.mail("alice@example.com")[0], 250)
        self.assertEqual(open_session.rcpt("rcpt@example.net")[0], 250)

        relay.config["listeners"][-1]["port"] = coming
        self.reload(relay)
        self.assertIn(f"changed=listeners+127.0.0.1:{coming},listeners-127.0.0.1:{leaving}", relay.log_text())
        self.assert_refused(leaving)
        self.assert_sends(self.client(relay, port=coming), subject="through the new listener")

        code, reply = open_session.data(message(subject="finished on the removed listener"))
        self.assertEqual(code, 250, reply)
        self.assertEqual(open_session.quit()[0], 221)
        self.assertEqual(len(self.queued_since(before)), 2)
        self.assert_sends(self.client(relay), subject="the first listener is untouched")

    def test_a_changed_listener_keeps_its_socket_and_serves_new_sessions_on_its_new_settings(self):
        relay = self.relay_with()
        old = smtplib.SMTP("127.0.0.1", relay.port, local_hostname="client.test", timeout=15)
        self.addCleanup(self._quietly_close, old)
        old.ehlo()
        self.assertNotIn("auth", old.esmtp_features)  # no AUTH before STARTTLS

        relay.config["listeners"][0]["allow_plaintext_auth_on_loopback"] = True
        self.reload(relay)
        self.assertIn(f"changed=listeners~127.0.0.1:{relay.port}", relay.log_text())
        new = smtplib.SMTP("127.0.0.1", relay.port, local_hostname="client.test", timeout=15)
        self.addCleanup(self._quietly_close, new)
        new.ehlo()
        self.assertIn("auth", new.esmtp_features)
        new.login(ALICE, PASSWORDS[ALICE])
        self.assert_sends(new, subject="plaintext AUTH from loopback")
        old.ehlo()
        self.assertNotIn("auth", old.esmtp_features)  # the open session kept its settings

    def test_a_unix_socket_listener_comes_and_goes_with_its_file(self):
        relay = self.relay_with()
        path = os.path.join(relay.dir, "lmtp.sock")
        relay.config["listeners"].append({"kind": "lmtp", "path": path, "accept_domains": ["trap.example"]})
        self.reload(relay)
        self.assertIn(f"changed=listeners+unix:{path}", relay.log_text())
        client = smtplib.LMTP(path, local_hostname="mx.client.test", timeout=15)
        self.addCleanup(self._quietly_close, client)
        client.ehlo_or_helo_if_needed()
        self.assertEqual(client.mail("")[0], 250)
        self.assertEqual(client.rcpt("catch@trap.example")[0], 250)

        relay.config["listeners"].pop()
        self.reload(relay)
        self.assertFalse(os.path.exists(path))
        code, reply = client.data(message(to="catch@trap.example", subject="over a removed socket"))
        self.assertEqual(code, 250, reply)

    # ---- limits ----

    def test_changed_limits_apply_to_new_sessions_while_open_ones_keep_theirs(self):
        relay = self.relay_with()
        old = self.client(relay)
        self.assertEqual(old.esmtp_features["size"], "100000")

        relay.config["limits"].update(max_recipients=2, max_message_size=50000)
        self.reload(relay)
        self.assertIn("changed=limits.max_message_size,limits.max_recipients", relay.log_text())

        new = self.client(relay)
        self.assertEqual(new.esmtp_features["size"], "50000")
        self.assertEqual(new.mail("alice@example.com")[0], 250)
        self.assertEqual(new.rcpt("one@example.net")[0], 250)
        self.assertEqual(new.rcpt("two@example.net")[0], 250)
        self.assertEqual(new.rcpt("three@example.net")[0], 452)
        new.rset()

        self.assert_sends(old, recipients=("one@example.net", "two@example.net", "three@example.net"),
                          subject="three recipients on the old limits")
        old.ehlo()
        self.assertEqual(old.esmtp_features["size"], "100000")

    def test_keys_that_need_a_restart_are_named_and_keep_their_running_values(self):
        relay = self.relay_with()
        relay.config["threads"]["io"] = 3
        relay.config["database"]["timeout_seconds"] = 4
        relay.config["limits"]["max_recipients"] = 4
        self.reload(relay)
        log = relay.log_text()
        self.assertRegex(log, r"event=config_needs_restart .*keys=database\.timeout_seconds,threads\.io")
        self.assertIn("changed=limits.max_recipients", log)
        self.assert_sends(self.client(relay), subject="after a partial reload")

    def test_handlers_and_the_log_level_apply_to_the_next_message(self):
        relay = self.relay_with()
        client = self.client(relay)
        self.assert_sends(client, subject="before the handler")
        relay.config["handlers"] = [
            {"name": "refuse-reports", "when": {"header": {"name": "Subject", "matches": "^report"}},
             "reject": {"code": 554, "enhanced": "5.7.1", "text": "No reports here"}}]
        relay.config["logging"]["level"] = "warning"
        self.reload(relay)
        self.assertIn("changed=logging.level,handlers", relay.log_text())
        with self.assertRaises(smtplib.SMTPDataError) as refused:
            client.sendmail("alice@example.com", ["rcpt@example.net"], message(subject="report 7"))
        self.assertEqual(refused.exception.smtp_code, 554)
        self.assert_sends(client, subject="not a report")
        self.assertNotIn("event=message_accepted", relay.log_text().split("event=config_reloaded")[-1])

    def test_the_failure_throttle_takes_new_limits_for_the_failures_counted_so_far(self):
        relay = self.relay_with()

        def guess():
            """One AUTH PLAIN with a wrong password after STARTTLS: its reply code."""
            client = RawSmtp(relay.port)
            self.addCleanup(client.close)
            self.assertEqual(client.reply().code, 220)
            self.assertEqual(client.ehlo().code, 250)
            client.starttls(relay.cafile)
            self.assertEqual(client.ehlo().code, 250)
            return client.auth_plain(ALICE, "not her password").code

        self.assertEqual([guess(), guess()], [535, 535])
        relay.config["auth"]["failures_per_user_network"] = 2
        self.reload(relay)
        self.assertIn("changed=auth.failures_per_user_network", relay.log_text())
        self.assertEqual(guess(), 421)

    # ---- a broken file ----

    def test_a_broken_file_changes_nothing_and_is_reported(self):
        relay = self.relay_with()
        wait_ready(relay)
        relay.config["limits"]["max_message_size"] = 50000
        relay.config["limits"]["max_recipients"] = "many"
        text = to_yaml(relay.config) + "\n"
        line = text.splitlines().index(next(l for l in text.splitlines() if "max_recipients" in l)) + 1
        with open(relay.config_path, "w") as f:
            f.write(text)
        self.hang_up(relay, "config_reload_failed")
        self.assertRegex(relay.log_text(), r"event=config_reload_failed error=\"" +
                         re.escape(f"{relay.config_path}:{line}: limits.max_recipients: "))
        self.assertNotIn("event=config_reloaded", relay.log_text())

        client = self.client(relay)
        self.assertEqual(client.esmtp_features["size"], "100000")  # the value the broken file had changed
        self.assert_sends(client, subject="after a broken file")
        status, _, body = get(relay.http_port, "/readyz")
        self.assertEqual((status, body), (200, "ready\n"))
        metrics = parse_metrics(get(relay.http_port, "/metrics")[2])
        self.assertEqual(metrics["postern_config_reload_failures_total"], 1)
        self.assertEqual(metrics["postern_config_reloads_total"], 0)

        # Mended, the next SIGHUP applies it.
        relay.config["limits"]["max_recipients"] = 5
        self.reload(relay)
        self.assertEqual(self.client(relay).esmtp_features["size"], "50000")
        metrics = parse_metrics(get(relay.http_port, "/metrics")[2])
        self.assertEqual(metrics["postern_config_reloads_total"], 1)
        self.assertGreater(metrics["postern_config_last_reload_success_timestamp_seconds"], 0)

    # ---- upstreams ----

    def test_a_changed_upstream_takes_the_next_deliveries(self):
        first, second = Sink(), Sink()
        self.addCleanup(first.cleanup)
        self.addCleanup(second.cleanup)
        relay = self.relay_with(upstreams=[first.upstream("main")], default_upstream="main",
                                delivery={"poll_seconds": 1})
        client = self.client(relay)
        self.assert_sends(client, subject="before the reload")
        wait_until(lambda: subjects(first).count("before the reload") == 1, timeout=15,
                   message="the first message at the first sink")

        relay.config["upstreams"] = [second.upstream("main")]
        self.reload(relay)
        self.assertIn("upstreams.main", relay.log_text())
        self.assert_sends(client, subject="after the reload")  # the same session goes on
        wait_until(lambda: "after the reload" in subjects(second), timeout=15,
                   message="the second message at the second sink")
        self.assertNotIn("after the reload", subjects(first))


def subjects(sink):
    return [email.message_from_bytes(m["data"])["Subject"] for m in sink.messages()]


if __name__ == "__main__":
    unittest.main()
