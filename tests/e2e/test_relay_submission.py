"""Submission end to end: who may send as whom, driven by real clients (smtplib, swaks, curl,
openssl s_client) against the real postern and PostgreSQL."""
import base64
import os
import smtplib
import subprocess
import tempfile
import unittest
from email.mime.text import MIMEText

from e2e_base import (ALICE, ALICE_PW, BOB, BOB_PW, CAROL, CAROL_PW, RelayTestCase, message,
                      tool_env)
from relay import plain_auth


class SenderGrants(RelayTestCase):
    """MAIL FROM is checked against the user's address and domain grants."""

    def send(self, user, sender, recipients=("rcpt@example.net",), header_from=None):
        client = self.smtp(user)
        return client.sendmail(sender, list(recipients), message(header_from or sender))

    def assert_refused_at_mail(self, user, sender, code=553, text="5.7.1 Sender address rejected: not owned by user"):
        before = self.queue_snapshot()
        client = self.smtp(user)
        with self.assertRaises(smtplib.SMTPSenderRefused) as caught:
            client.sendmail(sender, ["rcpt@example.net"], message(sender))
        self.assertEqual(caught.exception.smtp_code, code)
        self.assertEqual(caught.exception.smtp_error.decode(), text)
        self.assert_nothing_queued_since(before)
        # The session survives the refusal: the user can still send as a granted address.
        granted = {ALICE: "alice@example.com", BOB: "bob@example.com"}[user]
        self.assertEqual(client.sendmail(granted, ["rcpt@example.net"], message(granted)), {})
        self.assertEqual([m["sender"] for m in self.queued_since(before)], [granted])

    def test_secure_emailing_senmail_flow_is_accepted(self):
        # Secure Emailing's `test.py senmail`: EHLO, STARTTLS, login, MIMEText html.
        before = self.queue_snapshot()
        server = smtplib.SMTP("127.0.0.1", self.relay.port, timeout=15)
        server.ehlo()
        server.starttls(context=self.relay.client_context())
        server.login(ALICE, ALICE_PW)
        msg = MIMEText("<p>Hello <b>world</b></p>", "html")
        msg["Subject"] = "senmail subject"
        msg["From"] = "alice@example.com"
        msg["To"] = "friend@example.net"
        refused = server.sendmail("alice@example.com", ["friend@example.net"], msg.as_string())
        server.quit()
        self.assertEqual(refused, {})
        [stored] = self.queued_since(before)
        self.assertEqual(stored["sender"], "alice@example.com")
        self.assertEqual(stored["auth_user"], ALICE)
        self.assertEqual(stored["recipients"], ["friend@example.net"])
        self.assertIn(b"Subject: senmail subject\r\n", stored["message"])
        self.assertIn(b"Content-Type: text/html", stored["message"])

    def test_address_grant_accepts_the_sender(self):
        before = self.queue_snapshot()
        self.assertEqual(self.send(ALICE, "alice@example.com"), {})
        [stored] = self.queued_since(before)
        self.assertEqual((stored["sender"], stored["auth_user"]), ("alice@example.com", ALICE))

    def test_domain_grant_accepts_any_local_part_of_the_domain(self):
        before = self.queue_snapshot()
        self.assertEqual(self.send(BOB, "anything@corp.example"), {})
        self.assertEqual(self.send(BOB, "billing@corp.example"), {})
        self.assertEqual([m["sender"] for m in self.queued_since(before)],
                         ["anything@corp.example", "billing@corp.example"])

    def test_ungranted_sender_is_refused_with_553(self):
        self.assert_refused_at_mail(ALICE, "nobody@nowhere.example")

    def test_ungranted_domain_of_another_user_is_refused_with_553(self):
        self.assert_refused_at_mail(ALICE, "someone@corp.example")

    def test_another_users_address_is_refused_with_553(self):
        self.assert_refused_at_mail(ALICE, "bob@example.com")

    def test_sender_case_variants_are_accepted(self):
        before = self.queue_snapshot()
        for sender in ("ALICE@EXAMPLE.COM", "Alice@Example.Com", "alice@EXAMPLE.com"):
            with self.subTest(sender=sender):
                self.assertEqual(self.send(ALICE, sender), {})
        self.assertEqual(self.send(BOB, "Someone@CORP.Example"), {})
        self.assertEqual(len(self.queued_since(before)), 4)

    def test_subaddress_of_a_granted_address_is_accepted(self):
        before = self.queue_snapshot()
        self.assertEqual(self.send(ALICE, "alice+tag@example.com"), {})
        [stored] = self.queued_since(before)
        self.assertEqual(stored["sender"], "alice+tag@example.com")

    def test_subaddress_does_not_extend_to_other_local_parts(self):
        self.assert_refused_at_mail(ALICE, "alicex+tag@example.com")
        self.assert_refused_at_mail(ALICE, "bob+alice@example.com")

    def test_null_sender_is_refused_with_553(self):
        before = self.queue_snapshot()
        client = self.smtp(ALICE)
        code, text = client.mail("<>")
        self.assertEqual((code, text.decode()), (553, "5.7.1 Null sender not allowed on submission"))
        self.assert_nothing_queued_since(before)

    def test_header_from_spoofing_is_refused_with_550_and_nothing_queued(self):
        before = self.queue_snapshot()
        client = self.smtp(ALICE)
        with self.assertRaises(smtplib.SMTPDataError) as caught:
            client.sendmail("alice@example.com", ["rcpt@example.net"],
                            message("ceo@bank.example"))
        self.assertEqual(caught.exception.smtp_code, 550)
        self.assertTrue(caught.exception.smtp_error.decode().startswith("5.7.1 Sender address rejected: "),
                        caught.exception.smtp_error)
        self.assert_nothing_queued_since(before)

    def test_header_sender_field_spoofing_is_refused_with_550(self):
        before = self.queue_snapshot()
        client = self.smtp(ALICE)
        with self.assertRaises(smtplib.SMTPDataError) as caught:
            client.sendmail("alice@example.com", ["rcpt@example.net"],
                            message("alice@example.com", extra_headers=["Sender: bob@example.com"]))
        self.assertEqual(caught.exception.smtp_code, 550)
        self.assert_nothing_queued_since(before)

    def test_header_from_with_display_name_and_granted_address_is_accepted(self):
        before = self.queue_snapshot()
        client = self.smtp(ALICE)
        client.sendmail("alice@example.com", ["rcpt@example.net"],
                        message('"Alice Example" <Alice@Example.com>'))
        self.assertEqual(len(self.queued_since(before)), 1)

    def test_display_name_that_looks_like_another_address_is_refused_with_550(self):
        for header_from in ('"ceo@victim.example" <alice@example.com>',
                            '"\\" <ceo@victim.example>" <alice@example.com>',
                            "=?UTF-8?B?Y2VvQHZpY3RpbS5leGFtcGxl?= <alice@example.com>"):
            with self.subTest(header_from=header_from):
                before = self.queue_snapshot()
                client = self.smtp(ALICE)
                with self.assertRaises(smtplib.SMTPDataError) as caught:
                    client.sendmail("alice@example.com", ["rcpt@example.net"], message(header_from))
                self.assertEqual((caught.exception.smtp_code, caught.exception.smtp_error.decode()),
                                 (550, "5.7.1 Sender address rejected: header From display name looks "
                                       "like an address"))
                self.assert_nothing_queued_since(before)

    def test_non_ascii_display_name_and_own_address_as_name_are_accepted(self):
        before = self.queue_snapshot()
        client = self.smtp(ALICE)
        for header_from in ("=?UTF-8?B?SsO2cmcgTcO8bGxlcg==?= <alice@example.com>",
                            '"alice@example.com" <alice@example.com>'):
            client.sendmail("alice@example.com", ["rcpt@example.net"], message(header_from))
        self.assertEqual(len(self.queued_since(before)), 2)

    def test_several_messages_in_one_session_with_rset_keep_authentication(self):
        before = self.queue_snapshot()
        client = self.smtp(BOB)
        client.sendmail("bob@example.com", ["a@example.net"], message("bob@example.com"))
        self.assertEqual(client.rset()[0], 250)
        client.sendmail("sales@corp.example", ["b@example.net"], message("sales@corp.example"))
        self.assertEqual([m["sender"] for m in self.queued_since(before)],
                         ["bob@example.com", "sales@corp.example"])


