"""The upstream SMTP client (server/delivery/upstream_*.cpp) against a real SMTP server, aiosmtpd
(Debian's python3-aiosmtpd), through tests/support/upstream_client_driver.cpp.

The driver prints one line per recipient, "<code> <reply>", then "error: <text>" when the
attempt failed as a whole; with --repeat/--concurrent each message's lines follow "message <n>".
Each test starts its own sink (aiosmtpd's Controller in a thread) with the behaviour it needs.
"""
import asyncio
import logging
import os
import re
import shutil
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import warnings

try:
    import aiosmtpd  # noqa: F401
except ImportError:  # a pyenv or venv interpreter: use Debian's package
    sys.path.append("/usr/lib/python3/dist-packages")
try:
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword
except ImportError:  # pragma: no cover
    Controller = None

from certificates import issue, make_ca, self_signed
from drivers import require_driver
from relay import free_port

logging.getLogger("mail.log").setLevel(logging.CRITICAL)  # aiosmtpd's tracebacks for refused TLS
warnings.filterwarnings("ignore", category=DeprecationWarning, module="aiosmtpd")

HOST = "127.0.0.1"
USER, PASSWORD = "relay-user", "Up-pw-93c1d0"
SENDER = "alice@example.com"


class Recorder:
    """An aiosmtpd handler that records what it receives and answers as told."""

    def __init__(self, pipelining=False, rcpt_replies=None, data_reply=None, rcpt_delay=0.0, data_delay=0.0,
                 close_after_data=False, ehlo_refused=False):
        self.pipelining = pipelining
        self.rcpt_replies = rcpt_replies or {}  # address -> reply
        self.data_reply = data_reply
        self.rcpt_delay = rcpt_delay
        self.data_delay = data_delay
        self.close_after_data = close_after_data
        self.ehlo_refused = ehlo_refused
        self.messages = []          # dicts: sender, recipients, content, mail_options, connection, tls
        self.mail_commands = 0
        self.pipelined = []         # per MAIL: were the RCPTs and DATA already buffered?
        self.helo_names = []
        self.auth = []              # (mechanism, login) pairs, successful or not
        self.lock = threading.Lock()
        self.active = 0
        self.peak = 0

    # connection accounting, from CountingSMTP
    def opened(self):
        with self.lock:
            self.active += 1
            self.peak = max(self.peak, self.active)

    def closed(self):
        with self.lock:
            self.active -= 1

    def reset_counts(self):
        with self.lock:
            self.peak = self.active

    async def handle_HELO(self, server, session, envelope, hostname):
        session.host_name = hostname
        self.helo_names.append(("HELO", hostname))
        return "250 sink.test"

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        self.helo_names.append(("EHLO", hostname))
        if self.ehlo_refused:
            return ["502 5.5.1 EHLO not implemented"]
        session.host_name = hostname
        if self.pipelining:
            responses.insert(len(responses) - 1, "250-PIPELINING")
        return responses

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        self.mail_commands += 1
        buffered = bytes(getattr(getattr(server, "_reader", None), "_buffer", b""))
        self.pipelined.append(b"RCPT TO" in buffered and b"DATA" in buffered)
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 2.1.0 Ok"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.rcpt_delay:
            await asyncio.sleep(self.rcpt_delay)
        reply = self.rcpt_replies.get(address)
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 Ok"

    async def handle_DATA(self, server, session, envelope):
        if self.data_delay:
            await asyncio.sleep(self.data_delay)
        if self.data_reply:
            return self.data_reply
        self.messages.append({
            "sender": envelope.mail_from,
            "recipients": list(envelope.rcpt_tos),
            "content": envelope.content,
            "mail_options": list(envelope.mail_options),
            "connection": id(server),
            "tls": session.ssl is not None,
        })
        if self.close_after_data:
            asyncio.get_event_loop().call_later(0.2, server.transport.close)
        return "250 2.0.0 Ok: queued"

    def authenticator(self, accept):
        def check(server, session, envelope, mechanism, auth_data):
            ok = isinstance(auth_data, LoginPassword) and auth_data.login == USER.encode() \
                and auth_data.password == PASSWORD.encode() and accept
            self.auth.append((mechanism, auth_data.login.decode() if isinstance(auth_data, LoginPassword) else None))
            return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd sends the 535
        return check


