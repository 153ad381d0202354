"""The sealed queue, end to end: with queue.seal_key_files set, the real postern seals every
message before it reaches PostgreSQL. A pg_dump taken while messages are held holds none of their
text; delivery is byte-exact; `mailadmin queue reseal` moves every message under a new key, after
which the old key can go; a relay without a message's key defers it with an error naming the key,
and bounces it from its envelope alone when its lifetime ends.
"""
import base64
import email
import email.policy
import os
import signal
import subprocess
import unittest

import pgcluster

from relay import MAILADMIN, RelayServer, Sink, wait_until
from test_delivery import DeliveryTestCase, mail, subject_of

NULL_SENDER = ("", "<>")
MARKER = "Sealed-Marker-7d41"  # in every sealed message's body and subject


def write_key(folder, key_id, fill):
    path = os.path.join(folder, f"{key_id}.key")
    with open(path, "w") as f:
        f.write(f"{key_id}:{base64.b64encode(bytes([fill]) * 32).decode()}\n")
    os.chmod(path, 0o600)
    return path


def appears(dump, text):
    """Whether the text is in a pg_dump: as itself, or in the hex of a bytea column."""
    return text.encode() in dump or text.encode().hex().encode() in dump


def pg_dump(db_url):
    out = subprocess.run(["pg_dump", "--no-owner", db_url], capture_output=True, check=True, timeout=120)
    return out.stdout


