"""TLS: STARTTLS and implicit TLS, protocol versions, certificate verification, STARTTLS
command injection, and certificate reload on SIGHUP."""
import signal
import smtplib
import socket
import ssl
import subprocess
import unittest
import warnings

from e2e_base import ALICE, ALICE_PW, BOB, RelayTestCase, message, tool_env
from relay import RawSmtp, make_certificate, plain_auth


def s_client(port, *args, cafile=None, input=b"QUIT\n"):
    """openssl s_client -starttls smtp with the given extra options; returns CompletedProcess."""
    command = ["openssl", "s_client", "-starttls", "smtp", "-connect", f"127.0.0.1:{port}", "-brief", "-crlf", "-ign_eof"]
    if cafile:
        command += ["-CAfile", cafile, "-verify_return_error"]
    return subprocess.run(command + list(args), input=input, capture_output=True, timeout=30, env=tool_env())


class Tls(RelayTestCase):

    def test_starttls_certificate_verifies_for_127_0_0_1_and_localhost(self):
        for host in ("127.0.0.1", "localhost"):
            with self.subTest(host=host):
                client = smtplib.SMTP(host, self.relay.port, timeout=15)
                self.addCleanup(client.close)
                client.ehlo()
                client.starttls(context=self.relay.client_context())
                self.assertEqual(client.login(ALICE, ALICE_PW)[0], 235)
                client.quit()

    def test_implicit_tls_port_accepts_mail(self):
        before = self.queue_snapshot()
        client = smtplib.SMTP_SSL("127.0.0.1", self.relay.tls_port, context=self.relay.client_context(),
                                  timeout=15)
        self.addCleanup(client.close)
        client.ehlo()
        self.assertIn("auth", client.esmtp_features)
        self.assertNotIn("starttls", client.esmtp_features)
        client.login(ALICE, ALICE_PW)
        self.assertEqual(client.sendmail("alice@example.com", ["rcpt@example.net"], message()), {})
        client.quit()
        [stored] = self.queued_since(before)
        self.assertEqual(stored["auth_user"], ALICE)

    def test_tls_1_1_and_1_0_are_refused_by_the_server(self):
        for option in ("-tls1_1", "-tls1"):
            with self.subTest(option=option):
                # SECLEVEL=0 lets the client offer the old protocol; the refusal must be the server's.
                out = s_client(self.relay.port, option, "-cipher", "DEFAULT@SECLEVEL=0")
                self.assertNotEqual(out.returncode, 0)
                self.assertIn(b"alert protocol version", out.stderr)
                self.assertNotIn(b"CONNECTION ESTABLISHED", out.stderr)

    def test_tls_1_1_is_refused_on_the_implicit_port(self):
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            context.minimum_version = ssl.TLSVersion.TLSv1
            context.maximum_version = ssl.TLSVersion.TLSv1_1
        context.set_ciphers("DEFAULT:@SECLEVEL=0")
        with self.assertRaisesRegex(ssl.SSLError, "PROTOCOL_VERSION"):
            RawSmtp(self.relay.tls_port, tls=True, context=context).close()

    def test_tls_1_2_and_1_3_are_accepted(self):
        for option, version in (("-tls1_2", b"TLSv1.2"), ("-tls1_3", b"TLSv1.3")):
            with self.subTest(option=option):
                out = s_client(self.relay.port, option, cafile=self.relay.cafile)
                self.assertEqual(out.returncode, 0, out.stderr)
                self.assertIn(b"Protocol version: " + version, out.stderr)
                self.assertIn(b"Verification: OK", out.stderr)
                self.assertIn(b"221 2.0.0 Bye", out.stdout + out.stderr)
        for version in (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3):
            with self.subTest(version=version):
                context = self.relay.client_context(minimum_version=version, maximum_version=version)
                with RawSmtp(self.relay.tls_port, tls=True, context=context) as client:
                    self.assertEqual(client.reply().code, 220)
                    self.assertEqual(client.sock.version(), version.name.replace("v1_", "v1."))

    def test_tls_1_2_offers_only_forward_secret_aead_suites(self):
        # A client offering only RSA key exchange or CBC finds nothing in common.
        out = s_client(self.relay.port, "-tls1_2", "-cipher", "AES128-SHA:AES256-SHA256:AES128-GCM-SHA256")
        self.assertNotEqual(out.returncode, 0)
        self.assertNotIn(b"CONNECTION ESTABLISHED", out.stderr)

    def test_commands_injected_before_the_handshake_are_discarded(self):
        client = self.raw()
        self.assertEqual(client.reply().code, 220)
        client.ehlo()
        # RFC 3207 §4.2 / CVE-2011-0411: what follows STARTTLS in the same packet is plaintext
        # an attacker could have inserted; it must not be executed inside the TLS session.
        client.send(b"STARTTLS\r\nNOOP\r\nMAIL FROM:<alice@example.com>\r\n")
        self.assertEqual(client.reply().raw, b"220 2.0.0 Ready to start TLS\r\n")
        self.assertEqual(client.buffer, b"")  # no plaintext reply to the injected commands
        client.wrap_tls(self.relay.cafile)
        r = client.ehlo()
        self.assertEqual(r.code, 250)
        self.assertEqual(r.lines[0], "relay.test Hello client.test")
        self.assertEqual(client.command("NOOP").raw, b"250 2.0.0 Ok\r\n")  # no stray replies queued

    def test_injected_auth_before_the_handshake_does_not_authenticate(self):
        client = self.raw()
        self.assertEqual(client.reply().code, 220)
        client.ehlo()
        client.send(b"STARTTLS\r\nEHLO x\r\nAUTH PLAIN " + plain_auth(ALICE, ALICE_PW).encode() + b"\r\n")
        self.assertEqual(client.reply().code, 220)
        client.wrap_tls(self.relay.cafile)
        client.ehlo()
        self.assertEqual(client.command("MAIL FROM:<alice@example.com>").raw,
                         b"530 5.7.0 Authentication required\r\n")

    def test_starttls_forgets_the_earlier_ehlo(self):
        client = self.raw()
        client.reply()
        client.ehlo()
        client.starttls(self.relay.cafile)
        self.assertEqual(client.command("MAIL FROM:<alice@example.com>").raw, b"503 5.5.1 Send EHLO first\r\n")

    def test_starttls_twice_is_refused_with_503(self):
        client = self.raw()
        client.reply()
        client.ehlo()
        client.starttls(self.relay.cafile)
        client.ehlo()
        self.assertEqual(client.command("STARTTLS").raw, b"503 5.5.1 TLS already active\r\n")

    def test_plaintext_client_on_the_implicit_port_is_disconnected(self):
        with socket.create_connection(("127.0.0.1", self.relay.tls_port), timeout=10) as sock:
            sock.sendall(b"EHLO plain.test\r\n")
            data = sock.recv(4096)
            self.assertFalse(data.startswith(b"220"), data)
        # The listener still serves TLS clients.
        self.raw(tls=True).login(BOB, "Bob-pw-0d9a4b")

    def test_received_header_names_the_tls_version_and_cipher(self):
        before = self.queue_snapshot()
        client = self.smtp(ALICE)
        client.sendmail("alice@example.com", ["rcpt@example.net"], message())
        [stored] = self.queued_since(before)
        received = stored["message"].split(b"\r\nFrom: ", 1)[0]
        self.assertIn(b"with ESMTPSA", received)
        self.assertRegex(received, rb"\(using TLSv1\.[23] with cipher [A-Z0-9_-]+\)")