class InternationalDomains(RelayTestCase):
    """A domain granted in Unicode matches its A-label, and its U-label under SMTPUTF8."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.admin.grant_domain("b\u00fccher.example", ALICE)

    def test_a_label_sender_of_a_unicode_domain_grant_is_accepted(self):
        before = self.queue_snapshot()
        client = self.smtp(ALICE)
        client.sendmail("orders@xn--bcher-kva.example", ["rcpt@example.net"],
                        message("orders@xn--bcher-kva.example"))
        self.assertEqual([m["sender"] for m in self.queued_since(before)], ["orders@xn--bcher-kva.example"])

    def test_u_label_sender_with_smtputf8_is_accepted(self):
        before = self.queue_snapshot()
        client = self.raw_logged_in(ALICE)
        sender = "orders@B\u00dcCHER.example"
        self.assertEqual(client.command(f"MAIL FROM:<{sender}> SMTPUTF8".encode()).code, 250)
        self.assertEqual(client.command("RCPT TO:<rcpt@example.net>").code, 250)
        self.assertEqual(client.command("DATA").code, 354)
        client.send(message(sender) + b".\r\n")
        self.assertEqual(client.reply().code, 250)
        [stored] = self.queued_since(before)
        self.assertTrue(stored["smtputf8"])

    def test_u_label_sender_without_smtputf8_is_refused(self):
        client = self.raw_logged_in(ALICE)
        r = client.command("MAIL FROM:<orders@b\u00fccher.example>".encode())
        self.assertEqual(r.raw, b"553 5.6.7 Non-ASCII address requires SMTPUTF8\r\n")


class PolicyOptions(RelayTestCase):
    """The policy section changes what the same grants allow."""

    relay_config = {"policy": {"local_part_case_sensitive": True, "subaddress_delimiter": "",
                               "check_header_from": False}}

    def test_case_sensitive_local_parts_refuse_a_case_variant(self):
        client = self.smtp(ALICE)
        self.assertEqual(client.mail("ALICE@example.com")[0], 553)
        client.rset()
        self.assertEqual(client.mail("alice@EXAMPLE.COM")[0], 250)  # domains never are

    def test_without_a_delimiter_a_subaddress_is_refused(self):
        client = self.smtp(ALICE)
        self.assertEqual(client.mail("alice+tag@example.com")[0], 553)

    def test_without_the_header_check_a_foreign_header_from_is_accepted(self):
        before = self.queue_snapshot()
        client = self.smtp(ALICE)
        client.sendmail("alice@example.com", ["rcpt@example.net"], message("newsletter@elsewhere.example"))
        self.assertEqual(len(self.queued_since(before)), 1)


class AddressLikeDisplayNamesAllowed(RelayTestCase):
    """policy.address_like_display_names: allow keeps only the address check of From:."""

    relay_config = {"policy": {"address_like_display_names": "allow"}}

    def test_address_like_display_name_is_accepted_and_a_foreign_address_is_not(self):
        before = self.queue_snapshot()
        client = self.smtp(ALICE)
        client.sendmail("alice@example.com", ["rcpt@example.net"],
                        message('"ceo@victim.example" <alice@example.com>'))
        self.assertEqual(len(self.queued_since(before)), 1)
        with self.assertRaises(smtplib.SMTPDataError):
            client.sendmail("alice@example.com", ["rcpt@example.net"], message("ceo@victim.example"))


class Authentication(RelayTestCase):
    """AUTH: credentials, disabled users, TLS-only, and nothing secret in the log."""

    def test_wrong_password_is_refused_with_535_and_never_logged(self):
        wrong = "Wrong-Secret-91b7"
        client = self.smtp()
        with self.assertRaises(smtplib.SMTPAuthenticationError) as caught:
            client.login(ALICE, wrong)
        self.assertEqual(caught.exception.smtp_code, 535)
        self.assertEqual(caught.exception.smtp_error.decode(), "5.7.8 Authentication credentials invalid")
        self.relay.wait_for_log(r"event=auth client=127\.0\.0\.1 user=alice result=rejected")
        self.assert_secret_not_logged(wrong, plain_auth(ALICE, wrong),
                                      base64.b64encode(wrong.encode()).decode())

    def test_correct_password_is_never_logged(self):
        client = self.raw_logged_in(ALICE)
        client.command("QUIT")
        self.relay.wait_for_log(r"event=auth client=127\.0\.0\.1 user=alice result=accepted")
        self.assert_secret_not_logged(ALICE_PW, plain_auth(ALICE, ALICE_PW),
                                      base64.b64encode(ALICE_PW.encode()).decode())

    def test_auth_login_mechanism_is_accepted_and_not_logged(self):
        client = self.raw()
        self.assertEqual(client.reply().code, 220)
        client.ehlo()
        client.starttls(self.relay.cafile)
        client.ehlo()
        r = client.command("AUTH LOGIN")
        self.assertEqual((r.code, r.text), (334, "VXNlcm5hbWU6"))
        r = client.command(base64.b64encode(BOB.encode()).decode())
        self.assertEqual((r.code, r.text), (334, "UGFzc3dvcmQ6"))
        r = client.command(base64.b64encode(BOB_PW.encode()).decode())
        self.assertEqual(r.raw, b"235 2.7.0 Authentication successful\r\n")
        self.assertEqual(client.command("MAIL FROM:<bob@example.com>").raw, b"250 2.1.0 Ok\r\n")
        client.command("QUIT")
        self.assert_secret_not_logged(BOB_PW, base64.b64encode(BOB_PW.encode()).decode())

    def test_auth_plain_without_initial_response_is_accepted(self):
        client = self.raw()
        self.assertEqual(client.reply().code, 220)
        client.ehlo()
        client.starttls(self.relay.cafile)
        client.ehlo()
        self.assertEqual(client.command("AUTH PLAIN").raw, b"334 \r\n")
        self.assertEqual(client.command(plain_auth(BOB, BOB_PW)).code, 235)

    def test_user_name_is_normalised_at_auth_for_grants_queue_and_log(self):
        # AUTH as "Alice": 235, then MAIL FROM her granted address is 250 (it was 553), and the
        # queue and the log name her as stored, "alice".
        before = self.queue_snapshot()
        client = self.smtp()
        client.login("Alice", ALICE_PW)
        self.assertEqual(client.mail("alice@example.com"), (250, b"2.1.0 Ok"))
        self.assertEqual(client.rcpt("rcpt@example.net")[0], 250)
        self.assertEqual(client.data(message())[0], 250)
        client.quit()
        [stored] = self.queued_since(before)
        self.assertEqual((stored["sender"], stored["auth_user"]), ("alice@example.com", ALICE))
        self.relay.wait_for_log(r"event=auth client=127\.0\.0\.1 user=alice result=accepted")
        self.assertNotIn("user=Alice", self.relay.log_text())

    def test_disabled_user_is_refused_with_535(self):
        client = self.smtp()
        with self.assertRaises(smtplib.SMTPAuthenticationError) as caught:
            client.login(CAROL, CAROL_PW)
        self.assertEqual(caught.exception.smtp_code, 535)
        self.assertEqual(caught.exception.smtp_error.decode(), "5.7.8 Authentication credentials invalid")

    def test_unknown_user_is_refused_with_535(self):
        client = self.smtp()
        with self.assertRaises(smtplib.SMTPAuthenticationError) as caught:
            client.login("mallory", "whatever-pw")
        self.assertEqual(caught.exception.smtp_code, 535)

    def test_authzid_naming_another_user_is_refused_with_535(self):
        client = self.raw()
        self.assertEqual(client.reply().code, 220)
        client.ehlo()
        client.starttls(self.relay.cafile)
        client.ehlo()
        r = client.command(f"AUTH PLAIN {plain_auth(ALICE, ALICE_PW, authzid=BOB)}")
        self.assertEqual(r.code, 535)

    def test_auth_is_not_offered_before_starttls_and_is_refused_with_538(self):
        client = self.smtp(tls=False)
        self.assertIn("starttls", client.esmtp_features)
        self.assertNotIn("auth", client.esmtp_features)
        code, text = client.docmd("AUTH", "PLAIN " + plain_auth(ALICE, ALICE_PW))
        self.assertEqual((code, text.decode()),
                         (538, "5.7.11 Encryption required for requested authentication mechanism"))
        # After STARTTLS it is offered, and STARTTLS no longer is.
        client.starttls(context=self.relay.client_context())
        client.ehlo()
        self.assertIn("auth", client.esmtp_features)
        self.assertEqual(client.esmtp_features["auth"].split(), ["PLAIN", "LOGIN"])
        self.assertNotIn("starttls", client.esmtp_features)

    def test_mail_without_auth_is_refused_with_530(self):
        for tls in (False, True):
            with self.subTest(tls=tls):
                client = self.smtp(tls=tls)
                code, text = client.mail("alice@example.com")
                self.assertEqual((code, text.decode()), (530, "5.7.0 Authentication required"))
                code, _ = client.rcpt("rcpt@example.net")
                self.assertEqual(code, 503)


class AdministrationDuringASession(RelayTestCase):
    """mailadmin changes reach sessions that are already authenticated, at their next MAIL FROM."""

    def user_in_session(self, name):
        password = f"{name}-pw-3e1d"
        self.admin.add_user(name, password)
        self.admin.grant_address(f"{name}@example.com", name)
        client = self.raw()
        client.login(name, password, cafile=self.relay.cafile)
        self.assertEqual(client.command(f"MAIL FROM:<{name}@example.com>").code, 250)
        self.assertEqual(client.command("RSET").code, 250)
        return client

    def test_revoked_grant_is_refused_at_the_next_mail_from(self):
        client = self.user_in_session("erin")
        self.admin.ok("revoke", "address", "erin@example.com", "from", "erin")
        self.assertEqual(client.command("MAIL FROM:<erin@example.com>").code, 553)

    def test_deleted_user_is_refused_at_the_next_mail_from(self):
        client = self.user_in_session("frank")
        self.admin.ok("del", "user", "frank")
        self.assertEqual(client.command("MAIL FROM:<frank@example.com>").code, 553)

    def test_disabled_user_is_refused_at_the_next_mail_from(self):
        client = self.user_in_session("grace")
        self.admin.disable("grace")
        self.assertNotEqual(client.command("MAIL FROM:<grace@example.com>").code, 250)


class PlaintextAuthOnLoopback(RelayTestCase):
    """allow_plaintext_auth_on_loopback: a sidecar on 127.0.0.1 may authenticate without TLS."""

    relay_config = {"listener_options": {"allow_plaintext_auth_on_loopback": True}}

    def test_auth_is_offered_and_accepted_without_tls_from_loopback(self):
        before = self.queue_snapshot()
        client = self.smtp(tls=False)
        self.assertIn("auth", client.esmtp_features)
        client.login(ALICE, ALICE_PW)
        client.sendmail("alice@example.com", ["rcpt@example.net"], message())
        [stored] = self.queued_since(before)
        received = stored["message"].split(b"\r\nFrom: ", 1)[0]
        self.assertIn(b"with ESMTPA id", received)
        self.assertNotIn(b"using TLS", received)


class Ipv6Listener(RelayTestCase):

    relay_config = {"listener_options": {"address": "::1"}}

    def test_ipv6_client_is_served_and_recorded(self):
        before = self.queue_snapshot()
        client = smtplib.SMTP("::1", self.relay.port, local_hostname="client.test", timeout=15)
        self.addCleanup(self._quietly_close, client)
        client.starttls(context=self.relay.client_context())
        client.login(BOB, BOB_PW)
        client.sendmail("bob@example.com", ["rcpt@example.net"], message("bob@example.com"))
        [stored] = self.queued_since(before)
        self.assertEqual(stored["client_address"], "::1")
        self.assertTrue(stored["message"].startswith(b"Received: from client.test ([IPv6:::1])\r\n"),
                        stored["message"][:80])


class Clients(RelayTestCase):
    """Other real clients: swaks, curl and openssl s_client."""

    def run_tool(self, args, input=None, timeout=30):
        return subprocess.run(args, input=input, capture_output=True, timeout=timeout, env=tool_env(),
                              stdin=None if input is not None else subprocess.DEVNULL)

    def swaks(self, *args, user=ALICE, password=ALICE_PW, sender="alice@example.com", port=None):
        return self.run_tool(["swaks", "--server", f"127.0.0.1:{port or self.relay.port}",
                              "--auth", "PLAIN", "--auth-user", user, "--auth-password", password,
                              "--from", sender, "--to", "rcpt@example.net", "--helo", "swaks.test",
                              "--timeout", "20", *args])

    def test_swaks_starttls_plain_auth_is_accepted(self):
        before = self.queue_snapshot()
        out = self.swaks("--tls")
        self.assertEqual(out.returncode, 0, out.stdout.decode() + out.stderr.decode())
        self.assertRegex(out.stdout.decode(), r"<~  250 2\.0\.0 Ok: queued as \w{20}")
        [stored] = self.queued_since(before)
        self.assertEqual((stored["sender"], stored["auth_user"], stored["helo"]),
                         ("alice@example.com", ALICE, "swaks.test"))

    def test_swaks_implicit_tls_is_accepted(self):
        before = self.queue_snapshot()
        out = self.swaks("--tls-on-connect", port=self.relay.tls_port)
        self.assertEqual(out.returncode, 0, out.stdout.decode() + out.stderr.decode())
        self.assertEqual(len(self.queued_since(before)), 1)

    def test_swaks_ungranted_sender_is_refused_with_553(self):
        before = self.queue_snapshot()
        out = self.swaks("--tls", sender="eve@nowhere.example")
        self.assertNotEqual(out.returncode, 0)
        self.assertIn("<~* 553 5.7.1 Sender address rejected: not owned by user", out.stdout.decode())
        self.assert_nothing_queued_since(before)

    def test_swaks_wrong_password_is_refused_with_535(self):
        out = self.swaks("--tls", password="not-the-password")
        self.assertNotEqual(out.returncode, 0)
        self.assertIn("<~* 535 5.7.8 Authentication credentials invalid", out.stdout.decode())

    def test_swaks_without_tls_cannot_authenticate(self):
        out = self.swaks()
        self.assertNotEqual(out.returncode, 0)
        # AUTH is not advertised before STARTTLS, so swaks gives up before sending credentials.
        self.assertNotIn(plain_auth(ALICE, ALICE_PW), out.stdout.decode())

    def eml(self, sender="alice@example.com"):
        path = os.path.join(tempfile.mkdtemp(prefix="postern-eml-"), "msg.eml")
        self.addCleanup(lambda: os.path.exists(path) and os.remove(path))
        with open(path, "wb") as f:
            f.write(message(sender, subject="via curl", body="Sent by curl.\r\n"))
        return path

    def curl(self, url, sender="alice@example.com", user=ALICE, password=ALICE_PW):
        return self.run_tool(["curl", "--silent", "--show-error", "--ssl-reqd", "--cacert", self.relay.cafile,
                              url, "--mail-from", sender, "--mail-rcpt", "rcpt@example.net",
                              "--user", f"{user}:{password}", "--upload-file", self.eml(sender),
                              "--max-time", "20"])

    def test_curl_starttls_upload_is_accepted(self):
        before = self.queue_snapshot()
        out = self.curl(f"smtp://127.0.0.1:{self.relay.port}")
        self.assertEqual(out.returncode, 0, out.stderr.decode())
        [stored] = self.queued_since(before)
        self.assertIn(b"\r\nSubject: via curl\r\n", stored["message"])
        self.assertTrue(stored["message"].endswith(b"\r\n\r\nSent by curl.\r\n"), stored["message"])

    def test_curl_implicit_tls_upload_is_accepted(self):
        before = self.queue_snapshot()
        out = self.curl(f"smtps://127.0.0.1:{self.relay.tls_port}")
        self.assertEqual(out.returncode, 0, out.stderr.decode())
        self.assertEqual(len(self.queued_since(before)), 1)

    def test_curl_ungranted_sender_fails(self):
        before = self.queue_snapshot()
        out = self.curl(f"smtp://127.0.0.1:{self.relay.port}", sender="eve@nowhere.example")
        self.assertNotEqual(out.returncode, 0)
        self.assertIn(b"553", out.stderr)
        self.assert_nothing_queued_since(before)

    def test_openssl_s_client_scripted_session_is_accepted(self):
        before = self.queue_snapshot()
        script = "\n".join([
            "EHLO s-client.test",
            f"AUTH PLAIN {plain_auth(BOB, BOB_PW)}",
            "MAIL FROM:<ops@corp.example>",
            "RCPT TO:<rcpt@example.net>",
            "DATA",
            "From: ops@corp.example",
            "To: rcpt@example.net",
            "Subject: via s_client",
            "",
            "..a stuffed line",
            ".",
            "QUIT",
            ""])
        out = self.run_tool(["openssl", "s_client", "-starttls", "smtp", "-connect", f"127.0.0.1:{self.relay.port}",
                             "-crlf", "-quiet", "-CAfile", self.relay.cafile, "-verify_return_error",
                             "-verify_hostname", "localhost"], input=script.encode())
        transcript = out.stdout.decode()
        self.assertIn("235 2.7.0 Authentication successful", transcript)
        self.assertRegex(transcript, r"250 2\.0\.0 Ok: queued as \w{20}")
        self.assertIn("221 2.0.0 Bye", transcript)
        [stored] = self.queued_since(before)
        self.assertEqual(stored["sender"], "ops@corp.example")
        self.assertTrue(stored["message"].endswith(b"\r\n\r\n.a stuffed line\r\n"), stored["message"])


if __name__ == "__main__":
    unittest.main()
