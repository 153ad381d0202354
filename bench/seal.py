#!/usr/bin/python3
"""The sealed queue's cost: the same messages queued and delivered in clear and sealed
(queue.seal_key_files), in one run. Run by bench/seal.sh, which builds the release binaries first.

For each size (4 KiB and 1 MiB) and each mode, on a private durable PostgreSQL (fsync on):
  intake   postern with delivery off takes the messages from smtp-load --lmtp (8 connections,
           sessions of 50): accepted msgs/s, each committed (sealed or not) before its 250;
  deliver  a postern with a maildir upstream starts on that queue and delivers it all: msgs/s
           from its start until the queue is empty (every chunk read and, sealed, opened).
The modes alternate, clear then sealed, `--rounds` times; the table has each round's figures and
the sealed/clear ratios of their medians.

  bench/seal.py --postern P --mailadmin M --load L [--rounds R]
"""
import argparse
import base64
import os
import shutil
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from journal import Bench  # noqa: E402  (the database, postern and smtp-load helpers)
from relay import wait_until  # noqa: E402  (tests/support, on the path journal.py sets)

SIZES = {"4 KiB": (4096, 2000), "1 MiB": (1024 * 1024, 120)}  # size, messages


class SealBench(Bench):
    def __init__(self, args):
        super().__init__(args)
        self.key_file = os.path.join(self.work, "seal.key")
        with open(self.key_file, "w") as f:
            f.write("bench:" + base64.b64encode(os.urandom(32)).decode() + "\n")
        self.maildir = os.path.join(self.work, "maildir")

    def queue_lines(self, sealed):
        return ["queue:", "  seal_key_files: [" + self.key_file + "]"] if sealed else []

    def run_mode(self, size, messages, sealed):
        extra = self.queue_lines(sealed)
        self.start_postern(None, extra)
        intake = self.load(messages, size)
        self.stop_postern()
        if self.queued() != messages:
            raise SystemExit(f"seal bench: {self.queued()} rows queued for {messages} accepted messages")
        if sealed and int(self.psql("SELECT count(*) FROM postern_queue WHERE seal_key = 'bench'")) != messages:
            raise SystemExit("seal bench: messages were queued in clear")
        started = time.monotonic()
        self.start_postern({"name": "box", "kind": "maildir", "path": self.maildir}, extra)
        wait_until(lambda: self.queued() == 0, 900, 0.05, message="the queue to empty")
        deliver_seconds = time.monotonic() - started
        self.stop_postern()
        delivered = len(os.listdir(os.path.join(self.maildir, "new")))
        if delivered != messages:
            raise SystemExit(f"seal bench: {delivered} files in the maildir for {messages} messages")
        shutil.rmtree(self.maildir)
        return intake["msgs_per_second"], messages / deliver_seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postern", required=True)
    parser.add_argument("--mailadmin", required=True)
    parser.add_argument("--load", required=True)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--workers", type=int, default=16, help="delivery.workers")
    args = parser.parse_args()
    bench = SealBench(args)
    try:
        print("== starting PostgreSQL (durable)")
        bench.start_database()
        figures = {}  # (size, mode) -> [(intake, deliver), ...]
        for label, (size, messages) in SIZES.items():
            messages = (messages // 8) * 8
            for round_number in range(args.rounds):
                for mode in ("clear", "sealed"):
                    print(f"== {label}, {mode}, round {round_number + 1}: {messages} messages")
                    figures.setdefault((label, mode), []).append(bench.run_mode(size, messages, mode == "sealed"))
        print()
        print(f"sealed queue cost, LMTP in (8 connections), maildir out (delivery.workers {args.workers}); "
              f"{os.cpu_count()} cores, load {' '.join(open('/proc/loadavg').read().split()[:3])}")
        print(f"{'size':<6} {'mode':<7} {'intake msgs/s (each round)':<28} {'deliver msgs/s (each round)':<28}")
        for (label, mode), rows in figures.items():
            print(f"{label:<6} {mode:<7} {' '.join(f'{r[0]:.0f}' for r in rows):<28} "
                  f"{' '.join(f'{r[1]:.0f}' for r in rows):<28}")
        for label in SIZES:
            clear, sealed = figures[(label, "clear")], figures[(label, "sealed")]
            ratio = [statistics.median(r[i] for r in sealed) / statistics.median(r[i] for r in clear) for i in (0, 1)]
            print(f"{label}: sealed/clear, medians: intake {ratio[0]:.2f}, deliver {ratio[1]:.2f}")
    finally:
        bench.close()


if __name__ == "__main__":
    main()
