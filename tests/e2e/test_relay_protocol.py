"""Protocol edge cases over raw sockets: pipelining, size and line limits, malformed lines, SMTP
smuggling, error limits, HTTP, brute force, connection limits and timeouts."""
import smtplib
import socket
import time
import unittest

from e2e_base import ALICE, ALICE_PW, BOB, BOB_PW, RelayTestCase, message
from relay import RawSmtp, plain_auth, wait_until

MAX_SIZE = 100000  # limits.max_message_size of the harness


def sized_message(size):
    """A message from alice@example.com of exactly `size` octets (CRLF line ends, last CRLF
    included), with no line starting with a dot."""
    head = message(body="")
    line = b"x" * 78 + b"\r\n"
    body = b""
    while len(head) + len(body) + len(line) <= size:
        body += line
    rest = size - len(head) - len(body)
    if rest:
        body += b"y" * (rest - 2) + b"\r\n" if rest >= 2 else b""
    data = head + body
    assert len(data) == size, (len(data), size)
    return data


class Transactions(RelayTestCase):
    """Pipelining, limits on size and recipients."""

    def start_transaction(self, client, recipients=("rcpt@example.net",)):
        self.assertEqual(client.command("MAIL FROM:<alice@example.com>").code, 250)
        for r in recipients:
            self.assertEqual(client.command(f"RCPT TO:<{r}>").code, 250)
        self.assertEqual(client.command("DATA").code, 354)

    def test_pipelined_transaction_gets_replies_in_order_and_queues_one_message(self):
        before = self.queue_snapshot()
        client = self.raw_logged_in(ALICE)
        client.send(b"MAIL FROM:<alice@example.com>\r\nRCPT TO:<one@example.net>\r\n"
                    b"RCPT TO:<two@example.net>\r\nDATA\r\n")
        self.assertEqual([r.raw for r in client.replies(4)], [
            b"250 2.1.0 Ok\r\n", b"250 2.1.5 Ok\r\n", b"250 2.1.5 Ok\r\n",
            b"354 End data with <CR><LF>.<CR><LF>\r\n"])
        client.send(message() + b".\r\n")
        queued_reply = client.reply()
        self.assertRegex(queued_reply.raw.decode(), r"^250 2\.0\.0 Ok: queued as \w{20}\r\n$")
        [stored] = self.queued_since(before)
        self.assertEqual(stored["recipients"], ["one@example.net", "two@example.net"])
        self.assertEqual(stored["id"], queued_reply.text.rsplit(" ", 1)[1])

    def test_whole_session_in_one_write_after_tls_is_answered_in_order(self):
        before = self.queue_snapshot()
        client = self.raw()
        self.assertEqual(client.reply().code, 220)
        client.ehlo()
        client.starttls(self.relay.cafile)
        client.send(b"EHLO pipe.test\r\nAUTH PLAIN " + plain_auth(BOB, BOB_PW).encode() + b"\r\n"
                    b"MAIL FROM:<pipe@corp.example>\r\nRCPT TO:<rcpt@example.net>\r\nDATA\r\n"
                    + message("pipe@corp.example") + b".\r\nQUIT\r\n")
        codes = [r.code for r in client.replies(7)]
        self.assertEqual(codes, [250, 235, 250, 250, 354, 250, 221])
        self.assertTrue(client.is_closed())
        self.assertEqual(len(self.queued_since(before)), 1)

    def test_message_over_max_size_is_refused_with_552_after_data_and_not_queued(self):
        before = self.queue_snapshot()
        client = self.raw_logged_in(ALICE)
        self.start_transaction(client)
        client.send(sized_message(MAX_SIZE + 1) + b".\r\n")
        self.assertEqual(client.reply().raw, b"552 5.3.4 Message size exceeds fixed limit\r\n")
        self.assertEqual(client.command("NOOP").code, 250)  # the session goes on
        self.assert_nothing_queued_since(before)

    def test_message_of_exactly_max_size_is_accepted(self):
        before = self.queue_snapshot()
        client = self.raw_logged_in(ALICE)
        self.start_transaction(client)
        data = sized_message(MAX_SIZE)
        client.send(data + b".\r\n")
        self.assertEqual(client.reply().code, 250)
        [stored] = self.queued_since(before)
        self.assertTrue(stored["message"].endswith(data.split(b"\r\n\r\n", 1)[1]))

    def test_size_parameter_over_the_limit_is_refused_with_552_at_mail(self):
        client = self.raw_logged_in(ALICE)
        r = client.command(f"MAIL FROM:<alice@example.com> SIZE={MAX_SIZE + 1}")
        self.assertEqual(r.raw, b"552 5.3.4 Message size exceeds fixed limit\r\n")
        self.assertEqual(client.command(f"MAIL FROM:<alice@example.com> SIZE={MAX_SIZE}").code, 250)

    def test_ehlo_advertises_the_size_limit_and_pipelining(self):
        client = self.raw()
        client.reply()
        lines = client.ehlo().lines
        self.assertIn(f"SIZE {MAX_SIZE}", lines)
        self.assertIn("PIPELINING", lines)
        self.assertIn("STARTTLS", lines)

    def test_too_many_recipients_are_refused_with_452_and_the_rest_are_kept(self):
        before = self.queue_snapshot()
        client = self.raw_logged_in(ALICE)
        self.assertEqual(client.command("MAIL FROM:<alice@example.com>").code, 250)
        for n in range(5):
            self.assertEqual(client.command(f"RCPT TO:<r{n}@example.net>").code, 250)
        self.assertEqual(client.command("RCPT TO:<r5@example.net>").raw,
                         b"452 4.5.3 Too many recipients\r\n")
        self.assertEqual(client.command("DATA").code, 354)
        client.send(message() + b".\r\n")
        self.assertEqual(client.reply().code, 250)
        [stored] = self.queued_since(before)
        self.assertEqual(stored["recipients"], [f"r{n}@example.net" for n in range(5)])

    def test_rcpt_before_mail_and_data_before_rcpt_are_refused_with_503(self):
        client = self.raw_logged_in(ALICE)
        self.assertEqual(client.command("RCPT TO:<r@example.net>").code, 503)
        self.assertEqual(client.command("DATA").code, 503)
        self.assertEqual(client.command("MAIL FROM:<alice@example.com>").code, 250)
        self.assertEqual(client.command("DATA").code, 503)


