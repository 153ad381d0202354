"""mailadmin's per-user sending limits: `limit USER [messages LIMIT...] [recipients LIMIT...]`,
`limit USER default`, `limit USER`, the limits and current usage in `show user` (human and
--json), the audit rows, the NOTIFY relays listen for, every error's exit code, the relay role's
grants, the REPL, the help and the bash completion."""
import json
import subprocess
import time
import unittest

import pgcluster
from mailadmin_support import (DEFAULT_LIMITS_SHOWN, INVALID, NOT_FOUND, USAGE, Listener, MailadminTestCase,
                               closed_port_url, run)

ALL_DEFAULT = ("--- Show alice ---\n"
               "  Limits:\n"
               "    * messages per hour: default (postern.yaml)\n"
               "    * messages per day: default (postern.yaml)\n"
               "    * recipients per hour: default (postern.yaml)\n"
               "    * recipients per day: default (postern.yaml)\n")
LIMIT_FORMS = "N/hour, N/day, unlimited/... or default/..."
LIMIT_USAGE = "limit USER [messages LIMIT...] [recipients LIMIT...] | limit USER default"


class LimitTestCase(MailadminTestCase):
    """Users alice and bob; every test starts without limits, usage or audit rows."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        for name in ("alice", "bob"):
            assert run(["add", "user", name, "--password-stdin"], cls.db, input="pw\n").returncode == 0

    def setUp(self):
        self.sql("DELETE FROM postern_sending_limits; DELETE FROM postern_sending_usage; "
                 "DELETE FROM postern_audit;")

    def row(self, user="alice"):
        """The user's postern_sending_limits row: hour and day of messages, then of recipients
        (empty for NULL), or None when there is none."""
        text = self.sql("SELECT concat_ws('|', coalesce(messages_per_hour::text, ''), "
                        "coalesce(messages_per_day::text, ''), coalesce(recipients_per_hour::text, ''), "
                        "coalesce(recipients_per_day::text, '')) FROM postern_sending_limits l "
                        f"JOIN emailing_users u ON u.id = l.user_id WHERE u.name = '{user}'")
        return text or None

    def audit(self):
        return self.sql("SELECT actor || '|' || action || '|' || subject || '|' || detail "
                        "FROM postern_audit ORDER BY id").splitlines()


class SetOnlyWhatIsNamed(LimitTestCase):
    def test_set_then_show(self):
        self.assertEqual(self.ok("limit", "alice", "messages", "500/day", "100/hour",
                                 "recipients", "2000/day"), "")
        self.assertEqual(self.row(), "100|500||2000")
        self.assertEqual(self.ok("limit", "alice"),
                         "--- Show alice ---\n"
                         "  Limits:\n"
                         "    * messages per hour: 100\n"
                         "    * messages per day: 500\n"
                         "    * recipients per hour: default (postern.yaml)\n"
                         "    * recipients per day: 2000\n")
        self.assertEqual(self.ok("limit", "bob"), ALL_DEFAULT.replace("alice", "bob"))
        self.assertIsNone(self.row("bob"))

    def test_a_partial_change_keeps_the_others(self):
        self.ok("limit", "alice", "messages", "500/day", "100/hour", "recipients", "2000/day")
        self.ok("limit", "alice", "recipients", "unlimited/hour")
        self.assertEqual(self.row(), "100|500|-1|2000")
        self.ok("limit", "alice", "recipients", "50/day", "messages", "default/day")
        self.assertEqual(self.row(), "100||-1|50")
        # Keywords in any order, and one of them more than once.
        self.ok("limit", "alice", "messages", "7/day", "recipients", "8/hour", "messages", "9/hour")
        self.assertEqual(self.row(), "9|7|8|50")

    def test_default_resets_all_four_and_removes_the_row(self):
        self.ok("limit", "alice", "messages", "1/hour", "recipients", "unlimited/day")
        self.assertEqual(self.ok("limit", "alice", "default"), "")
        self.assertIsNone(self.row())
        self.assertEqual(self.ok("limit", "alice"), ALL_DEFAULT)
        # Every limit back to default/... one by one removes the row too.
        self.ok("limit", "alice", "messages", "1/hour")
        self.ok("limit", "alice", "messages", "default/hour")
        self.assertIsNone(self.row())
        self.ok("limit", "alice", "default")  # nothing to reset: still fine

    def test_the_user_name_is_normalised(self):
        self.ok("limit", "ALICE", "messages", "5/hour")
        self.assertEqual(self.row(), "5|||")
        self.assertIn("    * messages per hour: 5\n", self.ok("limit", "Alice"))

    def test_verbose_confirms_what_was_set(self):
        self.assertEqual(self.ok("-v", "limit", "alice", "messages", "500/day", "recipients", "unlimited/hour"),
                         "limits of alice: messages default/hour 500/day, recipients unlimited/hour default/day\n")
        self.assertEqual(self.ok("limit", "alice", "default", "--verbose"),
                         "limits of alice back to the defaults (postern.yaml)\n")

    def test_the_largest_limit_is_two_to_the_53(self):
        self.ok("limit", "alice", "messages", "9007199254740992/hour")
        self.assertEqual(json.loads(self.ok("limit", "alice", "--json"))["user"]["limits"]["messages_per_hour"],
                         2 ** 53)

    def test_json(self):
        self.ok("limit", "alice", "messages", "500/day", "recipients", "unlimited/hour")
        self.assertEqual(json.loads(self.ok("--json", "limit", "alice")),
                         {"user": {"name": "alice",
                                   "limits": {"messages_per_hour": "default", "messages_per_day": 500,
                                              "recipients_per_hour": "unlimited",
                                              "recipients_per_day": "default"}}})
        # A change prints nothing, --json or not.
        self.assertEqual(self.ok("limit", "alice", "default", "--json"), "")


def current_window_start(seconds):
    """The start of the current window of `seconds`, as show user prints it (UTC)."""
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(int(time.time()) // seconds * seconds))


class ShowUserHasLimitsAndUsage(LimitTestCase):
    def add_usage(self, user, replica, seconds, messages, recipients, windows_ago=0):
        """A postern_sending_usage row as a relay writes it, in the current window of `seconds`
        (or the one `windows_ago` before it)."""
        self.sql("INSERT INTO postern_sending_usage "
                 "(user_id, window_seconds, window_start, replica, messages, recipients) "
                 f"SELECT id, {seconds}, (floor(extract(epoch FROM now()) / {seconds}) - {windows_ago}) * {seconds}, "
                 f"'{replica}', {messages}, {recipients} FROM emailing_users WHERE name = '{user}'")

    def wait_clear_of_the_hour(self):
        """The rows below are in the current hour: start well inside it, so that it does not end
        between the insert and the check."""
        left = 3600 - time.time() % 3600
        if left < 20:
            time.sleep(left + 1)

    def test_no_limits_and_no_usage(self):
        self.assertEqual(self.ok("show", "user", "alice"),
                         "--- Show alice ---\n"
                         "  Status: enabled\n"
                         "  Password: argon2id\n"
                         "  Last login: never\n"
                         "  Domains:\n"
                         "  Addresses:\n"
                         + DEFAULT_LIMITS_SHOWN)

    def test_usage_is_summed_over_the_replicas_and_ended_windows_are_left_out(self):
        self.wait_clear_of_the_hour()
        self.ok("limit", "alice", "messages", "100/hour", "recipients", "unlimited/day")
        self.add_usage("alice", "relay-a", 3600, 2, 3)
        self.add_usage("alice", "relay-b", 3600, 1, 2)
        self.add_usage("alice", "relay-a", 86400, 1, 1)
        self.add_usage("alice", "relay-a", 3600, 40, 40, windows_ago=2)  # ended
        self.add_usage("bob", "relay-a", 3600, 7, 7)
        hour, day = current_window_start(3600), current_window_start(86400)
        show = self.ok("show", "user", "alice")
        self.assertTrue(show.endswith(
            "  Limits:\n"
            "    * messages per hour: 100\n"
            "    * messages per day: default (postern.yaml)\n"
            "    * recipients per hour: default (postern.yaml)\n"
            "    * recipients per day: unlimited\n"
            "  Usage:\n"
            f"    * 3600 s window from {hour}: 3 messages, 5 recipients\n"
            f"    * 86400 s window from {day}: 1 message, 1 recipient\n"), show)

        user = json.loads(self.ok("show", "user", "alice", "--json"))["user"]
        self.assertEqual(set(user), {"name", "enabled", "legacy_password", "password_scheme", "created_at",
                                     "last_login_at", "addresses", "domains", "limits", "usage"})
        self.assertEqual(user["limits"], {"messages_per_hour": 100, "messages_per_day": "default",
                                          "recipients_per_hour": "default", "recipients_per_day": "unlimited"})
        self.assertEqual(user["usage"], [
            {"window_seconds": 3600, "window_start": hour, "messages": 3, "recipients": 5},
            {"window_seconds": 86400, "window_start": day, "messages": 1, "recipients": 1}])
        self.assertEqual(json.loads(self.ok("show", "user", "bob", "--json"))["user"]["usage"],
                         [{"window_seconds": 3600, "window_start": hour, "messages": 7, "recipients": 7}])


class ChangesAreAuditedAndNotified(LimitTestCase):
    def test_each_change_is_a_limit_user_row_with_the_actor(self):
        self.ok("--actor", "ops-anna", "limit", "alice", "messages", "100/hour", "500/day")
        self.ok("--actor", "ops-ben", "limit", "alice", "recipients", "unlimited/day")
        self.ok("--actor", "ops-ben", "limit", "alice", "default")
        # Showing, refused words and unknown users leave no row.
        self.ok("limit", "alice")
        self.ok("show", "user", "alice")
        self.fails(USAGE, "limit", "alice", "messages", "5/week")
        self.fails(NOT_FOUND, "limit", "ghost", "messages", "5/day")
        self.assertEqual(self.audit(), [
            "ops-anna|limit user|alice|100/hour 500/day messages, default/hour default/day recipients",
            "ops-ben|limit user|alice|100/hour 500/day messages, default/hour unlimited/day recipients",
            "ops-ben|limit user|alice|default/hour default/day messages, default/hour default/day recipients",
        ])
        lines = self.ok("audit").splitlines()
        self.assertEqual(len(lines), 3)
        self.assertRegex(lines[0], r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d  ops-anna  limit user alice "
                                   r"100/hour 500/day messages, default/hour default/day recipients$")
        entry = json.loads(self.ok("audit", "--json"))["audit"][1]
        self.assertEqual((entry["actor"], entry["action"], entry["subject"], entry["detail"]),
                         ("ops-ben", "limit user", "alice",
                          "100/hour 500/day messages, default/hour unlimited/day recipients"))

    def test_relays_listening_hear_each_change_at_once(self):
        with Listener(self.db, "postern_users") as relay:
            self.ok("limit", "alice", "messages", "5/hour")
            self.assertEqual(relay.payloads(), ["alice"])
            self.ok("limit", "alice")
            self.fails(USAGE, "limit", "alice", "messages", "5/week")
            self.assertEqual(relay.payloads(), [])
            self.ok("limit", "alice", "default")
            self.assertEqual(relay.payloads(), ["alice"])


class ErrorsHaveTheirExitCodes(LimitTestCase):
    def test_wrong_words_are_usage_errors(self):
        cases = {
            ("limit",): "mailadmin: usage: " + LIMIT_USAGE,
            ("limit", "alice", "500/day"):
                'mailadmin: limit: expected messages, recipients or default, got "500/day"',
            ("limit", "alice", "message", "5/day"):
                'mailadmin: limit: expected messages, recipients or default, got "message"',
            ("limit", "alice", "messages", "500/week"):
                f'mailadmin: limit: expected {LIMIT_FORMS}, got "500/week"',
            ("limit", "alice", "messages", "500"): f'mailadmin: limit: expected {LIMIT_FORMS}, got "500"',
            ("limit", "alice", "messages", "5/Hour"): f'mailadmin: limit: expected {LIMIT_FORMS}, got "5/Hour"',
            ("limit", "alice", "messages", "five/day"):
                f'mailadmin: limit: expected {LIMIT_FORMS}, got "five/day"',
            ("limit", "alice", "messages", "+5/day"): f'mailadmin: limit: expected {LIMIT_FORMS}, got "+5/day"',
            ("limit", "alice", "messages", "default"):
                f'mailadmin: limit: expected {LIMIT_FORMS}, got "default"',
            ("limit", "alice", "messages", "\x1b[31m/day"):
                f'mailadmin: limit: expected {LIMIT_FORMS}, got "\\x1b[31m/day"',
            ("limit", "alice", "messages", "0/hour"):
                'mailadmin: limit: N must be from 1 to 9007199254740992, got "0/hour"',
            ("limit", "alice", "messages", "-5/day"):
                'mailadmin: limit: N must be from 1 to 9007199254740992, got "-5/day"',
            ("limit", "alice", "messages", "9007199254740993/day"):
                'mailadmin: limit: N must be from 1 to 9007199254740992, got "9007199254740993/day"',
            ("limit", "alice", "messages", "99999999999999999999999/day"):
                'mailadmin: limit: N must be from 1 to 9007199254740992, got "99999999999999999999999/day"',
            ("limit", "alice", "messages"): f"mailadmin: limit: expected {LIMIT_FORMS} after messages",
            ("limit", "alice", "recipients", "messages", "5/day"):
                f"mailadmin: limit: expected {LIMIT_FORMS} after recipients",
            ("limit", "alice", "messages", "5/day", "6/day"): "mailadmin: limit: messages per day given twice",
            ("limit", "alice", "recipients", "5/hour", "messages", "1/hour", "recipients", "unlimited/hour"):
                "mailadmin: limit: recipients per hour given twice",
            ("limit", "alice", "default", "messages", "5/day"):
                "mailadmin: limit: default resets all four limits and takes no other word "
                "(default/hour or default/day resets one)",
            ("limit", "alice", "messages", "5/day", "--frob"):
                "mailadmin: unknown option --frob (usage: " + LIMIT_USAGE + ")",
        }
        for args, message in cases.items():
            with self.subTest(args=args):
                self.assertEqual(self.fails(USAGE, *args), message)
        self.assertIsNone(self.row())
        self.assertEqual(self.audit(), [])

    def test_usage_errors_need_no_database(self):
        self.assertEqual(self.fails(USAGE, "limit", "alice", "messages", "500/week", db=closed_port_url()),
                         f'mailadmin: limit: expected {LIMIT_FORMS}, got "500/week"')

    def test_an_unknown_user_is_not_found(self):
        for args in (["limit", "ghost", "messages", "5/day"], ["limit", "Ghost"], ["limit", "ghost", "default"],
                     ["show", "user", "ghost"]):
            with self.subTest(args=args):
                self.assertEqual(self.fails(NOT_FOUND, *args), "mailadmin: user ghost does not exist")
        self.assertEqual(self.fails(INVALID, "limit", "bad name!", "messages", "5/day"),
                         'mailadmin: invalid user name "bad name!": contains a space')


class TheRelayRole(LimitTestCase):
    def test_reads_the_limits_and_counts_usage_but_changes_no_limit(self):
        self.ok("limit", "alice", "messages", "5/hour")
        relay = pgcluster.relay_url(self.db)
        self.assertEqual(pgcluster.psql(relay, "SELECT messages_per_hour FROM postern_sending_limits"), "5")
        pgcluster.psql(relay, "INSERT INTO postern_sending_usage (user_id, window_seconds, window_start, replica, "
                              "messages, recipients) SELECT id, 3600, 0, 'r', 1, 1 FROM emailing_users "
                              "WHERE name = 'alice'")
        for sql in ("UPDATE postern_sending_limits SET messages_per_hour = -1",
                    "DELETE FROM postern_sending_limits",
                    "INSERT INTO postern_sending_limits (user_id, messages_per_hour) "
                    "SELECT id, -1 FROM emailing_users WHERE name = 'bob'"):
            with self.subTest(sql=sql):
                out = subprocess.run(["psql", relay, "-v", "ON_ERROR_STOP=1", "-qAt", "-c", sql],
                                     capture_output=True, text=True)
                self.assertNotEqual(out.returncode, 0)
                self.assertIn("permission denied", out.stderr)


class ReplHelpAndCompletion(LimitTestCase):
    def test_limit_in_a_session(self):
        out = run([], self.db, input="limit alice messages 5/hour\nlimit alice messages 5/week\n"
                                     "limit alice --json\nexit\n")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(out.stderr.splitlines(),
                         [f'mailadmin: limit: expected {LIMIT_FORMS}, got "5/week"'])
        self.assertIn('"messages_per_hour": 5', out.stdout)
        self.assertTrue(out.stdout.endswith("> Bye\n"))

    def test_help_describes_limit(self):
        out = self.ok("help")
        for words in ("limit USER [messages LIMIT...] [recipients LIMIT...]", "N/hour, N/day",
                      "unlimited/hour|day", "default/hour|day", "limit USER default", "limit USER  ",
                      "sending limits", "(limit: 2 for a malformed LIMIT, 3 unknown user.)"):
            self.assertIn(words, out)

    def test_bash_completion(self):
        limits = ["default/day", "default/hour", "unlimited/day", "unlimited/hour"]
        self.assertEqual(self.complete("li"), ["limit", "list"])
        self.assertEqual(self.complete("limit", ""), ["alice", "bob"])
        self.assertEqual(self.complete("limit", "alice", ""), ["default", "messages", "recipients"])
        self.assertEqual(self.complete("limit", "alice", "default", ""), [])
        self.assertEqual(self.complete("limit", "alice", "messages", ""), limits)
        self.assertEqual(self.complete("limit", "alice", "messages", "un"), ["unlimited/day", "unlimited/hour"])
        self.assertEqual(self.complete("limit", "alice", "messages", "500"), ["500/day", "500/hour"])
        self.assertEqual(self.complete("limit", "alice", "messages", "500/"), ["500/day", "500/hour"])
        self.assertEqual(self.complete("limit", "alice", "messages", "500/day", ""),
                         sorted(limits + ["messages", "recipients"]))
        self.assertEqual(self.complete("limit", "alice", "messages", "500/day", "r"), ["recipients"])
        self.assertEqual(self.complete("-v", "limit", "alice", "messages", "500/day", "recipients", "d"),
                         ["default/day", "default/hour"])


if __name__ == "__main__":
    unittest.main()
