"""mailadmin's share maps: add share, share ... to ... via ..., unshare, set share threshold /
format / envelope-from, list shares, show share, del share; human and --json output, the audit
rows, the NOTIFY relays listen for, every error's exit code, the relay role's grants, the REPL,
the help and the bash completion."""
import json
import os
import re
import subprocess
import unittest

import pgcluster
from pgcluster import SOURCE_DIR
from mailadmin_support import (BINARY, EXISTS, INVALID, NOT_FOUND, SCHEMA, USAGE, Listener,
                               MailadminTestCase, clean_env, closed_port_url, run)

BOB = "bob@proxy.example"
UPSTREAM_NOTE = ("  Upstream names are not checked here: the relay refuses mail to this recipient "
                 "(451 4.3.5)\n  while one is not an upstream of its postern.yaml.\n")
TIMES = re.compile(r"  Created: \d{4}-\d\d-\d\d \d\d:\d\d:\d\d, last changed: \d{4}-\d\d-\d\d \d\d:\d\d:\d\d\n")


class ShareTestCase(MailadminTestCase):
    """Every test starts without share maps and with an empty audit log."""

    def setUp(self):
        self.sql("DELETE FROM postern_share_maps; DELETE FROM postern_audit;")

    def audit(self):
        return self.sql("SELECT actor || '|' || action || '|' || subject || '|' || detail "
                        "FROM postern_audit ORDER BY id").splitlines()

    def show(self, recipient=BOB):
        """`show share` with its timestamps line checked and left out."""
        out = self.ok("show", "share", recipient)
        self.assertRegex(out, TIMES)
        return TIMES.sub("", out)

    def bob_with(self, *destinations):
        self.ok("add", "share", BOB)
        for mailbox, upstream in destinations:
            self.ok("share", BOB, "to", mailbox, "via", upstream)


