"""mailadmin with no command: the Secure Emailing REPL (prompt "> ", help, exit -> Bye), fed
through a pipe and through a real terminal."""
import os
import pty
import select
import subprocess
import time
import unittest

from mailadmin_support import BINARY, MailadminTestCase, clean_env, closed_port_url, run


class PipedSessionRunsEachLine(MailadminTestCase):
    def session(self, text, *args, db=None):
        out = run(list(args), db or self.db, input=text)
        self.assertEqual(out.returncode, 0, out.stderr)
        return out

    def test_add_then_list_then_exit(self):
        out = self.session("add domain x.org\nlist domains\nexit\n")
        self.assertEqual(out.stdout, "> > --- emailing_domains ---\n    - x.org\n> Bye\n")
        self.assertEqual(out.stderr, "")

    def test_end_of_input_says_bye(self):
        out = self.session("list users")
        self.assertEqual(out.stdout, "> --- emailing_users ---\n> \nBye\n")
        self.assertEqual(self.session("").stdout, "> \nBye\n")
        self.assertEqual(self.session("quit\n").stdout, "> Bye\n")

    def test_errors_are_reported_and_the_loop_goes_on(self):
        out = self.session("frob\nshow user ghost\nadd domain bad_domain\nadd domain y.org\n"
                           "add domain y.org\nlist\nlist domains\n")
        self.assertEqual(out.stderr.splitlines(), [
            'mailadmin: unknown command "frob" (try mailadmin help)',
            "mailadmin: user ghost does not exist",
            'mailadmin: invalid domain "bad_domain": domain contains invalid character \'_\'',
            "mailadmin: domain y.org already exists",
            "mailadmin: usage: list users|addresses|domains|shares",
        ])
        self.assertTrue(out.stdout.endswith("    - y.org\n> \nBye\n"), out.stdout)

    def test_help_blank_lines_comments_and_quotes(self):
        out = self.session('help\n\n   \n# a comment\nadd address "q@z.org"\nshow address  q@z.org \n')
        self.assertTrue(out.stdout.startswith("> Usage: mailadmin"))
        self.assertIn("> > > > > --- Show q@z.org ---\n  Users:\n> \nBye\n", out.stdout)
        self.assertEqual(out.stderr, "")
        out = self.session('add user "two words"\nsecret\nadd domain "unterminated\n')
        self.assertEqual(out.stderr.splitlines(), [
            'mailadmin: invalid user name "two words": contains a space',
            "mailadmin: unterminated quote"])
        self.assertNotIn("secret", out.stdout + out.stderr)

    def test_password_is_the_next_line(self):
        out = self.session("add user rita\nRita-Pw-1\nshow user rita\npasswd rita\nRita-Pw-2\n"
                           "add user rita\nRita-Pw-3\nadd user\nRita-Pw-4\nexit\n")
        self.assertIn("--- Show rita ---\n  Status: enabled\n  Password: argon2id\n", out.stdout)
        self.assertEqual(out.stderr.splitlines(), ["mailadmin: user rita already exists",
                                                   "mailadmin: usage: add user USER [--password-stdin]"])
        for secret in ("Rita-Pw-1", "Rita-Pw-2", "Rita-Pw-3", "Rita-Pw-4"):
            self.assertNotIn(secret, out.stdout + out.stderr)
        self.assertTrue(out.stdout.endswith("> Bye\n"))

    def test_global_options_from_argv_and_per_line(self):
        self.session("add domain j.org\n")
        out = self.session("list domains\n", "--json")
        self.assertIn('"domains"', out.stdout)
        out = self.session("list domains --json\nlist domains\n")
        self.assertIn('"domains"', out.stdout)
        self.assertIn("--- emailing_domains ---", out.stdout)
        out = self.session("-v add domain k.org\n")
        self.assertEqual(out.stdout, "> domain k.org added\n> \nBye\n")

    def test_check_and_unreachable_database_do_not_end_the_session(self):
        out = self.session("check nobody a@b.org\nlist users\n", db=closed_port_url())
        self.assertEqual(len(out.stderr.splitlines()), 2)
        self.assertTrue(all(line.startswith("mailadmin: database unreachable")
                            for line in out.stderr.splitlines()))
        self.assertTrue(out.stdout.endswith("Bye\n"))

    def test_unmigrated_database_then_migrate_in_the_session(self):
        import pgcluster
        db = pgcluster.fresh_database("cli_repl")
        out = self.session("list users\nmigrate\nlist users\n", db=db)
        self.assertEqual(out.stderr,
                         "mailadmin: database schema is not migrated; run mailadmin migrate\n")
        self.assertIn("applied migration 1 (secure_emailing)\n", out.stdout)
        self.assertTrue(out.stdout.endswith("> --- emailing_users ---\n> \nBye\n"), out.stdout)


class TerminalSession(MailadminTestCase):
    """The REPL on a real terminal: the password of `add user` is prompted for without echo."""

    def test_add_user_prompts_on_the_terminal(self):
        master, slave = pty.openpty()
        proc = subprocess.Popen([BINARY], stdin=slave, stdout=slave, stderr=slave,
                                env=clean_env(DATABASE_URL=self.db), start_new_session=True)
        os.close(slave)
        script = [("> ", "add user tina"), ("password: ", "Tty-Secret"),
                  ("retype password: ", "Tty-Secret"), ("> ", "list users"),
                  ("    - tina\r\n> ", "exit")]
        transcript = b""
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.5)
            if ready:
                try:
                    chunk = os.read(master, 4096)
                except OSError:
                    break
                if not chunk:
                    break
                transcript += chunk
                if script and transcript.endswith(script[0][0].encode()):
                    os.write(master, script.pop(0)[1].encode() + b"\n")
            elif proc.poll() is not None:
                break
        self.assertEqual(proc.wait(timeout=10), 0)
        os.close(master)
        text = transcript.decode(errors="replace")
        self.assertEqual(script, [], text)
        self.assertNotIn("Tty-Secret", text)
        self.assertIn("add user tina", text)  # ordinary lines are echoed by the terminal
        self.assertTrue(text.endswith("Bye\r\n"), text)


if __name__ == "__main__":
    unittest.main()
