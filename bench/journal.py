#!/usr/bin/python3
"""Journal throughput: 4 KiB messages in over LMTP, out to hpfeeds and to AMQP (RabbitMQ with
publisher confirms). Run by bench/journal.sh, which builds the release binaries first.

For each journal, two phases on a private, durable PostgreSQL (fsync on, as in production):
  intake   postern with delivery off takes the messages from smtp-load --lmtp (8 connections,
           messages in sessions of 50): accepted msgs/s, each committed before its 250;
  publish  a postern with the journal upstream starts on that queue and publishes it all:
           published msgs/s from its start until the queue is empty and the broker has every
           message (the hpfeeds subscriber received them / the RabbitMQ queue holds them).
Then a combined run, intake and publishing at once: messages/s end to end.

  bench/journal.py --postern P --mailadmin M --load L [--messages N]
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "tests", "support"))

from hpfeeds_broker import HpfeedsSubscriber  # noqa: E402
from rabbitmq import RabbitMQ  # noqa: E402
from relay import free_port, wait_until  # noqa: E402

HPFEEDS_AUTH = {"postern": {"owner": "bench", "secret": "bench-hpfeeds-secret", "pubchans": ["spam.mails"]},
                "reader": {"owner": "bench", "secret": "bench-reader", "subchans": ["spam.mails"]}}


class Bench:
    def __init__(self, args):
        self.args = args
        self.work = tempfile.mkdtemp(prefix="postern-journal-bench.", dir="/tmp")
        os.chmod(self.work, 0o755)
        self.processes = []
        self.db_url = None
        self.postern = None

    # ---- services ----

    def start_database(self):
        self.db_url = subprocess.check_output([os.path.join(REPO, "scripts", "pg-cluster.sh"), "start",
                                               os.path.join(self.work, "pg")], text=True).strip()
        subprocess.check_call([self.args.mailadmin, "--db", self.db_url, "migrate"], stdout=subprocess.DEVNULL)

    def psql(self, sql):
        return subprocess.check_output(["psql", self.db_url, "-qAtX", "-c", sql], text=True).strip()

    def start_hpfeeds(self):
        auth = os.path.join(self.work, "hpfeeds-auth.json")
        with open(auth, "w") as f:
            json.dump(HPFEEDS_AUTH, f)
        self.hpfeeds_port = free_port()
        broker = subprocess.Popen([sys.executable, os.path.join(REPO, "tests", "support", "hpfeeds_broker.py"),
                                   "--port", str(self.hpfeeds_port), "--auth", auth],
                                  stdout=subprocess.DEVNULL, stderr=open(os.path.join(self.work, "hpfeeds.log"), "w"))
        self.processes.append(broker)
        wait_until(lambda: self._connects(self.hpfeeds_port), 20, message="the hpfeeds broker")
        self.subscriber = HpfeedsSubscriber(self.hpfeeds_port, "reader", "bench-reader", ["spam.mails"])

    @staticmethod
    def _connects(port):
        import socket
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return True
        except OSError:
            return False

    def start_rabbitmq(self):
        self.rabbit = RabbitMQ()
        self.rabbit.start()
        self.rabbit.declare_queue("journal", "spam", "spam.mails")
        self.amqp_password_file = os.path.join(self.work, "amqp-password")
        with open(self.amqp_password_file, "w") as f:
            f.write(self.rabbit.password + "\n")

    def rabbit_count(self):
        with self.rabbit.connection() as connection:
            return connection.channel().queue_declare("journal", passive=True).method.message_count

    # ---- postern ----

    def config(self, upstream, extra=()):
        """postern.yaml: the LMTP listener, and the upstream (None: delivery off); `extra`: more lines."""
        lines = [f"hostname: bench.localhost", f"database:", f"  url: {self.db_url}",
                 "listeners:",
                 f"  - {{ kind: lmtp, address: 127.0.0.1, port: {self.lmtp_port}, accept_domains: [trap.example] }}",
                 "http:", "  address: 127.0.0.1", f"  port: {self.http_port}", "logging:", "  level: warning", "shutdown_grace_seconds: 2",
                 "limits:", "  max_connections_per_ip: 500"]
        if upstream:
            lines += ["delivery:", f"  workers: {self.args.workers}", "upstreams:"]
            lines += ["  - " + json.dumps(upstream), "default_upstream: " + upstream["name"]]
        return "\n".join([*lines, *extra]) + "\n"

    def start_postern(self, upstream, extra=()):
        self.lmtp_port, self.http_port = free_port(), free_port()
        path = os.path.join(self.work, "postern.yaml")
        with open(path, "w") as f:
            f.write(self.config(upstream, extra))
        log = open(os.path.join(self.work, "postern.log"), "a")
        self.postern = subprocess.Popen([self.args.postern, "--config", path], stdout=log, stderr=log)
        # Ready (GET /readyz 200) once the share maps are loaded: before that, RCPT gets 451.
        wait_until(self._ready, 30, 0.05, message="postern to be ready")

    def _ready(self):
        import http.client
        try:
            connection = http.client.HTTPConnection("127.0.0.1", self.http_port, timeout=2)
            connection.request("GET", "/readyz")
            return connection.getresponse().status == 200
        except OSError:
            return False

    def stop_postern(self):
        if self.postern and self.postern.poll() is None:
            self.postern.terminate()
            self.postern.wait(30)
        self.postern = None

    def load(self, messages, size=4096):
        per_client = max(1, messages // 8)
        out = subprocess.check_output([self.args.load, "--lmtp", "--port", str(self.lmtp_port), "--connections", "8",
                                       "--messages", str(per_client), "--per-session", "50", "--size", str(size),
                                       "--from", "spammer@forged.example", "--to", "catch@trap.example",
                                       "--json"], text=True)
        result = json.loads(out)
        if result["messages_failed"]:
            raise SystemExit(f"bench: {result['messages_failed']} messages failed at intake: {out}")
        return result

    def queued(self):
        return int(self.psql("SELECT count(*) FROM postern_queue"))

    # ---- runs ----

    def journal(self, kind):
        if kind == "hpfeeds":
            return {"name": "feed", "kind": "hpfeeds", "host": "127.0.0.1", "port": self.hpfeeds_port,
                    "security": "none", "ident": "postern", "secret_env": "BENCH_HPFEEDS_SECRET",
                    "channels": ["spam.mails"], "format": "json"}
        return {"name": "rabbit", "kind": "amqp", "host": "127.0.0.1", "port": self.rabbit.port, "security": "none",
                "username": self.rabbit.user, "password_file": self.amqp_password_file, "exchange": "spam",
                "routing_key": "spam.mails", "max_connections": self.args.amqp_connections}

    def received(self, kind):
        return len(self.subscriber.messages()) if kind == "hpfeeds" else self.rabbit_count()

    def run(self, kind):
        messages = (self.args.messages // 8) * 8
        # intake, delivery off
        self.start_postern(None)
        intake = self.load(messages)
        self.stop_postern()
        if self.queued() != messages:
            raise SystemExit(f"journal bench: {self.queued()} rows queued for {messages} accepted messages")
        # publish what is queued
        before = self.received(kind)
        started = time.monotonic()
        self.start_postern(self.journal(kind))
        wait_until(lambda: self.queued() == 0 and self.received(kind) - before >= messages, 600, 0.05,
                   message=f"the {kind} broker to receive {messages} messages")
        publish_seconds = time.monotonic() - started
        # both at once
        before = self.received(kind)
        started = time.monotonic()
        together = self.load(messages)
        wait_until(lambda: self.queued() == 0 and self.received(kind) - before >= messages, 600, 0.05,
                   message=f"the {kind} broker to receive {messages} more messages")
        both_seconds = time.monotonic() - started
        self.stop_postern()
        return {"journal": kind, "messages": messages, "intake": intake["msgs_per_second"],
                "publish": messages / publish_seconds, "together_intake": together["msgs_per_second"],
                "end_to_end": messages / both_seconds}

    def close(self):
        self.stop_postern()
        for p in self.processes:
            p.terminate()
        if getattr(self, "subscriber", None):
            self.subscriber.close()
        if getattr(self, "rabbit", None):
            self.rabbit.close()
        if self.db_url:
            subprocess.call([os.path.join(REPO, "scripts", "pg-cluster.sh"), "stop", os.path.join(self.work, "pg")],
                            stdout=subprocess.DEVNULL)
        if os.environ.get("BENCH_KEEP") == "1":
            print(f"== kept {self.work}")
        else:
            shutil.rmtree(self.work, ignore_errors=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postern", required=True)
    parser.add_argument("--mailadmin", required=True)
    parser.add_argument("--load", required=True)
    parser.add_argument("--messages", type=int, default=4000)
    parser.add_argument("--workers", type=int, default=256, help="delivery.workers (hpfeeds waits a grace per message)")
    parser.add_argument("--amqp-connections", type=int, default=8, help="the amqp upstream's max_connections")
    args = parser.parse_args()
    os.environ["BENCH_HPFEEDS_SECRET"] = HPFEEDS_AUTH["postern"]["secret"]
    bench = Bench(args)
    try:
        print("== starting PostgreSQL (durable), the hpfeeds broker and RabbitMQ")
        bench.start_database()
        bench.start_hpfeeds()
        bench.start_rabbitmq()
        rows = []
        for kind in ("hpfeeds", "amqp"):
            print(f"== {kind}: {args.messages} messages of 4 KiB over LMTP")
            rows.append(bench.run(kind))
        print()
        print(f"journal throughput, 4 KiB messages, LMTP in (8 connections), delivery.workers {args.workers}, "
              f"amqp max_connections {args.amqp_connections}; {os.cpu_count()} cores, load "
              f"{' '.join(open('/proc/loadavg').read().split()[:3])}")
        print(f"{'journal':<9} {'messages':>8} {'intake/s':>9} {'publish/s':>10} {'both: in/s':>11} {'end-to-end/s':>13}")
        for r in rows:
            print(f"{r['journal']:<9} {r['messages']:>8} {r['intake']:>9.0f} {r['publish']:>10.0f} "
                  f"{r['together_intake']:>11.0f} {r['end_to_end']:>13.0f}")
    finally:
        bench.close()


if __name__ == "__main__":
    main()
