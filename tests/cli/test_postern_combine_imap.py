"""postern-combine --imap against a real IMAP server: Debian's Dovecot, started by each test on a
free loopback port in a temporary folder with a configuration of its own (a maildir per user, a
passwd-file with the test's users, TLS required with a certificate made here, the unprivileged
nobody/nogroup as mail user since the tests run as root; its run, state and log files in the
folder). Share mails of both formats are put into the users' maildirs, as two providers would
deliver them, and postern-combine fetches and combines them byte-exact. Dovecot is stopped
whatever happens; a missing Dovecot fails the test, it does not skip it."""
import grp
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
import unittest

from test_postern_combine import COMBINE, USAGE, CombineTestCase, OK, PROBLEMS, make_shares, test_message
from test_postern_combine_privmail import MESSAGES, make_privmail_shares, original_view, output_name, restored_file

DOVECOT_PATHS = ("/usr/sbin/dovecot",)
START_TIMEOUT = 20


def find_dovecot():
    found = shutil.which("dovecot") or next((p for p in DOVECOT_PATHS if os.access(p, os.X_OK)), None)
    if found is None:
        raise AssertionError("dovecot is not installed: the --imap tests need Debian's dovecot-core and "
                             "dovecot-imapd (scripts/install-deps.sh installs them)")
    return found


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Dovecot:
    """A Dovecot IMAP server of the test's own, in `folder`, serving imaps on 127.0.0.1:port."""

    def __init__(self, folder, users):
        self.binary = find_dovecot()
        self.folder = folder
        self.users = users  # name -> password
        self.port = free_port()
        self.cert = os.path.join(folder, "cert.pem")
        self.log = os.path.join(folder, "dovecot.log")
        self.process = None
        self.delivered = 0
        if os.geteuid() == 0:
            self.uid, self.gid = pwd.getpwnam("nobody").pw_uid, grp.getgrnam("nogroup").gr_gid
        else:
            self.uid, self.gid = os.getuid(), os.getgid()

    def mail_dir(self, user, mailbox="INBOX"):
        root = os.path.join(self.folder, "mail", user)
        return root if mailbox == "INBOX" else os.path.join(root, "." + mailbox)

    def start(self):
        os.chmod(self.folder, 0o755)  # the mail user and Dovecot's own users must get through
        key = os.path.join(self.folder, "key.pem")
        made = subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
                               "-out", self.cert, "-days", "1", "-subj", "/CN=localhost",
                               "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
                              capture_output=True, text=True, timeout=60)
        if made.returncode != 0:
            raise AssertionError(f"openssl could not make the test certificate: {made.stderr}")
        with open(os.path.join(self.folder, "passwd"), "w") as f:
            for user, password in self.users.items():
                f.write(f"{user}:{{PLAIN}}{password}::::\n")
        for user in self.users:
            self.add_mailbox(user, "INBOX")
        os.makedirs(os.path.join(self.folder, "home"), exist_ok=True)
        os.chown(os.path.join(self.folder, "home"), self.uid, self.gid)
        user_settings, service_settings, login_settings = "", "", ""
        if os.geteuid() != 0:
            # Dovecot run by an ordinary user: every one of its processes runs as that user.
            me, my_group = pwd.getpwuid(os.getuid()).pw_name, grp.getgrgid(os.getgid()).gr_name
            user_settings = (f"default_internal_user = {me}\ndefault_internal_group = {my_group}\n"
                             f"default_login_user = {me}\n")
            service_settings = "service anvil {\n  chroot =\n}\n"  # chroot needs root
            login_settings = "  chroot =\n"
        config = os.path.join(self.folder, "dovecot.conf")
        with open(config, "w") as f:
            f.write(f"""base_dir = {self.folder}/run
state_dir = {self.folder}/state
log_path = {self.log}
{user_settings}protocols = imap
listen = 127.0.0.1
ssl = required
ssl_cert = <{self.cert}
ssl_key = <{key}
disable_plaintext_auth = yes
auth_mechanisms = plain
mail_location = maildir:{self.folder}/mail/%u
mail_uid = {self.uid}
mail_gid = {self.gid}
first_valid_uid = 1
first_valid_gid = 1
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {self.folder}/passwd
}}
userdb {{
  driver = static
  args = uid={self.uid} gid={self.gid} home={self.folder}/home/%u
}}
{service_settings}service imap-login {{
{login_settings}  inet_listener imap {{
    port = 0
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {self.port}
    ssl = yes
  }}
}}
""")
        output = open(os.path.join(self.folder, "dovecot.out"), "wb")
        self.process = subprocess.Popen([self.binary, "-F", "-c", config], stdout=output, stderr=subprocess.STDOUT)
        output.close()
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"dovecot exited with status {self.process.returncode}:\n{self.logs()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.1)
        raise AssertionError(f"dovecot did not listen on port {self.port} within {START_TIMEOUT} s:\n{self.logs()}")

    def stop(self):
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=15)

    def logs(self):
        text = ""
        for name in ("dovecot.out", "dovecot.log"):
            path = os.path.join(self.folder, name)
            if os.path.exists(path):
                with open(path, errors="replace") as f:
                    text += f"---- {name}\n{f.read()}"
        return text

    def add_mailbox(self, user, mailbox):
        for sub in ("", "cur", "new", "tmp"):
            path = os.path.join(self.mail_dir(user, mailbox), sub)
            os.makedirs(path, exist_ok=True)
        for path in (os.path.join(self.folder, "mail"), os.path.join(self.folder, "mail", user)):
            os.chown(path, self.uid, self.gid)
        for root, dirs, _ in os.walk(self.mail_dir(user, mailbox)):
            os.chown(root, self.uid, self.gid)

    def deliver(self, user, mails, mailbox="INBOX"):
        """Puts the mails into the user's maildir, as the provider's delivery agent would."""
        self.add_mailbox(user, mailbox)
        for mail in mails:
            self.delivered += 1
            name = f"{time.time_ns()}.M{self.delivered}P{os.getpid()}.test"
            path = os.path.join(self.mail_dir(user, mailbox), "new", name)
            with open(path, "wb") as f:
                f.write(mail)
            os.chown(path, self.uid, self.gid)

    def url(self, user, mailbox=None):
        return f"imaps://{user}@127.0.0.1:{self.port}" + (f"/{mailbox}" if mailbox else "")


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
