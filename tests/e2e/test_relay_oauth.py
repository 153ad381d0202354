"""OAuth bearer token logins end to end: AUTH OAUTHBEARER (RFC 7628) and XOAUTH2 over STARTTLS
with JWTs signed here (RS256 and ES256, with Debian's python3-cryptography) against the JWK Set
file the relay reads, the user's grants after the login, RFC 7628's error exchange for a refused
token, and a JWK Set replaced on SIGHUP."""
import base64
import json
import os
import shutil
import signal
import smtplib
import tempfile
import time
import unittest

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from e2e_base import CAROL, RelayTestCase, message
from relay import RawSmtp, wait_until

ISSUER = "https://login.example.com/"
ERIN, ERIN_PW = "erin@example.com", "Erin-pw-3b8e41"  # a user named by her email, as the claim has it
SCOPE = "https://mail.example.com/"


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def number(value, length=None):
    return b64url(value.to_bytes(length or (value.bit_length() + 7) // 8, "big"))


class SigningKey:
    """An issuer's key: its public JWK, and tokens signed with it."""

    def __init__(self, kind, kid):
        self.kind, self.kid = kind, kid
        if kind == "RS256":
            self.private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        else:
            self.private = ec.generate_private_key(ec.SECP256R1())

    def jwk(self):
        public = self.private.public_key().public_numbers()
        if self.kind == "RS256":
            return {"kty": "RSA", "kid": self.kid, "use": "sig", "alg": "RS256", "n": number(public.n),
                    "e": number(public.e)}
        return {"kty": "EC", "kid": self.kid, "use": "sig", "crv": "P-256", "x": number(public.x, 32),
                "y": number(public.y, 32)}

    def token(self, **claims):
        """A JWT for ERIN, valid for five minutes, unless claims say otherwise (None removes one)."""
        now = int(time.time())
        payload = {"iss": ISSUER, "aud": "postern", "email": ERIN, "sub": "erin-0001", "iat": now,
                   "nbf": now - 5, "exp": now + 300}
        payload.update(claims)
        payload = {k: v for k, v in payload.items() if v is not None}
        header = {"alg": self.kind, "typ": "JWT", "kid": self.kid}
        signing_input = (b64url(json.dumps(header).encode()) + "." + b64url(json.dumps(payload).encode())).encode()
        if self.kind == "RS256":
            signature = self.private.sign(signing_input, padding.PKCS1v15(), hashes.SHA256())
        else:
            r, s = decode_dss_signature(self.private.sign(signing_input, ec.ECDSA(hashes.SHA256())))
            signature = r.to_bytes(32, "big") + s.to_bytes(32, "big")  # JWS: R||S, not DER
        return signing_input.decode() + "." + b64url(signature)


def write_jwks(path, *keys):
    with open(path + ".tmp", "w") as f:
        json.dump({"keys": [k.jwk() for k in keys]}, f)
    os.rename(path + ".tmp", path)


def oauthbearer(token, user=ERIN):
    authzid = f"a={user}" if user else ""
    return f"n,{authzid},\x01host=127.0.0.1\x01port=587\x01auth=Bearer {token}\x01\x01"


def xoauth2(token, user=ERIN):
    return f"user={user}\x01auth=Bearer {token}\x01\x01"


_erin_added = set()


class OAuthTestCase(RelayTestCase):
    """A relay with an oauth section whose JWK Set holds an RSA and a P-256 key."""

    relay_options = {}  # more of the relay's configuration

    @classmethod
    def setUpClass(cls):
        cls.keys_dir = tempfile.mkdtemp(prefix="postern-oauth-")
        cls.jwks_path = os.path.join(cls.keys_dir, "jwks.json")
        cls.rsa = SigningKey("RS256", "rsa-1")
        cls.ec = SigningKey("ES256", "ec-1")
        write_jwks(cls.jwks_path, cls.rsa, cls.ec)
        cls.relay_config = dict(cls.relay_options, oauth={
            "issuer": ISSUER, "audience": ["postern", "other"], "jwks_file": cls.jwks_path, "user_claim": "email",
            "leeway_seconds": 5, "scope": SCOPE})
        super().setUpClass()
        if cls.db not in _erin_added:  # the classes of this module share a database
            cls.admin.add_user(ERIN, ERIN_PW)
            cls.admin.grant_address("erin@example.com", ERIN)
            _erin_added.add(cls.db)

    @classmethod
    def tearDownClass(cls):
        try:
            super().tearDownClass()
        finally:
            shutil.rmtree(cls.keys_dir, ignore_errors=True)

    def tls_client(self):
        """smtplib after STARTTLS and the second EHLO."""
        return self.smtp()

    def raw_tls(self):
        """A RawSmtp past the greeting, STARTTLS and the second EHLO."""
        client = self.raw()
        self.assertEqual(client.reply().code, 220)
        client.ehlo()
        client.starttls(self.relay.cafile)
        self.assertEqual(client.ehlo().code, 250)
        return client

    def refused_with_rfc7628_error(self, client, first_reply, answer="AQ=="):
        """The 334 carrying the JSON error, then 535 once the client answers it."""
        self.assertEqual(first_reply.code, 334, first_reply)
        error = json.loads(base64.b64decode(first_reply.lines[0]))
        self.assertEqual(error, {"status": "invalid_token", "schemes": "bearer", "scope": SCOPE})
        final = client.command(answer)
        self.assertEqual((final.code, final.text), (535, "5.7.8 Authentication credentials invalid"))


class BearerLogins(OAuthTestCase):

    def test_ehlo_offers_the_mechanisms_after_starttls_only(self):
        client = self.raw()
        client.reply()
        before_tls = client.ehlo()
        self.assertFalse(any(line.startswith("AUTH") for line in before_tls.lines), before_tls)
        client.starttls(self.relay.cafile)
        self.assertIn("AUTH PLAIN LOGIN OAUTHBEARER XOAUTH2", client.ehlo().lines)

    def test_oauthbearer_rs256_login_sends_as_the_granted_address_only(self):
        before = self.queue_snapshot()
        client = self.tls_client()
        token = self.rsa.token()
        code, _ = client.auth("OAUTHBEARER", lambda challenge=None: oauthbearer(token))
        self.assertEqual(code, 235)
        self.assertEqual(client.sendmail(ERIN, ["rcpt@example.net"], message(ERIN)), {})
        with self.assertRaises(smtplib.SMTPSenderRefused) as refused:
            client.sendmail("alice@example.com", ["rcpt@example.net"], message("alice@example.com"))
        self.assertEqual(refused.exception.smtp_code, 553)
        [stored] = self.queued_since(before)
        self.assertEqual((stored["sender"], stored["auth_user"]), (ERIN, ERIN))
        self.relay.wait_for_log(r"event=auth client=127\.0\.0\.1 mechanism=OAUTHBEARER user=erin@example\.com "
                                r"result=accepted")
        self.assert_secret_not_logged(token, token.split(".")[2])

    def test_xoauth2_es256_login_sends_as_the_granted_address_only(self):
        before = self.queue_snapshot()
        client = self.tls_client()
        token = self.ec.token(aud=["someone-else", "other"])
        code, _ = client.auth("XOAUTH2", lambda challenge=None: xoauth2(token))
        self.assertEqual(code, 235)
        self.assertEqual(client.sendmail(ERIN, ["rcpt@example.net"], message(ERIN)), {})
        with self.assertRaises(smtplib.SMTPSenderRefused):
            client.sendmail("bob@example.com", ["rcpt@example.net"], message("bob@example.com"))
        self.assertEqual([m["auth_user"] for m in self.queued_since(before)], [ERIN])
        self.assert_secret_not_logged(token)

    def test_oauthbearer_without_authzid_after_an_empty_challenge(self):
        client = self.raw_tls()
        self.assertEqual(client.command("AUTH OAUTHBEARER").raw, b"334 \r\n")
        reply = client.command(base64.b64encode(oauthbearer(self.ec.token(), user="").encode()).decode())
        self.assertEqual(reply.code, 235, reply)
        self.assertEqual(client.command("MAIL FROM:<erin@example.com>").code, 250)

    def test_xoauth2_after_an_empty_challenge(self):
        client = self.raw_tls()
        self.assertEqual(client.command("AUTH XOAUTH2").raw, b"334 \r\n")
        reply = client.command(base64.b64encode(xoauth2(self.rsa.token(), user="Erin@Example.com").encode()).decode())
        self.assertEqual(reply.code, 235, reply)

    def test_a_token_with_a_bad_signature_gets_the_rfc7628_error_then_535(self):
        forged = SigningKey("RS256", "rsa-1").token()  # the right kid, another key
        client = self.raw_tls()
        first = client.command("AUTH OAUTHBEARER " + base64.b64encode(oauthbearer(forged).encode()).decode())
        self.refused_with_rfc7628_error(client, first)
        self.relay.wait_for_log(r'mechanism=OAUTHBEARER user=erin@example\.com result=rejected reason="bad signature"')
        self.assert_secret_not_logged(forged)
        self.assertEqual(client.command("MAIL FROM:<erin@example.com>").code, 530)  # not logged in

    def test_xoauth2_clients_answer_the_error_with_an_empty_line(self):
        expired = self.ec.token(exp=int(time.time()) - 60)
        client = self.raw_tls()
        first = client.command("AUTH XOAUTH2 " + base64.b64encode(xoauth2(expired).encode()).decode())
        self.refused_with_rfc7628_error(client, first, answer="")
        self.relay.wait_for_log(r"mechanism=XOAUTH2 user=erin@example\.com result=rejected reason=expired")

    def test_smtplib_hears_535_after_the_error(self):
        client = self.tls_client()
        token = self.rsa.token(iss="https://evil.example/")
        answers = []

        def authobject(challenge=None):
            answers.append(challenge)
            return oauthbearer(token) if challenge is None else "\x01"

        with self.assertRaises(smtplib.SMTPAuthenticationError) as caught:
            client.auth("OAUTHBEARER", authobject)
        self.assertEqual(caught.exception.smtp_code, 535)
        self.assertEqual(json.loads(answers[1])["status"], "invalid_token")
        self.relay.wait_for_log(r'result=rejected reason="wrong issuer"')

    def test_a_token_for_an_unknown_user_is_refused(self):
        token = self.rsa.token(email="nobody@example.com")
        client = self.raw_tls()
        first = client.command("AUTH OAUTHBEARER " + base64.b64encode(oauthbearer(token, user="").encode()).decode())
        self.refused_with_rfc7628_error(client, first)
        self.relay.wait_for_log(r'user=nobody@example\.com result=rejected reason="unknown user"')

    def test_a_token_for_a_disabled_user_is_refused(self):
        token = self.rsa.token(email=CAROL)
        client = self.raw_tls()
        first = client.command("AUTH OAUTHBEARER " + base64.b64encode(oauthbearer(token, user="").encode()).decode())
        self.refused_with_rfc7628_error(client, first)
        self.relay.wait_for_log(r'user=carol result=disabled reason="user disabled"')

    def test_an_authzid_that_is_not_the_tokens_user_is_refused(self):
        token = self.rsa.token()
        client = self.raw_tls()
        first = client.command("AUTH OAUTHBEARER " +
                               base64.b64encode(oauthbearer(token, user="alice").encode()).decode())
        self.refused_with_rfc7628_error(client, first)
        xoauth = self.raw_tls()
        first = xoauth.command("AUTH XOAUTH2 " + base64.b64encode(xoauth2(token, user="alice").encode()).decode())
        self.refused_with_rfc7628_error(xoauth, first, answer="")

    def test_wrong_audience_and_unknown_key_are_refused(self):
        for token, reason in ((self.rsa.token(aud="somebody"), "wrong audience"),
                              (SigningKey("ES256", "ec-unknown").token(), "unknown key")):
            client = self.raw_tls()
            first = client.command("AUTH OAUTHBEARER " + base64.b64encode(oauthbearer(token).encode()).decode())
            self.refused_with_rfc7628_error(client, first)
            self.relay.wait_for_log(f'result=rejected reason="{reason}"')


class RefusedTokensAreBraked(OAuthTestCase):
    """Refused tokens count against the failure brake as wrong passwords do: per client network
    (each 127.0.0.N is one) and the user name the client gave."""

    relay_options = {"auth": {"failures_per_user_network": 3}}

    def attempt(self, source, token, user=ERIN):
        with RawSmtp(self.relay.port, source=source, timeout=30) as client:
            client.reply()
            client.ehlo()
            client.starttls(self.relay.cafile)
            client.ehlo()
            first = client.command("AUTH OAUTHBEARER " + base64.b64encode(oauthbearer(token, user).encode()).decode())
            if first.code != 334:
                return first.code
            return client.command("AQ==").code

    def test_a_network_that_keeps_failing_gets_421_and_the_owner_gets_in_elsewhere(self):
        forged = SigningKey("ES256", "ec-1").token()
        codes = [self.attempt("127.0.6.1", forged) for _ in range(4)]
        self.assertEqual(codes, [535, 535, 535, 421])
        self.relay.wait_for_log(r"event=auth client=127\.0\.6\.1 mechanism=OAUTHBEARER user=erin@example\.com "
                                r"result=throttled")
        self.assertEqual(self.attempt("127.0.6.2", self.ec.token()), 235)


class JwksReload(OAuthTestCase):

    def reloads(self, event):
        return self.relay.log_text().count(f"event={event}")

    def login(self, token):
        client = self.raw_tls()
        return client.command("AUTH OAUTHBEARER " + base64.b64encode(oauthbearer(token).encode()).decode())

    def test_sighup_loads_a_new_key_and_a_broken_file_keeps_it(self):
        rotated = SigningKey("ES256", "ec-2")
        self.assertEqual(self.login(rotated.token()).code, 334)  # not known yet: refused
        write_jwks(self.jwks_path, rotated)
        seen = self.reloads("config_reloaded")
        self.relay.signal(signal.SIGHUP)
        wait_until(lambda: self.reloads("config_reloaded") > seen, message="the reload")
        self.relay.wait_for_log(r"event=config_reloaded .*oauth")
        self.assertEqual(self.login(rotated.token()).code, 235)
        self.assertEqual(self.login(self.rsa.token()).code, 334)  # the old key is gone

        with open(self.jwks_path, "w") as f:
            f.write('{"keys": [')
        self.relay.signal(signal.SIGHUP)
        self.relay.wait_for_log(r"event=config_reload_failed .*oauth\.jwks_file: .*jwks\.json")
        self.assertEqual(self.login(rotated.token()).code, 235)

if __name__ == "__main__":
    unittest.main()
