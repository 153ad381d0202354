#!/usr/bin/env bash
# bench/webhooks.sh: what delivery webhooks cost mail. Runs bench/run.sh --deliver (8 connections,
# sessions of 100 messages of 4 KiB, client -> postern -> PostgreSQL -> sink, durable commits)
# with the same postern binary three ways, alternating them:
#   off   no webhooks: no outbox rows at all
#   up    one endpoint taking every event, a receiver (bench/webhook_receiver.py) answering 204
#   down  one endpoint whose port is closed: every post fails, the events wait in the outbox
# and prints the median end-to-end rate of each and its ratio to `off`, and for `up` how many
# events the receiver had by the end of the run (two per message: accepted, delivered).
#
#   bench/webhooks.sh [--runs N]
set -euo pipefail

runs=3
[ "${1:-}" != --runs ] || runs=$2

repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
out=$(mktemp -d /tmp/postern-webhooks.XXXXXX)
receiver_pid=""
cleanup() {
  [ -z "$receiver_pid" ] || kill "$receiver_pid" 2>/dev/null || true
  rm -rf "$out"
}
trap cleanup EXIT

# shellcheck source=bench/lib.sh
source bench/lib.sh
BENCH_SKIP_BUILD=0 BENCH_POSTERN= build_release webhooks.sh
postern=$(realpath build-release/server/postern)

printf 'bench-webhook-secret-%s\n' "$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')" >"$out/secret"
endpoint_config() {  # PORT -> a postern.yaml fragment
  cat <<YAML
webhooks:
  endpoints:
    - name: bench
      url: http://127.0.0.1:$1/events
      secret_file: $out/secret
YAML
}

for i in $(seq "$runs"); do
  for side in off up down; do
    extra=()
    if [ "$side" != off ]; then
      port=$(free_port)
      endpoint_config "$port" >"$out/$side.yaml"
      extra=(BENCH_EXTRA_CONFIG="$out/$side.yaml")
      if [ "$side" = up ]; then
        python3 bench/webhook_receiver.py "$port" "$out/counts-$i.json" &
        receiver_pid=$!
      fi
    fi
    printf '   run %d, %s ... ' "$i" "$side"
    if env BENCH_SKIP_BUILD=1 BENCH_POSTERN="$postern" "${extra[@]}" bash bench/run.sh --deliver \
         >"$out/$side-$i.txt" 2>&1; then
      echo ok
    else
      echo "failed (see below)"; tail -n 20 "$out/$side-$i.txt"; exit 1
    fi
    if [ -n "$receiver_pid" ]; then
      kill -TERM "$receiver_pid"; wait "$receiver_pid" || true; receiver_pid=""
    fi
  done
done

python3 - "$out" "$runs" <<'PY'
import json, os, re, statistics, sys
out, runs = sys.argv[1], int(sys.argv[2])

def rate(side, i):
    text = open(os.path.join(out, f"{side}-{i}.txt")).read()
    m = re.search(r"end to end: (\d+) messages .* ([0-9.]+) msgs/s", text)
    return int(m.group(1)), float(m.group(2))

off = statistics.median(rate("off", i)[1] for i in range(1, runs + 1))
print(f"\n{'webhooks':<40} {'msgs/s':>8} {'ratio':>7}   (medians of {runs}; runs)")
for side, label in (("off", "off (no endpoint)"), ("up", "up (receiver answers 204)"),
                    ("down", "down (endpoint's port closed)")):
    values = [rate(side, i)[1] for i in range(1, runs + 1)]
    median = statistics.median(values)
    print(f"{label:<40} {median:>8.1f} {median / off:>7.3f}   {values}")
for i in range(1, runs + 1):
    path = os.path.join(out, f"counts-{i}.json")
    if os.path.exists(path):
        counts = json.load(open(path))
        print(f"   up, run {i}: {rate('up', i)[0]} messages delivered, the receiver had {counts['events']} events "
              f"by the end {counts['by_type']}")
PY
