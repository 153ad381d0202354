"""Failed logins brake guessing per client network and never lock the owner of a password out;
the Argon2 pool's queue is bounded.

Every 127.0.0.0/8 address is loopback on Linux, so each client here binds a source address of its
own and is a client network of its own. The relay runs with the throttle's defaults (those of
postern.example.yaml; the harness otherwise turns the throttle off) and allows plaintext AUTH on
loopback, so that a guess costs the attacker as little as it can. The measured guess rates are
printed, not asserted: machines differ."""
import smtplib
import threading
import time
import unittest

from e2e_base import ALICE, ALICE_PW, BOB, BOB_PW, RelayTestCase
from relay import RawSmtp

DEFAULT_THROTTLE = {"failure_window_seconds": 900, "failures_per_network": 30,
                    "failures_per_user_network": 5, "failure_delay_ms": 1000,
                    "user_delay_ms": 1000, "checks_per_user": 2, "known_network_days": 30}
PLAINTEXT_ON_LOOPBACK = {"allow_plaintext_auth_on_loopback": True}


def guess(port, source, user, password, ready=None):
    """One AUTH PLAIN on a fresh connection from `source`; returns the reply code. With `ready`
    (a threading.Barrier) the AUTH is sent when every party is connected and greeted."""
    with RawSmtp(port, source=source, timeout=60) as client:
        client.reply()
        client.ehlo("guesser.test")
        if ready is not None:
            ready.wait(30)
        return client.auth_plain(user, password).code


def simultaneously(attempts):
    """Runs guess(...) for each (source, user, password) at once; returns the codes in order."""
    codes = [None] * len(attempts)
    ready = threading.Barrier(len(attempts))

    def run(i, source, user, password):
        codes[i] = guess(PORT[0], source, user, password, ready)

    threads = [threading.Thread(target=run, args=(i, *a)) for i, a in enumerate(attempts)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return codes


PORT = [0]  # the running relay's port, for the helper threads


class OwnerIsNeverLockedOut(RelayTestCase):
    relay_config = {"auth": DEFAULT_THROTTLE, "listener_options": PLAINTEXT_ON_LOOPBACK}

    def setUp(self):
        PORT[0] = self.relay.port

    def owner_login(self, source, user, password):
        """smtplib from `source`: (seconds until 235, the client), MAIL FROM checked later."""
        client = smtplib.SMTP("127.0.0.1", self.relay.port, local_hostname="owner.test", timeout=60,
                              source_address=(source, 0))
        self.addCleanup(client.close)
        client.ehlo()
        started = time.monotonic()
        code, _ = client.login(user, password)
        self.assertEqual(code, 235)
        return time.monotonic() - started, client

    def test_one_network_gets_five_slower_guesses_then_421_and_the_owner_gets_in_elsewhere(self):
        codes, started = [], time.monotonic()
        while len(codes) < 10:
            codes.append(guess(self.relay.port, "127.0.1.1", BOB, f"wrong-{len(codes)}"))
            if codes[-1] != 535:
                break
        elapsed = time.monotonic() - started
        self.assertEqual(codes, [535] * 5 + [421])
        # Refused for bob only: alice from the same network is checked.
        self.assertEqual(guess(self.relay.port, "127.0.1.1", ALICE, ALICE_PW), 235)
        seconds, client = self.owner_login("127.0.1.2", BOB, BOB_PW)
        self.assertEqual(client.mail("bob@example.com")[0], 250)
        print(f"\n  one network: 5 wrong guesses for one user took {elapsed:.1f} s "
              f"({5 / elapsed:.2f} guesses/s), then 421 until they age out: 5 per "
              f"{DEFAULT_THROTTLE['failure_window_seconds'] // 60} min "
              f"({5 / DEFAULT_THROTTLE['failure_window_seconds']:.4f} guesses/s) per user and network;"
              f"\n  the owner from another network got 235 in {seconds:.2f} s", flush=True)

    def test_owner_logs_in_from_a_clean_network_while_twelve_networks_guess(self):
        stop = threading.Event()
        answers = []  # (seconds since the start, network, code)
        lock = threading.Lock()
        started = time.monotonic()

        def attacker(source):
            for n in range(20):
                if stop.is_set():
                    return
                code = guess(self.relay.port, source, ALICE, f"guess-{source}-{n}")
                with lock:
                    answers.append((time.monotonic() - started, source, code))
                if code == 421:
                    return

        networks = [f"127.0.2.{n}" for n in range(1, 13)]
        threads = [threading.Thread(target=attacker, args=(source,)) for source in networks]
        for t in threads:
            t.start()
        time.sleep(3)  # the attack is under way: every network has guessed at least once
        owner_at = time.monotonic() - started
        seconds, client = self.owner_login("127.0.2.200", "Alice", ALICE_PW)
        self.assertEqual(client.mail("alice@example.com")[0], 250)
        time.sleep(max(0.0, 10 - (time.monotonic() - started)))
        stop.set()
        for t in threads:
            t.join(120)
        wrong = [a for a in answers if a[2] == 535]
        for source in networks:
            self.assertLessEqual(sum(1 for a in wrong if a[1] == source), 5, source)
        self.assertTrue(all(a[2] in (535, 421, 454) for a in answers), answers)
        span = max(a[0] for a in wrong)
        print(f"\n  {len(networks)} networks at once: {len(wrong)} wrong guesses for one user in {span:.1f} s "
              f"({len(wrong) / span:.2f} guesses/s; bound: checks_per_user / user_delay = 2/s), "
              f"{sum(1 for a in answers if a[2] == 454)} told to retry (454), "
              f"{sum(1 for a in answers if a[2] == 421)} networks refused (421);"
              f"\n  the owner, from a clean network {owner_at:.1f} s into the attack, got 235 in "
              f"{seconds:.2f} s", flush=True)

    def test_simultaneous_guesses_from_one_network_count_from_their_start(self):
        codes = simultaneously([("127.0.3.1", "mallory", f"guess-{n}") for n in range(20)])
        self.assertEqual(sorted(codes), [421] * 15 + [535] * 5)


class HashingQueueIsBounded(RelayTestCase):
    # One Argon2 thread, one waiting hash, and a hash slow enough (64 MiB) that ten logins at once
    # overlap. Each guesses an unknown name (verified against a dummy hash of these parameters).
    relay_config = {"auth": {"argon2_memory_kib": 65536, "argon2_iterations": 3, "hash_threads": 1,
                             "hash_queue": 1},
                    "listener_options": PLAINTEXT_ON_LOOPBACK}

    def setUp(self):
        PORT[0] = self.relay.port

    def test_a_full_hashing_queue_answers_454_at_once(self):
        self.relay.wait_for_log(r"event=started .*hash_threads=1")
        codes = simultaneously([(f"127.0.4.{n}", f"nobody{n}", "guess") for n in range(1, 11)])
        self.assertTrue(set(codes) <= {535, 454}, codes)
        self.assertIn(454, codes)
        self.assertIn(535, codes)
        self.relay.wait_for_log(r"event=auth client=127\.0\.4\.\d+ user=nobody\d+ result=busy")
        print(f"\n  10 logins at once, 1 hash thread and 1 waiting: {codes.count(535)} checked (535), "
              f"{codes.count(454)} answered 454 at once", flush=True)


if __name__ == "__main__":
    unittest.main()
