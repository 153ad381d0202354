"""mailadmin, one command at a time: the Secure Emailing command words, the additions
(revoke, passwd, disable/enable, check, audit, migrate), --json, and every error's exit code."""
import json
import os
import pty
import select
import subprocess
import time
import unittest

from pgcluster import SOURCE_DIR
from mailadmin_support import (BINARY, COMPLETION_SCRIPT, DEFAULT_LIMITS_SHOWN, DENIED, EXISTS, INVALID, NOT_FOUND, SCHEMA, UNREACHABLE,
                               USAGE, MailadminTestCase, clean_env, closed_port_url, run)


class AddListShowBehaveLikeSecureEmailing(MailadminTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        for args in (["add", "user", "test2", "--password-stdin"],
                     ["add", "user", "Test1", "--password-stdin"],
                     ["add", "user", "demo", "--password-stdin"]):
            assert run(args, cls.db, input="secret\n").returncode == 0
        for args in (["add", "address", "user@Test1.COM"], ["add", "address", "alpha@demo.com"],
                     ["add", "domain", "TEST1.com"], ["add", "domain", "demo.com"],
                     ["grant", "address", "user@test1.com", "to", "test1"],
                     ["grant", "address", "user@test1.com", "to", "test2"],
                     ["grant", "domain", "test1.com", "to", "test1"]):
            out = run(args, cls.db)
            assert out.returncode == 0 and out.stdout == "" and out.stderr == "", (args, out)

    def test_list_users_is_sorted_and_lowercased(self):
        self.assertEqual(self.ok("list", "users"),
                         "--- emailing_users ---\n    - demo\n    - test1\n    - test2\n")

    def test_list_addresses_lowercases_the_domain(self):
        self.assertEqual(self.ok("list", "addresses"),
                         "--- emailing_addresses ---\n    - alpha@demo.com\n    - user@test1.com\n")

    def test_list_domains(self):
        self.assertEqual(self.ok("list", "domains"),
                         "--- emailing_domains ---\n    - demo.com\n    - test1.com\n")

    def test_show_user_prints_status_password_and_grants(self):
        self.assertEqual(self.ok("show", "user", "TEST1"),
                         "--- Show test1 ---\n"
                         "  Status: enabled\n"
                         "  Password: argon2id\n"
                         "  Last login: never\n"
                         "  Domains:\n"
                         "    * test1.com\n"
                         "  Addresses:\n"
                         "    * user@test1.com\n"
                         + DEFAULT_LIMITS_SHOWN)

    def test_show_address_lists_its_users(self):
        self.assertEqual(self.ok("show", "address", "user@TEST1.com"),
                         "--- Show user@test1.com ---\n  Users:\n    * test1\n    * test2\n")

    def test_show_domain_lists_its_users(self):
        self.assertEqual(self.ok("show", "domain", "test1.com"),
                         "--- Show test1.com ---\n  Users:\n    * test1\n")

    def test_show_of_missing_names_is_not_found(self):
        self.assertEqual(self.fails(NOT_FOUND, "show", "user", "nobody"),
                         "mailadmin: user nobody does not exist")
        self.assertEqual(self.fails(NOT_FOUND, "show", "address", "no@where.org"),
                         "mailadmin: address no@where.org does not exist")
        self.assertEqual(self.fails(NOT_FOUND, "show", "domain", "where.org"),
                         "mailadmin: domain where.org does not exist")

    def test_json_lists_and_shows(self):
        users = json.loads(self.ok("list", "users", "--json"))
        self.assertEqual(users, {"users": [{"name": "demo", "enabled": True},
                                           {"name": "test1", "enabled": True},
                                           {"name": "test2", "enabled": True}]})
        self.assertEqual(json.loads(self.ok("--json", "list", "addresses")),
                         {"addresses": ["alpha@demo.com", "user@test1.com"]})
        self.assertEqual(json.loads(self.ok("list", "--json", "domains")),
                         {"domains": ["demo.com", "test1.com"]})
        user = json.loads(self.ok("show", "user", "test1", "--json"))["user"]
        self.assertEqual(user["name"], "test1")
        self.assertIs(user["enabled"], True)
        self.assertIs(user["legacy_password"], False)
        self.assertEqual(user["password_scheme"], "argon2id")
        self.assertIsNone(user["last_login_at"])
        self.assertEqual(user["addresses"], ["user@test1.com"])
        self.assertEqual(user["domains"], ["test1.com"])
        self.assertEqual(user["limits"], {"messages_per_hour": "default", "messages_per_day": "default",
                                          "recipients_per_hour": "default", "recipients_per_day": "default"})
        self.assertEqual(user["usage"], [])
        self.assertEqual(json.loads(self.ok("--json", "show", "address", "user@test1.com")),
                         {"address": {"address": "user@test1.com", "users": ["test1", "test2"]}})
        self.assertEqual(json.loads(self.ok("show", "domain", "test1.com", "--json")),
                         {"domain": {"domain": "test1.com", "users": ["test1"]}})



class AddNormalisesAndConfirmsOnRequest(MailadminTestCase):
    def test_address_of_unknown_domain_may_be_added(self):
        self.assertEqual(self.ok("add", "address", "someone@elsewhere.net"), "")
        self.assertIn("someone@elsewhere.net", self.ok("list", "addresses"))
        self.assertNotIn("elsewhere.net\n", self.ok("list", "domains"))

    def test_idna_domain_is_stored_as_a_label(self):
        self.ok("add", "domain", "Bücher.example")
        self.assertIn("    - xn--bcher-kva.example\n", self.ok("list", "domains"))

    def test_verbose_confirms_changes(self):
        self.assertEqual(self.ok("-v", "add", "domain", "verbose.org"), "domain verbose.org added\n")
        self.assertEqual(self.ok("del", "domain", "verbose.org", "--verbose"),
                         "domain verbose.org deleted\n")


class DuplicatesAndInvalidInputAreRefused(MailadminTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        run(["add", "user", "alice", "--password-stdin"], cls.db, input="pw\n")
        run(["add", "address", "a@example.com"], cls.db)
        run(["add", "domain", "example.com"], cls.db)

    def test_duplicates_exit_4(self):
        self.assertEqual(self.fails(EXISTS, "add", "user", "ALICE", "--password-stdin", input="x\n"),
                         "mailadmin: user alice already exists")
        self.assertEqual(self.fails(EXISTS, "add", "address", "a@EXAMPLE.com"),
                         "mailadmin: address a@example.com already exists")
        self.assertEqual(self.fails(EXISTS, "add", "domain", "Example.Com"),
                         "mailadmin: domain example.com already exists")

    def test_address_differing_only_in_local_part_case_is_a_duplicate(self):
        self.fails(EXISTS, "add", "address", "A@example.com")

    def test_invalid_names_exit_5(self):
        self.assertEqual(self.fails(INVALID, "add", "address", "no-at-sign"),
                         'mailadmin: invalid address "no-at-sign": missing @')
        self.assertIn('invalid domain "bad_domain"', self.fails(INVALID, "add", "domain", "bad_domain"))
        self.assertIn("invalid domain", self.fails(INVALID, "add", "domain", "localhost"))
        self.assertIn('invalid user name "bad name!"',
                      self.fails(INVALID, "add", "user", "bad name!", "--password-stdin", input="x\n"))
        self.assertIn("invalid address", self.fails(INVALID, "show", "address", "nope"))
        self.assertIn("invalid domain", self.fails(INVALID, "grant", "domain", "x_y", "to", "alice"))

    def test_empty_password_is_refused(self):
        self.assertEqual(self.fails(INVALID, "add", "user", "bob", "--password-stdin", input="\n"),
                         "mailadmin: password is empty")
        self.assertEqual(self.fails(INVALID, "add", "user", "bob", "--password-stdin", input=""),
                         "mailadmin: no password on standard input")
        self.fails(NOT_FOUND, "show", "user", "bob")


class GrantsAndRevokesNameWhatIsMissing(MailadminTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        run(["add", "user", "alice", "--password-stdin"], cls.db, input="pw\n")
        run(["add", "address", "alice@example.com"], cls.db)
        run(["add", "domain", "example.com"], cls.db)

    def test_grant_and_revoke_address(self):
        self.assertEqual(self.ok("grant", "address", "Alice@EXAMPLE.com", "to", "Alice"), "")
        self.assertIn("    * alice@example.com\n", self.ok("show", "user", "alice"))
        self.assertEqual(self.fails(EXISTS, "grant", "address", "alice@example.com", "to", "alice"),
                         "mailadmin: user alice is already granted address alice@example.com")
        self.assertEqual(self.ok("revoke", "address", "alice@example.com", "from", "alice"), "")
        self.assertNotIn("alice@example.com", self.ok("show", "user", "alice"))
        self.assertEqual(self.fails(NOT_FOUND, "revoke", "address", "alice@example.com", "from", "alice"),
                         "mailadmin: user alice is not granted address alice@example.com")

    def test_grant_and_revoke_domain(self):
        self.ok("grant", "domain", "EXAMPLE.com", "to", "alice")
        self.assertIn("  Domains:\n    * example.com\n", self.ok("show", "user", "alice"))
        self.assertIn("    * alice\n", self.ok("show", "domain", "example.com"))
        self.fails(EXISTS, "grant", "domain", "example.com", "to", "alice")
        self.ok("revoke", "domain", "example.com", "from", "alice")
        self.assertEqual(self.ok("show", "domain", "example.com"),
                         "--- Show example.com ---\n  Users:\n")
        self.fails(NOT_FOUND, "revoke", "domain", "example.com", "from", "alice")

    def test_unknown_user_is_named(self):
        self.assertEqual(self.fails(NOT_FOUND, "grant", "address", "alice@example.com", "to", "carol"),
                         "mailadmin: user carol does not exist")
        self.assertEqual(self.fails(NOT_FOUND, "grant", "domain", "example.com", "to", "carol"),
                         "mailadmin: user carol does not exist")

    def test_unknown_address_or_domain_is_named(self):
        self.assertEqual(self.fails(NOT_FOUND, "grant", "address", "zed@example.com", "to", "alice"),
                         "mailadmin: address zed@example.com does not exist")
        self.assertEqual(self.fails(NOT_FOUND, "grant", "domain", "other.org", "to", "alice"),
                         "mailadmin: domain other.org does not exist")
        self.assertEqual(self.fails(NOT_FOUND, "revoke", "domain", "other.org", "from", "alice"),
                         "mailadmin: domain other.org does not exist")

    def test_missing_keyword_is_a_usage_error(self):
        self.assertEqual(self.fails(USAGE, "grant", "address", "alice@example.com", "alice"),
                         "mailadmin: usage: grant address ADDRESS to USER")
        self.assertEqual(self.fails(USAGE, "grant", "domain", "example.com", "from", "alice"),
                         "mailadmin: usage: grant domain DOMAIN to USER")
        self.assertEqual(self.fails(USAGE, "revoke", "domain", "example.com", "to", "alice"),
                         "mailadmin: usage: revoke domain DOMAIN from USER")


class DeleteRemovesRowsAndTheirGrants(MailadminTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        for name in ("alice", "bob"):
            run(["add", "user", name, "--password-stdin"], cls.db, input="pw\n")
        for args in (["add", "address", "shared@example.com"], ["add", "domain", "example.com"],
                     ["grant", "address", "shared@example.com", "to", "alice"],
                     ["grant", "address", "shared@example.com", "to", "bob"],
                     ["grant", "domain", "example.com", "to", "bob"]):
            run(args, cls.db)

    def test_del_user_address_domain(self):
        self.assertEqual(self.ok("del", "user", "alice"), "")
        self.assertEqual(self.ok("show", "address", "shared@example.com"),
                         "--- Show shared@example.com ---\n  Users:\n    * bob\n")
        self.ok("del", "address", "shared@example.com")
        self.ok("del", "domain", "example.com")
        show = self.ok("show", "user", "bob")
        self.assertIn("  Domains:\n  Addresses:\n", show)
        self.assertEqual(self.ok("list", "users"), "--- emailing_users ---\n    - bob\n")

    def test_del_of_missing_names_is_not_found(self):
        self.assertEqual(self.fails(NOT_FOUND, "del", "user", "ghost"),
                         "mailadmin: user ghost does not exist")
        self.assertEqual(self.fails(NOT_FOUND, "del", "address", "ghost@example.org"),
                         "mailadmin: address ghost@example.org does not exist")
        self.assertEqual(self.fails(NOT_FOUND, "del", "domain", "ghost.org"),
                         "mailadmin: domain ghost.org does not exist")


class PasswordsAreHashedAndNeverShown(MailadminTestCase):
    def hash_of(self, user):
        return self.sql(f"SELECT password_hash FROM emailing_users WHERE name = '{user}'")

    def test_password_stdin_stores_argon2id(self):
        out = self.mailadmin("add", "user", "carol", "--password-stdin", input="Very-Secret-1\n")
        self.assertEqual((out.returncode, out.stdout, out.stderr), (0, "", ""))
        self.assertTrue(self.hash_of("carol").startswith("$argon2id$v=19$m=1024,t=1,p=1$"))
        show = self.ok("show", "user", "carol") + self.ok("show", "user", "carol", "--json")
        self.assertNotIn("Very-Secret-1", show)
        self.assertNotIn("argon2id$", show)

    def test_piped_stdin_without_flag_is_read_too(self):
        self.ok("add", "user", "dave", input="from-a-pipe\r\n")
        self.assertTrue(self.hash_of("dave").startswith("$argon2id$"))

    def test_argon2_flags_override_the_environment(self):
        self.ok("--argon2-memory-kib", "2048", "--argon2-iterations", "2", "add", "user", "erin",
                "--password-stdin", input="pw\n")
        self.assertTrue(self.hash_of("erin").startswith("$argon2id$v=19$m=2048,t=2,p=1$"))
        self.assertEqual(self.fails(USAGE, "--argon2-iterations", "0", "list", "users"),
                         "mailadmin: --argon2-memory-kib and --argon2-iterations must be positive")
        self.fails(USAGE, "list", "users", env={"POSTERN_ARGON2_MEMORY_KIB": "lots"})

    def test_passwd_replaces_the_hash(self):
        self.add_user("frank", "first")
        before = self.hash_of("frank")
        self.assertEqual(self.ok("passwd", "frank", "--password-stdin", input="second\n"), "")
        after = self.hash_of("frank")
        self.assertNotEqual(before, after)
        self.assertTrue(after.startswith("$argon2id$"))
        self.assertEqual(self.fails(NOT_FOUND, "passwd", "ghost", "--password-stdin", input="x\n"),
                         "mailadmin: user ghost does not exist")
        self.fails(INVALID, "passwd", "frank", "--password-stdin", input="\n")
        self.assertEqual(self.hash_of("frank"), after)


class TerminalPasswordPrompt(MailadminTestCase):
    """`add user` and `passwd` on a terminal ask twice without echo (a real pty)."""

    def converse(self, args, answers):
        """Runs mailadmin on a pty; answers each prompt in turn. Returns (exit code, transcript)."""
        master, slave = pty.openpty()
        proc = subprocess.Popen([BINARY, *args], stdin=slave, stdout=slave, stderr=slave,
                                env=clean_env(DATABASE_URL=self.db), start_new_session=True)
        os.close(slave)
        transcript = b""
        pending = list(answers)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.5)
            if ready:
                try:
                    chunk = os.read(master, 4096)
                except OSError:  # EIO: the child closed the terminal
                    break
                if not chunk:
                    break
                transcript += chunk
                if pending and transcript.rstrip().endswith(pending[0][0].encode()):
                    os.write(master, pending.pop(0)[1].encode() + b"\n")
            elif proc.poll() is not None:
                break
        code = proc.wait(timeout=10)
        os.close(master)
        return code, transcript.decode(errors="replace")

    def test_password_is_asked_twice_without_echo(self):
        code, transcript = self.converse(["add", "user", "tty1"],
                                         [("password:", "Hidden-Pw-1"),
                                          ("retype password:", "Hidden-Pw-1")])
        self.assertEqual(code, 0, transcript)
        self.assertIn("password: ", transcript)
        self.assertIn("retype password: ", transcript)
        self.assertNotIn("Hidden-Pw-1", transcript)
        self.assertTrue(self.sql("SELECT password_hash FROM emailing_users WHERE name = 'tty1'")
                        .startswith("$argon2id$"))

    def test_mismatch_is_refused(self):
        code, transcript = self.converse(["add", "user", "tty2"],
                                         [("password:", "one-thing"),
                                          ("retype password:", "another")])
        self.assertEqual(code, INVALID, transcript)
        self.assertIn("mailadmin: passwords do not match", transcript)
        self.assertNotIn("one-thing", transcript)
        self.fails(NOT_FOUND, "show", "user", "tty2")

    def test_existing_user_is_refused_before_asking(self):
        self.add_user("tty3")
        code, transcript = self.converse(["add", "user", "tty3"], [])
        self.assertEqual(code, EXISTS, transcript)
        self.assertNotIn("password:", transcript)

    def test_passwd_on_a_terminal(self):
        self.add_user("tty4", "old")
        before = self.sql("SELECT password_hash FROM emailing_users WHERE name = 'tty4'")
        code, transcript = self.converse(["passwd", "tty4"], [("password:", "New-Pw-4"),
                                                               ("retype password:", "New-Pw-4")])
        self.assertEqual(code, 0, transcript)
        self.assertNotIn("New-Pw-4", transcript)
        self.assertNotEqual(before,
                            self.sql("SELECT password_hash FROM emailing_users WHERE name = 'tty4'"))


class DisableAndEnable(MailadminTestCase):
    def test_disabled_user_shows_in_list_and_show(self):
        self.add_user("gina")
        self.add_user("hank")
        self.assertEqual(self.ok("disable", "Gina"), "")
        self.assertEqual(self.ok("list", "users"),
                         "--- emailing_users ---\n    - gina (disabled)\n    - hank\n")
        self.assertIn("  Status: disabled\n", self.ok("show", "user", "gina"))
        self.assertEqual(json.loads(self.ok("list", "users", "--json"))["users"][0],
                         {"name": "gina", "enabled": False})
        self.ok("enable", "gina")
        self.assertIn("  Status: enabled\n", self.ok("show", "user", "gina"))
        self.assertEqual(self.fails(NOT_FOUND, "disable", "ghost"), "mailadmin: user ghost does not exist")
        self.fails(NOT_FOUND, "enable", "ghost")


class CheckTellsWhichGrantAllows(MailadminTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        run(["add", "user", "alice", "--password-stdin"], cls.db, input="pw\n")
        run(["add", "user", "mallory", "--password-stdin"], cls.db, input="pw\n")
        for args in (["add", "address", "bob@other.org"], ["add", "domain", "example.com"],
                     ["grant", "address", "bob@other.org", "to", "alice"],
                     ["grant", "domain", "example.com", "to", "alice"],
                     ["grant", "domain", "example.com", "to", "mallory"],
                     ["disable", "mallory"]):
            run(args, cls.db)

    def test_allowed_through_an_address_grant(self):
        self.assertEqual(self.ok("check", "alice", "Bob@other.org"),
                         "alice may send as Bob@other.org (address grant bob@other.org)\n")

    def test_allowed_through_a_domain_grant(self):
        self.assertEqual(self.ok("check", "alice", "anyone@EXAMPLE.com"),
                         "alice may send as anyone@example.com (domain grant example.com)\n")

    def test_denied_exits_10(self):
        out = self.mailadmin("check", "alice", "x@y.org")
        self.assertEqual((out.returncode, out.stdout, out.stderr),
                         (DENIED, "alice may not send as x@y.org\n", ""))
        out = self.mailadmin("check", "alice", "x@sub.example.com")
        self.assertEqual(out.returncode, DENIED)

    def test_disabled_user_is_denied(self):
        out = self.mailadmin("check", "mallory", "m@example.com")
        self.assertEqual(out.returncode, DENIED)
        self.assertEqual(out.stdout, "mallory may not send as m@example.com "
                                     "(user is disabled; domain grant example.com)\n")

    def test_subaddress_delimiter_is_the_relays_policy(self):
        self.assertEqual(self.ok("check", "alice", "bob+tag@other.org"),
                         "alice may send as bob+tag@other.org (address grant bob@other.org)\n")
        self.assertEqual(self.mailadmin("check", "alice", "bob+tag@other.org",
                                        "--subaddress-delimiter", "").returncode, DENIED)
        self.assertEqual(self.ok("check", "alice", "bob-tag@other.org", "--subaddress-delimiter", "-"),
                         "alice may send as bob-tag@other.org (address grant bob@other.org)\n")
        self.assertEqual(self.mailadmin("check", "alice", "BOB@other.org", "--case-sensitive").returncode,
                         DENIED)

    def test_json(self):
        self.assertEqual(json.loads(self.ok("--json", "check", "alice", "z@example.com")),
                         {"user": "alice", "address": "z@example.com", "allowed": True,
                          "enabled": True, "via": "domain", "grant": "example.com"})
        out = self.mailadmin("check", "alice", "z@nowhere.org", "--json")
        self.assertEqual(out.returncode, DENIED)
        self.assertEqual(json.loads(out.stdout),
                         {"user": "alice", "address": "z@nowhere.org", "allowed": False,
                          "enabled": True, "via": None, "grant": None})

    def test_errors(self):
        self.assertEqual(self.fails(NOT_FOUND, "check", "ghost", "a@example.com"),
                         "mailadmin: user ghost does not exist")
        self.fails(INVALID, "check", "alice", "not-an-address")
        self.assertEqual(self.fails(USAGE, "check", "alice"),
                         "mailadmin: usage: check USER ADDRESS [--subaddress-delimiter D] [--case-sensitive]")


class AuditRecordsEveryChange(MailadminTestCase):
    def test_audit_log_and_since(self):
        self.ok("--actor", "ops-anna", "add", "domain", "audit.org")
        self.ok("add", "address", "a@audit.org", "--actor", "ops-anna")
        self.add_user("ivan")
        self.ok("--actor", "ops-ben", "grant", "address", "a@audit.org", "to", "ivan")
        self.ok("--actor", "ops-ben", "grant", "domain", "audit.org", "to", "ivan")
        self.ok("--actor", "ops-ben", "revoke", "domain", "audit.org", "from", "ivan")
        self.ok("--actor", "ops-ben", "disable", "ivan")
        self.ok("--actor", "ops-ben", "passwd", "ivan", "--password-stdin", input="Secret-PW\n")
        self.ok("--actor", "ops-ben", "del", "address", "a@audit.org")
        self.fails(NOT_FOUND, "--actor", "ops-ben", "del", "user", "ghost")  # failures leave no row

        lines = self.ok("audit").splitlines()
        rest = [line.split("  ", 2)[1:] for line in lines]
        self.assertEqual(rest, [
            ["ops-anna", "add domain audit.org"],
            ["ops-anna", "add address a@audit.org"],
            [rest[2][0], "add user ivan"],
            ["ops-ben", "grant address a@audit.org to ivan"],
            ["ops-ben", "grant domain audit.org to ivan"],
            ["ops-ben", "revoke domain audit.org from ivan"],
            ["ops-ben", "disable user ivan"],
            ["ops-ben", "passwd ivan"],
            ["ops-ben", "del address a@audit.org"],
        ])
        self.assertTrue(rest[2][0])  # the OS user by default
        self.assertRegex(lines[0], r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d  ")
        self.assertNotIn("Secret-PW", self.ok("audit"))

        entries = json.loads(self.ok("audit", "--json"))["audit"]
        self.assertEqual(len(entries), 9)
        self.assertEqual(set(entries[3]), {"at", "actor", "action", "subject", "detail"})
        self.assertEqual((entries[3]["action"], entries[3]["subject"], entries[3]["detail"]),
                         ("grant address", "a@audit.org", "to ivan"))

        # --since is inclusive and read in UTC, like the printed times.
        self.assertEqual(len(self.ok("audit", "--since", entries[0]["at"]).splitlines()), 9)
        self.assertEqual(self.ok("audit", "--since", "2999-01-01"), "")
        self.assertEqual(json.loads(self.ok("audit", "--since", "2999-01-01 00:00", "--json")),
                         {"audit": []})
        self.assertEqual(self.fails(INVALID, "audit", "--since", "yesterday-ish"),
                         'mailadmin: invalid timestamp "yesterday-ish" for --since')
        self.assertIn("--since", self.fails(USAGE, "audit", "--since"))


class MigrateAndItsStatus(MailadminTestCase):
    migrate = False

    def test_unmigrated_then_migrated_then_changed(self):
        status = self.ok("migrate", "--status").splitlines()
        self.assertGreaterEqual(len(status), 3)
        self.assertRegex(status[0], r"^0001 secure_emailing +pending$")
        self.assertRegex(status[1], r"^0002 postern_data_model +pending$")
        self.assertRegex(status[2], r"^0003 audit +pending$")

        for args in (["list", "users"], ["add", "domain", "x.org"], ["audit"], ["check", "a", "a@b.org"]):
            self.assertEqual(self.fails(SCHEMA, *args),
                             "mailadmin: database schema is not migrated; run mailadmin migrate")

        applied = self.ok("migrate").splitlines()
        self.assertEqual(applied[:3], ["applied migration 1 (secure_emailing)",
                                       "applied migration 2 (postern_data_model)",
                                       "applied migration 3 (audit)"])
        # Contract steps wait for `migrate --contract`, after a rollout: the relay is ready without.
        migrations = [line for line in status if line[:4].isdigit()]
        contract = [line for line in migrations if " contract_" in line]
        self.assertEqual(len([line for line in applied if line.startswith("applied migration ")]),
                         len(migrations) - len(contract))
        self.assertEqual(self.ok("migrate"), "database is up to date\n")
        self.assertEqual(json.loads(self.ok("migrate", "--json")),
                         {"applied": [], "relay_role": {"name": "postern_relay", "created": False,
                                                        "password_set": False}})

        status = self.ok("migrate", "--status").splitlines()
        self.assertRegex(status[0], r"^0001 secure_emailing +applied \d{4}-\d\d-\d\d \d\d:\d\d:\d\d$")
        self.assertRegex(status[5], r"^0006 contract_drop_queue_message +pending contract step "
                                    r"\(mailadmin migrate --contract, once every replica is upgraded\)$")
        self.assertEqual(json.loads(self.ok("migrate", "--status", "--json"))["migrations"][5]["state"],
                         "pending_contract")
        self.assertEqual(self.ok("migrate", "--contract"),
                         "applied migration 6 (contract_drop_queue_message)\n")
        self.assertRegex(self.ok("migrate", "--status").splitlines()[5], r"^0006 \S+ +applied ")
        self.assertEqual(self.ok("migrate", "--contract"), "database is up to date\n")
        migrations = json.loads(self.ok("--json", "migrate", "--status"))["migrations"]
        self.assertEqual(migrations[1]["version"], 2)
        self.assertEqual(migrations[1]["name"], "postern_data_model")
        self.assertEqual(migrations[1]["state"], "applied")
        self.assertRegex(migrations[1]["applied_at"], r"^\d{4}-")
        self.assertEqual(self.ok("list", "users"), "--- emailing_users ---\n")

        # A version recorded by a newer Postern: reported, not fatal.
        self.sql("INSERT INTO postern_schema_migrations (version, name, checksum) "
                 "VALUES (9999, 'from_the_future', 'x')")
        status = self.ok("migrate", "--status").splitlines()
        self.assertEqual(status[-2].split(), ["9999", "from_the_future", "unknown", "(newer)"])
        self.assertEqual(status[-1], "relay role postern_relay: ready")
        self.ok("list", "users")

        # An applied migration whose text changed: every command refuses.
        self.sql("UPDATE postern_schema_migrations SET checksum = 'tampered' WHERE version = 2")
        self.assertRegex(self.ok("migrate", "--status").splitlines()[1],
                         r"^0002 postern_data_model +CHANGED \(applied .*\)$")
        self.assertEqual(json.loads(self.ok("migrate", "--status", "--json"))["migrations"][1]["state"],
                         "changed")
        self.assertIn("migration 2 (postern_data_model) was changed", self.fails(SCHEMA, "list", "users"))
        self.assertIn("was changed", self.fails(SCHEMA, "migrate"))


MIGRATE_USAGE = "migrate [--status] [--contract] [--relay-role NAME] [--relay-password-file FILE]"


class UsageErrorsAreOneLineAndExit2(MailadminTestCase):
    CASES = {
        ("frobnicate",): 'mailadmin: unknown command "frobnicate" (try mailadmin help)',
        ("add",): "mailadmin: usage: add user USER | add address ADDRESS | add domain DOMAIN | "
                  "add share RECIPIENT",
        ("add", "robot", "x"): 'mailadmin: unknown command "add robot" '
                               "(usage: add user USER | add address ADDRESS | add domain DOMAIN | "
                               "add share RECIPIENT)",
        ("add", "user"): "mailadmin: usage: add user USER [--password-stdin]",
        ("add", "domain", "a.org", "b.org"): "mailadmin: usage: add domain DOMAIN",
        ("list",): "mailadmin: usage: list users|addresses|domains|shares",
        ("list", "users", "extra"): "mailadmin: usage: list users",
        ("list", "users", "--frob"): "mailadmin: unknown option --frob (usage: list users)",
        ("--frob",): "mailadmin: unknown option --frob",
        ("show", "user"): "mailadmin: usage: show user USER",
        ("del",): "mailadmin: usage: del user USER | del address ADDRESS | del domain DOMAIN | "
                  "del share RECIPIENT",
        ("revoke", "address", "a@b.org"): "mailadmin: usage: revoke address ADDRESS from USER",
        ("passwd",): "mailadmin: usage: passwd USER [--password-stdin]",
        ("disable",): "mailadmin: usage: disable USER",
        ("enable", "a", "b"): "mailadmin: usage: enable USER",
        ("migrate", "now"): "mailadmin: usage: " + MIGRATE_USAGE,
        ("migrate", "--status", "--contract"): "mailadmin: usage: " + MIGRATE_USAGE,
        ("migrate", "--status", "--relay-password-file", "pw"): "mailadmin: usage: " + MIGRATE_USAGE,
        ("migrate", "--relay-role"): "mailadmin: --relay-role: 1 required TEXT missing (usage: "
                                     + MIGRATE_USAGE + ")",
        ("--argon2-memory-kib", "lots", "list", "users"):
            "mailadmin: Could not convert: --argon2-memory-kib = lots",
    }

    def test_each_usage_error(self):
        for args, message in self.CASES.items():
            with self.subTest(args=args):
                self.assertEqual(self.fails(USAGE, *args), message)

    def test_usage_errors_need_no_database(self):
        self.assertEqual(self.fails(USAGE, "frobnicate", db=closed_port_url()),
                         'mailadmin: unknown command "frobnicate" (try mailadmin help)')

    def test_help(self):
        for args in (["help"], ["--help"], ["-h"], ["list", "--help"]):
            out = self.ok(*args)
            self.assertTrue(out.startswith("Usage: mailadmin"), args)
            for word in ("add user", "grant address", "revoke domain", "check USER ADDRESS",
                         "audit [--since", "migrate [--status]", "Exit codes"):
                self.assertIn(word, out)


class ConnectionSettings(MailadminTestCase):
    def test_unreachable_database_exits_6(self):
        line = self.fails(UNREACHABLE, "list", "users", db=closed_port_url())
        self.assertTrue(line.startswith("mailadmin: database unreachable: "), line)
        self.fails(UNREACHABLE, "migrate", "--status", db=closed_port_url())
        self.fails(UNREACHABLE, "add", "user", "x", "--password-stdin", input="pw\n",
                   db=closed_port_url())

    def test_db_flag_wins_over_database_url(self):
        out = run(["--db", self.db, "list", "users"], closed_port_url())
        self.assertEqual(out.returncode, 0, out.stderr)
        out = run(["list", "users", "--db", closed_port_url()], self.db)
        self.assertEqual(out.returncode, UNREACHABLE)

    def test_libpq_variables_when_no_url_is_given(self):
        # postgresql://user@host:port/db
        rest = self.db.split("://", 1)[1]
        user, rest = rest.split("@", 1)
        hostport, dbname = rest.split("/", 1)
        host, port = hostport.rsplit(":", 1)
        env = clean_env(PGHOST=host, PGPORT=port, PGUSER=user, PGDATABASE=dbname)
        out = subprocess.run([BINARY, "list", "domains"], capture_output=True, text=True, env=env,
                             stdin=subprocess.DEVNULL, timeout=30)
        self.assertEqual((out.returncode, out.stdout), (0, "--- emailing_domains ---\n"), out.stderr)


class BashCompletion(MailadminTestCase):
    def test_words_subwords_and_names(self):
        self.add_user("compl")
        self.ok("add", "domain", "compl.org")
        self.assertEqual(self.complete("d"), ["del", "disable", "dkim"])
        self.assertEqual(self.complete("dkim", ""), ["add", "del", "list", "show"])
        self.assertEqual(self.complete("webhooks", ""), ["retry", "status"])
        self.assertEqual(self.complete("dkim", "add", "x.example", "--al"), ["--algorithm"])
        self.assertEqual(self.complete("dkim", "add", "x.example", "--algorithm", ""), ["ed25519", "rsa2048"])
        self.assertEqual(self.complete("add", ""), ["address", "domain", "share", "user"])
        self.assertEqual(self.complete("list", "--json", "u"), ["users"])
        self.assertEqual(self.complete("grant", "domain", "compl.org", ""), ["to"])
        self.assertEqual(self.complete("grant", "domain", ""), ["compl.org"])
        self.assertEqual(self.complete("show", "user", "co"), ["compl"])
        self.assertEqual(self.complete("migrate", "--s"), ["--status"])
        self.assertEqual(self.complete("migrate", "--relay-"), ["--relay-password-file", "--relay-role"])
        self.assertEqual(self.complete("migrate", "--relay-role", ""), [])
        with open(COMPLETION_SCRIPT) as f:
            self.assertIn("complete -F _mailadmin mailadmin", f.read())


if __name__ == "__main__":
    unittest.main()
