"""A Dovecot of the test's own: Debian's Dovecot started on free loopback ports in a folder,
with a configuration of its own (a maildir per user, a passwd-file with the test's users, a
certificate made here, plaintext logins only under TLS, the unprivileged nobody/nogroup as mail
user when the tests run as root; its run, state and log files in the folder).

    dovecot = Dovecot(folder, {"bob": "password"}, protocol="imap")   # imaps on .port
    dovecot = Dovecot(folder, {"bob": "password"}, protocol="pop3")   # pop3 with STLS on .port,
    dovecot.start()                                                   # pop3s on .tls_port
    ...
    dovecot.stop()   # in a cleanup: whatever happens

The log has one line per event, each starting with the Unix time: logins() reads the POP3 and
IMAP logins from it. A missing Dovecot fails the test with what to install; it never skips.
"""
import grp
import os
import pwd
import re
import shutil
import socket
import subprocess
import time

from relay import free_port

DOVECOT_PATHS = ("/usr/sbin/dovecot",)
# Where Debian puts the protocol daemons, and the packages that bring them.
DOVECOT_LIBEXEC = "/usr/lib/dovecot"
PACKAGES = {"imap": "dovecot-imapd", "pop3": "dovecot-pop3d"}
START_TIMEOUT = 20
LOGIN = re.compile(r"^(\d+) (?:imap|pop3)-login: Info: Login: user=<([^>]*)>, method=([A-Z0-9-]+).*$", re.M)


def find_dovecot(protocol):
    found = shutil.which("dovecot") or next((p for p in DOVECOT_PATHS if os.access(p, os.X_OK)), None)
    if found is None or not os.access(os.path.join(DOVECOT_LIBEXEC, protocol), os.X_OK):
        raise AssertionError(f"Dovecot with {protocol} is not installed: these tests need Debian's dovecot-core and "
                             f"{PACKAGES[protocol]} (scripts/install-deps.sh installs them)")
    return found


class Dovecot:
    """A Dovecot server of the test's own, in `folder`: imaps on 127.0.0.1:port (protocol imap),
    or POP3 with STLS on 127.0.0.1:port and implicit TLS on 127.0.0.1:tls_port (protocol pop3)."""

    def __init__(self, folder, users, protocol="imap"):
        self.binary = find_dovecot(protocol)
        self.protocol = protocol
        self.folder = folder
        self.users = users  # name -> password
        self.port = free_port()
        self.tls_port = free_port() if protocol == "pop3" else None
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

    def _listeners(self):
        if self.protocol == "imap":
            return f"""service imap-login {{
{{login}}  inet_listener imap {{
    port = 0
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {self.port}
    ssl = yes
  }}
}}
"""
        return f"""service pop3-login {{
{{login}}  inet_listener pop3 {{
    address = 127.0.0.1
    port = {self.port}
  }}
  inet_listener pop3s {{
    address = 127.0.0.1
    port = {self.tls_port}
    ssl = yes
  }}
}}
"""

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
        # IMAP: TLS from the first byte only. POP3: STLS offered on the plain port.
        ssl = "required" if self.protocol == "imap" else "yes"
        config = os.path.join(self.folder, "dovecot.conf")
        with open(config, "w") as f:
            f.write(f"""base_dir = {self.folder}/run
state_dir = {self.folder}/state
log_path = {self.log}
log_timestamp = "%s "
{user_settings}protocols = {self.protocol}
listen = 127.0.0.1
ssl = {ssl}
ssl_cert = <{self.cert}
ssl_key = <{key}
disable_plaintext_auth = yes
auth_mechanisms = plain
mail_location = maildir:{self.folder}/mail/%u
mail_uid = {self.uid}
mail_gid = {self.gid}
first_valid_uid = 1
first_valid_gid = 1
pop3_uidl_format = %08Xu%08Xv
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {self.folder}/passwd
}}
userdb {{
  driver = static
  args = uid={self.uid} gid={self.gid} home={self.folder}/home/%u
}}
{service_settings}{self._listeners().replace("{login}", login_settings)}""")
        output = open(os.path.join(self.folder, "dovecot.out"), "wb")
        self.process = subprocess.Popen([self.binary, "-F", "-c", config], stdout=output, stderr=subprocess.STDOUT)
        output.close()
        deadline = time.monotonic() + START_TIMEOUT
        for port in (self.port, self.tls_port):
            while port is not None:
                if self.process.poll() is not None:
                    raise AssertionError(f"dovecot exited with status {self.process.returncode}:\n{self.logs()}")
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise AssertionError(f"dovecot did not listen on port {port} within {START_TIMEOUT} s:\n"
                                             f"{self.logs()}")
                    time.sleep(0.1)

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

    def logins(self, user=None):
        """The successful logins so far, oldest first: (Unix time, user, SASL mechanism) tuples."""
        if not os.path.exists(self.log):
            return []
        with open(self.log, errors="replace") as f:
            found = [(int(m.group(1)), m.group(2), m.group(3)) for m in LOGIN.finditer(f.read())]
        return [login for login in found if user is None or login[1] == user]

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
        """The imaps URL of a user's mailbox (protocol imap)."""
        return f"imaps://{user}@127.0.0.1:{self.port}" + (f"/{mailbox}" if mailbox else "")
