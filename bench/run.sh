#!/usr/bin/env bash
# bench/run.sh: build Postern in release mode, start a private PostgreSQL and a postern on
# loopback, drive them with smtp-load, print a table of throughput and latency, and stop
# everything. Benchmarks print figures; they never fail because a machine is slow. The script
# exits non-zero only when it cannot run at all, or when the queue does not hold every message
# that got a 250.
#
#   bench/run.sh [--quick]      --quick: the plaintext-AUTH runs only (no STARTTLS runs)
#   bench/run.sh --deliver      end to end: the sustained run delivered to a real SMTP sink
#                               (aiosmtpd), then the idle queue wait of single messages
#
# Environment:
#   BENCH_KEEP=1            keep the work folder (logs, postern.yaml, JSON results) afterwards
#   BENCH_CMAKE_ARGS="..."  extra arguments for the cmake configure step
#   BENCH_SKIP_BUILD=1      use the binaries already in build-release
#   BENCH_POSTERN=PATH      measure this postern binary instead of build-release's (another
#                           version, for a before/after comparison: see bench/compare.sh)
#   BENCH_EXTRA_CONFIG=FILE postern.yaml keys added to the benchmark's (a path from the
#                           repository root), e.g. the handlers of bench/handlers-builtin.yaml
#                           or bench/handlers-command.yaml
#
# Durability is as in production: PostgreSQL with fsync=on and synchronous_commit=on, so every
# 250 after the dot waits for a WAL flush. Argon2id keeps postern's defaults (m=19 MiB, t=2).
#
# One message per connection means one Argon2id verification per message (about 30-60 ms of CPU
# on a small machine): on 2 cores that, not the queue, bounds scenarios (a) and (b). That is
# expected, and Postfix with Dovecot SASL pays it too on every login: Dovecot 2.3's auth cache
# keeps the stored hash and checks each password against it again (bench/compare-postfix.sh).
set -euo pipefail

usage() { sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; }
quick=0
deliver=0
for arg in "$@"; do
  case "$arg" in
    --quick) quick=1 ;;
    --deliver) deliver=1 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "run.sh: unknown argument $arg" >&2; usage >&2; exit 2 ;;
  esac
done

repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
# shellcheck source=bench/lib.sh
source bench/lib.sh

# ---------------------------------------------------------------------------------------------
# 1. Build
build_release run.sh

