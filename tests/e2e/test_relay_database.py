"""The queue and PostgreSQL: what is stored is byte for byte what the client sent plus the added
headers, and a PostgreSQL outage gives temporary failures, never unchecked or lost mail, and
the same postern recovers when PostgreSQL is back."""
import os
import re
import subprocess
import time
import unittest

import pgcluster
from e2e_base import ALICE, ALICE_PW, BOB, RelayTestCase, message
from relay import RawSmtp, queued, wait_until

DATE = re.compile(rb"(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{1,2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) "
                  rb"\d{4} \d\d:\d\d:\d\d \+0000")


def dot_stuffed(data):
    """RFC 5321 §4.5.2: a line starting with "." gets another one."""
    return b"\r\n".join(b"." + line if line.startswith(b".") else line for line in data.split(b"\r\n"))


def split_received(stored):
    """(the Received field with its continuation lines, the rest)."""
    assert stored.startswith(b"Received: "), stored[:80]
    end = 0
    while True:
        end = stored.index(b"\r\n", end) + 2
        if stored[end:end + 1] not in (b"\t", b" "):
            return stored[:end], stored[end:]


class QueueContents(RelayTestCase):

    def submit(self, data, sender="alice@example.com", recipients=("rcpt@example.net",), user=ALICE,
               mail_parameters="", helo="client.test"):
        """Sends data (unstuffed, CRLF, ending in CRLF) through a raw session; returns the stored row."""
        before = self.queue_snapshot()
        client = self.raw()
        client.login(user, {ALICE: ALICE_PW, BOB: "Bob-pw-0d9a4b"}[user], cafile=self.relay.cafile, name=helo)
        self.assertEqual(client.command(f"MAIL FROM:<{sender}>{mail_parameters}").code, 250)
        for r in recipients:
            self.assertEqual(client.command(f"RCPT TO:<{r}>").code, 250)
        self.assertEqual(client.command("DATA").code, 354)
        client.send(dot_stuffed(data) + b".\r\n")
        reply = client.reply()
        self.assertEqual(reply.code, 250, reply)
        client.command("QUIT")
        [stored] = self.queued_since(before)
        self.assertEqual(reply.text, f"2.0.0 Ok: queued as {stored['id']}")
        self.assertRegex(stored["id"], r"^[0-9A-Z]{20}$")
        return stored

    def test_stored_message_is_the_sent_message_after_the_received_header_byte_for_byte(self):
        data = (b"From: Alice <alice@example.com>\r\n"
                b"To: Someone <rcpt@example.net>\r\n"
                b"Subject: a folded\r\n\tsubject line\r\n"
                b"Date: Mon, 2 Jun 2025 10:00:00 +0200\r\n"
                b"Message-ID: <kept.1@client.example>\r\n"
                b"MIME-Version: 1.0\r\n"
                b"Content-Type: text/plain; charset=utf-8\r\n"
                b"Content-Transfer-Encoding: 8bit\r\n"
                b"\r\n"
                b".a line starting with a dot\r\n"
                b"..two dots\r\n"
                b".\t\r\n"
                b"trailing spaces   \r\n"
                b"\r\n"
                b"\r\n"
                + "caf\u00e9 \u2603 8-bit text\r\n".encode()
                + b"x" * 998 + b"\r\n"
                b"From the start of a line, mbox style\r\n"
                b"last line\r\n")
        stored = self.submit(data, mail_parameters=" BODY=8BITMIME")
        received, rest = split_received(stored["message"])
        self.assertEqual(rest, data)
        self.assertEqual(stored["size"], len(stored["message"]))
        self.assertEqual(stored["body_type"], "8BITMIME")

    def test_received_header_names_the_queue_id_and_not_the_user(self):
        stored = self.submit(message())
        received, _ = split_received(stored["message"])
        unfolded = re.sub(rb"\r\n[ \t]", b" ", received)
        self.assertRegex(unfolded, rb"^Received: from client\.test \(\[127\.0\.0\.1\]\) by relay\.test \(Postern\) "
                                   rb"with ESMTPSA id " + stored["id"].encode() + rb" ")
        self.assertNotIn(b"authenticated user", unfolded)  # submission.received_shows_user: false
        self.assertNotIn(b"alice", unfolded)
        self.assertIn(b"for <rcpt@example.net>;", unfolded)
        self.assertRegex(unfolded, b"; " + DATE.pattern + b"\r\n$")
        for line in received.split(b"\r\n")[:-1]:
            self.assertLessEqual(len(line), 78, line)

    def test_received_header_neutralises_a_hostile_helo(self):
        stored = self.submit(message(), helo='evil)(by\\x;<y>"')
        first_line = stored["message"].split(b"\r\n", 1)[0]
        self.assertEqual(first_line, b"Received: from evil??by?x??y?? ([127.0.0.1])")
        self.assertEqual(stored["helo"], 'evil)(by\\x;<y>"')

    def test_received_header_of_several_recipients_names_none(self):
        stored = self.submit(message(), recipients=("one@example.net", "two@example.net"))
        received, _ = split_received(stored["message"])
        self.assertNotIn(b"for <", received)
        self.assertEqual(stored["recipients"], ["one@example.net", "two@example.net"])

    def test_missing_message_id_and_date_are_appended_to_the_header_block(self):
        headers = b"From: alice@example.com\r\nTo: rcpt@example.net\r\nSubject: bare\r\n"
        body = b"Body.\r\n"
        stored = self.submit(headers + b"\r\n" + body)
        _, rest = split_received(stored["message"])
        added = re.fullmatch(re.escape(headers) + rb"Message-ID: <([^>]+)>\r\nDate: (" + DATE.pattern + rb")\r\n"
                             + rb"\r\n" + re.escape(body), rest)
        self.assertIsNotNone(added, rest)
        self.assertEqual(added.group(1).decode(), f"{stored['id']}@relay.test")

    def test_a_message_id_sent_by_the_client_is_kept_unchanged(self):
        for field in (b"Message-ID: <client.2@client.example>", b"message-id:  <client.3@client.example> ",
                      b"Message-Id: <client.4@client.example>"):
            with self.subTest(field=field):
                headers = b"From: alice@example.com\r\n" + field + b"\r\nSubject: kept\r\n"
                stored = self.submit(headers + b"\r\nBody.\r\n")
                _, rest = split_received(stored["message"])
                self.assertRegex(rest, re.escape(headers) + rb"Date: " + DATE.pattern + rb"\r\n\r\nBody\.\r\n$")
                self.assertEqual(rest.lower().count(b"message-id:"), 1)

    def test_a_message_without_a_body_gets_the_headers_at_its_end(self):
        headers = b"From: alice@example.com\r\nSubject: no body\r\nDate: Mon, 2 Jun 2025 10:00:00 +0000\r\n"
        stored = self.submit(headers)
        _, rest = split_received(stored["message"])
        self.assertEqual(rest, headers + f"Message-ID: <{stored['id']}@relay.test>\r\n".encode())

    def test_envelope_is_stored_with_the_message(self):
        stored = self.submit(message("ops@corp.example"), sender="ops@corp.example", user=BOB,
                             recipients=("b@example.net", "a@example.net", "c@example.org"), helo="bob-laptop.test")
        self.assertEqual(stored["sender"], "ops@corp.example")
        self.assertEqual(stored["auth_user"], BOB)
        self.assertEqual(stored["client_address"], "127.0.0.1")
        self.assertEqual(stored["helo"], "bob-laptop.test")
        self.assertEqual(stored["recipients"], ["b@example.net", "a@example.net", "c@example.org"])
        self.assertEqual((stored["body_type"], stored["smtputf8"]), ("7BIT", False))

    def test_smtputf8_message_is_stored_with_its_flag(self):
        stored = self.submit(message(to="\u00fcser@example.net"), recipients=("\u00fcser@example.net",),
                             mail_parameters=" SMTPUTF8 BODY=8BITMIME")
        self.assertTrue(stored["smtputf8"])
        self.assertEqual(stored["recipients"], ["\u00fcser@example.net"])

    def test_a_message_refused_by_a_filter_leaves_no_rows(self):
        before_recipients = pgcluster.psql(self.db, "SELECT count(*) FROM postern_queue_recipients")
        client = self.raw_logged_in(ALICE)
        for line in ("MAIL FROM:<alice@example.com>", "RCPT TO:<r@example.net>", "DATA"):
            client.command(line)
        client.send(message("mallory@example.com") + b".\r\n")
        self.assertEqual(client.reply().code, 550)
        self.assertEqual(pgcluster.psql(self.db, "SELECT count(*) FROM postern_queue_recipients"), before_recipients)


