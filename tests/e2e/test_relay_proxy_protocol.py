"""A listener with proxy_protocol behind a real HAProxy (`send-proxy` and `send-proxy-v2`): the
client's own address, not the balancer's, reaches Received: and the per-address connection limit;
connections from outside trusted_proxies, or without a PROXY header, are closed before the
greeting; a v2 LOCAL header (a health check) keeps the balancer's address.

Clients connect from 127.0.0.N addresses other than 127.0.0.1 (all loopback on Linux); HAProxy
connects to the relay from 127.0.0.1, the only trusted proxy."""
import os
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import time
import unittest
import urllib.request

from e2e_base import ALICE, ALICE_PW, BOB, BOB_PW, RelayTestCase, message
from relay import RawSmtp, RelayServer, free_port, wait_until

CLIENT = "127.0.0.5"
V2_SIGNATURE = b"\r\n\r\n\x00\r\nQUIT\n"


class HaProxy:
    """haproxy in the foreground in a temporary folder: one frontend per PROXY version, each
    forwarding to `relay_port` with its send-proxy option."""

    def __init__(self, relay_port):
        binary = shutil.which("haproxy") or next(
            (p for p in ("/usr/sbin/haproxy", "/usr/local/sbin/haproxy") if os.path.exists(p)), None)
        if binary is None:
            raise AssertionError("haproxy is not installed (Debian package haproxy, scripts/install-deps.sh)")
        self.dir = tempfile.mkdtemp(prefix="postern-haproxy-")
        self.v1_port, self.v2_port = free_port(), free_port()
        config = os.path.join(self.dir, "haproxy.cfg")
        with open(config, "w") as f:
            f.write(f"""global
    maxconn 100

defaults
    mode tcp
    timeout connect 5s
    timeout client 60s
    timeout server 60s

frontend smtp_v1
    bind 127.0.0.1:{self.v1_port}
    default_backend relay_v1

backend relay_v1
    server relay 127.0.0.1:{relay_port} send-proxy

frontend smtp_v2
    bind 127.0.0.1:{self.v2_port}
    default_backend relay_v2

backend relay_v2
    server relay 127.0.0.1:{relay_port} send-proxy-v2
""")
        self.log = open(os.path.join(self.dir, "haproxy.log"), "wb")
        self.process = subprocess.Popen([binary, "-db", "-f", config], stdout=self.log, stderr=subprocess.STDOUT,
                                        stdin=subprocess.DEVNULL)
        try:
            wait_until(self._listening, 10, message="haproxy to listen")
        except Exception:
            self.stop()
            raise

    def _listening(self):
        if self.process.poll() is not None:
            with open(self.log.name, "rb") as f:
                raise AssertionError(f"haproxy exited {self.process.returncode}: {f.read().decode(errors='replace')}")
        for port in (self.v1_port, self.v2_port):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
            except OSError:
                return False
        return True

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def closed_without_greeting(sock, timeout=10):
    """The relay hangs up without a byte."""
    sock.settimeout(timeout)
    try:
        return sock.recv(1024) == b""
    except ConnectionResetError:
        return True