class BuildAMapStepByStep(ShareTestCase):
    def test_from_new_to_usable_in_human_output(self):
        self.assertEqual(self.ok("list", "shares"), "--- postern_share_maps ---\n")
        self.assertEqual(self.ok("add", "share", "bob@Proxy.Example"), "")
        self.assertEqual(self.show(), (
            "--- Show bob@proxy.example ---\n"
            "  Status: not usable: no destinations yet, at least two are needed\n"
            "  Format: postern\n"
            "  Threshold: all 0 shares (n of n)\n"
            "  Destinations:\n"
            "  Envelope from:\n" + UPSTREAM_NOTE))

        self.assertEqual(self.ok("share", BOB, "to", "bob@Mail-A.example", "via", "provider-a"), "")
        self.assertEqual(self.ok("list", "shares"), (
            "--- postern_share_maps ---\n"
            "    - bob@proxy.example  1 destination  threshold all  postern  "
            "not usable: only 1 destination, at least two are needed\n"))
        self.ok("share", "BOB@proxy.example", "to", "bob@mail-b.example", "via", "provider-b")
        self.ok("share", BOB, "to", "bob@mail-c.example", "via", "Provider_C.eu")
        self.ok("set", "share", BOB, "threshold", "2")
        self.ok("set", "share", BOB, "envelope-from", "account@mail-b.example", "via", "provider-b")
        self.ok("add", "share", "alice@proxy.example")

        self.assertEqual(self.show(), (
            "--- Show bob@proxy.example ---\n"
            "  Status: usable\n"
            "  Format: postern\n"
            "  Threshold: 2 of 3 shares combine\n"
            "  Destinations:\n"
            "    1. bob@mail-a.example via provider-a\n"
            "    2. bob@mail-b.example via provider-b\n"
            "    3. bob@mail-c.example via Provider_C.eu\n"
            "  Envelope from:\n"
            "    * provider-b: account@mail-b.example\n" + UPSTREAM_NOTE))
        self.assertEqual(self.ok("list", "shares"), (
            "--- postern_share_maps ---\n"
            "    - alice@proxy.example  0 destinations  threshold all  postern  "
            "not usable: no destinations yet, at least two are needed\n"
            "    - bob@proxy.example    3 destinations  threshold 2    postern  usable\n"))

    def test_unshare_moves_later_destinations_up_and_may_leave_the_map_unusable(self):
        self.bob_with(("bob@mail-a.example", "provider-a"), ("bob@mail-b.example", "provider-b"),
                      ("bob@mail-c.example", "provider-c"))
        self.ok("set", "share", BOB, "threshold", "3")
        self.ok("set", "share", BOB, "envelope-from", "acct@mail-a.example", "via", "provider-a")
        self.assertEqual(self.ok("unshare", BOB, "to", "BOB@mail-a.example"), "")
        out = self.show()
        self.assertIn("  Status: not usable: threshold 3 is more than the 2 destinations\n", out)
        self.assertIn("    1. bob@mail-b.example via provider-b\n"
                      "    2. bob@mail-c.example via provider-c\n", out)
        # An envelope sender stays with its upstream: a replacement destination there uses it.
        self.assertIn("    * provider-a: acct@mail-a.example (no destination goes through this "
                      "upstream)\n", out)
        self.ok("share", BOB, "to", "bob@mail-d.example", "via", "provider-a")
        out = self.show()
        self.assertIn("  Status: usable\n", out)
        self.assertIn("    3. bob@mail-d.example via provider-a\n", out)
        self.assertIn("    * provider-a: acct@mail-a.example\n", out)

    def test_threshold_all_format_and_clearing_an_envelope_sender(self):
        self.bob_with(("bob@mail-a.example", "provider-a"), ("bob@mail-b.example", "provider-b"))
        self.ok("set", "share", BOB, "threshold", "2")
        self.ok("set", "share", BOB, "threshold", "ALL")
        self.ok("set", "share", BOB, "format", "PrivMail")
        self.ok("set", "share", BOB, "envelope-from", "acct@mail-a.example", "via", "provider-a")
        self.ok("set", "share", BOB, "envelope-from", "none", "via", "provider-a")
        out = self.show()
        self.assertIn("  Status: usable\n  Format: privmail\n  Threshold: all 2 shares (n of n)\n", out)
        self.assertIn("  Envelope from:\n  Upstream names", out)
        self.ok("set", "share", BOB, "format", "postern")
        self.assertIn("  Format: postern\n", self.show())

    def test_del_share_takes_destinations_and_envelope_senders_along(self):
        self.bob_with(("bob@mail-a.example", "provider-a"), ("bob@mail-b.example", "provider-b"))
        self.ok("set", "share", BOB, "envelope-from", "acct@mail-a.example", "via", "provider-a")
        self.assertEqual(self.ok("del", "share", "Bob@proxy.example"), "")
        self.assertEqual(self.ok("list", "shares"), "--- postern_share_maps ---\n")
        self.assertEqual(self.sql("SELECT (SELECT count(*) FROM postern_share_destinations) + "
                                  "(SELECT count(*) FROM postern_share_envelope_from)"), "0")
        self.fails(NOT_FOUND, "show", "share", BOB)

    def test_verbose_confirms_each_change(self):
        self.assertEqual(self.ok("-v", "add", "share", BOB),
                         "share map bob@proxy.example added (not usable until it has two destinations)\n")
        self.assertEqual(self.ok("share", BOB, "to", "bob@mail-a.example", "via", "provider-a", "-v"),
                         "share 1 of bob@proxy.example goes to bob@mail-a.example via provider-a\n")
        self.assertEqual(self.ok("-v", "share", BOB, "to", "bob@mail-b.example", "via", "provider-b"),
                         "share 2 of bob@proxy.example goes to bob@mail-b.example via provider-b\n")
        self.assertEqual(self.ok("-v", "set", "share", BOB, "threshold", "2"),
                         "share map bob@proxy.example needs 2 shares to combine\n")
        self.assertEqual(self.ok("-v", "set", "share", BOB, "threshold", "all"),
                         "share map bob@proxy.example needs all shares to combine\n")
        self.assertEqual(self.ok("-v", "set", "share", BOB, "format", "privmail"),
                         "share map bob@proxy.example sends the privmail format\n")
        self.assertEqual(self.ok("-v", "set", "share", BOB, "envelope-from", "a@mail-a.example", "via",
                                 "provider-a"),
                         "shares of bob@proxy.example via provider-a are sent from a@mail-a.example\n")
        self.assertEqual(self.ok("-v", "set", "share", BOB, "envelope-from", "none", "via", "provider-a"),
                         "shares of bob@proxy.example via provider-a are sent from the message's own "
                         "sender\n")
        self.assertEqual(self.ok("-v", "unshare", BOB, "to", "bob@mail-a.example"),
                         "bob@mail-a.example is no longer a destination of bob@proxy.example\n")
        self.assertEqual(self.ok("-v", "del", "share", BOB), "share map bob@proxy.example deleted\n")

    def test_an_upstream_named_like_a_command_is_a_name(self):
        self.bob_with(("bob@mail-a.example", "list"), ("bob@mail-b.example", "show"))
        self.ok("set", "share", BOB, "envelope-from", "a@mail-a.example", "via", "list")
        out = self.show()
        self.assertIn("    1. bob@mail-a.example via list\n    2. bob@mail-b.example via show\n", out)
        self.assertIn("    * list: a@mail-a.example\n", out)


