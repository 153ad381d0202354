#!/usr/bin/env bash
# bench/memory.sh: how much memory postern takes for large messages. Builds Postern in release
# mode, starts a private PostgreSQL (fsync on), an SMTP sink as the upstream, then for each
# scenario a fresh postern that takes the messages from smtp-load and delivers them to the sink;
# once the sink holds them all it prints postern's peak RSS (VmHWM) and its settled RSS (VmRSS a
# few seconds after the last delivery), read from /proc/PID/status. Goals: peak under 150 MB and
# settled under 80 MB in every scenario. A benchmark: it prints figures and exits non-zero only
# when it cannot run, or when a message that got 250 never reached the sink.
#
#   bench/memory.sh
#
# Scenarios (body sizes as smtp-load --size; each client is an smtp-load of its own that logs in
# once, as a user of its own, and sends its messages in one session):
#   8 x 24 MiB          8 clients at once, one message each
#   8 x 24 MiB shared   the same to a recipient whose share map has 3 destinations: 3 share
#                       mails per message, each through an upstream of its own (all to the sink)
#   64 x 1 MiB          8 clients at once, 8 messages each
#   1000 x 4 KiB        8 clients at once, 125 messages each
# With BENCH_SCENARIOS=sharing (bench/sharing.sh): sharing next to plain forwarding, 4 KiB and
# 1 MiB messages, 3 destinations; the table's msgs/s and MB/s (of messages accepted, from the
# first connection until the sink held every mail) compare the two.
#
# Environment:
#   BENCH_POSTERN=PATH      measure this postern binary instead of build-release's (another
#                           version, for a before/after comparison)
#   BENCH_SETTLE_SECONDS=S  how long after the last delivery the settled RSS is read (default 5)
#   BENCH_LOG_LEVEL=debug   postern's log level (default warning); with debug, the time each
#                           malloc_trim took is summed up from the log
#   BENCH_KEEP=1            keep the work folder (each scenario's log, the load's JSON)
#   BENCH_CMAKE_ARGS="..."  extra arguments for the cmake configure step
#   BENCH_SKIP_BUILD=1      use the binaries already in build-release
#   BENCH_SCENARIOS=sharing the sharing scenarios instead (default: memory)
set -euo pipefail

usage() { sed -n '2,32p' "$0" | sed 's/^# \{0,1\}//'; }
for arg in "$@"; do
  case "$arg" in
    -h|--help) usage; exit 0 ;;
    *) echo "memory.sh: unknown argument $arg" >&2; usage >&2; exit 2 ;;
  esac
done
settle=${BENCH_SETTLE_SECONDS:-5}
log_level=${BENCH_LOG_LEVEL:-warning}

repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
# shellcheck source=bench/lib.sh
source bench/lib.sh

# ---------------------------------------------------------------------------------------------
# 1. Build
build_release memory.sh