class ProxyProtocolListener(RelayTestCase):

    @classmethod
    def setUpClass(cls):
        cls.proxied_port, cls.proxied_tls_port = free_port(), free_port()
        proxied = {"address": "127.0.0.1", "proxy_protocol": True, "trusted_proxies": ["127.0.0.1/32", "::1/128"],
                   "proxy_protocol_timeout_seconds": 2}
        cls.relay_config = {
            "extra_listeners": [dict(proxied, port=cls.proxied_port, tls="starttls"),
                                dict(proxied, port=cls.proxied_tls_port, tls="implicit")],
            "limits": {"max_connections_per_ip": 2},
            # bob's guesses from one network are braked after two failures.
            "auth": {"failures_per_user_network": 2},
        }
        super().setUpClass()
        try:
            cls.haproxy = HaProxy(cls.proxied_port)
        except BaseException:
            super().tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            cls.haproxy.stop()
        finally:
            super().tearDownClass()

    def client(self, port, source):
        c = RawSmtp(port, source=source, timeout=15)
        self.addCleanup(c.close)
        return c

    def send_message(self, c, subject):
        """From the greeting on: logs in as alice over STARTTLS and sends one message; returns the
        start of its queued Received field."""
        before = self.queue_snapshot()
        c.login(ALICE, ALICE_PW, cafile=self.relay.cafile)
        self.assertEqual(c.command("MAIL FROM:<alice@example.com>").code, 250)
        self.assertEqual(c.command("RCPT TO:<rcpt@example.net>").code, 250)
        self.assertEqual(c.command("DATA").code, 354)
        self.assertEqual(c.command(message(subject=subject) + b".").code, 250)
        c.command("QUIT")
        new = self.queued_since(before)
        self.assertEqual(len(new), 1)
        body = self.admin.queued_message(new[0]["id"])
        self.assertTrue(body.startswith(b"Received: from client.test "), body[:120])
        return body[:body.index(b"(Postern)")]

    def metric(self, reason):
        with urllib.request.urlopen(f"http://127.0.0.1:{self.relay.http_port}/metrics", timeout=10) as r:
            text = r.read().decode()
        line = f'postern_proxy_protocol_refusals_total{{reason="{reason}"}} '
        return int(next(l for l in text.splitlines() if l.startswith(line)).split()[-1])

    def test_v1_through_haproxy_shows_the_client_in_received(self):
        c = self.client(self.haproxy.v1_port, CLIENT)
        received = self.send_message(c, "via v1")
        self.assertIn(b"[127.0.0.5]", received)
        self.assertNotIn(b"[127.0.0.1]", received)

    def test_v2_through_haproxy_shows_the_client_in_received(self):
        c = self.client(self.haproxy.v2_port, CLIENT)
        received = self.send_message(c, "via v2")
        self.assertIn(b"[127.0.0.5]", received)
        self.assertNotIn(b"[127.0.0.1]", received)

    def test_connection_limit_counts_the_client_not_the_balancer(self):
        crowded, other_client = "127.0.0.9", "127.0.0.10"  # no other test's sessions count against these
        first = self.client(self.haproxy.v1_port, crowded)
        second = self.client(self.haproxy.v2_port, crowded)
        self.assertEqual(first.reply().code, 220)
        self.assertEqual(second.reply().code, 220)
        third = self.client(self.haproxy.v1_port, crowded)
        self.assertEqual(third.reply().code, 421)
        # Another client behind the same balancer still gets in.
        other = self.client(self.haproxy.v1_port, other_client)
        self.assertEqual(other.reply().code, 220)
        self.relay.wait_for_log(r"connection_refused.*127\.0\.0\.9")

    def test_auth_brake_counts_the_client_not_the_balancer(self):
        def auth_through_balancer(source, password):
            # Gone before the next attempt, which would be over the per-address connection limit.
            ended = f"event=disconnect client={source} "
            before = self.relay.log_text().count(ended)
            c = self.client(self.haproxy.v2_port, source)
            self.assertEqual(c.reply().code, 220)
            c.ehlo()
            c.starttls(self.relay.cafile)
            c.ehlo()
            code = c.auth_plain(BOB, password).code
            c.close()
            wait_until(lambda: self.relay.log_text().count(ended) > before, 10, message="the session's end")
            return code

        guesser, owner = "127.0.0.7", "127.0.0.8"
        self.assertEqual(auth_through_balancer(guesser, "wrong-1"), 535)
        self.assertEqual(auth_through_balancer(guesser, "wrong-2"), 535)
        self.assertEqual(auth_through_balancer(guesser, BOB_PW), 421)
        self.relay.wait_for_log(r"event=auth .*client=127\.0\.0\.7.*throttled")
        # The same balancer, another client: not braked.
        self.assertEqual(auth_through_balancer(owner, BOB_PW), 235)

    def test_untrusted_peer_with_a_header_is_closed(self):
        refused = self.metric("untrusted")
        sock = socket.create_connection(("127.0.0.1", self.proxied_port), source_address=(CLIENT, 0), timeout=10)
        self.addCleanup(sock.close)
        sock.sendall(b"PROXY TCP4 192.0.2.7 127.0.0.1 50000 587\r\nEHLO x\r\n")
        self.assertTrue(closed_without_greeting(sock))
        self.relay.wait_for_log(r"proxy_refused.*127\.0\.0\.5.*not in trusted_proxies")
        wait_until(lambda: self.metric("untrusted") == refused + 1, 5, message="the untrusted refusal counted")

    def test_connection_without_a_header_is_closed(self):
        refused = self.metric("bad_header")
        sock = socket.create_connection(("127.0.0.1", self.proxied_port), timeout=10)
        self.addCleanup(sock.close)
        sock.sendall(b"EHLO client.test\r\n")
        self.assertTrue(closed_without_greeting(sock))
        wait_until(lambda: self.metric("bad_header") == refused + 1, 5, message="the bad header counted")

    def test_silent_connection_is_closed_at_the_header_deadline(self):
        refused = self.metric("timeout")
        sock = socket.create_connection(("127.0.0.1", self.proxied_port), timeout=10)
        self.addCleanup(sock.close)
        started = time.monotonic()
        self.assertTrue(closed_without_greeting(sock))
        self.assertLess(time.monotonic() - started, 8)
        wait_until(lambda: self.metric("timeout") == refused + 1, 5, message="the timeout counted")

    def test_v2_local_keeps_the_proxys_address(self):
        c = self.client(self.proxied_port, "127.0.0.1")
        # version 2, LOCAL; family UNSPEC; no addresses.
        c.send(V2_SIGNATURE + bytes([0x20, 0x00]) + struct.pack("!H", 0))
        received = self.send_message(c, "local")
        self.assertIn(b"[127.0.0.1]", received)

    def test_implicit_tls_reads_the_header_before_the_handshake(self):
        c = self.client(self.proxied_tls_port, "127.0.0.1")
        c.send(b"PROXY TCP4 192.0.2.7 127.0.0.1 50000 465\r\n")
        c.wrap_tls(self.relay.cafile)
        received = self.send_message(c, "implicit")
        self.assertIn(b"[192.0.2.7]", received)


