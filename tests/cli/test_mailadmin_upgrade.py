"""`mailadmin migrate` on a real Secure Emailing database (tests/fixtures/secure_emailing.sql):
every row survives, MD5 passwords are marked legacy, and new rows get ids from real sequences."""
import json
import subprocess
import unittest

from mailadmin_support import DEFAULT_LIMITS_SHOWN, EXISTS, FIXTURE, INVALID, NOT_FOUND, MailadminTestCase, run


class SecureEmailingDatabaseUpgradesInPlace(MailadminTestCase):
    migrate = False

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        subprocess.run(["psql", cls.db, "-v", "ON_ERROR_STOP=1", "-q", "-f", FIXTURE],
                       check=True, capture_output=True)
        cls.status_before = cls.run_ok("migrate", "--status")
        cls.migrated = cls.run_ok("migrate")
        cls.users_after = cls.run_ok("list", "users")  # before any test adds one

    @classmethod
    def run_ok(cls, *args):
        out = run(list(args), cls.db)
        assert out.returncode == 0, out.stderr
        return out.stdout

    def test_migrate_applies_everything_once(self):
        self.assertRegex(self.status_before.splitlines()[0], r"^0001 secure_emailing +pending$")
        self.assertIn("applied migration 1 (secure_emailing)\n", self.migrated)
        self.assertIn("applied migration 2 (postern_data_model)\n", self.migrated)
        self.assertEqual(self.ok("migrate"), "database is up to date\n")

    def test_users_survive(self):
        self.assertEqual(self.users_after,
                         "--- emailing_users ---\n    - demo\n    - test1\n    - test2\n")

    def test_show_user_demo_has_its_grants_and_a_legacy_password(self):
        self.assertEqual(self.ok("show", "user", "demo"),
                         "--- Show demo ---\n"
                         "  Status: enabled\n"
                         "  Password: legacy MD5 (replaced at next login)\n"
                         "  Last login: never\n"
                         "  Domains:\n"
                         "    * demo.com\n"
                         "  Addresses:\n"
                         "    * demo@test.com\n"
                         + DEFAULT_LIMITS_SHOWN)
        user = json.loads(self.ok("show", "user", "demo", "--json"))["user"]
        self.assertIs(user["legacy_password"], True)
        self.assertEqual(user["password_scheme"], "legacy-md5")

    def test_shared_address_lists_both_users(self):
        self.assertEqual(self.ok("show", "address", "user@test1.com"),
                         "--- Show user@test1.com ---\n  Users:\n    * test1\n    * test2\n")
        self.assertEqual(self.ok("show", "domain", "test1.com"),
                         "--- Show test1.com ---\n  Users:\n    * test1\n")

    def test_grants_still_decide_who_may_send(self):
        self.assertEqual(self.ok("check", "test1", "user@test1.com"),
                         "test1 may send as user@test1.com (address grant user@test1.com)\n")
        self.assertEqual(self.ok("check", "test1", "other@test1.com"),
                         "test1 may send as other@test1.com (domain grant test1.com)\n")
        self.assertEqual(self.mailadmin("check", "test1", "user@demo.com").returncode, 10)

    def test_new_rows_take_ids_after_the_old_ones(self):
        self.add_user("newbie")
        self.ok("add", "address", "new@test1.com")
        self.ok("add", "domain", "new.example")
        self.ok("grant", "address", "new@test1.com", "to", "newbie")
        self.ok("grant", "domain", "new.example", "to", "test2")
        self.assertEqual(self.sql("SELECT id FROM emailing_users WHERE name = 'newbie'"), "8")
        self.assertEqual(self.sql("SELECT id FROM emailing_domains WHERE domain = 'new.example'"), "6")
        self.assertIn("    * new@test1.com\n", self.ok("show", "user", "newbie"))
        self.assertIn("Password: argon2id", self.ok("show", "user", "newbie"))
        self.fails(EXISTS, "add", "user", "test1", "--password-stdin", input="x\n")

    def test_passwd_replaces_a_legacy_hash(self):
        self.ok("passwd", "test2", "--password-stdin", input="fresh\n")
        self.assertIn("  Password: argon2id\n", self.ok("show", "user", "test2"))

    def test_legacy_rows_invalid_today_can_still_be_shown_and_deleted(self):
        # Secure Emailing accepted anything; such rows must stay manageable.
        self.sql("INSERT INTO emailing_addresses (address) VALUES ('old@localhost')")
        self.ok("grant", "address", "old@localhost", "to", "demo")
        self.assertEqual(self.ok("show", "address", "old@localhost"),
                         "--- Show old@localhost ---\n  Users:\n    * demo\n")
        self.ok("revoke", "address", "old@localhost", "from", "demo")
        self.ok("del", "address", "old@localhost")
        # A name that is neither valid nor present reports its syntax error.
        self.assertIn('invalid address "old@localhost"',
                      self.fails(INVALID, "show", "address", "old@localhost"))
        self.fails(INVALID, "del", "address", "old@localhost")
        self.fails(NOT_FOUND, "del", "address", "old@valid.example")


if __name__ == "__main__":
    unittest.main()
