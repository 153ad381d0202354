"""PostgreSQL frozen with SIGSTOP: its connections stay open and nothing answers, so neither
libpq's connect timeout, nor the statement timeout (enforced by the frozen server), nor TCP
keepalives (the kernel still acknowledges) ever fire. Only the relay's own waiting-side
deadlines (database.wait_timeout_seconds) can answer its clients: they get 451/454 in time, the
probes say so, and the same postern serves again after SIGCONT.

The caches of logins and grants are off here: what is asked is how each wait on the database
ends. (With them on, a user already in memory logs in and passes MAIL FROM while PostgreSQL is
frozen: nothing can change a user then, and the message itself still needs the database.)"""
import unittest

import pgcluster
from e2e_base import ALICE, ALICE_PW, RelayTestCase, message
from relay import RawSmtp, wait_until
from test_http import get

WAIT_TIMEOUT = 2  # database.wait_timeout_seconds
# A reply must come well within this, or the client's socket times out and the test fails.
CLIENT_TIMEOUT = 20


class DatabaseFrozen(RelayTestCase):

    relay_config = {"database": {"timeout_seconds": 2, "pool_size": 2, "wait_timeout_seconds": WAIT_TIMEOUT},
                    "http": {"database_check_seconds": 1}, "auth": {"cache_seconds": 0}}

    @classmethod
    def database_url(cls):
        cls.cluster = pgcluster.PrivateCluster()
        cls.addClassCleanup(cls.cluster.destroy)  # thaws first
        return cls.cluster.start()

    def client(self, login=True):
        client = RawSmtp(self.relay.port, timeout=CLIENT_TIMEOUT)
        self.addCleanup(client.close)
        if login:
            client.login(ALICE, ALICE_PW, cafile=self.relay.cafile)
        return client

    def fresh_auth_reply(self):
        client = self.client(login=False)
        client.reply()
        client.ehlo()
        client.starttls(self.relay.cafile)
        client.ehlo()
        return client.auth_plain(ALICE, ALICE_PW)

    def test_clients_are_answered_while_postgres_is_frozen_and_service_returns_after(self):
        wait_until(lambda: get(self.relay.http_port, "/readyz")[::2] == (200, "ready\n"), timeout=20,
                   message="readiness before the freeze")
        waiting = self.client()
        in_data = self.client()
        for line in ("MAIL FROM:<alice@example.com>", "RCPT TO:<rcpt@example.net>", "DATA"):
            self.assertIn(in_data.command(line).code, (250, 354))
        more = [self.client() for _ in range(4)]  # more sessions than pool threads

        self.cluster.freeze()
        try:
            # Each of these waits on the frozen database and is answered at its deadline.
            self.assertEqual(waiting.command("MAIL FROM:<alice@example.com>").raw,
                             b"451 4.3.0 Temporary failure, try again later\r\n")
            self.assertEqual(self.fresh_auth_reply().raw, b"454 4.7.0 Temporary authentication failure\r\n")
            in_data.send(message(subject="sent into the freeze") + b".\r\n")
            self.assertEqual(in_data.reply().raw, b"451 4.3.0 Temporary failure, try again later\r\n")
            # All at once, more than the pool has threads: every one is answered, none left waiting.
            for client in more:
                client.send(b"MAIL FROM:<alice@example.com>\r\n")
            for client in more:
                self.assertEqual(client.reply().code, 451)
            # The probes answer at once and say why.
            wait_until(lambda: get(self.relay.http_port, "/readyz")[::2] == (503, "database timeout\n"),
                       timeout=CLIENT_TIMEOUT, message="readiness to report the timeout")
            self.assertEqual(get(self.relay.http_port, "/healthz")[::2], (200, "ok\n"))
            self.assertIsNone(self.relay.process.poll(), "postern must keep running")
        finally:
            self.cluster.thaw()

        # The same postern serves again: the waiting session's MAIL FROM, then a whole message,
        # a fresh login, and readiness.
        def mail_accepted():
            reply = waiting.command("MAIL FROM:<alice@example.com>")
            self.assertIn(reply.code, (250, 451), reply)
            return reply.code == 250
        wait_until(mail_accepted, timeout=30, interval=0.2, message="MAIL FROM to be accepted again")
        for line in ("RCPT TO:<rcpt@example.net>", "DATA"):
            self.assertIn(waiting.command(line).code, (250, 354))
        waiting.send(message(subject="after the freeze") + b".\r\n")
        self.assertEqual(waiting.reply().code, 250)
        wait_until(lambda: self.fresh_auth_reply().code == 235, timeout=30, interval=0.2,
                   message="AUTH to work again")
        wait_until(lambda: get(self.relay.http_port, "/readyz")[::2] == (200, "ready\n"), timeout=30,
                   interval=0.2, message="readiness to return")


if __name__ == "__main__":
    unittest.main()