class ProxyProtocolReload(RelayTestCase):
    """proxy_protocol is part of a listener's settings: SIGHUP turns it on for new connections, on
    the same socket."""

    start_relay = False

    def test_sighup_turns_proxy_protocol_on(self):
        port = free_port()
        relay = RelayServer(self.db, extra_listeners=[{"address": "127.0.0.1", "port": port, "tls": "starttls"}])
        self.addCleanup(relay.cleanup)
        self.addCleanup(lambda: self.assertEqual(relay.stop(), 0, "postern's exit status after SIGTERM"))
        plain = self.client(port, "127.0.0.1")
        self.assertEqual(plain.reply().code, 220)

        relay.config["listeners"][-1].update(proxy_protocol=True, trusted_proxies=["127.0.0.1/32"])
        relay._write_config()
        before = relay.log_text().count("event=config_reloaded ")
        relay.signal(signal.SIGHUP)
        wait_until(lambda: relay.log_text().count("event=config_reloaded ") > before, message="the reload")

        sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.addCleanup(sock.close)
        sock.sendall(b"EHLO client.test\r\n")
        self.assertTrue(closed_without_greeting(sock))
        proxied = self.client(port, "127.0.0.1")
        proxied.send(b"PROXY TCP4 192.0.2.7 127.0.0.1 50000 587\r\n")
        self.assertEqual(proxied.reply().code, 220)
        relay.wait_for_log(r"proxy_header.*client=192\.0\.2\.7")
        # The session opened before the reload goes on without a header.
        self.assertEqual(plain.command("NOOP").code, 250)

    def client(self, port, source):
        c = RawSmtp(port, source=source, timeout=15)
        self.addCleanup(c.close)
        return c


if __name__ == "__main__":
    unittest.main()