class JsonOutput(ShareTestCase):
    def test_list_and_show(self):
        self.assertEqual(json.loads(self.ok("--json", "list", "shares")), {"shares": []})
        self.bob_with(("bob@mail-a.example", "provider-a"), ("bob@mail-b.example", "provider-b"))
        self.ok("set", "share", BOB, "threshold", "2")
        self.ok("set", "share", BOB, "envelope-from", "acct@mail-b.example", "via", "provider-b")
        self.ok("add", "share", "carol@proxy.example")
        self.ok("share", "carol@proxy.example", "to", "carol@mail-a.example", "via", "provider-a")
        self.ok("set", "share", "carol@proxy.example", "format", "privmail")

        bob = {"recipient": BOB, "usable": True, "problem": None, "format": "postern",
               "threshold": 2,
               "destinations": [
                   {"index": 1, "mailbox": "bob@mail-a.example", "upstream": "provider-a"},
                   {"index": 2, "mailbox": "bob@mail-b.example", "upstream": "provider-b"}],
               "envelope_from": {"provider-b": "acct@mail-b.example"}}
        carol = {"recipient": "carol@proxy.example", "usable": False,
                 "problem": "only 1 destination, at least two are needed", "format": "privmail",
                 "threshold": None,
                 "destinations": [{"index": 1, "mailbox": "carol@mail-a.example",
                                   "upstream": "provider-a"}],
                 "envelope_from": {}}
        self.assertEqual(json.loads(self.ok("list", "shares", "--json")), {"shares": [bob, carol]})

        shown = json.loads(self.ok("show", "share", "BOB@proxy.example", "--json"))["share"]
        for key in ("created_at", "updated_at"):
            self.assertRegex(shown.pop(key), r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$")
        self.assertEqual(shown, bob)


class ChangesAreAuditedAndNotified(ShareTestCase):
    def test_every_change_has_its_audit_row_with_the_actor(self):
        self.ok("--actor", "ops-anna", "add", "share", "Bob@Proxy.Example")
        self.ok("--actor", "ops-anna", "share", BOB, "to", "bob@mail-a.example", "via", "provider-a")
        self.ok("--actor", "ops-anna", "share", BOB, "to", "bob@mail-b.example", "via", "provider-b")
        self.ok("--actor", "ops-ben", "set", "share", BOB, "threshold", "2")
        self.ok("--actor", "ops-ben", "set", "share", BOB, "threshold", "all")
        self.ok("--actor", "ops-ben", "set", "share", BOB, "format", "privmail")
        self.ok("--actor", "ops-ben", "set", "share", BOB, "envelope-from", "a@mail-a.example", "via",
                "provider-a")
        self.ok("--actor", "ops-ben", "set", "share", BOB, "envelope-from", "none", "via", "provider-a")
        self.ok("--actor", "ops-ben", "unshare", BOB, "to", "bob@mail-a.example")
        self.ok("--actor", "ops-ben", "del", "share", BOB)
        # Refused changes leave no row.
        self.fails(NOT_FOUND, "del", "share", BOB)
        self.assertEqual(self.audit(), [
            "ops-anna|add share|Bob@proxy.example|",
            "ops-anna|share|Bob@proxy.example|to bob@mail-a.example via provider-a",
            "ops-anna|share|Bob@proxy.example|to bob@mail-b.example via provider-b",
            "ops-ben|set share|Bob@proxy.example|threshold 2",
            "ops-ben|set share|Bob@proxy.example|threshold all",
            "ops-ben|set share|Bob@proxy.example|format privmail",
            "ops-ben|set share|Bob@proxy.example|envelope-from a@mail-a.example via provider-a",
            "ops-ben|set share|Bob@proxy.example|envelope-from none via provider-a",
            "ops-ben|unshare|Bob@proxy.example|to bob@mail-a.example via provider-a",
            "ops-ben|del share|Bob@proxy.example|",
        ])
        self.assertIn("  ops-anna  add share Bob@proxy.example\n", self.ok("audit"))

    def test_relays_listening_hear_each_change_at_once(self):
        with Listener(self.db, "postern_share_maps") as relay:
            self.ok("add", "share", BOB)
            self.assertEqual(relay.payloads(), [BOB])
            self.ok("share", BOB, "to", "bob@mail-a.example", "via", "provider-a")
            self.assertEqual(relay.payloads(), [BOB])
            self.ok("set", "share", BOB, "envelope-from", "a@mail-a.example", "via", "provider-a")
            self.assertEqual(relay.payloads(), [BOB])
            self.fails(EXISTS, "share", BOB, "to", "bob@mail-b.example", "via", "provider-a")
            self.ok("list", "shares")
            self.assertEqual(relay.payloads(), [])
            self.ok("del", "share", BOB)
            self.assertEqual(relay.payloads(), [BOB])


class ErrorsHaveTheirExitCodes(ShareTestCase):
    def setUp(self):
        super().setUp()
        self.bob_with(("bob@mail-a.example", "provider-a"))
        self.sql("DELETE FROM postern_audit")

    def test_unknown_maps_and_destinations_exit_3(self):
        missing = "mailadmin: share map nobody@proxy.example does not exist"
        for args in (["show", "share", "nobody@proxy.example"],
                     ["del", "share", "nobody@proxy.example"],
                     ["share", "nobody@proxy.example", "to", "x@mail-x.example", "via", "provider-x"],
                     ["unshare", "nobody@proxy.example", "to", "x@mail-x.example"],
                     ["set", "share", "nobody@proxy.example", "threshold", "2"],
                     ["set", "share", "nobody@proxy.example", "format", "privmail"],
                     ["set", "share", "nobody@proxy.example", "envelope-from", "a@b.example", "via", "p"]):
            with self.subTest(args=args):
                self.assertEqual(self.fails(NOT_FOUND, *args), missing)
        self.assertEqual(self.fails(NOT_FOUND, "unshare", BOB, "to", "bob@mail-x.example"),
                         "mailadmin: bob@mail-x.example is not a destination of share map "
                         "bob@proxy.example")
        self.assertEqual(self.fails(NOT_FOUND, "set", "share", BOB, "envelope-from", "none", "via",
                                    "provider-a"),
                         "mailadmin: share map bob@proxy.example has no envelope-from for upstream "
                         "provider-a")
        self.assertEqual(self.audit(), [])

    def test_duplicates_exit_4(self):
        self.assertEqual(self.fails(EXISTS, "add", "share", "BOB@PROXY.example"),
                         "mailadmin: share map bob@proxy.example already exists")
        self.assertEqual(self.fails(EXISTS, "share", BOB, "to", "Bob@mail-a.example", "via", "provider-z"),
                         "mailadmin: bob@mail-a.example is already destination 1 of share map "
                         "bob@proxy.example")
        self.assertEqual(self.fails(EXISTS, "share", BOB, "to", "bob@mail-b.example", "via", "provider-a"),
                         "mailadmin: upstream provider-a already carries destination 1 "
                         "(bob@mail-a.example) of share map bob@proxy.example: each destination "
                         "needs an upstream of its own")
        self.assertEqual(self.audit(), [])

    def test_malformed_input_exits_5(self):
        cases = {
            ("add", "share", "no-at-sign"): 'mailadmin: invalid address "no-at-sign": missing @',
            ("show", "share", "nope"): 'mailadmin: invalid address "nope": missing @',
            ("del", "share", "nope"): 'mailadmin: invalid address "nope": missing @',
            ("share", BOB, "to", "mailbox", "via", "provider-b"):
                'mailadmin: invalid address "mailbox": missing @',
            ("share", BOB, "to", "bob@mail-b.example", "via", "provider b"):
                "mailadmin: invalid upstream name \"provider b\": expected letters, digits, '.', "
                "'_' or '-'",
            ("share", BOB, "to", BOB.upper(), "via", "provider-b"):
                "mailadmin: share map bob@proxy.example cannot send a share to its own recipient",
            ("unshare", BOB, "to", "nope"): 'mailadmin: invalid address "nope": missing @',
            ("set", "share", BOB, "threshold", "two"):
                'mailadmin: invalid threshold "two": expected a number from 2 to 255, or all',
            ("set", "share", BOB, "threshold", "2.5"):
                'mailadmin: invalid threshold "2.5": expected a number from 2 to 255, or all',
            ("set", "share", BOB, "threshold", "1"): "mailadmin: threshold 1 is below 2",
            ("set", "share", BOB, "threshold", "2"):
                "mailadmin: threshold 2 is more than the 1 destination of share map bob@proxy.example",
            ("set", "share", BOB, "format", "html"):
                'mailadmin: invalid format "html": expected postern or privmail',
            ("set", "share", BOB, "envelope-from", "acct", "via", "provider-a"):
                'mailadmin: invalid address "acct": missing @',
            ("set", "share", BOB, "envelope-from", "a@b.example", "via", "a/b"):
                "mailadmin: invalid upstream name \"a/b\": expected letters, digits, '.', '_' or '-'",
        }
        for args, message in cases.items():
            with self.subTest(args=args):
                self.assertEqual(self.fails(INVALID, *args), message)
        self.assertEqual(self.audit(), [])

    def test_a_threshold_and_the_privmail_format_exclude_each_other(self):
        self.ok("share", BOB, "to", "bob@mail-b.example", "via", "provider-b")
        self.ok("set", "share", BOB, "threshold", "2")
        self.assertEqual(self.fails(INVALID, "set", "share", BOB, "format", "privmail"),
                         "mailadmin: share map bob@proxy.example has threshold 2, but privmail shares "
                         "are always n of n (set its threshold to all first)")
        self.ok("set", "share", BOB, "threshold", "all")
        self.ok("set", "share", BOB, "format", "privmail")
        self.assertEqual(self.fails(INVALID, "set", "share", BOB, "threshold", "2"),
                         "mailadmin: share map bob@proxy.example has the privmail format, whose shares "
                         "are always n of n (set its format to postern first)")

    def test_wrong_words_are_usage_errors(self):
        set_usage = ("set share RECIPIENT threshold K|all | set share RECIPIENT format "
                     "postern|privmail | set share RECIPIENT envelope-from ADDRESS|none via UPSTREAM")
        cases = {
            ("add", "share"): "mailadmin: usage: add share RECIPIENT",
            ("list", "shares", "extra"): "mailadmin: usage: list shares",
            ("show", "share"): "mailadmin: usage: show share RECIPIENT",
            ("del", "share", BOB, "extra"): "mailadmin: usage: del share RECIPIENT",
            ("share", BOB): "mailadmin: usage: share RECIPIENT to MAILBOX via UPSTREAM",
            ("share", BOB, "into", "x@y.example", "via", "p"):
                "mailadmin: usage: share RECIPIENT to MAILBOX via UPSTREAM",
            ("share", BOB, "to", "x@y.example", "by", "p"):
                "mailadmin: usage: share RECIPIENT to MAILBOX via UPSTREAM",
            ("unshare", BOB, "from", "x@y.example"): "mailadmin: usage: unshare RECIPIENT to MAILBOX",
            ("set",): "mailadmin: usage: " + set_usage,
            ("set", "share"): "mailadmin: usage: " + set_usage,
            ("set", "share", BOB): "mailadmin: usage: " + set_usage,
            ("set", "share", BOB, "colour", "blue"):
                'mailadmin: unknown command "share colour" (usage: ' + set_usage + ")",
            ("set", "share", BOB, "threshold"): "mailadmin: usage: set share RECIPIENT threshold K|all",
            ("set", "share", BOB, "threshold", "2", "3"):
                "mailadmin: usage: set share RECIPIENT threshold K|all",
            ("set", "share", BOB, "envelope-from", "a@b.example", "through", "p"):
                "mailadmin: usage: set share RECIPIENT envelope-from ADDRESS|none via UPSTREAM",
            ("set", "share", BOB, "envelope-from", "a@b.example"):
                "mailadmin: usage: set share RECIPIENT envelope-from ADDRESS|none via UPSTREAM",
        }
        for args, message in cases.items():
            with self.subTest(args=args):
                self.assertEqual(self.fails(USAGE, *args), message)
        self.assertEqual(self.audit(), [])

    def test_usage_and_input_errors_need_no_database(self):
        self.assertEqual(self.fails(USAGE, "share", BOB, db=closed_port_url()),
                         "mailadmin: usage: share RECIPIENT to MAILBOX via UPSTREAM")
        self.assertEqual(self.fails(INVALID, "add", "share", "nope", db=closed_port_url()),
                         'mailadmin: invalid address "nope": missing @')


class TheRelayRole(ShareTestCase):
    def test_reads_the_maps_and_changes_none(self):
        self.bob_with(("bob@mail-a.example", "provider-a"), ("bob@mail-b.example", "provider-b"))
        self.assertEqual(self.ok("migrate", "--status").splitlines()[-1], "relay role postern_relay: ready")
        relay = pgcluster.relay_url(self.db)
        self.assertEqual(pgcluster.psql(relay, "SELECT count(*) FROM postern_share_maps m "
                                               "JOIN postern_share_destinations d ON d.map_id = m.id "
                                               "LEFT JOIN postern_share_envelope_from e ON e.map_id = m.id"),
                         "2")
        for sql in ("INSERT INTO postern_share_maps (recipient) VALUES ('x@y.example')",
                    "UPDATE postern_share_maps SET threshold = 2",
                    "DELETE FROM postern_share_destinations",
                    "INSERT INTO postern_share_envelope_from (map_id, upstream, address) "
                    "SELECT id, 'p', 'a@b.example' FROM postern_share_maps"):
            with self.subTest(sql=sql):
                out = subprocess.run(["psql", relay, "-v", "ON_ERROR_STOP=1", "-qAt", "-c", sql],
                                     capture_output=True, text=True)
                self.assertNotEqual(out.returncode, 0)
                self.assertIn("permission denied", out.stderr)


class UnmigratedDatabase(MailadminTestCase):
    migrate = False

    def test_share_commands_need_the_schema(self):
        for args in (["list", "shares"], ["add", "share", BOB]):
            with self.subTest(args=args):
                self.assertEqual(self.fails(SCHEMA, *args),
                                 "mailadmin: database schema is not migrated; run mailadmin migrate")


class ReplAndHelp(ShareTestCase):
    def test_share_commands_in_a_session(self):
        out = run([], self.db, input=(
            f"add share {BOB}\nshare {BOB} to bob@mail-a.example via provider-a\n"
            f"share {BOB} to bob@mail-b.example via provider-a\n"
            f"share {BOB} to bob@mail-b.example via provider-b\n"
            f"set share {BOB} threshold 2\nlist shares\nshow share {BOB} --json\nexit\n"))
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(out.stderr.splitlines(), [
            "mailadmin: upstream provider-a already carries destination 1 (bob@mail-a.example) of "
            "share map bob@proxy.example: each destination needs an upstream of its own"])
        self.assertIn("    - bob@proxy.example  2 destinations  threshold 2  postern  usable\n",
                      out.stdout)
        self.assertIn('"threshold": 2', out.stdout)
        self.assertTrue(out.stdout.endswith("> Bye\n"))

    def test_help_describes_the_share_commands(self):
        out = self.ok("help")
        for words in ("add share RECIPIENT", "share RECIPIENT to MAILBOX via UPSTREAM",
                      "unshare RECIPIENT to MAILBOX", "set share RECIPIENT threshold K|all",
                      "set share RECIPIENT format postern|privmail",
                      "set share RECIPIENT envelope-from ADDRESS|none via UPSTREAM",
                      "list shares", "show share RECIPIENT", "del share RECIPIENT",
                      "not checked here"):
            self.assertIn(words, out)


class BashCompletion(ShareTestCase):
    def test_share_words_recipients_mailboxes_and_upstreams(self):
        self.bob_with(("bob@mail-a.example", "provider-a"), ("bob@mail-b.example", "provider-b"))
        self.ok("add", "share", "bea@proxy.example")
        self.assertEqual(self.complete("s"), ["set", "share", "show"])
        self.assertEqual(self.complete("u"), ["unshare"])
        self.assertEqual(self.complete("list", "s"), ["shares"])
        self.assertEqual(self.complete("show", "s"), ["share"])
        self.assertEqual(self.complete("del", "share", "b"), ["bea@proxy.example", BOB])
        self.assertEqual(self.complete("share", "bo"), [BOB])
        self.assertEqual(self.complete("share", BOB, ""), ["to"])
        self.assertEqual(self.complete("share", BOB, "to", "x@y.example", ""), ["via"])
        self.assertEqual(self.complete("unshare", BOB, "to", ""),
                         ["bob@mail-a.example", "bob@mail-b.example"])
        self.assertEqual(self.complete("set", ""), ["share"])
        self.assertEqual(self.complete("set", "share", "bo"), [BOB])
        self.assertEqual(self.complete("set", "share", BOB, ""), ["envelope-from", "format", "threshold"])
        self.assertEqual(self.complete("set", "share", BOB, "threshold", ""), ["all"])
        self.assertEqual(self.complete("set", "share", BOB, "format", ""), ["postern", "privmail"])
        self.assertEqual(self.complete("set", "share", BOB, "envelope-from", ""), ["none"])
        self.assertEqual(self.complete("set", "share", BOB, "envelope-from", "none", ""), ["via"])
        self.assertEqual(self.complete("set", "share", BOB, "envelope-from", "none", "via", ""),
                         ["provider-a", "provider-b"])


if __name__ == "__main__":
    unittest.main()
