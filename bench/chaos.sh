#!/usr/bin/env bash
# bench/chaos.sh: delivery through crashes. Builds Postern in release mode, starts a private
# PostgreSQL (fsync on), an SMTP sink as the upstream and one postern, sends tagged messages from
# 16 clients with smtp-load, and meanwhile kills postern with SIGKILL twice (restarting it at
# once) and restarts PostgreSQL once. When the queue has drained it prints what was accepted,
# delivered, lost and duplicated, and for each kill how long the killed process's claims took
# to reach the sink. A benchmark: it prints figures and exits non-zero only when it cannot run,
# or when a message that got 250 never arrived.
#
#   bench/chaos.sh [--messages N]     N messages in all (default 10000), from 16 clients
#
# Environment:
#   CHAOS_LEASE_SECONDS=S   delivery.lease_seconds for postern (default: postern's own, 30)
#   CHAOS_RESTART=same|new  restart the killed postern with the same replica identity (default:
#                           a container restarted in its pod) or a new one (a replacement pod:
#                           the dead process's claims then wait for their leases to run out)
#   BENCH_KEEP=1            keep the work folder (logs, config, outcomes, the sink's messages)
#   BENCH_CMAKE_ARGS="..."  extra arguments for the cmake configure step
#   BENCH_SKIP_BUILD=1      use the binaries already in build-release
set -euo pipefail

usage() { sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; }
messages=10000
while [ $# -gt 0 ]; do
  case "$1" in
    --messages) messages=${2:?--messages needs a number}; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "chaos.sh: unknown argument $1" >&2; usage >&2; exit 2 ;;
  esac
done
if ! [[ "$messages" =~ ^[0-9]+$ ]] || [ "$messages" -lt 16 ]; then
  echo "chaos.sh: --messages: a number of at least 16" >&2; exit 2
fi
restart_mode=${CHAOS_RESTART:-same}
case "$restart_mode" in same|new) ;; *) echo "chaos.sh: CHAOS_RESTART must be same or new" >&2; exit 2 ;; esac
lease=${CHAOS_LEASE_SECONDS:-}
clients=16
per_client=$(( (messages + clients - 1) / clients ))

repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
# shellcheck source=bench/lib.sh
source bench/lib.sh

# ---------------------------------------------------------------------------------------------
# 1. Build
build_release chaos.sh

# ---------------------------------------------------------------------------------------------
# Work folder under /tmp (the postgres user must reach the cluster inside it) and clean-up of
# everything started here, however the script ends.
work=$(mktemp -d /tmp/postern-chaos.XXXXXX)
chmod 755 "$work"
postern_pid=""
load_pid=""
sink_pid=""
cleanup() {
  local rc=$?
  [ -z "$load_pid" ] || kill -KILL "$load_pid" 2>/dev/null || true
  if [ -n "$postern_pid" ] && kill -0 "$postern_pid" 2>/dev/null; then
    kill -KILL "$postern_pid" 2>/dev/null || true
    wait "$postern_pid" 2>/dev/null || true
  fi
  [ -z "$sink_pid" ] || kill "$sink_pid" 2>/dev/null || true
  "$repo/scripts/pg-cluster.sh" stop "$work/pg" || true
  if [ "${BENCH_KEEP:-0}" = 1 ]; then
    echo "== kept $work (postern-*.log, pg/postgres.log, outcomes.txt, load.json, sink/)"
  else
    rm -rf "$work"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a - b }'; }  # seconds from $2 to $1

# ---------------------------------------------------------------------------------------------
# 2. PostgreSQL (durable: fsync and synchronous_commit on), schema, the bench user
echo "== starting PostgreSQL"
db_url=$("$repo/scripts/pg-cluster.sh" start "$work/pg")
psql_q() { psql "$db_url" -qAtX -c "$1" 2>/dev/null; }
"$mailadmin" --db "$db_url" migrate >/dev/null
password="chaos-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
printf '%s\n' "$password" | "$mailadmin" --db "$db_url" add user chaos --password-stdin >/dev/null
"$mailadmin" --db "$db_url" add domain chaos.example >/dev/null
"$mailadmin" --db "$db_url" grant domain chaos.example to chaos >/dev/null
pg_bin=/usr/lib/postgresql/15/bin
as_pg_owner() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

# ---------------------------------------------------------------------------------------------
# 3. The sink, the configuration, postern
start_sink chaos.sh
port=$(free_port)
http_port=$(free_port)
cat >"$work/postern.yaml" <<EOF
hostname: chaos.localhost
database:
  url: $db_url
listeners:
  - address: 127.0.0.1
    port: $port
    tls: starttls
    allow_plaintext_auth_on_loopback: true
http:
  address: 127.0.0.1
  port: $http_port
