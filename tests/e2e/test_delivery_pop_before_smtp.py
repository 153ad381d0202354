"""POP before SMTP, end to end: the real postern delivers to upstreams (tests/support/smtp_sink.py)
that, like a provider of old, relay only for whoever logged in to their POP3 server shortly
before. The POP3 server is a real Dovecot (tests/support/dovecot.py) with STLS on one port and
implicit TLS on another, started once for the class and stopped whatever happens; each sink reads
Dovecot's log and answers every RCPT with 450 "POP first" unless its user's login is recent, and
the tests count those logins in the same log. A missing Dovecot fails the suite, it never skips.
"""
import http.client
import os
import shutil
import tempfile
import time
import unittest

from dovecot import Dovecot
from e2e_base import BOB
from relay import Sink, wait_until
from test_delivery import DeliveryTestCase, mail, subject_of

FAST_RETRIES = {"first_retry_seconds": 1, "max_retry_seconds": 2}
# How long a login lets mail through at the sinks; postern's interval_seconds stay below it.
PROVIDER_WINDOW_SECONDS = 600
POP_USERS = {"pop-stls": "Stls-pw-41c9", "pop-tls": "Tls-pw-97aa", "pop-wrong": "Wrong-pw-1b2d",
             "pop-a": "A-pw-5e0f", "pop-b": "B-pw-c3d1", "pop-often": "Often-pw-77e4"}
WRONG_PASSWORD = "Not-the-pw-0a9e"


def metrics(port):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
    try:
        connection.request("GET", "/metrics")
        return connection.getresponse().read().decode()
    finally:
        connection.close()


