"""What the end-to-end test files share: the seeded users and grants, message builders, and a
TestCase that owns one database and one postern for the whole class.

Seeded grants (every class gets its own fresh database):
  alice  address alice@example.com
  bob    domain corp.example, address bob@example.com
  carol  address carol@example.com, disabled
"""
import os
import smtplib
import ssl
import unittest

import pgcluster
from relay import Mailadmin, RawSmtp, RelayLogsOnFailure, RelayServer, queued, queued_ids

ALICE, ALICE_PW = "alice", "Alice-pw-7f3c1e"
BOB, BOB_PW = "bob", "Bob-pw-0d9a4b"
CAROL, CAROL_PW = "carol", "Carol-pw-55e2aa"
PASSWORDS = {ALICE: ALICE_PW, BOB: BOB_PW, CAROL: CAROL_PW}


def seed(admin):
    admin.migrate()
    admin.add_user(ALICE, ALICE_PW)
    admin.grant_address("alice@example.com", ALICE)
    admin.add_user(BOB, BOB_PW)
    admin.grant_domain("corp.example", BOB)
    admin.grant_address("bob@example.com", BOB)
    admin.add_user(CAROL, CAROL_PW)
    admin.grant_address("carol@example.com", CAROL)
    admin.disable(CAROL)


def message(sender="alice@example.com", to="rcpt@example.net", subject="Hello", body="Hi.\r\n",
            extra_headers=()):
    """A small RFC 5322 message with CRLF line ends, as bytes."""
    headers = [f"From: {sender}", f"To: {to}", f"Subject: {subject}", *extra_headers]
    return ("\r\n".join(headers) + "\r\n\r\n" + body).encode()


_module_databases = {}  # test module name -> its seeded database
_seeded = set()


class RelayTestCase(RelayLogsOnFailure, unittest.TestCase):
    """One postern per class (relay_config overrides its config) on a seeded database that the
    classes of one test module share: tests compare the queue before and after, never its size."""

    relay_config = {}
    start_relay = True

    @classmethod
    def setUpClass(cls):
        cls.db = cls.database_url()
        cls.admin = Mailadmin(cls.db)
        if cls.db not in _seeded:
            seed(cls.admin)
            _seeded.add(cls.db)
        cls.relay = RelayServer(cls.db, **cls.relay_config) if cls.start_relay else None

    @classmethod
    def database_url(cls):
        """The module's shared database; override for a database of the class's own."""
        if cls.__module__ not in _module_databases:
            _module_databases[cls.__module__] = pgcluster.fresh_database("e2e")
        return _module_databases[cls.__module__]

    @classmethod
    def tearDownClass(cls):
        if cls.relay is None:
            return
        try:
            code = cls.relay.stop()
        finally:
            cls.relay.cleanup()
        if code != 0:
            raise AssertionError(f"postern exited {code} on SIGTERM")

    # ---- clients ----

    def smtp(self, user=None, password=None, tls=True):
        """smtplib over STARTTLS with certificate verification, logged in as user when given."""
        client = smtplib.SMTP("127.0.0.1", self.relay.port, local_hostname="client.test", timeout=15)
        self.addCleanup(self._quietly_close, client)
        client.ehlo()
        if tls:
            client.starttls(context=self.relay.client_context())
            client.ehlo()
        if user is not None:
            client.login(user, password if password is not None else PASSWORDS[user])
        return client

    @staticmethod
    def _quietly_close(client):
        try:
            client.quit()
        except (smtplib.SMTPException, OSError, ssl.SSLError):
            client.close()

    def raw(self, tls=False, port=None):
        """A RawSmtp to the STARTTLS port (or the implicit TLS port with tls=True)."""
        client = RawSmtp(port or (self.relay.tls_port if tls else self.relay.port), tls=tls,
                         cafile=self.relay.cafile)
        self.addCleanup(client.close)
        return client

    def raw_logged_in(self, user=ALICE):
        """A RawSmtp past the greeting, STARTTLS, EHLO and AUTH PLAIN as user."""
        client = self.raw()
        client.login(user, PASSWORDS[user], cafile=self.relay.cafile)
        return client

    # ---- the queue ----

    def queued_since(self, before_ids):
        """Messages queued that were not in before_ids."""
        return [m for m in queued(self.db) if m["id"] not in before_ids]

    def queue_snapshot(self):
        return queued_ids(self.db)

    def assert_nothing_queued_since(self, before_ids):
        self.assertEqual(self.queued_since(before_ids), [])

    def assert_secret_not_logged(self, *secrets):
        log = self.relay.log_text()
        for secret in secrets:
            self.assertNotIn(secret, log, "a secret reached the log")


def tool_env():
    """Environment for external clients (swaks, curl, openssl): no proxies."""
    return {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
