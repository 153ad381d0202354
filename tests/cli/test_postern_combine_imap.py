"""postern-combine --imap against a real IMAP server: Debian's Dovecot, started by each test on a
free loopback port in a temporary folder with a configuration of its own (tests/support/dovecot.py:
a maildir per user, a passwd-file with the test's users, TLS required with a certificate made
here; its run, state and log files in the folder). Share mails of both formats are put into the
users' maildirs, as two providers would deliver them, and postern-combine fetches and combines
them byte-exact. Dovecot is stopped whatever happens; a missing Dovecot fails the test, it does
not skip it."""
import os
import shutil
import subprocess
import tempfile
import unittest

from dovecot import Dovecot
from test_postern_combine import COMBINE, USAGE, CombineTestCase, OK, PROBLEMS, make_shares, test_message
from test_postern_combine_privmail import MESSAGES, make_privmail_shares, original_view, output_name, restored_file


class CombinesFromImap(CombineTestCase):
    def setUp(self):
        super().setUp()
        # A folder of its own, which Dovecot's unprivileged processes can get through.
        folder = tempfile.mkdtemp(prefix="postern-dovecot-")
        self.addCleanup(shutil.rmtree, folder, True)
        self.dovecot = Dovecot(folder, {"bob-a": "password-a", "bob-b": "password-b"})
        self.addCleanup(self.dovecot.stop)
        self.dovecot.start()
        self.env = {k: v for k, v in os.environ.items() if k != "POSTERN_IMAP_PASSWORD"}

    def password_file(self, name, password):
        path = self.path(name)
        with open(path, "w") as f:
            f.write(password + "\n")
        return path

    def combine(self, args, env=None):
        return subprocess.run([COMBINE, *args], capture_output=True, timeout=120,
                              stdin=subprocess.DEVNULL, env=self.env if env is None else env)

    def expected_privmail_file(self, raw):
        original, subject, text = original_view(raw)
        fields = [(name, str(original[name]) if original[name] else None) for name in ("From", "To", "Cc")]
        return restored_file(fields, subject, text)

    def test_both_formats_from_two_providers_mailboxes_byte_exact(self):
        uid, privmail = make_privmail_shares(self.path("pm"), MESSAGES["plain"], 3)
        group, postern = make_shares(self.path("pt"), test_message(), "shamir", 2, 3)
        ordinary = b"From: carol@example.org\r\nTo: bob-a@mail-a.example\r\nSubject: lunch?\r\n\r\nNoon.\r\n"
        self.dovecot.deliver("bob-a", [privmail[0], privmail[1], postern[0], ordinary])
        self.dovecot.deliver("bob-b", [privmail[2], postern[2]])
        out = self.combine(["--imap", self.dovecot.url("bob-a", "INBOX"), "--imap", self.dovecot.url("bob-b"),
                            "--imap-password-file", self.password_file("a.pw", "password-a"),
                            "--imap-password-file", self.password_file("b.pw", "password-b"),
                            "--imap-cafile", self.dovecot.cert, "--out", self.path("out")])
        self.assertEqual(out.returncode, OK, out.stderr.decode() + self.dovecot.logs())
        self.assertEqual(out.stderr, b"")
        self.assertEqual(self.written(self.path("out")), sorted([f"{group}.eml", output_name(uid)]))
        self.assertEqual(self.read("out", f"{group}.eml"), test_message())
        self.assertEqual(self.read("out", output_name(uid)), self.expected_privmail_file(MESSAGES["plain"]))

    def test_password_from_the_environment_and_another_mailbox(self):
        uid, privmail = make_privmail_shares(self.path("pm"), MESSAGES["quoted-printable"], 2)
        self.dovecot.deliver("bob-a", privmail, mailbox="Shares")
        env = dict(self.env, POSTERN_IMAP_PASSWORD="password-a")
        out = self.combine(["--imap", self.dovecot.url("bob-a", "Shares"), "--imap-cafile", self.dovecot.cert,
                            "--out-maildir", self.path("restored")], env=env)
        self.assertEqual(out.returncode, OK, out.stderr.decode() + self.dovecot.logs())
        delivered = self.written(self.path("restored", "new"))
        self.assertEqual(len(delivered), 1)
        self.assertEqual(self.read("restored", "new", delivered[0]), self.expected_privmail_file(MESSAGES["quoted-printable"]))
        # The INBOX holds none of them.
        inbox = self.combine(["--imap", self.dovecot.url("bob-a"), "--imap-cafile", self.dovecot.cert,
                              "--out", self.path("none")], env=env)
        self.assertEqual(inbox.returncode, OK, inbox.stderr.decode())
        self.assertEqual(inbox.stderr.decode(), "postern-combine: no share mails found\n")

    def test_a_wrong_password_an_untrusted_certificate_and_a_missing_mailbox_fail_clearly(self):
        _, postern = make_shares(self.path("pt"), test_message(), "xor", 2, 2)
        self.dovecot.deliver("bob-a", postern)
        url = self.dovecot.url("bob-a")
        shown = f"imaps://bob-a@127.0.0.1:{self.dovecot.port}/INBOX"
        cases = [
            (["--imap", url, "--imap-cafile", self.dovecot.cert], "wrong", f"postern-combine: {shown}: Login denied"),
            (["--imap", url], "password-a", f"postern-combine: {shown}: SSL certificate problem: self-signed certificate"),
            (["--imap", self.dovecot.url("bob-a", "Nowhere"), "--imap-cafile", self.dovecot.cert], "password-a",
             f"postern-combine: {shown[:-len('INBOX')]}Nowhere: the server cannot open the mailbox (SELECT failed): "
             "is its name right?"),
        ]
        for args, password, error in cases:
            with self.subTest(error):
                out = self.combine([*args, "--out", self.path("out")], env=dict(self.env, POSTERN_IMAP_PASSWORD=password))
                self.assertEqual(out.returncode, PROBLEMS, out.stderr.decode())
                self.assertEqual(out.stderr.decode().splitlines(), [error, "postern-combine: no share mails found"])
                self.assertEqual(self.written(self.path("out")), [])

    def test_no_password_is_a_usage_error(self):
        out = self.combine(["--imap", self.dovecot.url("bob-a"), "--out", self.path("out")])
        self.assertEqual(out.returncode, USAGE)
        self.assertIn(b"--imap needs a password: give --imap-password-file FILE or set POSTERN_IMAP_PASSWORD", out.stderr)


if __name__ == "__main__":
    unittest.main()
