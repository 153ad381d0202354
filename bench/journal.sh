#!/usr/bin/env bash
# bench/journal.sh: journal throughput, 4 KiB messages in over LMTP, out to hpfeeds (the
# project's test broker) and to AMQP (a private RabbitMQ, publisher confirms), on a durable
# private PostgreSQL. Builds the release binaries, then runs bench/journal.py, which prints the
# figures: intake msgs/s (delivery off), publish msgs/s (draining that queue), and both at once.
#
#   bench/journal.sh [--messages N] [--workers W] [--amqp-connections C]
#
# Environment: BENCH_SKIP_BUILD=1 (use build-release as it is), BENCH_KEEP=1 (keep the work
# folder: postern.log, the broker's log), BENCH_CMAKE_ARGS (extra cmake arguments).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
# shellcheck source=bench/lib.sh
source bench/lib.sh
build_release journal.sh
exec /usr/bin/python3 bench/journal.py --postern "$postern" --mailadmin "$mailadmin" --load "$load" "$@"