if Controller is not None:
    class CountingSMTP(SMTP):
        def connection_made(self, transport):
            upgrade = self.transport is not None
            super().connection_made(transport)
            if not upgrade:
                self.event_handler.opened()

        def connection_lost(self, error):
            super().connection_lost(error)
            self.event_handler.closed()

    class Sink(Controller):
        def factory(self):
            return CountingSMTP(self.handler, **self.SMTP_kwargs)


def message(body="Hi.\r\n", subject="Hello"):
    return (f"From: {SENDER}\r\nTo: bob@example.net\r\nSubject: {subject}\r\n\r\n" + body).encode()


class UpstreamClientTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        # A missing prerequisite fails the suite: a skip would pass CI with the client untested.
        if Controller is None:
            raise AssertionError("aiosmtpd is missing: install Debian's python3-aiosmtpd")
        cls.driver = require_driver("POSTERN_UPSTREAM_DRIVER", "upstream-client-driver")
        cls.folder = tempfile.mkdtemp(prefix="postern-upstream-")
        # ca.pem, localhost.pem (by the CA, for localhost and 127.0.0.1), other.pem (by the CA, for
        # mx.test only), selfsigned.pem (for localhost, no CA)
        make_ca(cls.folder)
        issue(cls.folder, "localhost", "DNS:localhost,IP:127.0.0.1")
        issue(cls.folder, "other", "DNS:mx.test")
        self_signed(cls.folder, "selfsigned", "DNS:localhost,IP:127.0.0.1")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.folder, ignore_errors=True)

    def path(self, name):
        return os.path.join(self.folder, name)

    def server_context(self, name="localhost"):
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.path(f"{name}.pem"), self.path(f"{name}.key"))
        return context

    def sink(self, handler=None, **kwargs):
        handler = handler or Recorder()
        port = free_port()
        controller = Sink(handler, hostname=HOST, port=port, server_hostname="sink.test", **kwargs)
        controller.start()
        self.addCleanup(controller.stop)
        time.sleep(0.1)  # the controller's own trigger connection
        handler.reset_counts()
        return handler, port

    def deliver(self, port, *, to=("bob@example.net",), data=None, security="none", host=HOST, sender=SENDER,
                extra=(), timeout=60):
        with tempfile.NamedTemporaryFile(dir=self.folder, delete=False) as f:
            f.write(message() if data is None else data)
            name = f.name
        self.addCleanup(os.unlink, name)
        args = [self.driver, "--host", host, "--port", str(port), "--security", security, "--from", sender,
                "--to", ",".join(to), "--file", name, "--timeout", "5", *extra]
        done = subprocess.run(args, capture_output=True, text=True, timeout=timeout)
        self.assertEqual(done.returncode, 0, done.stderr + done.stdout)
        results = [(int(m.group(1)), m.group(2)) for m in re.finditer(r"^([2-5]\d\d) (.*)$", done.stdout, re.M)]
        errors = re.findall(r"^error: (.*)$", done.stdout, re.M)
        self.assertNotIn(PASSWORD, done.stdout)
        return results, errors, done.stdout

    # ---- plain delivery ----

    def test_plain_delivery_is_byte_exact_with_leading_dots(self):
        body = ".leading dot\r\n..two dots\r\n.\r\nlast line\r\n. \r\n"
        data = message(body=body)
        sink, port = self.sink()
        results, errors, _ = self.deliver(port, to=("bob@example.net", "carol@example.org"), data=data)
        self.assertEqual([code for code, _ in results], [250, 250])
        self.assertTrue(results[0][1].startswith("250 2.0.0 Ok: queued"), results)
        self.assertEqual(errors, [])
        self.assertEqual(len(sink.messages), 1)
        got = sink.messages[0]
        self.assertEqual(got["content"], data)
        self.assertEqual(got["sender"], SENDER)
        self.assertEqual(got["recipients"], ["bob@example.net", "carol@example.org"])
        self.assertIn(f"SIZE={len(data)}", got["mail_options"])
        self.assertFalse(got["tls"])
        self.assertEqual(sink.helo_names, [("EHLO", "driver.test")])

    def test_missing_final_crlf_is_added(self):
        sink, port = self.sink()
        data = message(body="no line end at the end")
        results, _, _ = self.deliver(port, data=data)
        self.assertEqual(results[0][0], 250)
        self.assertEqual(sink.messages[0]["content"], data + b"\r\n")

    def test_large_message_with_dots_across_chunks(self):
        # Lines of 1000 bytes starting with "." so that stuffing lands on chunk boundaries too.
        line = "." + "x" * 997 + "\r\n"
        data = message(body=line * 400)
        sink, port = self.sink()
        results, _, _ = self.deliver(port, data=data)
        self.assertEqual(results[0][0], 250, results)
        self.assertEqual(sink.messages[0]["content"], data)

    def test_null_sender_and_eight_bit_and_ehlo_name(self):
        sink, port = self.sink()
        data = message(body="Grüße\r\n")
        results, _, _ = self.deliver(port, sender="", data=data, extra=("--8bit", "--ehlo", "relay.example"))
        self.assertEqual(results[0][0], 250)
        self.assertIn(sink.messages[0]["sender"], ("", "<>"))  # aiosmtpd keeps "<>"
        self.assertIn("BODY=8BITMIME", sink.messages[0]["mail_options"])
        self.assertEqual(sink.messages[0]["content"], data)
        self.assertEqual(sink.helo_names, [("EHLO", "relay.example")])

    def test_smtputf8_refused_permanently_when_not_offered(self):
        sink, port = self.sink(enable_SMTPUTF8=False)
        results, errors, _ = self.deliver(port, extra=("--smtputf8",))
        self.assertEqual(results[0][0], 550)
        self.assertIn("5.6.7", results[0][1])
        self.assertIn("SMTPUTF8", errors[0])
        self.assertEqual(sink.mail_commands, 0)

    def test_smtputf8_sent_when_offered(self):
        sink, port = self.sink(enable_SMTPUTF8=True)
        results, _, _ = self.deliver(port, to=("bøb@example.net",), extra=("--smtputf8",))
        self.assertEqual(results[0][0], 250, results)
        self.assertIn("SMTPUTF8", sink.messages[0]["mail_options"])
        self.assertEqual(sink.messages[0]["recipients"], ["bøb@example.net"])

    def test_helo_when_ehlo_is_refused(self):
        sink, port = self.sink(Recorder(ehlo_refused=True))
        results, _, _ = self.deliver(port)
        self.assertEqual(results[0][0], 250, results)
        self.assertEqual([verb for verb, _ in sink.helo_names], ["EHLO", "HELO"])
        self.assertFalse(any(o.startswith("SIZE=") for o in sink.messages[0]["mail_options"]))

    # ---- TLS and AUTH ----

    def test_starttls_auth_plain_with_ca_verification(self):
        handler = Recorder()
        sink, port = self.sink(handler, tls_context=self.server_context(), require_starttls=True,
                               auth_required=True, auth_require_tls=True, authenticator=handler.authenticator(True))
        results, errors, _ = self.deliver(port, host="localhost", security="starttls",
                                          extra=("--ca", self.path("ca.pem"), "--user", USER, "--password", PASSWORD))
        self.assertEqual(results, [(250, "250 2.0.0 Ok: queued")], errors)
        self.assertEqual(sink.auth, [("PLAIN", USER)])
        self.assertTrue(sink.messages[0]["tls"])
        self.assertEqual(len(sink.helo_names), 2)  # EHLO again after STARTTLS

    def test_starttls_auth_login_when_plain_is_not_offered(self):
        handler = Recorder()
        sink, port = self.sink(handler, tls_context=self.server_context(), require_starttls=True,
                               auth_required=True, authenticator=handler.authenticator(True),
                               auth_exclude_mechanism=["PLAIN"])
        results, errors, _ = self.deliver(port, host="127.0.0.1", security="starttls",
                                          extra=("--ca", self.path("ca.pem"), "--user", USER, "--password", PASSWORD))
        self.assertEqual(results[0][0], 250, errors)
        self.assertEqual(sink.auth, [("LOGIN", USER)])

    def test_wrong_password_is_permanent_for_every_recipient(self):
        handler = Recorder()
        sink, port = self.sink(handler, tls_context=self.server_context(), require_starttls=True,
                               auth_required=True, authenticator=handler.authenticator(False))
        results, errors, _ = self.deliver(port, host="localhost", security="starttls",
                                          to=("a@example.net", "b@example.net"),
                                          extra=("--ca", self.path("ca.pem"), "--user", USER, "--password", PASSWORD))
        self.assertEqual([code for code, _ in results], [535, 535])
        self.assertIn("5.7.8", results[0][1])
        self.assertIn("AUTH PLAIN refused", errors[0])
        self.assertEqual(sink.messages, [])

    def test_auth_required_but_not_offered_is_temporary(self):
        sink, port = self.sink()  # plain: aiosmtpd offers AUTH only under TLS
        results, errors, _ = self.deliver(port, extra=("--user", USER, "--password", PASSWORD))
        self.assertEqual(results[0][0], 451)
        self.assertIn("upstream offers no AUTH", errors[0])
        self.assertEqual(sink.mail_commands, 0)

    def test_self_signed_certificate_without_ca_fails_verification(self):
        sink, port = self.sink(tls_context=self.server_context("selfsigned"), require_starttls=True)
        results, errors, _ = self.deliver(port, host="localhost", security="starttls", to=("a@x.test", "b@x.test"))
        self.assertEqual([code for code, _ in results], [451, 451])
        self.assertEqual(len(errors), 1)
        self.assertIn(f"TLS handshake with localhost:{port} failed: certificate verify failed", errors[0])
        self.assertIn("self-signed certificate", errors[0])
        self.assertIn("certificate verify failed", results[0][1])
        self.assertEqual(sink.mail_commands, 0)
        self.assertEqual(sink.messages, [])

    def test_host_name_mismatch_fails_verification(self):
        sink, port = self.sink(tls_context=self.server_context("other"), require_starttls=True)
        results, errors, _ = self.deliver(port, host="localhost", security="starttls",
                                          extra=("--ca", self.path("ca.pem")))
        self.assertEqual(results[0][0], 451)
        self.assertIn("certificate verify failed (hostname mismatch)", errors[0])
        self.assertEqual(sink.messages, [])

    def test_no_verify_accepts_a_self_signed_certificate(self):
        sink, port = self.sink(tls_context=self.server_context("selfsigned"), require_starttls=True)
        results, errors, _ = self.deliver(port, host="localhost", security="starttls", extra=("--no-verify",))
        self.assertEqual(results[0][0], 250, errors)
        self.assertTrue(sink.messages[0]["tls"])

    def test_implicit_tls(self):
        sink, port = self.sink(ssl_context=self.server_context())
        results, errors, _ = self.deliver(port, host="localhost", security="tls", extra=("--ca", self.path("ca.pem")))
        self.assertEqual(results[0][0], 250, errors)
        self.assertEqual(len(sink.messages), 1)

    def test_implicit_tls_verification_failure(self):
        sink, port = self.sink(ssl_context=self.server_context("selfsigned"))
        results, errors, _ = self.deliver(port, host="localhost", security="tls")
        self.assertEqual(results[0][0], 451)
        self.assertIn("certificate verify failed (self-signed certificate)", errors[0])
        self.assertEqual(sink.messages, [])

    def test_starttls_required_but_not_offered(self):
        sink, port = self.sink()
        results, errors, _ = self.deliver(port, security="starttls")
        self.assertEqual(results[0][0], 451)
        self.assertIn("upstream does not offer STARTTLS", errors[0])
        self.assertEqual(sink.mail_commands, 0)

    # ---- per-recipient results ----

    def check_one_of_two_refused(self, pipelining):
        sink, port = self.sink(Recorder(pipelining=pipelining,
                                        rcpt_replies={"nobody@example.net": "550 5.1.1 <nobody@example.net>: no such user"}))
        results, errors, _ = self.deliver(port, to=("nobody@example.net", "bob@example.net"))
        self.assertEqual(results, [(550, "550 5.1.1 <nobody@example.net>: no such user"), (250, "250 2.0.0 Ok: queued")])
        self.assertEqual(errors, [])
        self.assertEqual(sink.messages[0]["recipients"], ["bob@example.net"])
        self.assertEqual(sink.pipelined, [pipelining])

    def test_one_of_two_refused(self):
        self.check_one_of_two_refused(pipelining=False)

    def test_one_of_two_refused_pipelined(self):
        self.check_one_of_two_refused(pipelining=True)

    def test_temporary_failure_at_rcpt(self):
        sink, port = self.sink(Recorder(rcpt_replies={"busy@example.net": "451 4.2.0 mailbox busy"}))
        results, _, _ = self.deliver(port, to=("busy@example.net", "bob@example.net"))
        self.assertEqual(results, [(451, "451 4.2.0 mailbox busy"), (250, "250 2.0.0 Ok: queued")])

    def check_all_refused(self, pipelining):
        refusals = {"a@example.net": "550 5.1.1 no a", "b@example.net": "451 4.3.0 try b later"}
        sink, port = self.sink(Recorder(pipelining=pipelining, rcpt_replies=refusals))
        results, errors, _ = self.deliver(port, to=("a@example.net", "b@example.net"), extra=("--repeat", "2"))
        # Twice, on one connection: the RSET after the refusals leaves the session usable.
        self.assertEqual(results, [(550, "550 5.1.1 no a"), (451, "451 4.3.0 try b later")] * 2)
        self.assertEqual(errors, [])
        self.assertEqual(sink.messages, [])
        self.assertEqual(sink.mail_commands, 2)

    def test_all_recipients_refused(self):
        self.check_all_refused(pipelining=False)

    def test_all_recipients_refused_pipelined(self):
        self.check_all_refused(pipelining=True)

    def test_refused_at_data_end(self):
        sink, port = self.sink(Recorder(data_reply="554 5.7.1 spam detected",
                                        rcpt_replies={"x@example.net": "550 5.1.1 no x"}))
        results, errors, _ = self.deliver(port, to=("a@example.net", "x@example.net", "b@example.net"))
        self.assertEqual(results, [(554, "554 5.7.1 spam detected"), (550, "550 5.1.1 no x"),
                                   (554, "554 5.7.1 spam detected")])
        self.assertEqual(errors, [])

    def test_over_size_is_refused_without_sending(self):
        sink, port = self.sink(data_size_limit=200)
        results, errors, _ = self.deliver(port, data=message(body="x" * 500 + "\r\n"), to=("a@x.test", "b@x.test"))
        self.assertEqual([code for code, _ in results], [552, 552])
        self.assertTrue(results[0][1].startswith("552 5.3.4 message size"), results)
        self.assertIn("(200 bytes)", errors[0])
        self.assertEqual(sink.mail_commands, 0)

    # ---- connections ----

    def test_pipelining_is_used_when_offered(self):
        sink, port = self.sink(Recorder(pipelining=True))
        results, _, _ = self.deliver(port, to=("a@example.net", "b@example.net"))
        self.assertEqual([code for code, _ in results], [250, 250])
        self.assertEqual(sink.pipelined, [True])
        self.assertEqual(sink.messages[0]["recipients"], ["a@example.net", "b@example.net"])

    def test_pipelining_is_not_used_when_not_offered(self):
        sink, port = self.sink(Recorder(pipelining=False))
        results, _, _ = self.deliver(port)
        self.assertEqual(results[0][0], 250)
        self.assertEqual(sink.pipelined, [False])

    def test_connection_is_reused(self):
        for pipelining in (False, True):
            with self.subTest(pipelining=pipelining):
                sink, port = self.sink(Recorder(pipelining=pipelining))
                results, errors, out = self.deliver(port, extra=("--repeat", "3"))
                self.assertEqual([code for code, _ in results], [250, 250, 250], out)
                self.assertEqual(errors, [])
                self.assertEqual(len(sink.messages), 3)
                self.assertEqual(len({m["connection"] for m in sink.messages}), 1)
                self.assertEqual(len(sink.helo_names), 1)

    def test_connection_is_reused_over_starttls(self):
        handler = Recorder()
        sink, port = self.sink(handler, tls_context=self.server_context(), require_starttls=True,
                               auth_required=True, authenticator=handler.authenticator(True))
        results, errors, _ = self.deliver(port, host="localhost", security="starttls",
                                          extra=("--ca", self.path("ca.pem"), "--user", USER, "--password", PASSWORD,
                                                 "--repeat", "3"))
        self.assertEqual([code for code, _ in results], [250, 250, 250], errors)
        self.assertEqual(len({m["connection"] for m in sink.messages}), 1)
        self.assertEqual(len(sink.auth), 1)

    def test_dead_idle_connection_is_replaced_once(self):
        # The sink hangs up after each message; the second one finds the reused session dead at
        # MAIL and goes out on a fresh connection, once, without a duplicate.
        sink, port = self.sink(Recorder(close_after_data=True))
        results, errors, out = self.deliver(port, extra=("--repeat", "2", "--pause", "0.6", "--verbose"))
        self.assertEqual([code for code, _ in results], [250, 250], out)
        self.assertIn("event=upstream_session_stale", out)
        self.assertEqual(errors, [])
        self.assertEqual(len(sink.messages), 2)
        self.assertEqual(len({m["connection"] for m in sink.messages}), 2)

    def test_idle_connection_is_closed_after_idle_seconds(self):
        sink, port = self.sink()
        results, errors, out = self.deliver(port, extra=("--repeat", "2", "--pause", "1.6", "--idle", "1", "--verbose"))
        self.assertEqual([code for code, _ in results], [250, 250], out)
        self.assertEqual(len({m["connection"] for m in sink.messages}), 2)
        self.assertNotIn("upstream_session_stale", out)  # closed by us, with QUIT, not found dead
        self.assertEqual(sink.peak, 1)

    def test_concurrency_is_bounded_by_max_connections(self):
        sink, port = self.sink(Recorder(data_delay=0.3))
        results, errors, out = self.deliver(port, extra=("--concurrent", "6", "--max-connections", "2"))
        self.assertEqual([code for code, _ in results], [250] * 6, out)
        self.assertEqual(len(sink.messages), 6)
        self.assertLessEqual(sink.peak, 2)
        self.assertEqual(len({m["connection"] for m in sink.messages}), 2)

    def test_upstream_down_is_temporary(self):
        port = free_port()
        results, errors, _ = self.deliver(port, to=("a@x.test", "b@x.test"))
        self.assertEqual([code for code, _ in results], [451, 451])
        self.assertEqual(errors, [f"connect to {HOST}:{port} failed: Connection refused"])
        self.assertTrue(results[0][1].startswith("451 4.4.1 connect to"), results)

    def test_unresolvable_host_is_temporary(self):
        results, errors, _ = self.deliver(25, host="no-such-host.invalid")
        self.assertEqual(results[0][0], 451)
        self.assertIn("cannot resolve no-such-host.invalid", errors[0])

    def test_slow_reply_times_out(self):
        sink, port = self.sink(Recorder(rcpt_delay=8))
        started = time.monotonic()
        results, errors, _ = self.deliver(port)
        self.assertLess(time.monotonic() - started, 8)
        self.assertEqual(results[0][0], 451)
        self.assertIn(f"timed out waiting for a reply ({HOST}:{port})", errors[0])
        self.assertEqual(sink.messages, [])


if __name__ == "__main__":
    unittest.main()
