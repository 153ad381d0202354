"""Helpers for the mailadmin CLI tests: run the built binary against a fresh database.

The binary is $POSTERN_BUILD_DIR/mailadmin/mailadmin. Every run gets a clean environment
(no PG* or DATABASE_URL from the caller) and cheap Argon2id costs so the suite stays fast.
"""
import os
import re
import socket
import subprocess
import unittest

import pgcluster

BUILD_DIR = os.environ.get("POSTERN_BUILD_DIR", os.path.join(pgcluster.SOURCE_DIR, "build"))
BINARY = os.path.join(BUILD_DIR, "mailadmin", "mailadmin")
FIXTURE = os.path.join(pgcluster.SOURCE_DIR, "tests", "fixtures", "secure_emailing.sql")
COMPLETION_SCRIPT = os.path.join(pgcluster.SOURCE_DIR, "mailadmin", "mailadmin.bash-completion")

# Exit codes (mailadmin/exit_codes.hpp).
OK, FAILURE, USAGE, NOT_FOUND, EXISTS, INVALID, UNREACHABLE, SCHEMA, DENIED = 0, 1, 2, 3, 4, 5, 6, 7, 10


def clean_env(**extra):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("PG") and k not in ("DATABASE_URL",)}
    env.update({"POSTERN_ARGON2_MEMORY_KIB": "1024", "POSTERN_ARGON2_ITERATIONS": "1",
                "LC_ALL": "C.UTF-8"})
    env.update({k: v for k, v in extra.items() if v is not None})
    return env


def run(args, db=None, input=None, env=None, timeout=30):
    """Runs mailadmin with DATABASE_URL=db; returns the CompletedProcess (text mode)."""
    environment = clean_env(DATABASE_URL=db, **(env or {}))
    return subprocess.run([BINARY, *args], input=input, capture_output=True, text=True,
                          env=environment, timeout=timeout,
                          stdin=None if input is not None else subprocess.DEVNULL)


