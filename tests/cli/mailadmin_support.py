"""Helpers for the mailadmin CLI tests: run the built binary against a fresh database.

The binary is $POSTERN_BUILD_DIR/mailadmin/mailadmin. Every run gets a clean environment
(no PG* or DATABASE_URL from the caller) and cheap Argon2id costs so the suite stays fast.
"""
import os
import socket
import subprocess
import unittest

import pgcluster

BUILD_DIR = os.environ.get("POSTERN_BUILD_DIR", os.path.join(pgcluster.SOURCE_DIR, "build"))
BINARY = os.path.join(BUILD_DIR, "mailadmin", "mailadmin")
FIXTURE = os.path.join(pgcluster.SOURCE_DIR, "tests", "fixtures", "secure_emailing.sql")

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