limits:
  max_connections_per_ip: 500
logging:
  level: info
shutdown_grace_seconds: 2
delivery:
  first_retry_seconds: 1      # a deferral (PostgreSQL away mid-delivery) must not stall the drain
  max_retry_seconds: 5
$( [ -z "$lease" ] || echo "  lease_seconds: $lease" )
upstreams:
  - name: sink
    kind: smtp
    host: 127.0.0.1
    port: $sink_port
    security: none
    max_connections: 8
default_upstream: sink
EOF
identity=chaos-relay
starts=0
# Starts postern (identity: POD_NAME) and waits until it accepts connections.
start_postern() {
  starts=$((starts + 1))
  [ "$restart_mode" = same ] || identity="chaos-relay-$starts"
  POD_NAME=$identity "$postern" --config "$work/postern.yaml" >"$work/postern-$starts.log" 2>&1 &
  postern_pid=$!
  for _ in $(seq 300); do
    kill -0 "$postern_pid" 2>/dev/null || break
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
    sleep 0.02
  done
  tail -n 30 "$work/postern-$starts.log" >&2
  echo "chaos.sh: postern did not start" >&2
  exit 1
}
echo "== starting postern (port $port, sink $sink_port, lease ${lease:-default} s, restart: $restart_mode identity)"
start_postern

# ---------------------------------------------------------------------------------------------
# 4. The load, and the chaos while it runs
echo "== machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); PostgreSQL fsync=$(psql_q 'SHOW fsync')"
echo "== sending $((per_client * clients)) messages from $clients clients (sessions of 50, 4 KiB bodies)"
started=$(now)
"$load" --host 127.0.0.1 --port "$port" --user chaos --password "$password" --from sender@chaos.example \
  --to rcpt@elsewhere.example --connections "$clients" --messages "$per_client" --per-session 50 --size 4096 \
  --timeout 30 --retry-for 60 --outcomes "$work/outcomes.txt" --json >"$work/load.json" 2>"$work/load.err" &
load_pid=$!

delivered_files() { find "$work/sink" -name '*.eml' 2>/dev/null | wc -l; }
# Messages stored so far: still queued, or delivered (duplicates count too: a rough gauge).
progress() { echo $(( $(psql_q 'SELECT count(*) FROM postern_queue' || echo 0) + $(delivered_files) )); }
claims_of() { psql_q "SELECT count(*) FROM postern_queue WHERE starts_with(lease_owner, '$1/')" || echo 0; }
wait_for_progress() {
  local target=$1
  while kill -0 "$load_pid" 2>/dev/null && [ "$(progress)" -lt "$target" ]; do sleep 0.2; done
}

kills=0
# SIGKILL while deliveries are in flight, note what the dead process held, restart at once.
kill_postern() {
  local dead=$identity
  for _ in $(seq 50); do [ "$(claims_of "$dead")" -gt 0 ] && break; sleep 0.1; done
  kills=$((kills + 1))
  local t_kill
  t_kill=$(now)
  kill -KILL "$postern_pid"
  wait "$postern_pid" 2>/dev/null || true
  # Dead: its leases are frozen. (Earlier boots' leases were released when this one started.)
  psql_q "SELECT lease_owner || ' ' || substring(encode(message, 'escape') from 'Message-ID: (<[^>]*>)')
            FROM postern_queue WHERE starts_with(lease_owner, '$dead/')" >"$work/kill$kills.claims" || true
  start_postern
  local t_up
  t_up=$(now)
  echo "$t_kill $t_up" >"$work/kill$kills.time"
  printf '   kill %d (SIGKILL) at %.1f s: %d claims held; postern accepting again %.2f s later\n' \
    "$kills" "$(since "$t_kill" "$started")" "$(wc -l <"$work/kill$kills.claims")" "$(since "$t_up" "$t_kill")"
}

restart_postgres() {
  local t0 t1
  t0=$(now)
  as_pg_owner "$pg_bin/pg_ctl" -D "$work/pg/data" -m immediate -w -t 60 restart >/dev/null
  t1=$(now)
  printf '   PostgreSQL restarted (immediate stop: a crash and recovery) at %.1f s, down %.2f s\n' \
    "$(since "$t0" "$started")" "$(since "$t1" "$t0")"
}

total=$((per_client * clients))
wait_for_progress $((total / 4));     kill_postern
wait_for_progress $((total / 2));     restart_postgres
wait_for_progress $((total * 3 / 4)); kill_postern
load_rc=0
wait "$load_pid" || load_rc=$?
load_pid=""
[ "$load_rc" = 0 ] || { cat "$work/load.err" >&2; echo "chaos.sh: smtp-load exited with $load_rc" >&2; exit 1; }
submitted=$(now)
printf '   load done at %.1f s\n' "$(since "$submitted" "$started")"