class MalformedLines(RelayTestCase):
    """Overlong lines, bare CR/LF and NUL in commands; each session ends after max_errors."""

    def test_command_line_over_1000_octets_is_refused_with_500_and_the_session_continues(self):
        client = self.raw()
        client.reply()
        client.ehlo()
        ok_line = b"NOOP " + b"x" * (1000 - 5 - 2)  # exactly 1000 octets with CRLF
        self.assertEqual(client.command(ok_line).code, 250)
        self.assertEqual(client.command(ok_line + b"x").raw, b"500 5.5.2 Line too long\r\n")
        self.assertEqual(client.command("NOOP").raw, b"250 2.0.0 Ok\r\n")

    def test_very_long_line_gets_one_reply_and_its_tail_is_not_interpreted(self):
        client = self.raw()
        client.reply()
        client.ehlo()
        # The tail of each overlong line looks like a command; it is skipped, never run.
        client.send(b"NOOP " + b"x" * 5000 + b" QUIT\r\n")
        client.send(b"NOOP " + b"y" * 2000 + b"\rRSET\r\nNOOP\r\n")
        self.assertEqual(client.reply().raw, b"500 5.5.2 Line too long\r\n")
        self.assertEqual(client.reply().raw, b"500 5.5.2 Line too long\r\n")
        self.assertEqual(client.reply().raw, b"250 2.0.0 Ok\r\n")
        self.assertEqual(client.command("NOOP").raw, b"250 2.0.0 Ok\r\n")

    def test_bare_lf_in_a_command_is_refused_with_500(self):
        client = self.raw()
        client.reply()
        client.ehlo()
        client.send(b"NOOP\nNOOP\r\n")
        self.assertEqual(client.reply().raw, b"500 5.5.2 Bare CR or LF not allowed\r\n")
        self.assertEqual(client.reply().raw, b"250 2.0.0 Ok\r\n")

    def test_bare_cr_in_a_command_is_refused_with_500(self):
        client = self.raw()
        client.reply()
        client.ehlo()
        self.assertEqual(client.command(b"NO\rOP").raw, b"500 5.5.2 Bare CR or LF not allowed\r\n")
        self.assertEqual(client.command("NOOP").code, 250)

    def test_nul_in_a_command_is_refused_with_500(self):
        client = self.raw()
        client.reply()
        client.ehlo()
        self.assertEqual(client.command(b"NOOP\0").raw, b"500 5.5.2 NUL not allowed\r\n")
        self.assertEqual(client.command("NOOP").code, 250)

    def test_message_line_over_1000_octets_is_refused_with_500_and_not_queued(self):
        before = self.queue_snapshot()
        client = self.raw_logged_in(ALICE)
        for line in ("MAIL FROM:<alice@example.com>", "RCPT TO:<r@example.net>", "DATA"):
            client.command(line)
        client.send(message(body="x" * 999 + "\r\n") + b".\r\n")
        self.assertEqual(client.reply().raw, b"500 5.5.2 Line too long\r\n")
        self.assertEqual(client.command("NOOP").code, 250)
        self.assert_nothing_queued_since(before)

    def test_998_octets_of_text_starting_with_a_dot_are_accepted_and_arrive_intact(self):
        # smtplib doubles the dot, so the line is 999 octets (1001 with CRLF) on the wire; the
        # limit of RFC 5321 4.5.3.1.6 is on the text, which is 998.
        line = "." + "x" * 997
        before = self.queue_snapshot()
        client = self.smtp(ALICE)
        self.assertEqual(client.sendmail("alice@example.com", ["r@example.net"],
                                         message(body=line + "\r\nend\r\n")), {})
        [stored] = self.queued_since(before)
        self.assertTrue(stored["message"].endswith(b"\r\n\r\n" + line.encode() + b"\r\nend\r\n"),
                        stored["message"][-80:])
        # One octet more of text is over the limit, stuffed or not.
        with self.assertRaises(smtplib.SMTPDataError) as caught:
            client.sendmail("alice@example.com", ["r@example.net"], message(body=line + "x\r\n"))
        self.assertEqual((caught.exception.smtp_code, caught.exception.smtp_error),
                         (500, b"5.5.2 Line too long"))
        self.assertEqual(len(self.queued_since(before)), 1)

    def test_overlong_sasl_response_is_refused_and_the_session_continues(self):
        client = self.raw()
        client.reply()
        client.ehlo()
        client.starttls(self.relay.cafile)
        client.ehlo()
        self.assertEqual(client.command("AUTH PLAIN").raw, b"334 \r\n")
        self.assertEqual(client.command("A" * 13000).raw, b"500 5.5.2 Line too long\r\n")
        self.assertEqual(client.auth_plain(ALICE, ALICE_PW).code, 235)

    def test_too_many_errors_end_the_session_with_421(self):
        client = self.raw()
        client.reply()
        client.ehlo()
        client.send(b"BOGUS\r\n" * 5)
        self.assertEqual([r.code for r in client.replies(5)], [500] * 5)
        self.assertEqual(client.reply().raw, b"421 4.7.0 Too many errors\r\n")
        self.assertTrue(client.is_closed())

    def test_http_request_gets_421_and_the_connection_is_closed(self):
        for request in (b"GET / HTTP/1.1\r\nHost: relay\r\n\r\n",
                        b"POST /submit HTTP/1.1\r\nHost: relay\r\nContent-Length: 0\r\n\r\n"):
            with self.subTest(request=request):
                client = self.raw()
                client.reply()
                client.send(request)
                self.assertEqual(client.reply().raw, b"421 4.7.0 HTTP not spoken here\r\n")
                self.assertTrue(client.is_closed())