class SealedQueue(DeliveryTestCase):
    start_relay = False
    LIMITS = {"max_message_size": 2_000_000}

    @classmethod
    def make_sinks(cls):
        cls.new_key = write_key(cls.work, "2026-12", 1)
        cls.old_key = write_key(cls.work, "2026-06", 2)
        return {"sink": Sink()}

    def setUp(self):
        # Each test starts from an empty queue, whatever one before it left.
        pgcluster.psql(self.db, "DELETE FROM postern_queue")

    def postern(self, keys, deliver=True, **delivery):
        """A postern with these key files (first seals); without deliver, it only queues."""
        config = {"limits": self.LIMITS, "queue": {"seal_key_files": list(keys)}} if keys else {"limits": self.LIMITS}
        if deliver:
            config.update({"upstreams": [self.sinks["sink"].upstream("sink")], "default_upstream": "sink"})
            if delivery:
                config["delivery"] = delivery
        return RelayServer(self.db, **config)

    def queue_messages(self, relay, count, tag, big_every=2):
        """Sends `count` messages (every other one over three chunks), each with its subject in
        every body line; returns {id: subject}."""
        sent = {}
        for i in range(count):
            subject = f"{MARKER} {tag} {i}"
            body = f"{subject} body line\r\n" * (40_000 if i % big_every == 1 else 3)
            sent[self.send(mail("alice@example.com", subject=subject, body=body), "alice@example.com",
                           relay=relay)] = subject
        return sent

    def with_keys(self, *args, keys=()):
        options = [a for k in keys for a in ("--seal-key-file", k)]
        return self.admin.run(*args, *options)

    def body(self, queue_id, keys):
        """`mailadmin queue show ID --body` with these key files: the message as queued, bytes."""
        out = subprocess.run([MAILADMIN, "--db", self.db, "queue", "show", queue_id, "--body",
                              *[a for k in keys for a in ("--seal-key-file", k)]],
                             capture_output=True, timeout=60, stdin=subprocess.DEVNULL)
        self.assertEqual(out.returncode, 0, out.stderr)
        return out.stdout

    def delivered(self, subjects):
        sink = self.sinks["sink"]
        wait_until(lambda: {subject_of(m["data"]) for m in sink.messages()} >= set(subjects), 30,
                   message="every message at the sink")
        return {subject_of(m["data"]): m["data"] for m in sink.messages()}

    def test_a_dump_holds_no_sealed_text_and_delivery_is_byte_exact(self):
        with self.postern([], deliver=False) as clear_relay:
            clear = self.queue_messages(clear_relay, 1, "clear")
        with self.postern([self.new_key], deliver=False) as sealing:
            sealed = self.queue_messages(sealing, 4, "sealed")
        for queue_id in sealed:
            self.admin.ok("queue", "hold", queue_id)
        dump = pg_dump(self.db)
        # The dump check sees text where there is some: the message queued in clear.
        self.assertTrue(appears(dump, f"{MARKER} clear 0 body line"))
        for subject in sealed.values():
            self.assertFalse(appears(dump, subject), subject)
        self.assertEqual(len(self.queue_list()), 5)

        # queue show opens the headers with the key; without it, it says which key is missing.
        first = next(iter(sealed))
        code, out, err = self.with_keys("queue", "show", first, keys=[self.new_key])
        self.assertEqual(code, 0, err)
        self.assertIn("Sealed: under key 2026-12", out)
        self.assertIn(f"Subject: {sealed[first]}", out)
        code, out, err = self.admin.run("queue", "show", first)
        self.assertEqual(code, 0, err)
        self.assertIn("(sealed: sealed under seal key 2026-12, which is not among the seal keys here", out)
        self.assertNotIn(MARKER, out)
        code, _, err = self.admin.run("queue", "show", first, "--body")
        self.assertEqual(code, 1)
        self.assertIn("seal key 2026-12", err)

        queued_bytes = {sealed[i]: self.body(i, [self.new_key]) for i in sealed}
        for queue_id in sealed:
            self.admin.ok("queue", "release", queue_id)
        with self.postern([self.new_key]):
            got = self.delivered(list(sealed.values()) + list(clear.values()))
            self.wait_until_queue_empty()
        for subject, data in queued_bytes.items():
            self.assertTrue(got[subject] == data, f"{subject}: delivered bytes differ from the queued ones")
        self.assertGreater(max(len(d) for d in queued_bytes.values()), 3 * 256 * 1024)

    def test_reseal_then_retiring_the_old_key_still_delivers_everything(self):
        with self.postern([], deliver=False) as clear_relay:
            subjects = self.queue_messages(clear_relay, 1, "before sealing")
        with self.postern([self.old_key], deliver=False) as old:
            subjects.update(self.queue_messages(old, 3, "old key"))
        code, out, err = self.with_keys("queue", "reseal", keys=[self.new_key, self.old_key])
        self.assertEqual((code, err), (0, ""))
        self.assertEqual(out, "4 messages resealed under key 2026-12\n")
        code, out, _ = self.with_keys("queue", "reseal", "--json", keys=[self.new_key, self.old_key])
        self.assertIn('"resealed":0', out.replace(" ", ""))
        audit = [line for line in self.admin.ok("audit").splitlines() if "queue reseal" in line]
        self.assertEqual(len(audit), 2, audit)
        self.assertIn("2026-12", audit[0])
        self.assertIn("4 messages", audit[0])
        queued_bytes = {subjects[i]: self.body(i, [self.new_key]) for i in subjects}
        with self.postern([self.new_key]):  # the old key is gone
            got = self.delivered(subjects.values())
            self.wait_until_queue_empty()
        for subject, data in queued_bytes.items():
            self.assertTrue(got[subject] == data, f"{subject}: delivered bytes differ")

    def test_a_reload_brings_a_new_sealing_key(self):
        with self.postern([self.old_key], deliver=False) as relay:
            [before] = self.queue_messages(relay, 1, "before the reload")
            relay.config["queue"]["seal_key_files"] = [self.new_key, self.old_key]
            relay._write_config()
            relay.signal(signal.SIGHUP)
            relay.wait_for_log(r"event=config_reloaded .*queue\.seal_keys")
            [after] = self.queue_messages(relay, 1, "after the reload")
        self.assertEqual(self.show(before)["seal_key"], "2026-06")
        self.assertEqual(self.show(after)["seal_key"], "2026-12")

    def test_a_missing_key_defers_naming_it_then_bounces_from_the_envelope(self):
        with self.postern([self.old_key], deliver=False) as old:
            [(queue_id, subject)] = self.queue_messages(old, 1, "lost key").items()
        with self.postern([self.new_key], lifetime_seconds=8, first_retry_seconds=1, max_retry_seconds=1) as relay:
            message = self.wait_until_deferred(queue_id, containing="seal key 2026-06")
            self.assertIn("sealed under seal key 2026-06, which is not among the seal keys here",
                          message["last_error"])
            self.assertEqual(message["seal_key"], "2026-06")
            sink = self.sinks["sink"]
            self.assertEqual([m for m in sink.messages() if subject_of(m["data"]) == subject], [])
            dsns = wait_until(lambda: [m for m in sink.messages() if m["mail_from"] in NULL_SENDER
                                       and queue_id.encode() in m["data"]], 30, message="the DSN")
            relay.wait_for_log(r"bounce_without_headers")
            self.wait_until_queue_empty()
        self.assertEqual(dsns[0]["rcpt_tos"], ["alice@example.com"])
        dsn = email.message_from_bytes(dsns[0]["data"], policy=email.policy.compat32)
        self.assertEqual([p.get_content_type() for p in dsn.get_payload()],
                         ["text/plain", "message/delivery-status"])
        self.assertNotIn(MARKER.encode(), dsns[0]["data"])
        self.assertIn(b"Status: 4.4.7", dsns[0]["data"])


if __name__ == "__main__":
    unittest.main()
