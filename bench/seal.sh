#!/usr/bin/env bash
# bench/seal.sh: what sealing the queue costs. The same messages (4 KiB and 1 MiB) queued over LMTP
# and delivered to a maildir, in clear and sealed (queue.seal_key_files), alternating, on a
# durable private PostgreSQL; prints each round's msgs/s and the sealed/clear ratios.
#
#   bench/seal.sh [--rounds R] [--workers W]
#
# Environment: BENCH_SKIP_BUILD=1 (use build-release as it is), BENCH_KEEP=1 (keep the work
# folder), BENCH_CMAKE_ARGS (extra cmake arguments).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
# shellcheck source=bench/lib.sh
source bench/lib.sh
build_release seal.sh
exec /usr/bin/python3 bench/seal.py --postern "$postern" --mailadmin "$mailadmin" --load "$load" "$@"
