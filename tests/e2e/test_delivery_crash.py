"""Delivery under replica failure and concurrency: postern killed with SIGKILL in the middle of
delivering loses nothing (a duplicate is allowed only for what was in flight), two replicas on one
database deliver every message exactly once, and a lease is never taken over while its own
replica is still delivering.

The figures (duplicates after kill -9, the two-replica wall time) are printed with "[delivery]".
"""
import collections
import re
import signal
import threading
import time
import unittest

import pgcluster
from e2e_base import ALICE, BOB
from relay import RelayServer, Sink, queued, wait_until
from test_delivery import DeliveryTestCase, mail, subject_of


def delivered_per_replica(relay):
    """How many recipients a postern logged as delivered."""
    return len(re.findall(r"event=delivery .*result=delivered", relay.log_text()))


class CrashSafety(DeliveryTestCase):
    """200 messages queued by a relay that does not deliver, then a delivering postern (lease
    2 s) killed with SIGKILL mid-way and started again with the same configuration."""

    COUNT = 200
    LEASE = 2

    @classmethod
    def make_sinks(cls):
        return {"sink": Sink()}

    def test_kill_9_while_delivering_loses_nothing(self):
        sink = self.sinks["sink"]
        subjects = [f"crash {i:04d}" for i in range(self.COUNT)]
        with RelayServer(self.db) as queue_only:  # delivery disabled: it only queues
            client = self.logged_in(ALICE, relay=queue_only)
            for subject in subjects:
                self.transaction(client, mail("alice@example.com", subject=subject), "alice@example.com")
            client.quit()
        self.assertEqual(len(queued(self.db)), self.COUNT)

        config = {"upstreams": [sink.upstream("sink")], "default_upstream": "sink",
                  "delivery": {"lease_seconds": self.LEASE, "first_retry_seconds": 1,
                               "max_retry_seconds": 2}}
        relay = RelayServer(self.db, **config)
        try:
            started = time.monotonic()
            wait_until(lambda: sink.count() >= self.COUNT // 5, 30, 0.001, message="deliveries to begin")
            relay.kill()  # SIGKILL: no shutdown, leases stay in the database
            at_kill = sink.count()
            killed = time.monotonic()
            left = len(queued(self.db))
            self.assertGreater(left, 0, "everything was delivered before the kill: the test proves nothing")
            # What the dead replica had claimed: its next boot (or the lease running out) frees these.
            leased = pgcluster.psql(self.db, "SELECT id FROM postern_queue WHERE lease_until > now()").split()
            self.assertTrue(leased, "nothing was in flight at the kill")
            relay.start()  # same configuration and identity: it releases the dead boot's leases
            wait_until(lambda: sink.count() > at_kill, 30, 0.01, message="the restarted postern to deliver")
            resumed = time.monotonic() - killed
            self.wait_until_gone(*leased, timeout=30)
            taken_over = time.monotonic() - killed
            wait_until(lambda: len({subject_of(m["data"]) for m in sink.messages()}) >= self.COUNT, 60, 0.05,
                       message=f"all {self.COUNT} messages at the sink")
            self.wait_until_queue_empty(timeout=30)
            done = time.monotonic() - started
        finally:
            relay.stop()
            relay.cleanup()

        received = collections.Counter(subject_of(m["data"]) for m in sink.messages())
        self.assertEqual(set(received), set(subjects), "messages lost or foreign")
        duplicates = sum(received.values()) - len(received)
        print(f"\n[delivery] kill -9 after {at_kill} of {self.COUNT} at the sink ({left} still queued): "
              f"{duplicates} duplicate(s) after restart (in flight at the kill: {len(leased)}); the restarted "
              f"postern delivered again {resumed:.1f} s after the kill, and the dead replica's {len(leased)} "
              f"claims {taken_over:.1f} s after it (lease {self.LEASE} s); all delivered in {done:.1f} s",
              flush=True)
        self.assertLessEqual(duplicates, len(leased), "more duplicates than deliveries in flight at the kill")


class TwoReplicas(DeliveryTestCase):
    """Two postern processes on one database, each taking mail from a client of its own."""

    COUNT = 1000

    @classmethod
    def make_sinks(cls):
        return {"sink": Sink()}

    def test_two_replicas_deliver_1000_messages_without_duplicates(self):
        sink = self.sinks["sink"]
        config = {"upstreams": [sink.upstream("sink")], "default_upstream": "sink"}
        replicas = [RelayServer(self.db, **config), RelayServer(self.db, **config)]
        for replica in replicas:
            self.addCleanup(replica.cleanup)
        subjects = [f"replica {i:05d}" for i in range(self.COUNT)]
        errors = []

        def submit(relay, user, sender, part):
            try:
                client = self.logged_in(user, relay=relay)
                for subject in part:
                    self.transaction(client, mail(sender, subject=subject), sender)
                client.quit()
            except Exception as e:  # reported by the main thread
                errors.append(e)

        started = time.monotonic()
        threads = [threading.Thread(target=submit, args=(replicas[0], ALICE, "alice@example.com", subjects[0::2])),
                   threading.Thread(target=submit, args=(replicas[1], BOB, "bob@example.com", subjects[1::2]))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        self.assertEqual(errors, [])
        submitted = time.monotonic() - started
        wait_until(lambda: sink.count() >= self.COUNT, 120, 0.02, message=f"{self.COUNT} messages at the sink")
        self.wait_until_queue_empty(timeout=30)
        wall = time.monotonic() - started
        for replica in replicas:
            self.assertEqual(replica.stop(), 0)

        received = collections.Counter(subject_of(m["data"]) for m in sink.messages())
        duplicates = {s: n for s, n in received.items() if n > 1}
        split = [delivered_per_replica(r) for r in replicas]
        print(f"\n[delivery] two replicas, {self.COUNT} messages: submitted in {submitted:.1f} s, all delivered "
              f"{wall:.1f} s after the first submission; delivered by each replica: {split}; "
              f"duplicates: {sum(duplicates.values()) - len(duplicates)}", flush=True)
        self.assertEqual(duplicates, {})
        self.assertEqual(set(received), set(subjects))
        self.assertEqual(sum(split), self.COUNT)
        self.assertTrue(all(n > 0 for n in split), f"one replica delivered nothing: {split}")


class GracefulStop(DeliveryTestCase):
    """SIGTERM while a delivery waits for a slow upstream's reply to DATA."""

    @classmethod
    def make_sinks(cls):
        return {"slow": Sink(rules={"data_delay_seconds": 2})}

    @classmethod
    def configure(cls):
        return {"upstreams": [cls.sinks["slow"].upstream("slow")], "default_upstream": "slow"}

    def test_sigterm_waits_for_the_delivery_in_flight_and_records_it(self):
        slow = self.sinks["slow"]
        data = mail("alice@example.com")
        queue_id = self.send(data, "alice@example.com")
        wait_until(lambda: pgcluster.psql(self.db, f"SELECT count(*) FROM postern_queue WHERE id = '{queue_id}' "
                                                   "AND lease_until > now()").strip() == "1",
                   5, 0.01, message="the delivery to start")
        self.relay.wait_for_log(r"event=upstream_session upstream=slow")
        self.relay.signal(signal.SIGTERM)
        self.assertEqual(self.relay.wait(30), 0)
        # The upstream's 250 was recorded before postern exited: nothing left to deliver again.
        self.assertEqual(len(self.by_subject(slow.messages(), subject_of(data))), 1)
        self.assertEqual(queued(self.db), [])
        self.assertRegex(self.relay.log_text(), rf"event=delivery id={queue_id} .*result=delivered")


class SlowUpstreamAndShortLease(DeliveryTestCase):
    """A delivery that takes longer than the lease, in a replica that is alive and well."""

    @classmethod
    def make_sinks(cls):
        return {"slow": Sink(rules={"data_delay_seconds": 3})}

    @classmethod
    def configure(cls):
        return {"upstreams": [cls.sinks["slow"].upstream("slow", timeout_seconds=30)],
                "default_upstream": "slow",
                "delivery": {"lease_seconds": 1, "first_retry_seconds": 1, "max_retry_seconds": 2}}

    def test_a_delivery_longer_than_the_lease_is_not_started_twice(self):
        slow = self.sinks["slow"]
        data = mail("alice@example.com")
        queue_id = self.send(data, "alice@example.com")
        self.wait_for_subject(slow, subject_of(data), timeout=15)  # asserts it came once so far
        self.wait_until_gone(queue_id, timeout=15)
        # A second delivery started after the lease ran out would end 3 s after it began.
        deadline = time.monotonic() + 4
        while time.monotonic() < deadline:
            self.assertEqual(len(self.by_subject(slow.messages(), subject_of(data))), 1,
                             "delivered twice by one healthy replica")
            time.sleep(0.1)
        starts = re.findall(rf"event=delivery id={queue_id} .*attempt=(\d+)", self.relay.log_text())
        self.assertEqual(starts, ["1"], "more than one attempt")


if __name__ == "__main__":
    unittest.main()