# ---------------------------------------------------------------------------------------------
# Work folder under /tmp (the postgres user must reach the cluster inside it) and clean-up.
work=$(mktemp -d /tmp/postern-bench.XXXXXX)
chmod 755 "$work"
postern_pid=""
cleanup() {
  local rc=$?
  stop_postern
  [ -z "${sink_pid:-}" ] || kill "$sink_pid" 2>/dev/null || true
  "$repo/scripts/pg-cluster.sh" stop "$work/pg" || true
  if [ "${BENCH_KEEP:-0}" = 1 ]; then
    echo "== kept $work (postern.log, pg/postgres.log, results/*.json)"
  else
    rm -rf "$work"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------------------------------------
# 2. PostgreSQL, durable (no --fsync off), schema, and the bench user
echo "== starting PostgreSQL"
db_url=$("$repo/scripts/pg-cluster.sh" start "$work/pg")
psql_q() { psql "$db_url" -qAtX -c "$1"; }
"$mailadmin" --db "$db_url" migrate >/dev/null
password="bench-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
printf '%s\n' "$password" | "$mailadmin" --db "$db_url" add user bench --password-stdin >/dev/null
"$mailadmin" --db "$db_url" add domain bench.example >/dev/null
"$mailadmin" --db "$db_url" grant domain bench.example to bench >/dev/null

# ---------------------------------------------------------------------------------------------
# 3. Certificate, configuration, postern
make_cert
tls_port=$(free_port)
plain_port=$(free_port)
while [ "$plain_port" = "$tls_port" ]; do plain_port=$(free_port); done
cat >"$work/postern.yaml" <<EOF
hostname: bench.localhost
database:
  url: $db_url
listeners:
  - address: 127.0.0.1        # STARTTLS runs: AUTH only after TLS, as in production
    port: $tls_port
    tls: starttls
  - address: 127.0.0.1        # plaintext runs: AUTH allowed without TLS from loopback
    port: $plain_port
    tls: starttls
    allow_plaintext_auth_on_loopback: true
tls:
  certificate: $work/tls.crt
  key: $work/tls.key
limits:
  max_connections_per_ip: 500 # every client is 127.0.0.1
logging:
  level: warning              # keep per-session log lines out of the figures
# Without --deliver there are no upstreams: messages stay queued, so delivery costs stay out of
# the figures and the row count at the end checks intake.
shutdown_grace_seconds: 2
EOF
if [ -n "${BENCH_EXTRA_CONFIG:-}" ]; then
  cat "$BENCH_EXTRA_CONFIG" >>"$work/postern.yaml"
  echo "== postern.yaml adds $BENCH_EXTRA_CONFIG"
fi
# --deliver: a real SMTP sink (aiosmtpd) as the upstream, to measure client -> postern -> sink.
sink_pid=""
if [ "$deliver" = 1 ]; then
  start_sink run.sh
  cat >>"$work/postern.yaml" <<EOF
upstreams:
  - name: sink
    kind: smtp
    host: 127.0.0.1
    port: $sink_port
    security: none
    max_connections: 8
default_upstream: sink
EOF
fi
echo "== starting postern (STARTTLS port $tls_port, plaintext-AUTH port $plain_port)"
start_postern run.sh

# ---------------------------------------------------------------------------------------------
# 4. Scenarios
mkdir -p "$work/results"
common=(--host 127.0.0.1 --user bench --password "$password"
        --from sender@bench.example --to rcpt@elsewhere.example --size 4096 --timeout 30 --json)

# A smoke test and warm-up: one message each way. A failure here is a broken set-up, not a
# slow machine, so it stops the script.
for tls in plain starttls; do
  port=$plain_port; extra=()
  if [ "$tls" = starttls ]; then port=$tls_port; extra=(--starttls); fi
  if ! out=$("$load" "${common[@]}" --port "$port" "${extra[@]}" --connections 1 --messages 2 --reuse); then
    echo "run.sh: smtp-load failed in the smoke test ($tls)" >&2
    exit 1
  fi
  echo "$out" >"$work/results/00-smoke-$tls.json"
  if ! python3 -c 'import json,sys; d=json.loads(sys.argv[1]); sys.exit(d["messages_failed"] != 0)' "$out"; then
    echo "run.sh: smoke test ($tls) failed: $out" >&2
    tail -n 20 "$work/postern.log" >&2
    exit 1
  fi
done

# id, label, connections, messages per connection, extra flags. The counts give each run
# roughly 10-20 s on 2 cores: (a) and (b) are bound by Argon2id (~30-40 msgs/s), (c) by the
# commit rate (several hundred msgs/s), so (c) runs ten sessions of 100 per connection.
scenarios=(
  "a:8 conns, 1 msg/session:8:50:"
  "b:32 conns, 1 msg/session:32:20:"
  "c:8 conns, 100 msgs/session:8:1000:--per-session 100"
)
tls_modes=(plain)
[ "$quick" = 1 ] || [ "$deliver" = 1 ] || tls_modes+=(starttls)
# End to end, the interesting run is the sustained one.
[ "$deliver" = 0 ] || scenarios=("${scenarios[2]}")
started=$(date +%s.%N)

echo "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== PostgreSQL: fsync=$(psql_q 'SHOW fsync'), synchronous_commit=$(psql_q 'SHOW synchronous_commit'); 4096-byte bodies"
n=0
load_crashed=0
for tls in "${tls_modes[@]}"; do
  for s in "${scenarios[@]}"; do
    IFS=: read -r id label conns msgs flags <<<"$s"
    port=$plain_port; extra=()
    if [ "$tls" = starttls ]; then port=$tls_port; extra=(--starttls); fi
    # shellcheck disable=SC2206  # flags is a list of words
    [ -z "$flags" ] || extra+=($flags)
    n=$((n + 1))
    file="$work/results/$(printf '%02d' "$n")-$id-$tls.json"
    printf '   running (%s) %s, %s ... ' "$id" "$label" "$tls"
    if ! "$load" "${common[@]}" --port "$port" "${extra[@]}" --connections "$conns" --messages "$msgs" >"$file"; then
      echo "smtp-load exited with status $? (no figures)"
      rm -f "$file"
      load_crashed=1
      continue
    fi
    python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print("%.1f s" % d["wall_seconds"])' "$file"
    # label, tls mode and the machine's load average (other work on it skews the figures)
    python3 - "$file" "($id) $label" "$tls" "$(cut -d' ' -f1 /proc/loadavg)" <<'PY'
import json, sys
path, label, tls, load = sys.argv[1:5]
d = json.load(open(path))
d["label"], d["tls"], d["load"] = label, tls, load
json.dump(d, open(path, "w"))
PY
  done
done

# ---------------------------------------------------------------------------------------------
# --deliver: wait for the sink to hold every message, then time single messages on an idle system.
if [ "$deliver" = 1 ]; then
  accepted=$(python3 -c 'import json,glob,sys; print(sum(json.load(open(f))["messages_ok"] for f in glob.glob(sys.argv[1]+"/*.json")))' "$work/results")
  for _ in $(seq 1200); do [ "$(delivered)" -ge "$accepted" ] && break; sleep 0.1; done
  finished=$(date +%s.%N)
  python3 -c 'import sys; n,a,b=int(sys.argv[1]),float(sys.argv[2]),float(sys.argv[3]); print("end to end: %d messages delivered to the sink in %.1f s: %.1f msgs/s (client -> postern -> PostgreSQL -> sink)" % (n, b-a, n/(b-a)))' "$(delivered)" "$started" "$finished"
  waits=()
  for _ in $(seq 10); do
    before=$(delivered)
    "$load" "${common[@]}" --port "$plain_port" --connections 1 --messages 1 >/dev/null
    t0=$(date +%s%N)
    while [ "$(delivered)" -le "$before" ]; do :; done
    waits+=("$(( ($(date +%s%N) - t0) / 1000000 ))")
    sleep 0.5
  done
  echo "idle queue wait (smtp-load exits after its 250 -> file seen at the sink), ms: ${waits[*]}"
  echo "  (includes starting find(1) per poll: an upper bound)"
fi

# ---------------------------------------------------------------------------------------------
# The table, and the proof that every 250 is a row in the queue
queue_rows=$(psql_q 'SELECT count(*) FROM postern_queue')
# Delivered messages have left the queue: they count as stored.
# (the ten idle-wait messages are not in the results: leave them out)
[ "$deliver" = 0 ] || queue_rows=$((queue_rows + $(delivered) - ${#waits[@]}))
echo
python3 - "$work/results" "$queue_rows" <<'PY'
import glob, json, os, sys
folder, queue_rows = sys.argv[1], int(sys.argv[2])
runs = [json.load(open(p)) for p in sorted(glob.glob(os.path.join(folder, "*.json")))]
rows = [r for r in runs if "label" in r]
head = ("scenario", "tls", "ok", "failed", "msgs/s", "p50 ms", "p99 ms", "setup p50 ms", "load")
def ms(p, key):
    return "-" if p is None else "%.1f" % p[key]
table = [head] + [(r["label"], r["tls"], str(r["messages_ok"]), str(r["messages_failed"]),
                   "%.1f" % r["msgs_per_second"], ms(r["latency_ms"], "p50"),
                   ms(r["latency_ms"], "p99"), ms(r["setup_ms"], "p50"), r["load"]) for r in rows]
widths = [max(len(row[i]) for row in table) for i in range(len(head))]
for k, row in enumerate(table):
    print("  ".join(c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths))))
    if k == 0:
        print("  ".join("-" * w for w in widths))
print()
print("latency: MAIL FROM written -> 250 after the dot; setup: connect -> 235 after AUTH (incl. STARTTLS);")
print("load: 1-minute load average at the end of the run (above the core count, others share the CPU)")
for r in rows:
    if r["errors"]:
        print("errors in %s, %s: %s" % (r["label"], r["tls"],
              ", ".join("%d x %s" % (v, k) for k, v in sorted(r["errors"].items()))))
accepted = sum(r["messages_ok"] for r in runs)
if queue_rows == accepted:
    verdict = "every accepted message is stored"
elif queue_rows > accepted:
    verdict = "more rows than 250s seen (a client gave up after the commit: see the errors)"
else:
    verdict = "MISSING ROWS: a 250 was given for a message that is not in the queue"
print("queue: %d rows in postern_queue, %d messages got 250: %s" % (queue_rows, accepted, verdict))
sys.exit(3 if queue_rows < accepted else 0)
PY
[ "$load_crashed" = 0 ] || { echo "run.sh: smtp-load failed in some scenario (see above)" >&2; exit 1; }
