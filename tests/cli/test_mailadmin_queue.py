"""mailadmin queue: list, show, retry, hold, release and delete against queue rows inserted
directly with psql (no relay needed), human and --json output, every error's exit code, the
audit rows, the NOTIFY that wakes the delivery workers, the REPL and the bash completion."""
import json
import os
import subprocess
import unittest

from pgcluster import SOURCE_DIR
from mailadmin_support import (BINARY, NOT_FOUND, SCHEMA, UNREACHABLE, USAGE, Listener,
                               MailadminTestCase, clean_env, closed_port_url, insert_queued, run)

MISSING = "mailadmin: queued message NOPE does not exist"


class QueueTestCase(MailadminTestCase):
    """Every test starts from the same three messages and an empty audit log:
    M1OLD   1d03h old, alice, 2 recipients (bob pending after 3 tries, carol delivered),
            next attempt in 2h30m, last error 451;
    M2HELD  3h00m old, null sender, held (and long overdue);
    M3LEASED 2h13m old, dave, being delivered by relay-a."""

    def setUp(self):
        self.sql("DELETE FROM postern_queue; DELETE FROM postern_audit;")
        insert_queued(self.db, "M1OLD", recipients=[
            ("bob@example.net", "pending", 3, "451 4.3.0 Try again later"),
            ("carol@example.net", "delivered", 1, "250 2.0.0 Ok")],
            age="27 hours 30 minutes", next_attempt="2 hours 30 minutes 30 seconds",
            attempts=3, last_error="451 4.3.0 Try again later")
        insert_queued(self.db, "M2HELD", sender="", recipients=["postmaster@example.org"],
                      age="3 hours 30 seconds", next_attempt="-2 hours", held=True,
                      auth_user="bob", client_address="198.51.100.7", helo="")
        insert_queued(self.db, "M3LEASED", sender="dave@example.com",
                      recipients=["erin@example.org"], age="2 hours 13 minutes 30 seconds",
                      attempts=1, lease_owner="relay-a", lease_for="5 minutes")

    def audit(self):
        return self.sql("SELECT actor || '|' || action || '|' || subject || '|' || detail "
                        "FROM postern_audit ORDER BY id").splitlines()

    def is_due(self, id):
        return self.sql(f"SELECT next_attempt_at <= now() FROM postern_queue WHERE id = '{id}'")


