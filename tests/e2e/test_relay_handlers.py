"""Handlers, end to end: the real postern runs the handlers of postern.yaml on each message at the
end of DATA, before the 250 — built-in actions (set_recipient, set_sender, add_header,
remove_header, discard, reject, defer, route) and external commands (check and rewrite, their
exit statuses, the timeout that kills the whole process group, bounded output, a program that is
gone) — and delivers what they leave to real upstreams (tests/support/smtp_sink.py). The example
PBX handler (examples/handlers/save-voice-messages) saves a WAV attachment.
"""
import email
import email.policy
import io
import os
import re
import signal
import smtplib
import stat
import time
import unittest
import uuid
import wave
from email.message import EmailMessage

from e2e_base import ALICE, BOB
from relay import RelayServer, Sink, run_postern, to_yaml, wait_until
from test_delivery import DeliveryTestCase, mail, subject_of
from test_http import get, parse_metrics

SOURCE = os.environ.get("POSTERN_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
PBX_HANDLER = os.path.join(SOURCE, "examples", "handlers", "save-voice-messages")
PYTHON = "/usr/bin/python3"

# The scripts the command handlers run, written into the class's folder before postern starts
# (it checks at start-up that each program exists).
SCRIPTS = {
    # mode: rewrite. Writes LF line endings, as scripts do: the relay makes them CRLF.
    "rewrite.py": r"""
import sys
data = sys.stdin.buffer.read().replace(b"\r\n", b"\n")
head, _, body = data.partition(b"\n\n")
sys.stdout.buffer.write(head + b"\nX-Rewritten: yes\n\n" + body.upper())
""",
    # mode: rewrite, with LF line endings: under the relay's size limit (limits.max_message_size,
    # 100000) as written, over it once every line ends in CRLF.
    "inflate.py": r"""
import sys
sys.stdout.buffer.write(sys.stdin.buffer.read().replace(b"\r\n", b"\n") + (b"x" * 70 + b"\n") * 1400)
""",
    "refuse.sh": "#!/bin/sh\ncat >/dev/null\necho 'Recipient refuses mail from robots'\nexit 77\n",
    "tempfail.sh": "#!/bin/sh\ncat >/dev/null\nexit 75\n",
    "crash.sh": "#!/bin/sh\nkill -SEGV $$\n",
    # Sleeps past its timeout, with a child in its process group: both must be killed.
    "sleepy.sh": "#!/bin/sh\nsleep 300 &\necho $! > \"$PIDS/child\"\necho $$ > \"$PIDS/parent\"\nwait\n",
    "flood.sh": "#!/bin/sh\nexec yes 'output without end'\n",
    "drop.sh": "#!/bin/sh\ncat >/dev/null\nexit 99\n",
    # Writes what it saw: its environment, its working directory and the message.
    "record.sh": "#!/bin/sh\nenv > \"$OUT/env\"\npwd > \"$OUT/pwd\"\ncat > \"$OUT/message\"\n",
    "vanishing.sh": "#!/bin/sh\nexit 0\n",
}


def executable(path, text):
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, os.stat(path).st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return path


def wav_bytes():
    """Half a second of 8 kHz silence as a WAV file."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(b"\0\0" * 4000)
    return buffer.getvalue()


def process_gone(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    # A zombie still answers kill(pid, 0) until its parent reaps it.
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ", 1)[1].startswith("Z")
    except FileNotFoundError:
        return True


class Handlers(DeliveryTestCase):
    """One postern with a handler per case, each selected by its own recipient."""

    @classmethod
    def make_sinks(cls):
        return {"a": Sink(), "b": Sink()}

    @classmethod
    def configure(cls):
        cls.scripts = os.path.join(cls.work, "scripts")
        cls.out = os.path.join(cls.work, "out")
        cls.pids = os.path.join(cls.work, "pids")
        cls.voice = os.path.join(cls.work, "voice")
        for folder in (cls.scripts, cls.out, cls.pids, cls.voice):
            os.mkdir(folder)
        path = {name: executable(os.path.join(cls.scripts, name), text) for name, text in SCRIPTS.items()}

        def when_to(local, **more):
            return dict({"recipient": f"{local}@example.net"}, **more)

        handlers = [
            {"name": "tag", "when": when_to("tag"), "add_header": {"name": "X-Tag", "value": "tagged by postern"}},
            {"name": "untag", "when": when_to("tag"), "remove_header": {"name": "X-Secret"}},
            {"name": "redirect", "when": when_to("redirect"), "set_recipient": {"address": "archive@example.org"}},
            {"name": "as-corp", "when": when_to("as-corp", user=BOB),
             "set_sender": {"address": "noreply@corp.example", "display_name": "Corp Robot"}},
            {"name": "as-corp-denied", "when": when_to("as-corp", user=ALICE),
             "set_sender": {"address": "noreply@corp.example"}},
            {"name": "vouched", "when": when_to("vouched"),
             "set_sender": {"address": "robot@service.example", "any_user": True}},
            {"name": "drop", "when": when_to("drop"), "discard": {}},
            {"name": "refuse", "when": when_to("refuse"),
             "reject": {"code": 554, "enhanced": "5.7.1", "text": "No mail to this address"}},
            {"name": "hold", "when": when_to("hold"), "defer": {}},
            {"name": "route-b", "when": {"header": {"name": "Subject", "matches": "(?i)^route me"}},
             "route": {"upstream": "b"}},
            {"name": "big", "when": when_to("size", size_above=2000), "add_header": {"name": "X-Size", "value": "big"}},
            {"name": "rewrite", "when": when_to("rewrite"),
             "command": {"argv": [PYTHON, path["rewrite.py"]], "mode": "rewrite"}},
            {"name": "inflate", "when": when_to("inflate"),
             "command": {"argv": [PYTHON, path["inflate.py"]], "mode": "rewrite"}},
            {"name": "refuse-cmd", "when": when_to("refuse-cmd"), "command": {"argv": [path["refuse.sh"]]}},
            {"name": "tempfail", "when": when_to("tempfail"), "command": {"argv": [path["tempfail.sh"]]}},
            {"name": "crash", "when": when_to("crash"), "command": {"argv": [path["crash.sh"]]}},
            {"name": "sleepy", "when": when_to("sleepy"),
             "command": {"argv": [path["sleepy.sh"]], "timeout_seconds": 1, "environment": [f"PIDS={cls.pids}"]}},
            {"name": "flood", "when": when_to("flood"),
             "command": {"argv": [path["flood.sh"]], "max_output_bytes": 1000}},
            {"name": "drop-cmd", "when": when_to("drop-cmd"),
             "command": {"argv": [path["drop.sh"]], "discard_status": 99}},
            {"name": "record", "when": when_to("record"),
             "command": {"argv": [path["record.sh"]], "working_directory": cls.out,
                         "environment": [f"OUT={cls.out}"]}},
            {"name": "vanishing", "when": when_to("vanishing"), "command": {"argv": [path["vanishing.sh"]]}},
            {"name": "pbx", "when": {"sender_domain": "example.com", "header": {"name": "Subject", "matches": "^Voice message"}},
             "command": {"argv": [PBX_HANDLER, cls.voice], "timeout_seconds": 30}},
        ]
        return {"upstreams": [cls.sinks["a"].upstream("a"), cls.sinks["b"].upstream("b")],
                "default_upstream": "a", "handlers": handlers,
                "delivery": {"first_retry_seconds": 1, "max_retry_seconds": 2}}

    # ---- helpers ----

    def submit(self, recipient, user=ALICE, sender=None, data=None, subject=None):
        """One transaction to recipient; returns (code, reply text, subject)."""
        sender = sender or ("alice@example.com" if user == ALICE else "bob@example.com")
        subject = subject or f"test {uuid.uuid4().hex}"
        data = data or mail(sender, to=recipient, subject=subject)
        client = self.logged_in(user)
        code, reply = client.mail(sender)
        self.assertEqual(code, 250, reply)
        code, reply = client.rcpt(recipient)
        self.assertEqual(code, 250, reply)
        code, reply = client.data(data)
        return code, reply.decode(), subject

    def metrics(self):
        status, _, body = get(self.relay.http_port, "/metrics")
        self.assertEqual(status, 200)
        return parse_metrics(body)

    def delivered(self, subject, sink="a"):
        return self.wait_for_subject(self.sinks[sink], subject)

    def assert_never_delivered(self, subject):
        time.sleep(0.5)  # the sinks would have it by now: delivery starts at once
        for sink in self.sinks.values():
            self.assertEqual(self.by_subject(sink.messages(), subject), [])

    # ---- built-in actions ----

    def test_add_header_and_remove_header(self):
        subject = f"tag {uuid.uuid4().hex}"
        data = mail("alice@example.com", to="tag@example.net", subject=subject, headers=("X-Secret: 42",))
        code, reply, _ = self.submit("tag@example.net", data=data)
        self.assertEqual(code, 250, reply)
        got = self.delivered(subject)["data"]
        self.assertIn(b"\r\nX-Tag: tagged by postern\r\n", got)
        self.assertNotIn(b"X-Secret", got)
        # The size logged (and counted in postern_accepted_bytes_total) is the edited message's.
        queue_id = reply.rsplit(" ", 1)[1]
        self.relay.wait_for_log(rf"event=message_accepted id={queue_id} .*size={len(got)}\b")

    def test_set_recipient_changes_the_envelope_and_to(self):
        code, reply, subject = self.submit("redirect@example.net")
        self.assertEqual(code, 250, reply)
        got = self.delivered(subject)
        self.assertEqual(got["rcpt_tos"], ["archive@example.org"])
        self.assertIn(b"\r\nTo: archive@example.org\r\n", got["data"])
        self.assertNotIn(b"redirect@example.net", got["data"].split(b"\r\n\r\n")[0].split(b"Received:")[0])

    def test_set_sender_to_an_address_the_user_may_send_as(self):
        code, reply, subject = self.submit("as-corp@example.net", user=BOB)
        self.assertEqual(code, 250, reply)
        got = self.delivered(subject)
        self.assertEqual(got["mail_from"], "noreply@corp.example")
        self.assertIn(b"\r\nFrom: Corp Robot <noreply@corp.example>\r\n", got["data"])

    def test_set_sender_to_an_address_the_user_may_not_send_as_is_refused(self):
        before = self.queue_snapshot()
        code, reply, subject = self.submit("as-corp@example.net", user=ALICE)
        self.assertEqual((code, reply), (550, "5.7.1 Sender address rejected: not owned by user"))
        self.assert_nothing_queued_since(before)
        self.assert_never_delivered(subject)

    def test_set_sender_with_any_user_passes_the_header_from_policy(self):
        code, reply, subject = self.submit("vouched@example.net")
        self.assertEqual(code, 250, reply)
        got = self.delivered(subject)
        self.assertEqual(got["mail_from"], "robot@service.example")
        self.assertIn(b"\r\nFrom: robot@service.example\r\n", got["data"])

    def test_discard_answers_250_counts_and_never_delivers(self):
        before_queue = self.queue_snapshot()
        before = self.metrics().get('postern_messages_discarded_total{handler="drop"}', 0)
        code, reply, subject = self.submit("drop@example.net")
        self.assertEqual(code, 250, reply)
        self.assertRegex(reply, r"^2\.0\.0 Ok: queued as \S+$")
        queue_id = reply.rsplit(" ", 1)[1]
        self.assert_nothing_queued_since(before_queue)
        self.assert_never_delivered(subject)
        samples = self.metrics()
        self.assertEqual(samples['postern_messages_discarded_total{handler="drop"}'], before + 1)
        self.assertGreaterEqual(samples['postern_handler_results_total{handler="drop",result="discard"}'], 1)
        self.relay.wait_for_log(rf"event=message_discarded id={queue_id} .*handler=drop")

    def test_reject_sends_the_configured_reply(self):
        before = self.queue_snapshot()
        code, reply, subject = self.submit("refuse@example.net")
        self.assertEqual((code, reply), (554, "5.7.1 No mail to this address"))
        self.assert_nothing_queued_since(before)
        self.assert_never_delivered(subject)

    def test_defer_answers_4xx(self):
        before = self.queue_snapshot()
        code, reply, _ = self.submit("hold@example.net")
        self.assertEqual((code, reply), (451, "4.7.1 Message deferred, try again later"))
        self.assert_nothing_queued_since(before)

    def test_route_by_a_header_takes_precedence_over_the_routes(self):
        code, reply, subject = self.submit("rcpt@example.net", subject=f"Route me {uuid.uuid4().hex}")
        self.assertEqual(code, 250, reply)
        self.delivered(subject, sink="b")
        self.assertEqual(self.by_subject(self.sinks["a"].messages(), subject), [])

    def test_route_is_recorded_in_the_queue(self):
        self.sinks["b"].set_rules({"rcpt": {"held@example.net": "451 4.3.0 Try later"}})
        self.addCleanup(self.sinks["b"].set_rules, {})
        code, reply, subject = self.submit("held@example.net", subject=f"Route me {uuid.uuid4().hex}")
        self.assertEqual(code, 250, reply)
        queue_id = reply.rsplit(" ", 1)[1]
        shown = self.wait_until_deferred(queue_id)
        self.assertEqual(shown["upstream"], "b")
        text = self.admin.ok("queue", "show", queue_id)
        self.assertIn("Upstream: b (chosen by a handler)", text)
        self.sinks["b"].set_rules({})
        self.admin.ok("queue", "retry", "--all")
        self.delivered(subject, sink="b")

    def test_size_condition(self):
        small_subject = f"small {uuid.uuid4().hex}"
        code, reply, _ = self.submit("size@example.net", subject=small_subject)
        self.assertEqual(code, 250, reply)
        self.assertNotIn(b"X-Size", self.delivered(small_subject)["data"])
        big_subject = f"big {uuid.uuid4().hex}"
        data = mail("alice@example.com", to="size@example.net", subject=big_subject, body=("x" * 70 + "\r\n") * 40)
        code, reply, _ = self.submit("size@example.net", data=data)
        self.assertEqual(code, 250, reply)
        self.assertIn(b"\r\nX-Size: big\r\n", self.delivered(big_subject)["data"])

    # ---- commands ----

    def test_rewrite_command_replaces_the_message(self):
        subject = f"rewrite {uuid.uuid4().hex}"
        data = mail("alice@example.com", to="rewrite@example.net", subject=subject, body="quiet words\r\n")
        code, reply, _ = self.submit("rewrite@example.net", data=data)
        self.assertEqual(code, 250, reply)
        got = self.delivered(subject)["data"]
        self.assertIn(b"\r\nX-Rewritten: yes\r\n", got)
        self.assertTrue(got.endswith(b"\r\n\r\nQUIET WORDS\r\n"), got[-60:])
        self.assertNotIn(b"\n\n", got.replace(b"\r\n", b""))  # every line ending is CRLF

    def test_rewrite_over_the_size_limit_defers(self):
        before = self.queue_snapshot()
        code, reply, subject = self.submit("inflate@example.net")
        self.assertEqual(code, 451, reply)
        self.relay.wait_for_log(r'handler=inflate .*reason="rewrite refused: the new message is over 100000 octets')
        self.assert_nothing_queued_since(before)

    def test_command_exit_77_rejects_with_its_first_line(self):
        before = self.queue_snapshot()
        code, reply, subject = self.submit("refuse-cmd@example.net")
        self.assertEqual((code, reply), (550, "5.7.1 Recipient refuses mail from robots"))
        self.assert_nothing_queued_since(before)
        self.assert_never_delivered(subject)

    def test_command_exit_75_defers(self):
        code, reply, _ = self.submit("tempfail@example.net")
        self.assertEqual(code, 451, reply)
        self.relay.wait_for_log(r'handler=tempfail action=command result=defer reason="exit 75')

    def test_command_killed_by_a_signal_defers(self):
        code, reply, _ = self.submit("crash@example.net")
        self.assertEqual(code, 451, reply)
        self.relay.wait_for_log(r'handler=crash .*reason="killed by signal 11 \(SIGSEGV\)')

    def test_command_timeout_defers_and_kills_its_process_group(self):
        started = time.monotonic()
        code, reply, _ = self.submit("sleepy@example.net")
        self.assertEqual(code, 451, reply)
        self.assertLess(time.monotonic() - started, 25)  # the 1 s timeout, not the 300 s sleep
        self.relay.wait_for_log(r'handler=sleepy .*reason="timed out after 1 s')
        for name in ("parent", "child"):
            with open(os.path.join(self.pids, name)) as f:
                pid = int(f.read())
            wait_until(lambda: process_gone(pid), 10, message=f"the {name} process {pid} to be killed")

    def test_command_with_huge_output_is_bounded_and_defers(self):
        code, reply, _ = self.submit("flood@example.net")
        self.assertEqual(code, 451, reply)
        self.relay.wait_for_log(r'handler=flood .*reason="output over 1000 bytes')

    def test_command_discard_status_discards(self):
        before = self.metrics().get('postern_messages_discarded_total{handler="drop-cmd"}', 0)
        code, reply, subject = self.submit("drop-cmd@example.net")
        self.assertEqual(code, 250, reply)
        self.assert_never_delivered(subject)
        self.assertEqual(self.metrics()['postern_messages_discarded_total{handler="drop-cmd"}'], before + 1)

    def test_command_sees_the_message_and_a_clean_environment(self):
        code, reply, subject = self.submit("record@example.net")
        self.assertEqual(code, 250, reply)
        queue_id = reply.rsplit(" ", 1)[1]
        self.delivered(subject)
        with open(os.path.join(self.out, "env")) as f:
            env = dict(line.split("=", 1) for line in f.read().splitlines() if "=" in line)
        self.assertEqual(env["POSTERN_SENDER"], "alice@example.com")
        self.assertEqual(env["POSTERN_RECIPIENTS"], "record@example.net")
        self.assertEqual(env["POSTERN_USER"], ALICE)
        self.assertEqual(env["POSTERN_CLIENT"], "127.0.0.1")
        self.assertEqual(env["POSTERN_QUEUE_ID"], queue_id)
        self.assertEqual(env["POSTERN_HANDLER"], "record")
        self.assertEqual(env["OUT"], self.out)
        # Nothing of the relay's own environment: no database URL, no HOME.
        self.assertEqual(set(env) - {"PATH", "PWD", "SHLVL", "_", "OUT"} - {k for k in env if k.startswith("POSTERN_")},
                         set())
        with open(os.path.join(self.out, "pwd")) as f:
            self.assertEqual(f.read().strip(), self.out)
        with open(os.path.join(self.out, "message"), "rb") as f:
            seen = f.read()
        self.assertIn(f"Subject: {subject}\r\n".encode(), seen)
        self.assertTrue(seen.endswith(b"\r\n\r\nHi.\r\n"), seen[-40:])

    def test_command_that_is_gone_defers_with_a_clear_log(self):
        os.remove(os.path.join(self.scripts, "vanishing.sh"))
        code, reply, _ = self.submit("vanishing@example.net")
        self.assertEqual(code, 451, reply)
        self.relay.wait_for_log(r'handler=vanishing .*reason="cannot run: .*vanishing\.sh: No such file or directory')

    def test_pbx_example_saves_the_wav_attachment(self):
        subject = f"Voice message from 0301234567 {uuid.uuid4().hex[:6]}"
        msg = EmailMessage()
        msg["From"] = "alice@example.com"
        msg["To"] = "rcpt@example.net"
        msg["Subject"] = subject
        msg["Message-ID"] = f"<{uuid.uuid4().hex}@pbx.example>"
        msg.set_content("You have a new voice message.\n")
        audio = wav_bytes()
        msg.add_attachment(audio, maintype="audio", subtype="wav", filename="message.wav")
        data = msg.as_bytes(policy=email.policy.SMTP)
        code, reply, _ = self.submit("rcpt@example.net", data=data)
        self.assertEqual(code, 250, reply)
        self.delivered(subject)  # let through, as usual
        saved = [os.path.join(self.voice, n) for n in os.listdir(self.voice)]
        wavs = [p for p in saved if p.endswith(".wav")]
        self.assertEqual(len(wavs), 1, saved)
        with open(wavs[0], "rb") as f:
            self.assertEqual(f.read(), audio)


class HandlerConfigErrors(unittest.TestCase):
    """A handler that cannot work stops postern at start-up with the file, line and key."""

    def check(self, handlers):
        folder = self._folder()
        path = os.path.join(folder, "postern.yaml")
        with open(path, "w") as f:
            f.write(to_yaml({"database": {"url": "postgresql://unused/db"}, "handlers": handlers}) + "\n")
        out = run_postern("--check-config", "--config", path)
        self.assertNotEqual(out.returncode, 0, out.stdout)
        return out.stderr.strip()

    def _folder(self):
        import tempfile
        import shutil
        folder = tempfile.mkdtemp(prefix="postern-handlers-")
        self.addCleanup(shutil.rmtree, folder, True)
        return folder

    def test_a_missing_program(self):
        error = self.check([{"name": "gone", "command": {"argv": ["/nonexistent/handler"]}}])
        self.assertRegex(error, r'postern\.yaml:\d+: handlers\[0\]: command\.argv: cannot run '
                                r'"/nonexistent/handler": No such file or directory')

    def test_a_relative_program(self):
        error = self.check([{"name": "rel", "command": {"argv": ["handler.sh"]}}])
        self.assertIn("handlers[0].command.argv: the program must be an absolute path", error)

    def test_a_bad_pattern(self):
        error = self.check([{"name": "p", "when": {"header": {"name": "Subject", "matches": "(unclosed"}},
                             "discard": {}}])
        self.assertIn("handlers[0].when.header.matches: not a valid regular expression", error)

    def test_two_actions(self):
        error = self.check([{"name": "two", "discard": {}, "defer": {}}])
        self.assertIn("a handler has one action", error)


if __name__ == "__main__":
    unittest.main()