# ---------------------------------------------------------------------------------------------
# 5. Drain: every claim comes back at the latest when its lease runs out.
drain_limit=$(( ${lease:-30} + 180 ))
echo "== waiting for the queue to drain (up to $drain_limit s)"
drained=0
for _ in $(seq $((drain_limit * 5))); do
  if [ "$(psql_q 'SELECT count(*) FROM postern_queue')" = 0 ]; then drained=1; break; fi
  sleep 0.2
done
finished=$(now)
left=$(psql_q 'SELECT count(*) FROM postern_queue')
[ "$drained" = 1 ] || echo "   NOT DRAINED: $left messages still queued"
sleep 1  # a last delivery's file lands before its record commits; let the sink finish writing

# ---------------------------------------------------------------------------------------------
# 6. The figures
echo
python3 - "$work" "$kills" "$started" "$submitted" "$finished" "$left" "${lease:-30 (default)}" "$restart_mode" <<'PY'
import collections, glob, json, os, re, sys
work, kills, started, submitted, finished, left, lease, mode = sys.argv[1:9]
kills, started, submitted, finished, left = int(kills), float(started), float(submitted), float(finished), int(left)

load = json.load(open(os.path.join(work, "load.json")))
outcome = {}
for line in open(os.path.join(work, "outcomes.txt")):
    what, tag = line.split()
    outcome[tag] = what
accepted = {t for t, w in outcome.items() if w == "ok"}
unknown = {t for t, w in outcome.items() if w == "unknown"}
refused = {t for t, w in outcome.items() if w == "failed"}

arrivals = collections.defaultdict(list)  # tag -> delivery times at the sink
header = re.compile(rb"^Message-ID: (<[^>]*>)", re.M | re.I)
for path in glob.glob(os.path.join(work, "sink", "*.eml")):
    with open(path, "rb") as f:
        m = header.search(f.read(2048))
    arrivals[m.group(1).decode() if m else "(none)"].append(os.stat(path).st_mtime)
delivered = set(arrivals)
lost = accepted - delivered
duplicated = {t: len(v) for t, v in arrivals.items() if len(v) > 1}
# A 4xx after the data yet delivered: the commit reached the disk but PostgreSQL went away before
# acknowledging it, so postern could not know. The client sends it again: a duplicate, not a loss.
in_doubt = refused & delivered

print(f"messages sent:     {load['messages_ok'] + load['messages_failed']} from {load['connections']} clients "
      f"(lease {lease} s, restarted with the {mode} identity)")
print(f"accepted (250):    {len(accepted)}  (smtp-load: {load['messages_ok']} ok, {load['messages_failed']} failed)")
print(f"  refused (4xx/5xx after the data): {len(refused)}; unknown (session died after the data): "
      f"{len(unknown)}, of which delivered: {len(unknown & delivered)}")
print(f"delivered:         {len(delivered)} distinct messages at the sink ({sum(map(len, arrivals.values()))} deliveries)")
print(f"lost:              {len(lost)}  (accepted, never delivered; must be 0)")
print(f"duplicated:        {len(duplicated)} messages delivered more than once "
      f"({sum(duplicated.values()) - len(duplicated)} extra deliveries)")
if in_doubt:
    print(f"  refused yet delivered: {len(in_doubt)} (committed, but the commit's reply was lost with "
          f"PostgreSQL: the client's retry will be a duplicate)")
if load["errors"]:
    print("smtp-load failures: " + ", ".join(f"{v} x {k}" for k, v in sorted(load["errors"].items())))
for k in range(1, kills + 1):
    t_kill, t_up = map(float, open(os.path.join(work, f"kill{k}.time")).read().split())
    claims = [line.split() for line in open(os.path.join(work, f"kill{k}.claims")) if line.strip()]
    owner = claims[0][0] if claims else "-"
    firsts, missing = [], 0
    for _, tag in claims:
        after = [t for t in arrivals.get(tag, []) if t >= t_kill]
        if after:
            firsts.append(min(after) - t_kill)
        else:
            missing += 1
    if not claims:
        print(f"kill {k}: the killed process held no claims")
        continue
    last = f"{max(firsts):.1f} s" if firsts else "-"
    print(f"kill {k}: {len(claims)} claims held by {owner}; the last of them delivered {last} after the kill "
          f"(postern accepting again after {t_up - t_kill:.2f} s)" + (f"; {missing} NEVER DELIVERED" if missing else ""))
print(f"time: load {submitted - started:.1f} s; queue drained {finished - submitted:.1f} s after the load ended"
      + (f"; {left} STILL QUEUED" if left else ""))
sys.exit(3 if lost else 0)
PY