class ListAndShow(QueueTestCase):
    def test_list_is_aligned_and_oldest_first(self):
        self.assertEqual(self.ok("queue", "list"), (
            "--- postern_queue ---\n"
            "    - M1OLD     age 1d03h  from alice@example.com  to 2 recipients (1 pending)  "
            "attempts 3  next in 2h30m  last error: 451 4.3.0 Try again later\n"
            "    - M2HELD    age 3h00m  from <>                 to 1 recipient (1 pending)   "
            "attempts 0  held\n"
            "    - M3LEASED  age 2h13m  from dave@example.com   to 1 recipient (1 pending)   "
            "attempts 1  delivering\n"))

    def test_list_says_when_a_message_is_due_or_overdue(self):
        self.sql("DELETE FROM postern_queue")
        insert_queued(self.db, "DUE", age="2 hours 30 seconds")
        insert_queued(self.db, "LATE", age="1 hour 30 seconds", next_attempt="-2 hours -30 seconds",
                      lease_owner="relay-dead", lease_for="-1 hour")  # an expired lease
        self.assertEqual(self.ok("queue", "list"), (
            "--- postern_queue ---\n"
            "    - DUE   age 2h00m  from alice@example.com  to 1 recipient (1 pending)  "
            "attempts 0  due now\n"
            "    - LATE  age 1h00m  from alice@example.com  to 1 recipient (1 pending)  "
            "attempts 0  overdue 2h00m\n"))

    def test_list_escapes_control_characters_and_joins_lines(self):
        self.sql("UPDATE postern_queue SET last_error = E'421 4.4.2 bad\\r\\n\\x1b[31mred' "
                 "WHERE id = 'M1OLD'")
        out = self.ok("queue", "list")
        self.assertIn("last error: 421 4.4.2 bad \\x1b[31mred\n", out)
        self.assertNotIn("\x1b", out)

    def test_empty_queue(self):
        self.sql("DELETE FROM postern_queue")
        self.assertEqual(self.ok("queue", "list"), "--- postern_queue ---\n")
        self.assertEqual(json.loads(self.ok("queue", "list", "--json")), {"queue": []})

    def test_list_json(self):
        queue = json.loads(self.ok("queue", "list", "--json"))["queue"]
        self.assertEqual([m["id"] for m in queue], ["M1OLD", "M2HELD", "M3LEASED"])
        m1, m2, m3 = queue
        self.assertEqual(set(m1), {"id", "created_at", "age_seconds", "sender", "auth_user", "recipients",
                                   "recipients_total", "recipients_pending", "attempts",
                                   "next_attempt_at", "held", "leased", "last_error"})
        self.assertEqual(m1["sender"], "alice@example.com")
        self.assertEqual(m1["auth_user"], "alice")
        self.assertEqual(m1["recipients"], [{"address": "bob@example.net", "status": "pending"},
                                            {"address": "carol@example.net",
                                             "status": "delivered"}])
        self.assertEqual((m1["recipients_total"], m1["recipients_pending"]), (2, 1))
        self.assertEqual((m1["attempts"], m1["held"], m1["leased"]), (3, False, False))
        self.assertEqual(m1["last_error"], "451 4.3.0 Try again later")
        self.assertAlmostEqual(m1["age_seconds"], 27 * 3600 + 1800, delta=60)
        self.assertRegex(m1["created_at"], r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$")
        self.assertEqual(m1["created_at"], self.sql(
            "SELECT to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') "
            "FROM postern_queue WHERE id = 'M1OLD'"))
        self.assertEqual(m1["next_attempt_at"], self.sql(
            "SELECT to_char(next_attempt_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') "
            "FROM postern_queue WHERE id = 'M1OLD'"))
        self.assertEqual((m2["sender"], m2["held"], m2["leased"], m2["last_error"]),
                         ("", True, False, None))
        self.assertEqual((m3["held"], m3["leased"]), (False, True))

    def test_show_human(self):
        m = json.loads(self.ok("queue", "show", "M1OLD", "--json"))["message"]
        self.assertEqual(self.ok("queue", "show", "M1OLD"), (
            "--- Show M1OLD ---\n"
            "  Sender: alice@example.com\n"
            f"  Queued: {m['created_at']} (1d03h ago) by alice from 192.0.2.1 "
            "(HELO client.example.org)\n"
            "  Size: 50 bytes, 7BIT\n"
            "  Attempts: 3\n"
            f"  Next attempt: {m['next_attempt_at']} (in 2h30m)\n"
            "  State: waiting\n"
            "  Last error: 451 4.3.0 Try again later\n"
            "  Recipients (1 pending of 2):\n"
            "    * bob@example.net  pending, 3 attempts, last reply: 451 4.3.0 Try again later\n"
            "    * carol@example.net  delivered, 1 attempt, last reply: 250 2.0.0 Ok\n"
            "  Headers:\n"
            "    From: alice@example.com\n"
            "    Subject: hi\n"))

    def test_show_held_and_leased_states(self):
        out = self.ok("queue", "show", "M2HELD")
        self.assertIn("  Sender: <>\n", out)
        self.assertIn("by bob from 198.51.100.7\n", out)  # no HELO given
        self.assertIn("  State: held (queue release M2HELD to deliver it)\n", out)
        self.assertIn("  Last error: none\n", out)
        self.assertIn("    * postmaster@example.org  pending, 0 attempts\n", out)
        out = self.ok("queue", "show", "M3LEASED")
        self.assertRegex(out, r"  State: being delivered by relay-a \(lease until "
                              r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\)\n")

    def test_show_json_gives_everything_but_the_body(self):
        m = json.loads(self.ok("--json", "queue", "show", "M1OLD"))["message"]
        self.assertEqual(m["id"], "M1OLD")
        self.assertEqual((m["auth_user"], m["client_address"], m["helo"]),
                         ("alice", "192.0.2.1", "client.example.org"))
        self.assertEqual((m["body_type"], m["smtputf8"], m["size"]), ("7BIT", False, 50))
        self.assertEqual(m["headers"], "From: alice@example.com\r\nSubject: hi\r\n")
        self.assertFalse(m["headers_truncated"])
        self.assertEqual((m["lease_owner"], m["lease_until"]), (None, None))
        self.assertEqual(m["recipients"][0]["address"], "bob@example.net")
        self.assertEqual(m["recipients"][0]["attempts"], 3)
        self.assertEqual(m["recipients"][0]["last_reply"], "451 4.3.0 Try again later")
        self.assertRegex(m["recipients"][0]["updated_at"], r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$")
        self.assertEqual((m["recipients_total"], m["recipients_pending"]), (2, 1))
        self.assertNotIn("the body", json.dumps(m))
        leased = json.loads(self.ok("--json", "queue", "show", "M3LEASED"))["message"]
        self.assertEqual(leased["lease_owner"], "relay-a")
        self.assertTrue(leased["leased"])
        self.assertRegex(leased["lease_until"], r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$")
        held = json.loads(self.ok("--json", "queue", "show", "M2HELD"))["message"]
        self.assertEqual((held["sender"], held["held"], held["last_error"]), ("", True, None))
        self.assertEqual(held["recipients"][0]["last_reply"], None)

    def test_show_reads_at_most_8_kib_of_headers(self):
        long_header = b"X-Long: " + b"a" * 10000 + b"\r\n"
        insert_queued(self.db, "BIG", message=b"Subject: big\r\n" + long_header + b"\r\nbody\r\n")
        m = json.loads(self.ok("queue", "show", "BIG", "--json"))["message"]
        self.assertTrue(m["headers_truncated"])
        self.assertEqual(len(m["headers"]), 8192)
        self.assertTrue(m["headers"].startswith("Subject: big\r\nX-Long: aaa"))
        self.assertIn("    (cut at 8192 bytes)\n", self.ok("queue", "show", "BIG"))

    def test_show_header_section_forms(self):
        # Bare LF line ends; a message without a body (no blank line) is all header section;
        # an empty header section.
        insert_queued(self.db, "LF", message=b"Subject: lf\nTo: x@y.org\n\nbody\n")
        insert_queued(self.db, "NOBODY", message=b"Subject: only headers\r\n")
        insert_queued(self.db, "NOHEAD", message=b"\r\njust a body\r\n")
        show = lambda id: json.loads(self.ok("queue", "show", id, "--json"))["message"]
        self.assertEqual(show("LF")["headers"], "Subject: lf\nTo: x@y.org\n")
        self.assertEqual((show("NOBODY")["headers"], show("NOBODY")["headers_truncated"]),
                         ("Subject: only headers\r\n", False))
        self.assertEqual(show("NOHEAD")["headers"], "")
        self.assertTrue(self.ok("queue", "show", "NOHEAD").endswith("  Headers:\n"))

    def test_show_body_writes_the_message_as_queued_from_chunks_or_a_whole_body(self):
        # Every byte value; small, as psql takes the SQL as one argument (the 24 MiB e2e test and
        # the integration tests cover many chunks).
        message = b"Subject: raw\r\n\r\n" + bytes(range(256)) * 100 + b"\r\n"
        insert_queued(self.db, "CHUNKS", message=message, chunked=True)
        insert_queued(self.db, "WHOLE", message=message)  # an older release's row
        for id in ("CHUNKS", "WHOLE"):
            with self.subTest(id=id):
                out = subprocess.run([BINARY, "queue", "show", id, "--body"], capture_output=True,
                                     env=clean_env(DATABASE_URL=self.db), timeout=30)
                self.assertEqual((out.returncode, out.stderr), (0, b""))
                self.assertTrue(out.stdout == message, f"{len(out.stdout)} bytes")
                shown = json.loads(self.ok("queue", "show", id, "--json"))["message"]
                self.assertEqual((shown["headers"], shown["size"]), ("Subject: raw\r\n", len(message)))
        self.assertEqual(self.fails(NOT_FOUND, "queue", "show", "NOPE", "--body"), MISSING)
        self.assertEqual(self.fails(USAGE, "queue", "show", "CHUNKS", "--body", "--json"),
                         "mailadmin: queue show --body writes the message as queued, not JSON: "
                         "leave out --json")

    def test_show_escapes_control_characters_in_headers(self):
        insert_queued(self.db, "ESC", message=b"Subject: \x1b]0;owned\x07 hi\r\n\r\nbody")
        out = self.ok("queue", "show", "ESC")
        self.assertIn("    Subject: \\x1b]0;owned\\x07 hi\n", out)
        self.assertNotIn("\x1b", out)
        self.assertEqual(json.loads(self.ok("queue", "show", "ESC", "--json"))["message"]["headers"],
                         "Subject: \x1b]0;owned\x07 hi\r\n")

    def test_c1_controls_are_escaped_in_list_show_and_json(self):
        # U+009B is CSI and U+0085 NEL on a terminal that honours C1 controls; in the headers
        # they come as UTF-8 and as raw bytes that are not UTF-8.
        insert_queued(self.db, "C1", message=b"Subject: \xc2\x9b31mred \x9b2J hi\r\n\r\nbody")
        self.sql("UPDATE postern_queue SET last_error = E'451 4.3.0 \\u009b2J \\u0085next' "
                 "WHERE id = 'C1'")
        shown = self.ok("queue", "show", "C1")
        self.assertIn("    Subject: \\xc2\\x9b31mred \\x9b2J hi\n", shown)
        self.assertIn("  Last error: 451 4.3.0 \\xc2\\x9b2J \\xc2\\x85next\n", shown)
        listed = self.ok("queue", "list")
        self.assertIn("last error: 451 4.3.0 \\xc2\\x9b2J \\xc2\\x85next\n", listed)
        as_json = self.ok("queue", "show", "C1", "--json")
        self.assertIn('"last_error": "451 4.3.0 \\u009b2J \\u0085next"', as_json)
        for out in (shown, listed, as_json):
            self.assertEqual([c for c in out if 0x80 <= ord(c) <= 0x9f], [], out)
        message = json.loads(as_json)["message"]
        self.assertEqual(message["last_error"], "451 4.3.0 \u009b2J \u0085next")
        self.assertEqual(message["headers"], "Subject: \u009b31mred \ufffd2J hi\r\n")

    def test_show_utf8_sender_and_8bitmime(self):
        insert_queued(self.db, "UTF8", sender="jörg@exämple.de", body_type="8BITMIME",
                      smtputf8=True, message="Subject: grüße\r\n\r\nbody".encode())
        out = self.ok("queue", "show", "UTF8")
        self.assertIn("  Sender: jörg@exämple.de\n", out)
        self.assertIn(", 8BITMIME, SMTPUTF8\n", out)
        self.assertIn("    Subject: grüße\n", out)
        self.assertIn("from jörg@exämple.de    to", self.ok("queue", "list"))  # aligned by characters

    def test_show_unknown_id(self):
        self.assertEqual(self.fails(NOT_FOUND, "queue", "show", "NOPE"), MISSING)
        self.assertEqual(self.fails(NOT_FOUND, "queue", "show", "m1old"),  # ids match exactly
                         "mailadmin: queued message m1old does not exist")


class Changes(QueueTestCase):
    def test_retry_makes_the_message_due_now(self):
        self.assertEqual(self.is_due("M1OLD"), "f")
        self.assertEqual(self.ok("queue", "retry", "M1OLD", "--actor", "ops"), "")
        self.assertEqual(self.is_due("M1OLD"), "t")
        self.assertEqual(self.audit(), ["ops|queue retry|M1OLD|"])
        self.assertEqual(json.loads(self.ok("queue", "retry", "M1OLD", "--json")), {"retried": 1})
        self.assertEqual(self.ok("-v", "queue", "retry", "M1OLD"), "message M1OLD due now\n")
        self.assertEqual(len(self.audit()), 3)

    def test_retry_of_a_held_message_keeps_it_held(self):
        self.sql("UPDATE postern_queue SET next_attempt_at = now() + interval '1 hour' "
                 "WHERE id = 'M2HELD'")
        self.ok("queue", "retry", "M2HELD")
        self.assertEqual(self.is_due("M2HELD"), "t")
        self.assertEqual(self.sql("SELECT held FROM postern_queue WHERE id = 'M2HELD'"), "t")

    def test_retry_all_skips_held_messages(self):
        self.sql("UPDATE postern_queue SET next_attempt_at = now() + interval '1 hour'")
        self.assertEqual(json.loads(self.ok("queue", "retry", "--all", "--json", "--actor", "ops")),
                         {"retried": 2})
        self.assertEqual((self.is_due("M1OLD"), self.is_due("M3LEASED"), self.is_due("M2HELD")),
                         ("t", "t", "f"))
        self.assertEqual(self.audit(), ["ops|queue retry|--all|2 messages"])
        self.assertEqual(self.ok("-v", "queue", "retry", "--all"), "2 messages due now\n")
        self.sql("DELETE FROM postern_queue WHERE NOT held")
        self.assertEqual(json.loads(self.ok("queue", "retry", "--all", "--json")), {"retried": 0})

    def test_retry_and_release_wake_the_workers(self):
        with Listener(self.db, "postern_queue") as listener:
            self.ok("queue", "retry", "M1OLD")
            self.assertEqual(listener.payloads(), ["M1OLD"])
            self.ok("queue", "release", "M2HELD")
            self.assertEqual(listener.payloads(), ["M2HELD"])
            self.ok("queue", "retry", "--all")
            self.assertEqual(listener.payloads(), [""])  # one wake-up for the whole batch
            self.ok("queue", "hold", "M1OLD")
            self.ok("queue", "release", "M3LEASED")  # not held: nothing to do, nobody woken
            self.fails(NOT_FOUND, "queue", "retry", "NOPE")
            self.assertEqual(listener.payloads(), [])

    def test_hold_then_release(self):
        self.assertEqual(self.ok("queue", "hold", "M1OLD", "--actor", "ops"), "")
        self.assertEqual(self.sql("SELECT held FROM postern_queue WHERE id = 'M1OLD'"), "t")
        self.assertIn("attempts 3  held        last error", self.ok("queue", "list"))
        self.assertTrue(json.loads(self.ok("queue", "show", "M1OLD", "--json"))["message"]["held"])
        # Holding again changes nothing and is not audited.
        self.assertEqual(json.loads(self.ok("queue", "hold", "M1OLD", "--json")), {"held": 0})
        self.assertEqual(self.ok("-v", "queue", "hold", "M1OLD"), "message M1OLD was held already\n")
        self.assertEqual(self.is_due("M1OLD"), "f")
        self.assertEqual(json.loads(self.ok("queue", "release", "M1OLD", "--json", "--actor", "ops")),
                         {"released": 1})
        self.assertEqual(self.sql("SELECT held FROM postern_queue WHERE id = 'M1OLD'"), "f")
        self.assertEqual(self.is_due("M1OLD"), "t")
        self.assertEqual(self.ok("-v", "queue", "release", "M1OLD"), "message M1OLD was not held\n")
        self.assertEqual(json.loads(self.ok("queue", "release", "M1OLD", "--json")), {"released": 0})
        self.assertEqual(self.ok("-v", "queue", "hold", "M1OLD", "--actor", "ops"),
                         "message M1OLD held\n")
        self.assertEqual(self.ok("-v", "queue", "release", "M1OLD", "--actor", "ops"),
                         "message M1OLD released, due now\n")
        self.assertEqual(self.audit(), ["ops|queue hold|M1OLD|", "ops|queue release|M1OLD|",
                                        "ops|queue hold|M1OLD|", "ops|queue release|M1OLD|"])

    def test_release_of_a_message_that_is_not_held_keeps_its_schedule(self):
        self.ok("queue", "release", "M1OLD")
        self.assertEqual(self.is_due("M1OLD"), "f")
        self.assertEqual(self.audit(), [])

    def test_delete_removes_the_message_and_its_recipients(self):
        self.assertEqual(self.sql("SELECT count(*) FROM postern_queue_recipients "
                                  "WHERE message_id = 'M1OLD'"), "2")
        self.assertEqual(self.ok("queue", "delete", "M1OLD", "--actor", "ops"), "")
        self.assertEqual(self.sql("SELECT count(*) FROM postern_queue WHERE id = 'M1OLD'"), "0")
        self.assertEqual(self.sql("SELECT count(*) FROM postern_queue_recipients "
                                  "WHERE message_id = 'M1OLD'"), "0")
        self.assertEqual(self.sql("SELECT count(*) FROM postern_queue"), "2")  # others stay
        self.assertEqual(self.audit(), [
            "ops|queue delete|M1OLD|from <alice@example.com> to 2 recipients (1 pending)"])
        self.assertEqual(self.fails(NOT_FOUND, "queue", "delete", "M1OLD"),
                         "mailadmin: queued message M1OLD does not exist")
        self.assertEqual(json.loads(self.ok("queue", "delete", "M2HELD", "--json", "--actor", "ops")), {"deleted": 1})
        self.assertEqual(self.ok("-v", "queue", "delete", "M3LEASED"), "message M3LEASED deleted\n")
        self.assertEqual(self.ok("queue", "list"), "--- postern_queue ---\n")
        self.assertIn("ops|queue delete|M2HELD|from <> to 1 recipient (1 pending)", self.audit())

    def test_audit_command_shows_queue_changes(self):
        self.ok("queue", "hold", "M1OLD", "--actor", "ops")
        self.ok("queue", "delete", "M1OLD", "--actor", "ops")
        lines = self.ok("audit").splitlines()
        self.assertRegex(lines[0], r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d  ops  queue hold M1OLD$")
        self.assertTrue(lines[1].endswith(
            "  ops  queue delete M1OLD from <alice@example.com> to 2 recipients (1 pending)"))

    def test_unknown_id_is_not_found_for_every_command(self):
        for command in ("show", "retry", "hold", "release", "delete"):
            for extra in ([], ["--json"]):
                with self.subTest(command=command, extra=extra):
                    self.assertEqual(self.fails(NOT_FOUND, "queue", command, "NOPE", *extra),
                                     MISSING)
        self.assertEqual(self.audit(), [])
        self.assertEqual(self.sql("SELECT count(*) FROM postern_queue"), "3")


class Errors(QueueTestCase):
    USAGE_CASES = {
        ("queue",): "mailadmin: usage: queue list | queue show ID | queue retry ID|--all | "
                    "queue hold ID | queue release ID | queue delete ID",
        ("queue", "flush"): 'mailadmin: unknown command "queue flush" (usage: queue list | '
                            "queue show ID | queue retry ID|--all | queue hold ID | "
                            "queue release ID | queue delete ID)",
        ("queue", "list", "extra"): "mailadmin: usage: queue list",
        ("queue", "list", "--all"): "mailadmin: unknown option --all (usage: queue list)",
        ("queue", "show"): "mailadmin: usage: queue show ID [--body]",
        ("queue", "show", "A", "B"): "mailadmin: usage: queue show ID [--body]",
        ("queue", "retry"): "mailadmin: usage: queue retry ID | queue retry --all",
        ("queue", "retry", "M1OLD", "--all"): "mailadmin: usage: queue retry ID | queue retry --all",
        ("queue", "hold"): "mailadmin: usage: queue hold ID",
        ("queue", "release"): "mailadmin: usage: queue release ID",
        ("queue", "delete"): "mailadmin: usage: queue delete ID",
        ("queue", "delete", "X", "--all"):
            "mailadmin: unknown option --all (usage: queue delete ID)",
    }

    def test_usage_errors(self):
        for args, message in self.USAGE_CASES.items():
            with self.subTest(args=args):
                self.assertEqual(self.fails(USAGE, *args), message)
        self.assertEqual(self.is_due("M1OLD"), "f")  # no usage error retried anything
        self.assertEqual(self.audit(), [])

    def test_unreachable_database(self):
        for args in (["queue", "list"], ["queue", "retry", "--all"], ["queue", "delete", "X"]):
            with self.subTest(args=args):
                line = self.fails(UNREACHABLE, *args, db=closed_port_url())
                self.assertTrue(line.startswith("mailadmin: database unreachable"), line)

    def test_help_describes_the_queue_commands(self):
        out = self.ok("help")
        for words in ("queue list", "queue show ID", "queue retry ID | queue retry --all",
                      "queue hold ID / queue release ID", "queue delete ID",
                      "next in 4m10s | due now | overdue", '{"retried": N}'):
            self.assertIn(words, out)
        self.assertTrue(self.ok("queue", "--help").startswith("Usage: mailadmin"))


class UnmigratedDatabase(MailadminTestCase):
    migrate = False

    def test_queue_needs_the_schema(self):
        self.assertEqual(self.fails(SCHEMA, "queue", "list"),
                         "mailadmin: database schema is not migrated; run mailadmin migrate")


class Repl(QueueTestCase):
    def test_queue_commands_in_a_session(self):
        out = run([], self.db, input="queue list\nqueue hold NOPE\nqueue hold M1OLD\n"
                                     "queue show M1OLD --json\nexit\n")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(out.stderr, MISSING + "\n")
        self.assertTrue(out.stdout.startswith("> --- postern_queue ---\n    - M1OLD     age 1d03h"),
                        out.stdout)
        self.assertIn("    - M3LEASED  age 2h13m", out.stdout)
        self.assertIn('"held": true', out.stdout)
        self.assertTrue(out.stdout.endswith("> Bye\n"))


class BashCompletion(QueueTestCase):
    def test_queue_words_ids_and_options(self):
        self.assertEqual(self.complete("q"), ["queue"])
        self.assertEqual(self.complete("queue", ""),
                         ["delete", "hold", "list", "release", "reseal", "retry", "show"])
        self.assertEqual(self.complete("queue", "show", "M"), ["M1OLD", "M2HELD", "M3LEASED"])
        self.assertEqual(self.complete("queue", "hold", "M2"), ["M2HELD"])
        self.assertEqual(self.complete("queue", "retry", "--a"), ["--actor", "--all"])
        self.assertEqual(self.complete("queue", "list", "--a"), ["--actor"])
        self.assertEqual(self.complete("queue", "show", "M1OLD", "--b"), ["--body"])
        self.assertEqual(self.complete("queue", "reseal", "--se"), ["--seal-key-file"])


if __name__ == "__main__":
    unittest.main()