# The end-of-data look-alikes of SMTP smuggling (https://sec-consult.com/blog/detail/smtp-smuggling-
# spoofing-e-mails-worldwide/). Each is followed by a smuggled transaction and a real end.
SMUGGLING_ENDINGS = [b"\n.\n", b"\n.\r\n", b"\r.\r\n", b"\r\n.\n", b"\r\n.\r"]


class Smuggling(RelayTestCase):

    def smuggle(self, ending, byte_at_a_time):
        before = self.queue_snapshot()
        client = self.raw_logged_in(ALICE)
        self.assertEqual(client.command("MAIL FROM:<alice@example.com>").code, 250)
        self.assertEqual(client.command("RCPT TO:<outer@example.net>").code, 250)
        self.assertEqual(client.command("DATA").code, 354)
        payload = (message(subject="outer", body="outer body") + ending
                   + b"MAIL FROM:<alice@example.com>\r\nRCPT TO:<smuggled@example.net>\r\nDATA\r\n"
                   + message(subject="smuggled", body="smuggled body\r\n") + b".\r\n")
        if byte_at_a_time:
            for i in range(len(payload)):
                client.send(payload[i:i + 1])
        else:
            client.send(payload)
        # Only the outer message is answered, and it is refused; the smuggled commands are data.
        self.assertEqual(client.reply().raw, b"550 5.6.0 Message contains bare CR, bare LF or NUL\r\n")
        self.assertEqual(client.command("QUIT").raw, b"221 2.0.0 Bye\r\n")
        self.assertTrue(client.is_closed())
        self.assert_nothing_queued_since(before)

    def test_smuggled_end_of_data_variants_never_queue_a_second_message(self):
        for ending in SMUGGLING_ENDINGS:
            for byte_at_a_time in (False, True):
                with self.subTest(ending=ending, byte_at_a_time=byte_at_a_time):
                    self.smuggle(ending, byte_at_a_time)

    def test_bare_lf_inside_a_message_is_refused_with_550(self):
        before = self.queue_snapshot()
        client = self.raw_logged_in(ALICE)
        for line in ("MAIL FROM:<alice@example.com>", "RCPT TO:<r@example.net>", "DATA"):
            client.command(line)
        client.send(message(body="line one\nline two\r\n") + b".\r\n")
        self.assertEqual(client.reply().code, 550)
        self.assert_nothing_queued_since(before)

    def test_nul_inside_a_message_is_refused_with_550(self):
        before = self.queue_snapshot()
        client = self.raw_logged_in(ALICE)
        for line in ("MAIL FROM:<alice@example.com>", "RCPT TO:<r@example.net>", "DATA"):
            client.command(line)
        client.send(message(body="nul\0here\r\n") + b".\r\n")
        self.assertEqual(client.reply().code, 550)
        self.assert_nothing_queued_since(before)