class CertificateReload(RelayTestCase):

    def test_sighup_reloads_the_certificate_for_new_connections(self):
        old = ssl.get_server_certificate(("127.0.0.1", self.relay.tls_port))
        make_certificate(self.relay.dir)  # new key and certificate at the same paths
        self.relay.signal(signal.SIGHUP)
        self.relay.wait_for_log(r"event=tls_reloaded")
        new = ssl.get_server_certificate(("127.0.0.1", self.relay.tls_port))
        self.assertNotEqual(old, new)
        with RawSmtp(self.relay.tls_port, tls=True, cafile=self.relay.cafile) as client:
            self.assertEqual(client.reply().code, 220)

    def test_sighup_with_a_broken_certificate_keeps_the_old_one(self):
        before = ssl.get_server_certificate(("127.0.0.1", self.relay.tls_port))
        with open(self.relay.key) as f:
            key = f.read()
        with open(self.relay.key, "w") as f:
            f.write("not a key\n")
        try:
            self.relay.signal(signal.SIGHUP)
            self.relay.wait_for_log(r"event=tls_reload_failed")
        finally:
            with open(self.relay.key, "w") as f:
                f.write(key)
        self.assertEqual(ssl.get_server_certificate(("127.0.0.1", self.relay.tls_port)), before)


if __name__ == "__main__":
    unittest.main()
