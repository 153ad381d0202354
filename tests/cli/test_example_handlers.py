"""The example handlers in examples/handlers/, run as Postern runs a `command` handler: the
script itself (its #! line and executable bit), the message on stdin with CRLF line ends, the
envelope in POSTERN_* variables and nothing else in the environment, the folder as working
directory. save-voice-messages gets a PBX's voice-message mail (a text part and a small WAV made
here) and must save the WAV byte for byte, never overwrite, write nothing for a message without
audio and nothing outside its folder, and answer 75 when it cannot write."""
import email.policy
import io
import math
import os
import subprocess
import tempfile
import unittest
import wave
from email.message import EmailMessage

SOURCE_DIR = os.environ.get(
    "POSTERN_SOURCE_DIR", os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))
SAVE_VOICE_MESSAGES = os.path.join(SOURCE_DIR, "examples", "handlers", "save-voice-messages")

EX_OK, EX_TEMPFAIL = 0, 75


def wav_bytes(seconds=0.25, rate=8000):
    """A short mono 16-bit tone, as a PBX records one."""
    frames = bytearray()
    for i in range(int(seconds * rate)):
        frames += int(12000 * math.sin(2 * math.pi * 440 * i / rate)).to_bytes(2, "little", signed=True)
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(bytes(frames))
    return buffer.getvalue()


def voice_message(audio=(("voicemail.wav", None),), subject="Nachricht von 0301234567 für 0309876543"):
    """A FRITZ!Box-like mail: a text part and one attachment per (filename, bytes) in `audio`
    (None: a fresh WAV), as bytes with CRLF line ends."""
    message = EmailMessage()
    message["From"] = "FRITZ!Box <fritzbox@home.example>"
    message["To"] = "family@home.example"
    message["Subject"] = subject
    message["Date"] = "Wed, 01 May 2024 14:03:22 +0200"
    message.set_content("Sie haben eine neue Nachricht auf dem Anrufbeantworter.\n")
    for filename, data in audio:
        message.add_attachment(data if data is not None else wav_bytes(), maintype="audio", subtype="x-wav",
                               filename=filename)
    return message.as_bytes(policy=email.policy.SMTP)


def run_handler(message, folder, args=None, extra_env=None):
    env = {"POSTERN_SENDER": "fritzbox@home.example", "POSTERN_RECIPIENTS": "family@home.example,me@home.example",
           "POSTERN_USER": "fritzbox", "POSTERN_CLIENT": "192.0.2.10", "POSTERN_QUEUE_ID": "q-1234", "TZ": "UTC"}
    env.update(extra_env or {})
    working_directory = folder if os.path.isdir(folder) else "/"
    return subprocess.run([SAVE_VOICE_MESSAGES, *(args if args is not None else [folder])], input=message,
                          capture_output=True, env=env, cwd=working_directory, timeout=60)


def listing(folder):
    return sorted(os.listdir(folder))


class SaveVoiceMessagesTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="postern-handlers-")
        self.addCleanup(self.tmp.cleanup)
        self.folder = os.path.join(self.tmp.name, "voice-messages")
        os.mkdir(self.folder)

    def assert_ran(self, result, status):
        self.assertEqual(result.returncode, status, result.stderr.decode(errors="replace"))

    def test_message_is_crlf(self):
        message = voice_message()
        self.assertIn(b"\r\n", message)
        self.assertNotIn(b"\n", message.replace(b"\r\n", b""))

    def test_saves_the_wav_byte_for_byte(self):
        audio = wav_bytes()
        result = run_handler(voice_message(audio=(("voicemail.wav", audio),)), self.folder)
        self.assert_ran(result, EX_OK)
        self.assertEqual(listing(self.folder), ["2024-05-01_12-03-22_0301234567_voicemail.wav"])
        with open(os.path.join(self.folder, listing(self.folder)[0]), "rb") as saved:
            self.assertEqual(saved.read(), audio)
        self.assertEqual(os.listdir(self.tmp.name), ["voice-messages"])

    def test_second_run_never_overwrites(self):
        message = voice_message()
        self.assert_ran(run_handler(message, self.folder), EX_OK)
        first = os.path.join(self.folder, listing(self.folder)[0])
        with open(first, "wb") as changed:
            changed.write(b"listened to and annotated")
        self.assert_ran(run_handler(message, self.folder), EX_OK)
        self.assertEqual(listing(self.folder), ["2024-05-01_12-03-22_0301234567_voicemail-2.wav",
                                                "2024-05-01_12-03-22_0301234567_voicemail.wav"])
        with open(first, "rb") as kept:
            self.assertEqual(kept.read(), b"listened to and annotated")

    def test_message_without_audio_writes_nothing(self):
        result = run_handler(voice_message(audio=()), self.folder)
        self.assert_ran(result, EX_OK)
        self.assertEqual(listing(self.folder), [])

    def test_every_audio_part_is_saved(self):
        one, two = wav_bytes(0.1), wav_bytes(0.2)
        result = run_handler(voice_message(audio=(("a.wav", one), ("b.wav", two))), self.folder)
        self.assert_ran(result, EX_OK)
        names = listing(self.folder)
        self.assertEqual(len(names), 2)
        contents = set()
        for name in names:
            with open(os.path.join(self.folder, name), "rb") as saved:
                contents.add(saved.read())
        self.assertEqual(contents, {one, two})

    def test_hostile_file_names_stay_in_the_folder(self):
        audio = (("../../escaped.wav", None), (".hidden.wav", None), ("..", None), ("C:\\x\\win.wav", None))
        result = run_handler(voice_message(audio=audio, subject="Message"), self.folder)
        self.assert_ran(result, EX_OK)
        self.assertEqual(os.listdir(self.tmp.name), ["voice-messages"])
        names = listing(self.folder)
        self.assertEqual(names, ["2024-05-01_12-03-22_escaped.wav", "2024-05-01_12-03-22_hidden.wav",
                                 "2024-05-01_12-03-22_message.wav", "2024-05-01_12-03-22_win.wav"])

    def test_folder_from_the_environment(self):
        result = run_handler(voice_message(), self.folder, args=[], extra_env={"VOICE_MESSAGE_DIR": self.folder})
        self.assert_ran(result, EX_OK)
        self.assertEqual(len(listing(self.folder)), 1)

    def test_folder_that_cannot_be_written_defers(self):
        not_a_folder = os.path.join(self.tmp.name, "a-file")
        with open(not_a_folder, "wb"):
            pass
        # /proc/self takes no new files, whoever asks (these tests may run as root, whom a
        # read-only mode does not stop).
        cases = [os.path.join(self.tmp.name, "missing"), not_a_folder, "/proc/self"]
        if os.geteuid() != 0:
            os.chmod(self.folder, 0o555)
            self.addCleanup(os.chmod, self.folder, 0o755)
            cases.append(self.folder)
        for folder in cases:
            with self.subTest(folder=folder):
                result = run_handler(voice_message(), folder)
                self.assert_ran(result, EX_TEMPFAIL)
                self.assertIn(folder, result.stderr.decode())
                self.assertIn("q-1234", result.stderr.decode())
        self.assertEqual(sorted(os.listdir(self.tmp.name)), ["a-file", "voice-messages"])
        self.assertEqual(listing(self.folder), [])

    def test_without_a_folder_it_defers_too(self):
        result = run_handler(voice_message(), self.folder, args=[])
        self.assertNotEqual(result.returncode, EX_OK)
        self.assertEqual(listing(self.folder), [])


if __name__ == "__main__":
    unittest.main()
