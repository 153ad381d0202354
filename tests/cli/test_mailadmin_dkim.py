"""mailadmin dkim: add (sealed with --seal-key-file), list, show, del, their exit codes, the
--json view, the DNS records and the audit rows."""
import base64
import json
import os
import tempfile
import unittest

from mailadmin_support import MailadminTestCase

NOT_FOUND, ALREADY_EXISTS, INVALID = 3, 4, 5


class DkimKeys(MailadminTestCase):
    def setUp(self):
        self.sql("DELETE FROM postern_dkim_keys; DELETE FROM postern_audit;")

    def records(self, domain):
        return [line for line in self.ok("dkim", "show", domain).splitlines() if not line.startswith(";")]

    def test_add_show_list_del_and_the_audit(self):
        out = self.ok("dkim", "add", "Example.COM", "--selector", "ed", "--algorithm", "ed25519")
        self.assertRegex(out, r'ed\._domainkey\.example\.com\. IN TXT "v=DKIM1; k=ed25519; p=[A-Za-z0-9+/]{43}="\n$')
        self.ok("dkim", "add", "example.com", "--selector", "rsa")
        rsa = self.records("example.com")[1]
        self.assertTrue(rsa.startswith('rsa._domainkey.example.com. IN TXT "v=DKIM1; k=rsa; p='), rsa)
        strings = rsa.split(" IN TXT ")[1].split('" "')
        self.assertEqual(len(strings), 2)
        self.assertEqual(len(strings[0].lstrip('"')), 255)
        self.assertEqual(len(self.records("example.com")), 2)
        only_ed = [l for l in self.ok("dkim", "show", "example.com", "--selector", "ed").splitlines()
                   if not l.startswith(";")]
        self.assertEqual(len(only_ed), 1)
        listed = json.loads(self.ok("--json", "dkim", "list"))["dkim_keys"]
        self.assertEqual([(k["domain"], k["selector"], k["algorithm"]) for k in listed],
                         [("example.com", "ed", "ed25519"), ("example.com", "rsa", "rsa2048")])
        self.assertNotIn("private", json.dumps(listed))
        self.ok("dkim", "del", "example.com", "--selector", "rsa")
        self.assertEqual(len(self.records("example.com")), 1)
        audit = self.sql("SELECT action || '|' || subject || '|' || detail FROM postern_audit ORDER BY id").splitlines()
        self.assertEqual(audit, ["dkim add|example.com|selector ed, ed25519", "dkim add|example.com|selector rsa, rsa2048",
                                 "dkim del|example.com|selector rsa, rsa2048"])

    def test_errors_and_their_exit_codes(self):
        self.ok("dkim", "add", "example.org", "--selector", "s1", "--algorithm", "ed25519")
        self.assertIn("already exists",
                      self.fails(ALREADY_EXISTS, "dkim", "add", "example.org", "--selector", "s1", "--algorithm", "ed25519"))
        self.fails(INVALID, "dkim", "add", "example.org", "--selector", "s2", "--algorithm", "dsa")
        self.fails(INVALID, "dkim", "add", "not a domain", "--selector", "s2")
        self.fails(INVALID, "dkim", "add", "example.org", "--selector", "-bad")
        self.fails(NOT_FOUND, "dkim", "show", "nokeys.example")
        self.fails(NOT_FOUND, "dkim", "show", "example.org", "--selector", "nope")
        self.fails(NOT_FOUND, "dkim", "del", "example.org", "--selector", "nope")

    def test_the_private_key_is_sealed_with_the_seal_key(self):
        folder = tempfile.mkdtemp()
        key_file = os.path.join(folder, "2026-12.key")
        with open(key_file, "w") as f:
            f.write(f"2026-12:{base64.b64encode(os.urandom(32)).decode()}\n")
        self.ok("--seal-key-file", key_file, "dkim", "add", "sealed.example", "--selector", "s")
        self.ok("dkim", "add", "clear.example", "--selector", "s", "--algorithm", "ed25519")
        rows = self.sql("SELECT domain || '|' || COALESCE(seal_key, '-') || '|' || "
                        "(position('PRIVATE KEY'::bytea in private_key) > 0)::text "
                        "FROM postern_dkim_keys ORDER BY domain").splitlines()
        self.assertEqual(rows, ["clear.example|-|true", "sealed.example|2026-12|false"])


if __name__ == "__main__":
    unittest.main()