class PopBeforeSmtp(DeliveryTestCase):
    """One Dovecot, one postern, one sink per upstream. Upstreams (routes by sender, user bob):
    stls@  -> "stls":  POP3 with STLS, pop-stls        tls@   -> "pop3s": implicit TLS, pop-tls
    wrong@ -> "wrong": implicit TLS, a wrong password  a@, b@ -> "timer-a", "timer-b": pop-a, pop-b
    often@ -> "often": interval_seconds 1, wait_seconds 0."""

    @classmethod
    def _cleanup_sinks(cls):
        try:
            if getattr(cls, "dovecot", None) is not None:
                cls.dovecot.stop()
            if getattr(cls, "dovecot_dir", None) and not os.environ.get("POSTERN_KEEP_E2E_DIRS"):
                shutil.rmtree(cls.dovecot_dir, ignore_errors=True)
        finally:
            super()._cleanup_sinks()

    @classmethod
    def make_sinks(cls):
        # Dovecot first, stopped with the sinks: in a folder of its own, which Dovecot's
        # unprivileged processes can get through.
        cls.dovecot_dir = tempfile.mkdtemp(prefix="postern-dovecot-")
        cls.dovecot = Dovecot(cls.dovecot_dir, POP_USERS, protocol="pop3")
        cls.dovecot.start()
        users = {"stls": "pop-stls", "pop3s": "pop-tls", "wrong": "pop-wrong", "timer-a": "pop-a",
                 "timer-b": "pop-b", "often": "pop-often"}
        return {name: Sink(rules={"pop_before_smtp": {"log": cls.dovecot.log, "user": user,
                                                      "seconds": PROVIDER_WINDOW_SECONDS}})
                for name, user in users.items()}

    @classmethod
    def pop(cls, user, tls=True, **extra):
        path = os.path.join(cls.work, f"{user}.password")
        with open(path, "w") as f:
            f.write((WRONG_PASSWORD if user == "pop-wrong" else POP_USERS[user]) + "\n")
        entry = {"host": "127.0.0.1", "port": cls.dovecot.tls_port if tls else cls.dovecot.port,
                 "security": "tls" if tls else "starttls", "ca_file": cls.dovecot.cert, "username": user,
                 "password_file": path, "interval_seconds": 300}
        entry.update(extra)
        return entry

    @classmethod
    def configure(cls):
        s = cls.sinks
        upstreams = [
            s["stls"].upstream("stls", pop_before_smtp=cls.pop("pop-stls", tls=False)),
            s["pop3s"].upstream("pop3s", pop_before_smtp=cls.pop("pop-tls")),
            s["wrong"].upstream("wrong", pop_before_smtp=cls.pop("pop-wrong")),
            s["timer-a"].upstream("timer-a", pop_before_smtp=cls.pop("pop-a")),
            s["timer-b"].upstream("timer-b", pop_before_smtp=cls.pop("pop-b")),
            s["often"].upstream("often", pop_before_smtp=cls.pop("pop-often", interval_seconds=1, wait_seconds=0)),
        ]
        routes = [{"sender": f"{sender}@corp.example", "upstream": upstream}
                  for sender, upstream in (("stls", "stls"), ("tls", "pop3s"), ("wrong", "wrong"),
                                           ("a", "timer-a"), ("b", "timer-b"), ("often", "often"))]
        return {"upstreams": upstreams, "routes": routes, "default_upstream": "stls",
                "delivery": FAST_RETRIES}

    def logins(self, user):
        return len(self.dovecot.logins(user))

    def deliver(self, sender, sink):
        """Sends one message from sender@corp.example and waits until the sink has it."""
        data = mail(f"{sender}@corp.example")
        self.send(data, f"{sender}@corp.example", user=BOB)
        return self.wait_for_subject(self.sinks[sink], subject_of(data), timeout=20)

    def assert_pop_login_logged(self, upstream, user):
        self.relay.wait_for_log(rf"pop_login upstream={upstream} server=127\.0\.0\.1:\d+ user={user} "
                                rf"mechanism=PLAIN tls=TLSv1\.[23] result=ok")

    def test_stls_then_sasl_plain_before_the_delivery(self):
        self.deliver("stls", "stls")
        self.assertEqual(self.logins("pop-stls"), 1, self.dovecot.logs())
        self.assert_pop_login_logged("stls", "pop-stls")
        # Dovecot saw the login under TLS.
        self.assertRegex(self.dovecot.logs(), r"pop3-login: Info: Login: user=<pop-stls>, method=PLAIN, .*, TLS,")

    def test_implicit_tls_before_the_delivery(self):
        self.deliver("tls", "pop3s")
        self.assertEqual(self.logins("pop-tls"), 1, self.dovecot.logs())
        self.assert_pop_login_logged("pop3s", "pop-tls")

    def test_a_wrong_pop_password_defers_with_the_pop_reply_and_sends_nothing(self):
        queue_id = self.send(mail("wrong@corp.example"), "wrong@corp.example", user=BOB)
        shown = self.wait_until_deferred(queue_id, "-ERR [AUTH] Authentication failed.", timeout=20)
        self.assertRegex(shown["last_error"], r"^POP before SMTP: POP3 login to 127\.0\.0\.1:\d+ refused: "
                                              r"-ERR \[AUTH\] Authentication failed\.$")
        self.assertEqual(shown["recipients"][0]["status"], "pending")
        self.assertRegex(shown["recipients"][0]["last_reply"], r"^451 4\.7\.0 POP before SMTP: ")
        text = self.admin.ok("queue", "show", queue_id)
        self.assertRegex(text, r"Last error: POP before SMTP: .*-ERR \[AUTH\] Authentication failed\.")
        # Tried again, failing again; the upstream never hears of the message.
        wait_until(lambda: self.show(queue_id)["attempts"] >= 2, 20, 0.05, message="a second attempt")
        self.assertEqual(self.sinks["wrong"].count(), 0)
        self.assertEqual(self.logins("pop-wrong"), 0)
        self.relay.wait_for_log(r"pop_login upstream=wrong .* result=refused error=")
        self.assertRegex(metrics(self.relay.http_port),
                         r'postern_pop_logins_total\{upstream="wrong",result="refused"\} [1-9]')
        self.assert_secret_not_logged(WRONG_PASSWORD, *POP_USERS.values())
        self.admin.ok("queue", "delete", queue_id)

    def test_each_upstream_has_its_own_timer_and_one_login_at_a_time(self):
        self.deliver("a", "timer-a")
        self.assertEqual((self.logins("pop-a"), self.logins("pop-b")), (1, 0))
        # pop-a's login does not count for timer-b: three messages at once make one login of pop-b.
        client = self.logged_in(BOB)
        subjects = []
        for _ in range(3):
            data = mail("b@corp.example")
            subjects.append(subject_of(data))
            self.transaction(client, data, "b@corp.example")
        for subject in subjects:
            self.wait_for_subject(self.sinks["timer-b"], subject, timeout=20)
        self.assertEqual((self.logins("pop-a"), self.logins("pop-b")), (1, 1))
        # Within interval_seconds, another message needs no new login.
        self.deliver("a", "timer-a")
        self.assertEqual((self.logins("pop-a"), self.logins("pop-b")), (1, 1))
        self.assertRegex(metrics(self.relay.http_port), r'postern_pop_logins_total\{upstream="timer-b",result="ok"\} 1\n')

    def test_a_login_older_than_the_interval_is_made_again(self):
        self.deliver("often", "often")
        self.assertEqual(self.logins("pop-often"), 1)
        time.sleep(2.5)  # interval_seconds: 1
        self.deliver("often", "often")
        self.assertEqual(self.logins("pop-often"), 2)


if __name__ == "__main__":
    unittest.main()
