"""postern-combine on real share mails: made by Postern's own code (tests/support/
share_mail_driver.cpp runs ShareMailWriter), put in maildirs and mboxes, combined back into the
original byte for byte; incomplete groups and bad shares reported with their reason and exit
status 1, and nothing partial written. A combiner written here in Python from the documented
format (shares/share_mail.hpp, shares/secret_framing.hpp) checks the same mails independently."""
import base64
import email
import email.policy
import hashlib
import os
import re
import shutil
import subprocess
import tempfile
import unittest

SOURCE_DIR = os.environ.get(
    "POSTERN_SOURCE_DIR", os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))
BUILD_DIR = os.environ.get("POSTERN_BUILD_DIR", os.path.join(SOURCE_DIR, "build"))
COMBINE = os.path.join(BUILD_DIR, "combine", "postern-combine")
DRIVER = os.path.join(BUILD_DIR, "tests", "share-mail-driver")

OK, PROBLEMS, USAGE = 0, 1, 2

SUBJECT = "Quarterly merger plans for ACME"
BODY_LINE = "The board meets on Thursday to approve the takeover."


def test_message(tag=""):
    """A multipart message with a distinctive subject and body line, 8-bit UTF-8 text and a
    binary attachment, with CRLF line ends, as a client submits it."""
    attachment = base64.encodebytes(bytes((i * 37 + 11) % 256 for i in range(6000)))
    return (
        b"From: Alice <alice@example.com>\r\nTo: bob@proxy.example\r\n"
        b"Subject: " + SUBJECT.encode() + tag.encode() + b"\r\n"
        b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n"
        b"--b1\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
        + BODY_LINE.encode() + b"\r\nGr\xc3\xbc\xc3\x9fe aus K\xc3\xb6ln.\r\n\r\n"
        b"--b1\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        + attachment.replace(b"\n", b"\r\n") + b"--b1--\r\n")


def make_shares(folder, message, scheme, k, n, seed=None):
    """Runs the driver; returns (group id, [share mail bytes for index 1..n])."""
    os.makedirs(folder, exist_ok=True)
    source = os.path.join(folder, "message.eml")
    with open(source, "wb") as f:
        f.write(message)
    args = [DRIVER, source, folder, scheme, str(k), str(n)] + ([seed] if seed else [])
    out = subprocess.run(args, capture_output=True, text=True, timeout=60)
    if out.returncode != 0:
        raise AssertionError(f"share-mail-driver failed: {out.stderr}")
    mails = []
    for index in range(1, n + 1):
        with open(os.path.join(folder, f"share-{index}.eml"), "rb") as f:
            mails.append(f.read())
    return out.stdout.strip(), mails


def make_maildir(path, new=(), cur=()):
    for sub in ("tmp", "new", "cur"):
        os.makedirs(os.path.join(path, sub), exist_ok=True)
    for i, mail in enumerate(new):
        with open(os.path.join(path, "new", f"1700000000.M{i}P1.host"), "wb") as f:
            f.write(mail)
    for i, mail in enumerate(cur):
        with open(os.path.join(path, "cur", f"1700000100.M{i}P1.host:2,S"), "wb") as f:
            f.write(mail)
    return path


def mbox_text(mails):
    """An mboxrd as mail programs write it: LF line ends, a From line before each message."""
    out = b""
    for mail in mails:
        lines = mail.replace(b"\r\n", b"\n").split(b"\n")
        quoted = [b">" + line if line.lstrip(b">").startswith(b"From ") else line for line in lines]
        out += b"From sender@example.com Tue Jan  2 10:00:00 2024\n" + b"\n".join(quoted)
        if not out.endswith(b"\n"):
            out += b"\n"
        out += b"\n"
    return out


def run_combine(args, stdin=None):
    return subprocess.run([COMBINE, *args], input=stdin, capture_output=True, timeout=60,
                          stdin=None if stdin is not None else subprocess.DEVNULL)


def share_bytes(mail):
    """The share bytes of a share mail, read with Python's email package."""
    message = email.message_from_bytes(mail, policy=email.policy.default)
    parts = [p for p in message.walk() if p.get_content_type() == "application/octet-stream"]
    assert len(parts) == 1
    return parts[0].get_payload(decode=True)


def share_metadata(mail):
    message = email.message_from_bytes(mail, policy=email.policy.default)
    value = " ".join(str(message["X-Postern-Share"]).split())
    return dict(item.strip().split("=", 1) for item in value.split(";") if item.strip())


def gf_mul(a, b):
    """GF(2^8) with the field polynomial 0x11D, bit by bit."""
    product = 0
    while b:
        if b & 1:
            product ^= a
        a <<= 1
        if a & 0x100:
            a ^= 0x11D
        b >>= 1
    return product


def gf_inv(a):
    return next(b for b in range(1, 256) if gf_mul(a, b) == 1)


def unframe(secret):
    """The documented framing: message || zero padding || "POSTERN" 0x01, length (64-bit
    big-endian), SHA-256 of the message; the whole a multiple of 4096."""
    assert len(secret) % 4096 == 0 and secret
    trailer = secret[-48:]
    assert trailer[:8] == b"POSTERN\x01", trailer[:8]
    length = int.from_bytes(trailer[8:16], "big")
    message = secret[:length]
    assert secret[length:-48] == bytes(len(secret) - 48 - length)
    assert hashlib.sha256(message).digest() == trailer[16:]
    assert len(secret) == -(-(length + 48) // 4096) * 4096
    return message


class CombineTestCase(unittest.TestCase):
    def setUp(self):
        for binary in (COMBINE, DRIVER):
            if not os.access(binary, os.X_OK):
                self.fail(f"{binary} is not built (ninja postern-combine share-mail-driver)")
        self.dir = tempfile.mkdtemp(prefix="postern-combine-test-")
        self.addCleanup(shutil.rmtree, self.dir, True)

    def path(self, *parts):
        return os.path.join(self.dir, *parts)

    def written(self, folder):
        return sorted(os.listdir(folder)) if os.path.isdir(folder) else []

    def read(self, *parts):
        with open(self.path(*parts), "rb") as f:
            return f.read()


class CombinesRealShareMails(CombineTestCase):
    def test_maildir_mbox_file_and_stdin_restore_the_originals_byte_exact(self):
        first, second = test_message(" (1)"), test_message(" (2)")
        shamir_id, shamir = make_shares(self.path("s"), first, "shamir", 2, 3)
        xor_id, xor = make_shares(self.path("x"), second, "xor", 3, 3)
        ordinary = b"From: carol@example.org\r\nSubject: lunch?\r\n\r\nNoon.\r\n"
        # Shamir: share 1 in new/, share 3 in an mbox file; XOR: 1 in cur/, 2 and 3 on stdin.
        maildir = make_maildir(self.path("inbox"), new=[shamir[0], ordinary], cur=[xor[0]])
        with open(self.path("shares.mbox"), "wb") as f:
            f.write(mbox_text([shamir[2]]))
        out = run_combine([maildir, "--mbox", self.path("shares.mbox"), "-", "--out", self.path("out")],
                          stdin=mbox_text(xor[1:]))
        self.assertEqual(out.returncode, OK, out.stderr.decode())
        self.assertEqual(out.stderr, b"")
        self.assertEqual(self.written(self.path("out")), sorted([f"{shamir_id}.eml", f"{xor_id}.eml"]))
        self.assertEqual(self.read("out", f"{shamir_id}.eml"), first)
        self.assertEqual(self.read("out", f"{xor_id}.eml"), second)
        self.assertEqual(sorted(out.stdout.decode().splitlines()), sorted(
            [f"wrote {self.path('out', shamir_id + '.eml')}", f"wrote {self.path('out', xor_id + '.eml')}"]))

    def test_any_two_of_three_shamir_shares_restore_it_and_one_does_not(self):
        message = test_message()
        group, mails = make_shares(self.path("s"), message, "shamir", 2, 3)
        for pair in ((0, 1), (0, 2), (1, 2)):
            folder = self.path(f"out{pair[0]}{pair[1]}")
            files = []
            for i in pair:
                files.append(self.path(f"pair{pair}-{i}.eml"))
                with open(files[-1], "wb") as f:
                    f.write(mails[i])
            out = run_combine([*files, "--out", folder])
            self.assertEqual(out.returncode, OK, out.stderr.decode())
            with open(os.path.join(folder, f"{group}.eml"), "rb") as f:
                self.assertEqual(f.read(), message)
        out = run_combine([self.path("s", "share-2.eml"), "--out", self.path("single")])
        self.assertEqual(out.returncode, PROBLEMS)
        self.assertEqual(self.written(self.path("single")), [])

    def test_share_mails_carry_nothing_of_the_original_in_clear(self):
        message = test_message()
        for scheme, k in (("shamir", 2), ("xor", 3)):
            _, mails = make_shares(self.path(scheme), message, scheme, k, 3)
            for mail in mails:
                for secret in (SUBJECT, BODY_LINE, "bob@proxy.example", "multipart/mixed; boundary=\"b1\""):
                    self.assertNotIn(secret.encode(), mail)
                # Short words may turn up by chance in the share's random base64: look for them
                # in the rest of the mail.
                clear = re.sub(rb"(?m)^[A-Za-z0-9+/=]{8,}\r\n", b"", mail)
                for word in ("ACME", "takeover"):
                    self.assertNotIn(word.encode(), clear)
                self.assertNotIn(message[200:260], mail)
                self.assertIn(b"\r\nSubject: Encrypted message share\r\n", mail)
                self.assertNotIn(b"\n", mail.replace(b"\r\n", b""))

    def test_transport_changes_do_not_matter(self):
        """LF line ends, base64 re-wrapped at 64 characters, added trace fields."""
        message = test_message()
        group, mails = make_shares(self.path("x"), message, "xor", 2, 2)
        changed = []
        for mail in mails:
            head, _, rest = mail.partition(b"Content-Transfer-Encoding: base64\r\n")
            part_head, _, body = rest.partition(b"\r\n\r\n")
            b64, _, tail = body.partition(b"\r\n--=_postern_share_")
            flat = b64.replace(b"\r\n", b"")
            rewrapped = b"\n".join(flat[i:i + 64] for i in range(0, len(flat), 64))
            changed.append(b"Return-Path: <alice@example.com>\nReceived: from relay by mx; Tue, 2 Jan 2024\n"
                           + (head + b"Content-Transfer-Encoding: base64\r\n" + part_head + b"\r\n\r\n").replace(b"\r\n", b"\n")
                           + rewrapped + b"\n--=_postern_share_" + tail.replace(b"\r\n", b"\n"))
        maildir = make_maildir(self.path("inbox"), new=changed)
        out = run_combine([maildir, "--out", self.path("out")])
        self.assertEqual(out.returncode, OK, out.stderr.decode())
        self.assertEqual(self.read("out", f"{group}.eml"), message)

    def test_out_maildir_delivers_once(self):
        message = test_message()
        group, mails = make_shares(self.path("x"), message, "xor", 2, 2)
        maildir = make_maildir(self.path("inbox"), new=mails)
        target = self.path("restored")
        out = run_combine([maildir, "--out-maildir", target])
        self.assertEqual(out.returncode, OK, out.stderr.decode())
        self.assertEqual(self.written(os.path.join(target, "tmp")), [])
        self.assertEqual(self.written(os.path.join(target, "cur")), [])
        delivered = self.written(os.path.join(target, "new"))
        self.assertEqual(len(delivered), 1)
        self.assertIn(f".postern-{group}.", delivered[0])
        self.assertEqual(self.read("restored", "new", delivered[0]), message)
        again = run_combine([maildir, "--out-maildir", target])
        self.assertEqual(again.returncode, OK, again.stderr.decode())
        self.assertTrue(again.stdout.decode().startswith("already there "), again.stdout)
        self.assertEqual(self.written(os.path.join(target, "new")), delivered)


class IndependentPythonCombiner(CombineTestCase):
    """The share mails follow their documentation: decoded with Python's email package and
    combined by the code below, they give the framed message."""

    def test_xor_shares_xor_to_the_framed_message(self):
        message = test_message()
        group, mails = make_shares(self.path("x"), message, "xor", 3, 3)
        shares = [share_bytes(mail) for mail in mails]
        for index, mail in enumerate(mails, 1):
            self.assertEqual(share_metadata(mail), {"v": "1", "scheme": "xor", "id": group,
                                                    "index": str(index), "k": "3", "n": "3"})
        secret = bytes(a ^ b ^ c for a, b, c in zip(*shares))
        self.assertEqual(unframe(secret), message)

    def test_shamir_shares_interpolate_to_the_framed_message(self):
        message = test_message()
        _, mails = make_shares(self.path("s"), message, "shamir", 2, 3)
        (x1, y1), (x2, y2) = [(int(share_metadata(m)["index"]), share_bytes(m)) for m in (mails[0], mails[2])]
        # Lagrange at 0 for two points: y1 * x2/(x1^x2) + y2 * x1/(x1^x2).
        w1, w2 = gf_mul(x2, gf_inv(x1 ^ x2)), gf_mul(x1, gf_inv(x1 ^ x2))
        t1 = [gf_mul(w1, v) for v in range(256)]
        t2 = [gf_mul(w2, v) for v in range(256)]
        secret = bytes(t1[a] ^ t2[b] for a, b in zip(y1, y2))
        self.assertEqual(unframe(secret), message)

    def test_the_same_seed_makes_the_same_mails(self):
        seed = "11" * 32
        first = make_shares(self.path("a"), test_message(), "shamir", 2, 3, seed)
        second = make_shares(self.path("b"), test_message(), "shamir", 2, 3, seed)
        self.assertEqual(first, second)
        self.assertNotEqual(first, make_shares(self.path("c"), test_message(), "shamir", 2, 3, "22" * 32))


class ReportsWhatItCannotRestore(CombineTestCase):
    def test_an_incomplete_group_is_listed_and_the_complete_one_still_written(self):
        shamir_id, shamir = make_shares(self.path("s"), test_message(" (1)"), "shamir", 2, 3)
        xor_id, xor = make_shares(self.path("x"), test_message(" (2)"), "xor", 2, 2)
        maildir = make_maildir(self.path("inbox"), new=[shamir[0], *xor])
        out = run_combine([maildir, "--out", self.path("out")])
        self.assertEqual(out.returncode, PROBLEMS)
        self.assertEqual(out.stderr.decode().splitlines(), [
            f"postern-combine: group {shamir_id}: incomplete: 1 usable share(s) of 3 (1), 2 needed (shamir k=2 n=3)"])
        self.assertEqual(self.written(self.path("out")), [f"{xor_id}.eml"])
        self.assertEqual(self.read("out", f"{xor_id}.eml"), test_message(" (2)"))

    def test_a_corrupted_share_is_refused_and_nothing_is_written(self):
        group, mails = make_shares(self.path("x"), test_message(), "xor", 2, 2)
        # One base64 character replaced by another valid one: the share still decodes.
        body = mails[1].index(b"\r\n\r\n", mails[1].index(b"application/octet-stream")) + 4
        position = body + 100
        damaged = mails[1][:position] + (b"A" if mails[1][position:position + 1] != b"A" else b"B") + mails[1][position + 1:]
        maildir = make_maildir(self.path("inbox"), new=[mails[0], damaged])
        out = run_combine([maildir, "--out", self.path("out")])
        self.assertEqual(out.returncode, PROBLEMS)
        self.assertEqual(out.stderr.decode().splitlines(), [
            f"postern-combine: group {group}: the shares do not combine: the combined message does not match "
            "its SHA-256: a share is corrupted or the shares do not belong together"])
        self.assertEqual(self.written(self.path("out")), [])

    def test_a_truncated_share_mail_is_a_bad_share(self):
        group, mails = make_shares(self.path("x"), test_message(), "xor", 2, 2)
        body = mails[1].index(b"\r\n\r\n", mails[1].index(b"application/octet-stream")) + 4
        truncated = mails[1][:body] + mails[1][body + 78:]  # one base64 line (57 bytes) fewer
        size = len(share_bytes(mails[1])) - 57
        with open(self.path("truncated.eml"), "wb") as f:
            f.write(truncated)
        out = run_combine([self.path("x", "share-1.eml"), self.path("truncated.eml"), "--out", self.path("out")])
        self.assertEqual(out.returncode, PROBLEMS)
        self.assertEqual(out.stderr.decode().splitlines(), [
            f"postern-combine: {self.path('truncated.eml')}: bad share: the share has {size} bytes, "
            "not a positive multiple of 4096: it is truncated or damaged",
            f"postern-combine: group {group}: incomplete: 1 usable share(s) of 2 (1), all 2 needed (xor k=2 n=2)"])
        self.assertEqual(self.written(self.path("out")), [])

    def test_a_spare_share_stands_in_for_a_corrupted_one_which_is_named(self):
        message = test_message()
        group, mails = make_shares(self.path("s"), message, "shamir", 2, 3)
        body = mails[0].index(b"\r\n\r\n", mails[0].index(b"application/octet-stream")) + 4
        damaged = mails[0][:body] + (b"A" if mails[0][body:body + 1] != b"A" else b"B") + mails[0][body + 1:]
        mbox = self.path("shares.mbox")
        with open(mbox, "wb") as f:
            f.write(mbox_text([damaged, mails[1], mails[2]]))
        out = run_combine(["--mbox", mbox, "--out", self.path("out")])
        self.assertEqual(out.returncode, PROBLEMS)
        self.assertEqual(out.stderr.decode().splitlines(), [
            f"postern-combine: group {group}: share 1 ({mbox} message 1) does not fit the others: "
            "it is corrupted or from another draw"])
        self.assertEqual(self.read("out", f"{group}.eml"), message)

    def test_mismatched_parameters_and_conflicting_duplicates_are_left_out(self):
        message = test_message()
        group, mails = make_shares(self.path("s"), message, "shamir", 2, 3)
        mismatched = mails[2].replace(b"k=2; n=3", b"k=3; n=3")
        body = mails[0].index(b"\r\n\r\n", mails[0].index(b"application/octet-stream")) + 4
        conflicting = mails[0][:body] + (b"A" if mails[0][body:body + 1] != b"A" else b"B") + mails[0][body + 1:]
        maildir = make_maildir(self.path("inbox"), new=[mails[0], mails[1]], cur=[conflicting, mismatched])
        out = run_combine([maildir, "--out", self.path("out")])
        self.assertEqual(out.returncode, PROBLEMS)
        cur = os.path.join(maildir, "cur")
        new = os.path.join(maildir, "new")
        self.assertEqual(out.stderr.decode().splitlines(), [
            f"postern-combine: group {group}: share 3 ({cur}/1700000100.M1P1.host:2,S) says shamir k=3 n=3 "
            "but the group's other shares say shamir k=2 n=3: left out",
            f"postern-combine: group {group}: share 1 appears 2 times with different content "
            f"({new}/1700000000.M0P1.host, {cur}/1700000100.M0P1.host:2,S): left out",
            f"postern-combine: group {group}: incomplete: 1 usable share(s) of 3 (2), 2 needed (shamir k=2 n=3)"])
        self.assertEqual(self.written(self.path("out")), [])

    def test_the_same_share_twice_is_counted_once(self):
        message = test_message()
        group, mails = make_shares(self.path("x"), message, "xor", 2, 2)
        maildir = make_maildir(self.path("inbox"), new=mails, cur=[mails[0]])
        out = run_combine([maildir, "--out", self.path("out")])
        self.assertEqual(out.returncode, OK, out.stderr.decode())
        self.assertEqual(self.read("out", f"{group}.eml"), message)


class UsageErrors(CombineTestCase):
    def test_bad_command_lines_exit_2(self):
        os.makedirs(self.path("not-a-maildir"))
        with open(self.path("share.eml"), "wb") as f:
            f.write(b"Subject: x\r\n\r\n")
        for args in ([self.path("share.eml")],                                   # no output
                     [self.path("share.eml"), "--out", "a", "--out-maildir", "b"],  # two outputs
                     ["--out", self.path("out")],                                # no input
                     [self.path("missing.eml"), "--out", self.path("out")],
                     [self.path("not-a-maildir"), "--out", self.path("out")],
                     ["--frobnicate", "--out", self.path("out")]):
            out = run_combine(args)
            self.assertEqual(out.returncode, USAGE, (args, out.stderr))
            self.assertNotEqual(out.stderr, b"", args)
        self.assertFalse(os.path.exists(self.path("out")))

    def test_help_exits_0(self):
        out = run_combine(["--help"])
        self.assertEqual(out.returncode, OK)
        self.assertIn(b"--out-maildir", out.stdout)

    def test_no_share_mails_is_said_but_not_an_error(self):
        maildir = make_maildir(self.path("inbox"), new=[b"Subject: hi\r\n\r\nhello\r\n"])
        out = run_combine([maildir, "--out", self.path("out")])
        self.assertEqual(out.returncode, OK)
        self.assertEqual(out.stderr.decode(), "postern-combine: no share mails found\n")


if __name__ == "__main__":
    unittest.main()