# ---------------------------------------------------------------------------------------------
# Work folder under /tmp (the postgres user must reach the cluster inside it) and clean-up of
# everything started here, however the script ends.
work=$(mktemp -d /tmp/postern-memory.XXXXXX)
chmod 755 "$work"
postern_pid=""
load_pids=()
sink_pid=""
cleanup() {
  local rc=$?
  for pid in "${load_pids[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  stop_postern
  [ -z "$sink_pid" ] || kill "$sink_pid" 2>/dev/null || true
  "$repo/scripts/pg-cluster.sh" stop "$work/pg" || true
  if [ "${BENCH_KEEP:-0}" = 1 ]; then
    echo "== kept $work (postern-*.log, load-*.json, pg/postgres.log)"
  else
    rm -rf "$work"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

status_kib() { awk -v key="$2:" '$1 == key { print $2 }' "/proc/$1/status" 2>/dev/null || true; }  # PID FIELD
mb() { awk -v k="$1" 'BEGIN { printf "%.0f", k / 1024 }'; }

# ---------------------------------------------------------------------------------------------
# 2. PostgreSQL (durable: fsync and synchronous_commit on), schema, the bench users: one per
# client, so that no per-user limit on logins at once shapes the load
echo "== starting PostgreSQL"
db_url=$("$repo/scripts/pg-cluster.sh" start "$work/pg")
psql_q() { psql "$db_url" -qAtX -c "$1"; }
"$mailadmin" --db "$db_url" migrate >/dev/null
password="memory-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
"$mailadmin" --db "$db_url" add domain bench.example >/dev/null
clients=8
for k in $(seq "$clients"); do
  printf '%s\n' "$password" | "$mailadmin" --db "$db_url" add user "bench$k" --password-stdin >/dev/null
  "$mailadmin" --db "$db_url" grant domain bench.example to "bench$k" >/dev/null
done
# The shared recipient: three destinations, each through an upstream of its own.
shared=shared@shares.example
"$mailadmin" --db "$db_url" add share "$shared" >/dev/null
for p in a b c; do
  "$mailadmin" --db "$db_url" share "$shared" to "bench@mail-$p.example" via "share-$p" >/dev/null
done

# ---------------------------------------------------------------------------------------------
# 3. The sink, the configuration (the same keys for an older postern)
start_sink memory.sh

make_cert
port=$(free_port)
http_port=$(free_port)
cat >"$work/postern.yaml" <<EOF
hostname: memory.localhost
database:
  url: $db_url
listeners:
  - address: 127.0.0.1        # AUTH allowed without TLS from loopback
    port: $port
    tls: starttls
    allow_plaintext_auth_on_loopback: true
tls:
  certificate: $work/tls.crt
  key: $work/tls.key
http:
  address: 127.0.0.1
  port: $http_port
limits:
  max_message_size: 26214400  # 25 MiB
  max_connections_per_ip: 500
  data_timeout_seconds: 600
logging:
  level: $log_level
upstreams:
  - name: sink
    kind: smtp
    host: 127.0.0.1
    port: $sink_port
    security: none
    max_connections: 8
    timeout_seconds: 300
$(for p in a b c; do printf '  - name: share-%s\n    kind: smtp\n    host: 127.0.0.1\n    port: %s\n    security: none\n    max_connections: 8\n    timeout_seconds: 300\n' "$p" "$sink_port"; done)
default_upstream: sink
shutdown_grace_seconds: 2
EOF

# ---------------------------------------------------------------------------------------------
# 4. The scenarios, each on a fresh postern
echo "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== postern: $postern"
# label:messages per client:body size:recipient:mails per message, for each of the $clients clients
if [ "${BENCH_SCENARIOS:-memory}" = sharing ]; then
  scenarios=(
    "1000 x 4 KiB:125:4096:rcpt@elsewhere.example:1"
    "1000 x 4 KiB shared:125:4096:$shared:3"
    "64 x 1 MiB:8:1048576:rcpt@elsewhere.example:1"
    "64 x 1 MiB shared:8:1048576:$shared:3"
  )
else
  scenarios=(
    "8 x 24 MiB:1:25165824:rcpt@elsewhere.example:1"
    "8 x 24 MiB shared:1:25165824:$shared:3"
    "64 x 1 MiB:8:1048576:rcpt@elsewhere.example:1"
    "1000 x 4 KiB:125:4096:rcpt@elsewhere.example:1"
  )
fi
results=()
missing=0
n=0
for s in "${scenarios[@]}"; do
  IFS=: read -r label msgs size to copies <<<"$s"
  n=$((n + 1))
  rm -rf "$work/sink"/*.eml "$work/sink"/*.json
  log="$work/postern-$n.log"
  "$postern" --config "$work/postern.yaml" >"$log" 2>&1 &
  postern_pid=$!
  ready=0
  for _ in $(seq 300); do
    kill -0 "$postern_pid" 2>/dev/null || break
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then ready=1; break; fi
    sleep 0.1
  done
  if [ "$ready" != 1 ]; then
    tail -n 30 "$log" >&2
    echo "memory.sh: postern did not start" >&2
    exit 1
  fi
  sleep 1
  start_rss=$(status_kib "$postern_pid" VmRSS)
  printf '   running %s ... ' "$label"
  started=$(date +%s.%N)
  for k in $(seq "$clients"); do
    "$load" --host 127.0.0.1 --port "$port" --user "bench$k" --password "$password" \
      --from sender@bench.example --to "$to" --size "$size" --timeout 600 --json \
      --connections 1 --messages "$msgs" --reuse >"$work/load-$n-$k.json" &
    load_pids+=($!)
  done
  for pid in "${load_pids[@]}"; do
    wait "$pid" || { echo "smtp-load exited with status $?"; exit 1; }
  done
  load_pids=()
  read -r ok refused < <(python3 - "$work" "$n" <<'PY'
import collections, glob, json, sys
runs = [json.load(open(f)) for f in glob.glob("%s/load-%s-*.json" % (sys.argv[1], sys.argv[2]))]
errors = collections.Counter()
for r in runs:
    errors.update(r["errors"])
print(sum(r["messages_ok"] for r in runs), ", ".join("%d x %s" % (v, k) for k, v in sorted(errors.items())))
PY
)
  for _ in $(seq 6000); do [ "$(delivered)" -ge $((ok * copies)) ] && break; sleep 0.1; done
  got=$(delivered)
  finished=$(date +%s.%N)
  if ! kill -0 "$postern_pid" 2>/dev/null; then
    tail -n 30 "$log" >&2
    echo "memory.sh: postern died during '$label'" >&2
    exit 1
  fi
  sleep "$settle"
  peak=$(status_kib "$postern_pid" VmHWM)
  settled=$(status_kib "$postern_pid" VmRSS)
  secs=$(awk -v a="$started" -v b="$finished" 'BEGIN { printf "%.1f", b - a }')
  echo "$ok of $((clients * msgs)) accepted, $got mails delivered in $secs s${refused:+ (failed: $refused)}"
  [ "$got" -ge $((ok * copies)) ] || missing=1
  rate=$(awk -v n="$ok" -v s="$secs" 'BEGIN { printf "%.1f", (s > 0 ? n / s : 0) }')
  mbps=$(awk -v n="$ok" -v z="$size" -v s="$secs" 'BEGIN { printf "%.2f", (s > 0 ? n * z / s / 1048576 : 0) }')
  results+=("$label|$ok|$got|$secs|$rate|$mbps|$(mb "$start_rss")|$(mb "$peak")|$(mb "$settled")")
  stop_postern
  if [ "$log_level" = debug ]; then
    { grep -o 'event=memory_trimmed micros=[0-9]*' "$log" || true; } | sed 's/.*=//' | sort -n | awk -v label="$label" '
      { v[NR] = $1; sum += $1 }
      END { if (NR) printf "     malloc_trim in %s: %d calls, median %d us, max %d us, total %.1f ms\n",
                          label, NR, v[int((NR + 1) / 2)], v[NR], sum / 1000 }'
  fi
done

# ---------------------------------------------------------------------------------------------
# 5. The table
echo
printf '%-20s %6s %6s %8s %8s %7s %10s %9s %12s\n' scenario ok mails seconds msgs/s MB/s "start MiB" "peak MiB" "settled MiB"
printf '%-20s %6s %6s %8s %8s %7s %10s %9s %12s\n' -------------------- ------ ------ -------- -------- ------- ---------- --------- ------------
for r in "${results[@]}"; do
  IFS='|' read -r label ok got secs rate mbps start peak settled <<<"$r"
  printf '%-20s %6s %6s %8s %8s %7s %10s %9s %12s\n' "$label" "$ok" "$got" "$secs" "$rate" "$mbps" "$start" "$peak" "$settled"
done
echo
echo "peak: VmHWM of postern over the scenario (a fresh process each); settled: VmRSS ${settle} s after"
echo "the sink held the last message (MiB). Goals: peak under 150 MB, settled under 80 MB."
queue_rows=$(psql_q 'SELECT count(*) FROM postern_queue')
echo "queue: $queue_rows messages left in postern_queue"
if [ "$missing" = 1 ]; then
  echo "memory.sh: a message that got 250 never reached the sink" >&2
  exit 3
fi