# ---- PostgreSQL outage ---------------------------------------------------------------------

PG_BIN = "/usr/lib/postgresql/15/bin"


def _as_postgres(args):
    return (["runuser", "-u", "postgres", "--"] + args) if os.geteuid() == 0 else args


class ReceivedShowsUser(RelayTestCase):
    relay_config = {"submission": {"received_shows_user": True}}

    def test_received_header_names_the_user_as_normalised_when_configured(self):
        before = self.queue_snapshot()
        client = self.raw()
        client.login("ALICE", ALICE_PW, cafile=self.relay.cafile)  # stored as alice
        self.assertEqual(client.command("MAIL FROM:<alice@example.com>").code, 250)
        self.assertEqual(client.command("RCPT TO:<rcpt@example.net>").code, 250)
        self.assertEqual(client.command("DATA").code, 354)
        client.send(message() + b".\r\n")
        self.assertEqual(client.reply().code, 250)
        [stored] = self.queued_since(before)
        received, _ = split_received(stored["message"])
        unfolded = re.sub(rb"\r\n[ \t]", b" ", received)
        self.assertIn(b" (authenticated user alice) for <rcpt@example.net>;", unfolded)
        self.assertEqual(stored["auth_user"], ALICE)


class DatabaseOutage(RelayTestCase):
    """Its own PostgreSQL cluster, stopped and started again on the same port."""

    # One pooled connection, so which connection a lookup uses is deterministic.
    relay_config = {"database": {"timeout_seconds": 2, "pool_size": 1}}

    @classmethod
    def database_url(cls):
        cls.cluster = pgcluster.PrivateCluster()
        cls.addClassCleanup(cls.cluster.destroy)
        url = cls.cluster.start()
        cls.pg_port = int(re.search(r":(\d+)/", url).group(1))
        return url

    @classmethod
    def stop_postgres(cls):
        cls.cluster.stop()  # pg_ctl -m fast -w stop: connections are cut

    @classmethod
    def start_postgres(cls):
        pg = os.path.join(cls.cluster.dir, "pg")
        subprocess.run(_as_postgres([f"{PG_BIN}/pg_ctl", "-D", os.path.join(pg, "data"), "-l",
                                     os.path.join(pg, "postgres.log"), "-w", "-t", "60", "-o",
                                     f"-p {cls.pg_port} -k {pg} -c listen_addresses=127.0.0.1 -c fsync=off",
                                     "start"]), check=True, capture_output=True)

    def logged_in(self, user=ALICE):
        client = RawSmtp(self.relay.port)
        self.addCleanup(client.close)
        client.login(user, ALICE_PW, cafile=self.relay.cafile)
        return client

    def fresh_session_auth_reply(self):
        with RawSmtp(self.relay.port) as client:
            client.reply()
            client.ehlo()
            client.starttls(self.relay.cafile)
            client.ehlo()
            return client.auth_plain(ALICE, ALICE_PW)

    def send_on(self, client, subject):
        for line in ("RCPT TO:<rcpt@example.net>", "DATA"):
            self.assertIn(client.command(line).code, (250, 354))
        client.send(message(subject=subject) + b".\r\n")
        return client.reply()

    def test_outage_gives_temporary_failures_and_the_same_postern_recovers(self):
        waiting = self.logged_in()          # authenticated while PostgreSQL is up
        in_data = self.logged_in()          # mid-transaction when PostgreSQL goes away
        self.assertEqual(in_data.command("MAIL FROM:<alice@example.com>").code, 250)
        self.assertEqual(in_data.command("RCPT TO:<rcpt@example.net>").code, 250)
        self.assertEqual(in_data.command("DATA").code, 354)

        self.stop_postgres()
        try:
            self.assertEqual(waiting.command("MAIL FROM:<alice@example.com>").raw,
                             b"451 4.3.0 Temporary failure, try again later\r\n")
            self.assertEqual(self.fresh_session_auth_reply().raw,
                             b"454 4.7.0 Temporary authentication failure\r\n")
            # The message could not be committed: 451, not 250.
            in_data.send(message(subject="lost in the outage") + b".\r\n")
            self.assertEqual(in_data.reply().raw, b"451 4.3.0 Temporary failure, try again later\r\n")
            self.assertEqual(self.relay.process.poll(), None, "postern must keep running")
        finally:
            self.start_postgres()

        # The same postern recovers: the waiting session retries its MAIL FROM.
        attempts = []

        def mail_accepted():
            reply = waiting.command("MAIL FROM:<alice@example.com>")
            attempts.append(reply.code)
            if reply.code == 451:
                time.sleep(0.1)
            return reply.code == 250
        wait_until(mail_accepted, timeout=20, interval=0, message="MAIL FROM to be accepted again")
        reply = self.send_on(waiting, "after the outage")
        self.assertEqual(reply.code, 250, reply)

        # New sessions authenticate and send again.
        wait_until(lambda: self.fresh_session_auth_reply().code == 235, timeout=20, message="AUTH to work again")
        fresh = self.logged_in()
        self.assertEqual(fresh.command("MAIL FROM:<alice@example.com>").code, 250)
        self.assertEqual(self.send_on(fresh, "new session after the outage").code, 250)

        subjects = [re.search(rb"Subject: (.*)\r\n", m["message"]).group(1) for m in queued(self.db)]
        # Other tests of this class share the database; only this test's messages count here.
        mine = [s for s in subjects if s in (b"lost in the outage", b"after the outage", b"new session after the outage")]
        self.assertEqual(sorted(mine), [b"after the outage", b"new session after the outage"])
        self.assertEqual(set(attempts) - {250, 451}, set(), attempts)

    def test_first_mail_from_after_postgres_is_back_is_accepted(self):
        waiting = self.logged_in()
        self.assertEqual(waiting.command("MAIL FROM:<alice@example.com>").code, 250)
        self.assertEqual(waiting.command("RSET").code, 250)
        self.stop_postgres()
        self.start_postgres()
        pgcluster.psql(self.db, "SELECT 1")  # PostgreSQL accepts connections again
        self.assertEqual(waiting.command("MAIL FROM:<alice@example.com>").raw, b"250 2.1.0 Ok\r\n")

    def test_message_completed_after_a_postgres_restart_is_queued(self):
        client = self.logged_in()
        for line in ("MAIL FROM:<alice@example.com>", "RCPT TO:<rcpt@example.net>", "DATA"):
            self.assertIn(client.command(line).code, (250, 354))
        self.stop_postgres()
        self.start_postgres()
        pgcluster.psql(self.db, "SELECT 1")
        client.send(message(subject="across a restart") + b".\r\n")
        self.assertEqual(client.reply().code, 250)

if __name__ == "__main__":
    unittest.main()
