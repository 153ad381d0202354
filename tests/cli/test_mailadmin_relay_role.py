"""`mailadmin migrate` and the relay's own role: created when missing, its password set from a
file (only a SCRAM secret reaches PostgreSQL), granted what the relay needs and nothing more;
a clear message and exit 7 when the owner may not create roles or set passwords, with the
migrations applied all the same. tests/integration/relay_role_test.cpp runs the relay's own
statements as the role."""
import base64
import hashlib
import hmac
import itertools
import json
import os
import re
import subprocess
import tempfile
import unittest

import pgcluster
from mailadmin_support import INVALID, SCHEMA, USAGE, MailadminTestCase, clean_env, run

_roles = itertools.count(1)


def unique_role(what):
    """Roles belong to the cluster, which other test files share: each test takes its own."""
    return f"relay_{what}_{os.getpid()}_{next(_roles)}"


def scram_matches(secret, password):
    """Whether PostgreSQL's stored SCRAM-SHA-256 secret is that of password (RFC 5802/7677)."""
    m = re.fullmatch(r"SCRAM-SHA-256\$(\d+):([^$]+)\$([^:]+):(.+)", secret)
    if not m:
        return False
    salt, stored_key, server_key = (base64.b64decode(x) for x in m.group(2, 3, 4))
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, int(m.group(1)))
    client_key = hmac.new(salted, b"Client Key", "sha256").digest()
    return (hashlib.sha256(client_key).digest() == stored_key
            and hmac.new(salted, b"Server Key", "sha256").digest() == server_key)