def closed_port_url():
    """A URL to a loopback port nobody listens on."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return f"postgresql://nobody@127.0.0.1:{port}/nothing?connect_timeout=3"


class MailadminTestCase(unittest.TestCase):
    """Each class gets its own fresh database, migrated with `mailadmin migrate`."""

    migrate = True

    @classmethod
    def setUpClass(cls):
        cls.db = pgcluster.fresh_database("cli")
        if cls.migrate:
            out = run(["migrate"], cls.db)
            assert out.returncode == 0, out.stderr

    def mailadmin(self, *args, input=None, env=None, db=None):
        return run(list(args), db or self.db, input=input, env=env)

    def complete(self, *words):
        """The candidates bash would offer after `mailadmin WORDS...` (the last word is partial),
        from the completion script, with this build's mailadmin on PATH and this class's database."""
        words_array = " ".join(f"'{w}'" for w in ("mailadmin",) + words)
        program = (f"source '{COMPLETION_SCRIPT}'; COMP_WORDS=({words_array}); COMP_CWORD={len(words)}; "
                   "_mailadmin; printf '%s\\n' \"${COMPREPLY[@]}\"")
        env = clean_env(DATABASE_URL=self.db)
        env["PATH"] = os.path.dirname(BINARY) + os.pathsep + os.environ.get("PATH", "")
        out = subprocess.run(["bash", "-c", program], capture_output=True, text=True, env=env, timeout=30)
        self.assertEqual(out.returncode, 0, out.stderr)
        return sorted(out.stdout.split())

    def ok(self, *args, input=None, env=None):
        """Runs a command that must succeed and print nothing on stderr; returns stdout."""
        out = self.mailadmin(*args, input=input, env=env)
        self.assertEqual(out.returncode, 0, f"{args}: {out.stderr}")
        self.assertEqual(out.stderr, "")
        return out.stdout

    def fails(self, code, *args, input=None, env=None, db=None):
        """Runs a command that must fail with `code` and one `mailadmin: ` line on stderr;
        returns that line without its newline. Nothing may go to stdout."""
        out = self.mailadmin(*args, input=input, env=env, db=db)
        self.assertEqual(out.returncode, code, f"{args}: {out.stderr!r} {out.stdout!r}")
        self.assertEqual(out.stdout, "")
        lines = out.stderr.splitlines()
        self.assertEqual(len(lines), 1, out.stderr)
        self.assertTrue(lines[0].startswith("mailadmin: "), lines[0])
        return lines[0]

    def add_user(self, name, password="pw-" + "x" * 8):
        self.ok("add", "user", name, "--password-stdin", input=password + "\n")

    def sql(self, query):
        return pgcluster.psql(self.db, query)


# ---- the mail queue (tests of `mailadmin queue ...` fill it directly, without the relay) -------

def sql_text(value):
    """A SQL string literal (standard_conforming_strings is on), or NULL for None."""
    return "NULL" if value is None else "'" + str(value).replace("'", "''") + "'"


def insert_queued(url, id, sender="alice@example.com", recipients=("bob@example.net",),
                  message=b"From: alice@example.com\r\nSubject: hi\r\n\r\nthe body\r\n",
                  age="1 hour", next_attempt="0 seconds", attempts=0, held=False,
                  lease_owner=None, lease_for=None, last_error=None, auth_user="alice",
                  client_address="192.0.2.1", helo="client.example.org", body_type="7BIT",
                  smtputf8=False, chunked=False):
    """Inserts one postern_queue row and its recipients. `age` and `next_attempt` are
    PostgreSQL intervals (created_at = now() - age, next_attempt_at = now() + next_attempt);
    `lease_for` gives lease_until = now() + lease_for. Each recipient is an address or a tuple
    (address, status, attempts, last_reply). The message is stored whole in
    postern_queue.message, as releases before migration 5 did, or with chunked=True in
    postern_message_chunks rows of 256 KiB, as the relay does now."""
    rows = []
    for position, r in enumerate(recipients, 1):
        address, status, tries, reply = (r, "pending", 0, None) if isinstance(r, str) else r
        rows.append(f"({sql_text(id)}, {position}, {sql_text(address)}, {sql_text(status)}, "
                    f"{tries}, {sql_text(reply)})")
    lease_until = "NULL" if lease_for is None else f"now() + interval {sql_text(lease_for)}"
    sql = (
        "INSERT INTO postern_queue (id, sender, auth_user, client_address, helo, body_type, "
        "smtputf8, message, size, created_at, next_attempt_at, attempts, held, lease_owner, "
        "lease_until, last_error) VALUES ("
        f"{sql_text(id)}, {sql_text(sender)}, {sql_text(auth_user)}, {sql_text(client_address)}, "
        f"{sql_text(helo)}, {sql_text(body_type)}, {'true' if smtputf8 else 'false'}, "
        f"{'NULL' if chunked else 'decode(' + sql_text(message.hex()) + ', ' + sql_text('hex') + ')'}, "
        f"{len(message)}, now() - interval {sql_text(age)}, "
        f"now() + interval {sql_text(next_attempt)}, {attempts}, {'true' if held else 'false'}, "
        f"{sql_text(lease_owner)}, {lease_until}, {sql_text(last_error)});")
    if chunked:
        chunk = 256 * 1024
        for seq in range(0, (len(message) + chunk - 1) // chunk):
            sql += ("INSERT INTO postern_message_chunks (message_id, seq, data) VALUES ("
                    f"{sql_text(id)}, {seq}, decode('{message[seq * chunk:(seq + 1) * chunk].hex()}', 'hex'));")
    if rows:
        sql += ("INSERT INTO postern_queue_recipients "
                "(message_id, position, recipient, status, attempts, last_reply) VALUES "
                + ", ".join(rows) + ";")
    pgcluster.psql(url, sql)


class Listener:
    """A psql session LISTENing on a channel: payloads() returns what was notified since the
    last call. Use as a context manager."""

    def __init__(self, url, channel):
        self.channel = channel
        self.process = subprocess.Popen(["psql", url, "-qAtX"], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                        text=True)
        self._marks = 0
        self._until_mark(f"LISTEN {channel};")

    def _until_mark(self, sql):
        self._marks += 1
        mark = f"listener-mark-{self._marks}"
        self.process.stdin.write(f"{sql}\nSELECT '{mark}';\n")
        self.process.stdin.flush()
        lines = []
        while True:
            line = self.process.stdout.readline()
            if not line or line.strip() == mark:
                return lines
            lines.append(line)

    def payloads(self):
        # psql prints notifications after the result of the next statement it runs, leaving
        # out the payload when it is empty.
        pattern = re.compile(f'^Asynchronous notification "{re.escape(self.channel)}"'
                             '(?: with payload "(.*)")? received from server process')
        return [m.group(1) or "" for m in map(pattern.match, self._until_mark("SELECT 1;")) if m]

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.process.stdin.close()
        self.process.wait(timeout=30)
        self.process.stdout.close()


# The end of `show user` for a user with no limits of its own and nothing sent.
DEFAULT_LIMITS_SHOWN = ("  Limits:\n"
                        "    * messages per hour: default (postern.yaml)\n"
                        "    * messages per day: default (postern.yaml)\n"
                        "    * recipients per hour: default (postern.yaml)\n"
                        "    * recipients per day: default (postern.yaml)\n"
                        "  Usage: none\n")