class BruteForcePerNetwork(RelayTestCase):
    """Guessing is braked per (user, client network) and per network, never per user alone:
    see test_relay_auth_throttle.py for the owner logging in during an attack."""
    relay_config = {"auth": {"failures_per_network": 1000, "failures_per_user_network": 3,
                             "failure_delay_ms": 10}}

    def tls_session(self, source):
        client = RawSmtp(self.relay.port, source=source)
        self.addCleanup(client.close)
        self.assertEqual(client.reply().code, 220)
        client.ehlo()
        client.starttls(self.relay.cafile)
        client.ehlo()
        return client

    def test_after_its_budget_a_network_gets_421_for_that_user_only(self):
        client = self.tls_session("127.0.0.41")
        for n in range(3):
            self.assertEqual(client.auth_plain(ALICE, f"guess-{n}").code, 535)
        r = client.auth_plain(ALICE, ALICE_PW)  # even the right password, from this network
        self.assertEqual(r.raw, b"421 4.7.0 Too many authentication failures\r\n")
        self.assertTrue(client.is_closed())
        # Another user from the same network, and alice from another network, get in.
        self.assertEqual(self.tls_session("127.0.0.41").auth_plain(BOB, BOB_PW).code, 235)
        self.assertEqual(self.tls_session("127.0.0.42").auth_plain(ALICE, ALICE_PW).code, 235)


class BruteForceAcrossUserNames(RelayTestCase):
    relay_config = {"auth": {"failures_per_network": 3, "failures_per_user_network": 1000,
                             "failure_delay_ms": 10}}

    def test_a_network_that_sprays_user_names_gets_421_for_everyone_new(self):
        for n in range(3):
            client = RawSmtp(self.relay.port, source="127.0.0.43")
            self.addCleanup(client.close)
            client.reply()
            client.ehlo()
            client.starttls(self.relay.cafile)
            client.ehlo()
            self.assertEqual(client.auth_plain(f"nobody{n}", "guess").code, 535)
            client.close()
        client = RawSmtp(self.relay.port, source="127.0.0.43")
        self.addCleanup(client.close)
        client.reply()
        client.ehlo()
        client.starttls(self.relay.cafile)
        client.ehlo()
        self.assertEqual(client.auth_plain(BOB, BOB_PW).code, 421)
        client = RawSmtp(self.relay.port, source="127.0.0.44")
        self.addCleanup(client.close)
        client.login(BOB, BOB_PW, cafile=self.relay.cafile)  # asserts 235