def as_relay(url, role, sql, password=None):
    """Runs sql with psql as role; returns (exit code, output)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    if password is not None:
        env["PGPASSWORD"] = password
    out = subprocess.run(["psql", pgcluster.relay_url(url, role), "-v", "ON_ERROR_STOP=1", "-qAtX",
                          "-c", sql], capture_output=True, text=True, env=env, timeout=30)
    return out.returncode, (out.stdout + out.stderr).strip()


class SecretFiles:
    """A folder for password files, removed with the test."""

    def secret_file(self, text):
        folder = tempfile.mkdtemp(prefix="postern-relay-pw-")
        self.addCleanup(lambda: subprocess.run(["rm", "-rf", folder], check=False))
        path = os.path.join(folder, "password")
        with open(path, "w") as f:
            f.write(text)
        return path


class MigrateSetsUpTheRelayRole(SecretFiles, MailadminTestCase):
    migrate = False

    def setUp(self):
        self.db = pgcluster.fresh_database("cli_relay")  # each test migrates a database of its own

    def stored_secret(self, role):
        return self.sql(f"SELECT rolpassword FROM pg_authid WHERE rolname = '{role}'")

    def test_role_is_created_granted_and_shown_ready(self):
        role = unique_role("new")
        status = self.ok("migrate", "--status", "--relay-role", role).splitlines()
        self.assertEqual(status[-1], f"relay role {role}: does not exist (mailadmin migrate creates it)")

        out = self.ok("migrate", "--relay-role", role).splitlines()
        self.assertEqual(out[0], "applied migration 1 (secure_emailing)")
        self.assertEqual(out[-1], f"created role {role} (LOGIN) without a password: it logs in only where "
                                  "pg_hba.conf trusts it; set one with --relay-password-file")
        self.assertEqual(self.stored_secret(role), "")
        self.assertEqual(self.ok("migrate", "--relay-role", role), "database is up to date\n")
        self.assertEqual(self.ok("migrate", "--status", "--relay-role", role).splitlines()[-1],
                         f"relay role {role}: ready")
        self.assertEqual(json.loads(self.ok("--json", "migrate", "--status", "--relay-role", role))["relay_role"],
                         {"name": role, "exists": True, "login": True, "superuser": False,
                          "missing_grants": [], "ready": True})

        # What the relay does, and what it must not.
        self.assertEqual(as_relay(self.db, role, "SELECT count(*) FROM emailing_users"), (0, "0"))
        self.assertEqual(as_relay(self.db, role, "SELECT count(*) FROM postern_queue"), (0, "0"))
        for sql in ("DELETE FROM emailing_users", "INSERT INTO emailing_domains (domain) VALUES ('x.org')",
                    "SELECT count(*) FROM postern_audit", "DROP TABLE postern_queue",
                    "CREATE TABLE mine (x integer)"):
            code, output = as_relay(self.db, role, sql)
            self.assertNotEqual(code, 0, sql)
            self.assertRegex(output, r"permission denied|must be owner", sql)

    def test_status_names_what_a_role_lacks(self):
        role = unique_role("lacking")
        self.ok("migrate", "--relay-role", role)
        self.sql(f'REVOKE SELECT ON emailing_domains FROM "{role}"; '
                 f'REVOKE UPDATE (last_login_at) ON emailing_users FROM "{role}"; ALTER ROLE "{role}" NOLOGIN')
        self.assertEqual(self.ok("migrate", "--status", "--relay-role", role).splitlines()[-1],
                         f"relay role {role}: cannot log in (NOLOGIN); lacks SELECT on emailing_domains, "
                         "UPDATE (password_hash, updated_at, last_login_at) on emailing_users "
                         "(mailadmin migrate grants them)")
        self.ok("migrate", "--relay-role", role)  # grants again; NOLOGIN stays without a password
        self.assertEqual(self.ok("migrate", "--status", "--relay-role", role).splitlines()[-1],
                         f"relay role {role}: cannot log in (NOLOGIN)")
        self.ok("migrate", "--relay-role", role, "--relay-password-file", self.secret_file("pw-Login\n"))
        self.assertEqual(self.ok("migrate", "--status", "--relay-role", role).splitlines()[-1],
                         f"relay role {role}: ready")

    def test_password_comes_from_a_file_or_the_environment(self):
        role = unique_role("pw")
        first = self.secret_file("First-relay-pw\n")  # the trailing newline is not part of it
        out = self.ok("migrate", "--relay-role", role, "--relay-password-file", first)
        self.assertTrue(out.endswith(f"created role {role} (LOGIN) with its password\n"), out)
        self.assertNotIn("First-relay-pw", out)
        self.assertTrue(scram_matches(self.stored_secret(role), "First-relay-pw"), self.stored_secret(role))

        second = self.secret_file("Second-relay-pw")
        out = self.ok("--json", "migrate", "--relay-role", role,
                      env={"POSTERN_RELAY_PASSWORD_FILE": second})
        self.assertEqual(json.loads(out), {"applied": [], "relay_role": {"name": role, "created": False,
                                                                         "password_set": True}})
        self.assertTrue(scram_matches(self.stored_secret(role), "Second-relay-pw"))
        self.assertFalse(scram_matches(self.stored_secret(role), "First-relay-pw"))
        # The option wins over the environment.
        self.assertEqual(self.ok("migrate", "--relay-role", role, "--relay-password-file", first,
                                 env={"POSTERN_RELAY_PASSWORD_FILE": second}),
                         f"database is up to date\nset the password of role {role}\n")
        self.assertTrue(scram_matches(self.stored_secret(role), "First-relay-pw"))

    def test_bad_input_changes_nothing(self):
        role = unique_role("bad")
        missing = os.path.join(tempfile.gettempdir(), f"postern-no-such-file-{os.getpid()}")
        self.assertEqual(self.fails(INVALID, "migrate", "--relay-role", role, "--relay-password-file", missing),
                         f"mailadmin: cannot read {missing}: No such file or directory")
        empty = self.secret_file("\r\n")
        self.assertEqual(self.fails(INVALID, "migrate", "--relay-role", role,
                                    env={"POSTERN_RELAY_PASSWORD_FILE": empty}),
                         f"mailadmin: {empty} is empty")
        self.assertEqual(self.fails(INVALID, "migrate", "--relay-role", "r" * 64),
                         "mailadmin: the relay role's name is longer than 63 bytes")
        self.assertEqual(self.fails(INVALID, "migrate", "--relay-role", ""),
                         "mailadmin: the relay role's name is empty")
        self.assertEqual(self.fails(USAGE, "migrate", "--status", "--relay-password-file", missing),
                         "mailadmin: usage: migrate [--status] [--contract] [--relay-role NAME] "
                         "[--relay-password-file FILE]")
        # Nothing was migrated, no role created.
        self.assertRegex(self.ok("migrate", "--status").splitlines()[0], r"^0001 secure_emailing +pending$")
        self.assertEqual(self.sql(f"SELECT count(*) FROM pg_roles WHERE rolname = '{role}'"), "0")

    def test_the_connected_user_cannot_be_the_relay_role(self):
        out = run(["migrate", "--relay-role", "postern"], self.db)
        self.assertEqual(out.returncode, INVALID, out.stderr)
        self.assertEqual(out.stderr, "mailadmin: the relay role must be a role of its own, not postern, "
                                     "the user mailadmin connects as\n")
        # The migrations ran before the role was looked at, and are reported.
        self.assertTrue(out.stdout.startswith("applied migration 1 (secure_emailing)\n"), out.stdout)


class AnOwnerWithoutCreateRole(SecretFiles, unittest.TestCase):
    """A cluster of its own, where the database's owner may not create roles, connections of the
    relay role need its password (scram-sha-256), and every statement is logged."""

    @classmethod
    def setUpClass(cls):
        cls.cluster = pgcluster.PrivateCluster()
        cls.addClassCleanup(cls.cluster.destroy)
        superuser = cls.cluster.start()
        cls.superuser = superuser
        cls.role = "relay_of_owner"
        data = os.path.join(cls.cluster.dir, "pg", "data")
        hba = os.path.join(data, "pg_hba.conf")
        with open(hba) as f:
            rules = f.read()
        with open(hba, "w") as f:
            f.write(f"host all {cls.role} 127.0.0.1/32 scram-sha-256\n" + rules)
        pgcluster.psql(superuser, "CREATE ROLE mail_owner LOGIN")  # no CREATEROLE, no superuser
        pgcluster.psql(superuser, "CREATE DATABASE mail OWNER mail_owner")
        pgcluster.psql(superuser, "ALTER SYSTEM SET log_statement = 'all'")
        pgcluster.psql(superuser, "SELECT pg_reload_conf()")
        cls.db = re.sub(r"//postern@(.*)/postern$", r"//mail_owner@\1/mail", superuser)
        cls.log = os.path.join(cls.cluster.dir, "pg", "postgres.log")

    def mailadmin(self, *args, env=None):
        return run(list(args), self.db, env=env)

    def test_missing_role_then_created_by_a_superuser_then_its_password(self):
        # 1. The owner may not create the role: the migrations are applied, the message says
        # what a superuser runs, exit 7.
        out = self.mailadmin("migrate", "--relay-role", self.role)
        self.assertEqual(out.returncode, SCHEMA, out.stderr)
        self.assertTrue(out.stdout.startswith("applied migration 1 (secure_emailing)\n"), out.stdout)
        self.assertNotIn("role", out.stdout)
        self.assertEqual(out.stderr,
                         f"mailadmin: role {self.role} does not exist, and mail_owner may not create roles: "
                         f'have a superuser run CREATE ROLE "{self.role}" LOGIN and set its password '
                         f'(psql: \\password "{self.role}"), then run mailadmin migrate again to grant it '
                         "what the relay needs (the migrations are applied)\n")
        status = self.mailadmin("migrate", "--status", "--relay-role", self.role).stdout.splitlines()
        self.assertRegex(status[0], r"^0001 secure_emailing +applied ")
        self.assertEqual(status[-1], f"relay role {self.role}: does not exist (mailadmin migrate creates it)")

        # 2. A superuser creates it; the owner's next migrate grants it (CONNECT and USAGE come
        # from PUBLIC: the owner of the tables need not own the schema).
        password = "Relay-pw-9c2e"
        secret = subprocess.run(["psql", self.superuser, "-qAtX", "-c",
                                 f"SET password_encryption = 'scram-sha-256'; "
                                 f"CREATE ROLE {self.role} LOGIN PASSWORD '{password}'"],
                                capture_output=True, text=True)
        self.assertEqual(secret.returncode, 0, secret.stderr)
        code, output = as_relay(self.db, self.role, "SELECT count(*) FROM emailing_users", password)
        self.assertNotEqual(code, 0, "no grant yet")
        self.assertIn("permission denied", output)
        out = self.mailadmin("migrate", "--relay-role", self.role)
        self.assertEqual((out.returncode, out.stdout, out.stderr), (0, "database is up to date\n", ""))
        self.assertEqual(self.mailadmin("migrate", "--status", "--relay-role", self.role).stdout.splitlines()[-1],
                         f"relay role {self.role}: ready")
        self.assertEqual(as_relay(self.db, self.role, "SELECT count(*) FROM emailing_users", password), (0, "0"))

        # 3. Nor may the owner set its password: the grants hold, exit 7, the password unchanged.
        out = self.mailadmin("migrate", "--relay-role", self.role,
                             "--relay-password-file", self.secret_file("Other-pw-1\n"))
        self.assertEqual((out.returncode, out.stdout), (SCHEMA, "database is up to date\n"), out.stderr)
        self.assertEqual(out.stderr,
                         f"mailadmin: mail_owner may not set the password of role {self.role}: have a superuser "
                         f'set it (psql: \\password "{self.role}") or leave the password out; the migrations '
                         "are applied and the role holds what the relay needs\n")
        self.assertEqual(as_relay(self.db, self.role, "SELECT 1", password), (0, "1"))

    def test_password_set_by_mailadmin_logs_in_and_never_reaches_the_log(self):
        role, password = "relay_scram", "Scram-relay-pw-31f"
        with open(os.path.join(self.cluster.dir, "pg", "data", "pg_hba.conf")) as f:
            rules = f.read()
        with open(os.path.join(self.cluster.dir, "pg", "data", "pg_hba.conf"), "w") as f:
            f.write(f"host all {role} 127.0.0.1/32 scram-sha-256\n" + rules)
        pgcluster.psql(self.superuser, "SELECT pg_reload_conf()")
        db = pgcluster.fresh_database("scram", cluster_url=self.superuser)

        out = run(["migrate", "--relay-role", role, "--relay-password-file", self.secret_file(password + "\n")], db)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertTrue(out.stdout.endswith(f"created role {role} (LOGIN) with its password\n"), out.stdout)
        self.assertEqual(as_relay(db, role, "SELECT current_user", password), (0, role))
        code, output = as_relay(db, role, "SELECT 1", "wrong-" + password)
        self.assertNotEqual(code, 0)
        self.assertIn("password authentication failed", output)

        out = run(["migrate", "--relay-role", role], db, env={"POSTERN_RELAY_PASSWORD_FILE":
                                                             self.secret_file("New-" + password)})
        self.assertEqual((out.returncode, out.stdout), (0, f"database is up to date\nset the password of role {role}\n"),
                         out.stderr)
        self.assertEqual(as_relay(db, role, "SELECT 1", "New-" + password), (0, "1"))
        self.assertNotEqual(as_relay(db, role, "SELECT 1", password)[0], 0)

        with open(self.log, encoding="utf-8", errors="replace") as f:
            log = f.read()
        self.assertIn(f'CREATE ROLE "{role}" WITH LOGIN', log)  # log_statement = all: it is logged...
        self.assertIn("PASSWORD 'SCRAM-SHA-256$", log)        # ...with the secret only
        self.assertNotIn(password, log)


if __name__ == "__main__":
    unittest.main()