class ConnectionLimitsAndTimeouts(RelayTestCase):
    relay_config = {"limits": {"max_connections_per_ip": 2, "command_timeout_seconds": 1,
                               "data_timeout_seconds": 1}}

    def greeted(self):
        """A connection that got its 220: retried while earlier sessions (the readiness probe,
        other tests) still hold their slots."""
        def attempt():
            client = RawSmtp(self.relay.port)
            if client.reply().code == 220:
                return client
            client.close()
            return None
        client = wait_until(attempt, timeout=10, message="a connection slot")
        self.addCleanup(client.close)
        return client

    def test_third_connection_from_the_same_address_gets_421(self):
        first, second = self.greeted(), self.greeted()
        third = self.raw()
        self.assertEqual(third.reply().raw, b"421 4.7.0 Too many connections, try again later\r\n")
        self.assertTrue(third.is_closed())
        # The first two are still served; closing one frees a slot.
        self.assertEqual(first.command("NOOP").code, 250)
        self.assertEqual(second.command("NOOP").code, 250)
        first.command("QUIT")
        first.close()
        self.greeted()

    def test_idle_client_gets_421_timeout(self):
        client = self.greeted()
        started = time.monotonic()
        self.assertEqual(client.reply().raw, b"421 4.4.2 Timeout\r\n")
        self.assertGreaterEqual(time.monotonic() - started, 0.8)
        self.assertTrue(client.is_closed())

    def test_client_stalling_mid_line_gets_421_timeout(self):
        client = self.greeted()
        client.send(b"NOO")
        self.assertEqual(client.reply().raw, b"421 4.4.2 Timeout\r\n")
        self.assertTrue(client.is_closed())

    def test_client_stalling_in_data_gets_421_timeout(self):
        before = self.queue_snapshot()
        client = self.raw_logged_in(ALICE)
        for line in ("MAIL FROM:<alice@example.com>", "RCPT TO:<r@example.net>"):
            self.assertEqual(client.command(line).code, 250)
        self.assertEqual(client.command("DATA").code, 354)
        client.send(message(body="half a message"))
        self.assertEqual(client.reply().raw, b"421 4.4.2 Timeout\r\n")
        self.assertTrue(client.is_closed())
        self.assert_nothing_queued_since(before)


class WholeThingDeadlines(RelayTestCase):
    """Deadlines bound a whole command line, authentication and the session, not single reads:
    a client that trickles bytes or idles between NOOPs cannot hold its connection."""
    relay_config = {"limits": {"command_timeout_seconds": 2, "auth_timeout_seconds": 4,
                               "session_timeout_seconds": 6}}

    def trickle(self, client, data, pause):
        """Sends data a byte at a time; returns the reply that came before the end, if any."""
        for byte in data:
            try:
                client.send(bytes([byte]))
            except OSError:
                break
            time.sleep(pause)
            client.sock.settimeout(0.01)
            try:
                chunk = client.sock.recv(4096)
            except (socket.timeout, BlockingIOError):
                chunk = None
            finally:
                client.sock.settimeout(client.timeout)
            if chunk:
                client.buffer += chunk
                return client.reply()
        return None

    def test_a_command_line_trickled_a_byte_a_second_gets_421_within_its_deadline(self):
        client = self.raw()
        self.assertEqual(client.reply().code, 220)
        started = time.monotonic()
        reply = self.trickle(client, b"EHLO a-very-slow-client.example\r\n", 0.5)
        self.assertIsNotNone(reply, "the whole line went through: the deadline was per read")
        self.assertEqual(reply.raw, b"421 4.4.2 Timeout\r\n")
        self.assertLess(time.monotonic() - started, 4.5)

    def test_noops_do_not_extend_the_time_to_authenticate(self):
        client = self.raw()
        self.assertEqual(client.reply().code, 220)
        started = time.monotonic()
        for _ in range(40):
            reply = client.command("NOOP")
            if reply.code != 250:
                break
            time.sleep(0.5)
        self.assertEqual(reply.raw, b"421 4.4.2 Timeout\r\n")
        self.assertLess(time.monotonic() - started, 6.5)
        self.assertTrue(client.is_closed())

    def test_an_authenticated_session_ends_at_the_session_deadline(self):
        client = self.raw_logged_in(ALICE)
        started = time.monotonic()
        for _ in range(40):
            reply = client.command("NOOP")
            if reply.code != 250:
                break
            time.sleep(0.5)
        self.assertEqual(reply.raw, b"421 4.4.2 Timeout\r\n")
        self.assertLess(time.monotonic() - started, 8.5)


if __name__ == "__main__":
    unittest.main()
