#!/usr/bin/env bash
# bench/idle.sh: what idle SMTP sessions cost postern. Opens 10,000 sessions that sit idle,
# first in plaintext (connected, greeted, EHLO answered), then after STARTTLS (handshake done,
# EHLO answered again), and prints postern's resident memory (VmRSS, and its high-water mark
# VmHWM, from /proc/PID/status) idle, with the sessions open and after they closed, each phase
# on a fresh postern; meanwhile it times one ordinary client (connect, AUTH, one 4 KiB message)
# to show that it is served at once. Goals: under 200 MB with 10,000 plaintext sessions, under 400 MB with
# 10,000 TLS sessions. A benchmark: it prints figures, and exits non-zero only when it cannot
# run.
#
#   bench/idle.sh                   10,000 sessions, about a minute plus the build
#   bench/idle.sh --sessions N      another number
#
# The sessions come from smtp-load --idle, spread over the loopback addresses 127.0.0.2 and up
# (200 sessions each), since one source address has only some 28,000 ports towards one server
# port and postern limits connections per address; postern's limits are raised to let them in
# and to keep them (auth_timeout_seconds, command_timeout_seconds). The ordinary client comes
# from 127.0.0.1.
#
# Environment:
#   BENCH_KEEP=1            keep the work folder (postern-*.log, the openers' reports)
#   BENCH_CMAKE_ARGS="..."  extra arguments for the cmake configure step
#   BENCH_SKIP_BUILD=1      use the binaries already in build-release
#   BENCH_POSTERN=PATH      measure this postern binary instead of build-release's
set -euo pipefail

usage() { sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//'; }
sessions=10000
while [ $# -gt 0 ]; do
  case "$1" in
    --sessions)
      [[ "${2:-}" =~ ^[1-9][0-9]*$ ]] || { echo "idle.sh: --sessions needs a number" >&2; exit 2; }
      sessions=$2; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "idle.sh: unknown argument $1" >&2; usage >&2; exit 2 ;;
  esac
done
per_address=200
addresses=$(((sessions + per_address - 1) / per_address))
[ "$addresses" -le 250 ] || { echo "idle.sh: at most $((250 * per_address)) sessions (127.0.0.2-127.0.0.251)" >&2; exit 2; }

repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
# shellcheck source=bench/lib.sh
source bench/lib.sh

# Each side holds a descriptor per session: raise the limit, up to the hard one if need be.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt $((sessions + 1000)) ]; then
  echo "idle.sh: open files are limited to $(ulimit -n), $((sessions + 1000)) are needed (ulimit -Hn)" >&2
  exit 1
fi

# ---------------------------------------------------------------------------------------------
# 1. Build
build_release idle.sh

# ---------------------------------------------------------------------------------------------
# Work folder under /tmp (the postgres user must reach the cluster inside it) and clean-up.
work=$(mktemp -d /tmp/postern-idle.XXXXXX)
chmod 755 "$work"
postern_pid=""
opener_pid=""
stop_opener() {
  [ -n "$opener_pid" ] || return 0
  kill -TERM "$opener_pid" 2>/dev/null || true
  wait "$opener_pid" 2>/dev/null || true
  opener_pid=""
}
cleanup() {
  local rc=$?
  stop_opener
  stop_postern
  "$repo/scripts/pg-cluster.sh" stop "$work/pg" || true
  if [ "${BENCH_KEEP:-0}" = 1 ]; then
    echo "== kept $work (postern-*.log, idle-*.txt, client-*.json, pg/postgres.log)"
  else
    rm -rf "$work"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

status_kib() { awk -v key="$2:" '$1 == key { print $2 }' "/proc/$1/status" 2>/dev/null || true; }  # PID FIELD
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
fds() { find "/proc/$postern_pid/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l; }

# ---------------------------------------------------------------------------------------------
# 2. PostgreSQL, the user, postern with limits that let the sessions in and keep them
echo "== starting PostgreSQL"
db_url=$("$repo/scripts/pg-cluster.sh" start "$work/pg")
"$mailadmin" --db "$db_url" migrate >/dev/null
password="idle-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
printf '%s\n' "$password" | "$mailadmin" --db "$db_url" add user bench --password-stdin >/dev/null
"$mailadmin" --db "$db_url" add domain bench.example >/dev/null
"$mailadmin" --db "$db_url" grant domain bench.example to bench >/dev/null

make_cert
two_ports
log_level=warning
postern_config "max_connections: $((sessions + 100))" "max_connections_per_ip: $((per_address * 2))" \
  "auth_timeout_seconds: 3600" "command_timeout_seconds: 3600" "session_timeout_seconds: 7200" \
  >"$work/postern.yaml"
# One ordinary client: connect, EHLO, AUTH PLAIN (plaintext from 127.0.0.1), one message, QUIT.
# Prints the time from connect to 235 and from MAIL FROM to 250 after the dot, in ms, as
# "SETUP/MESSAGE", or "failed: CAUSE".
client() {  # NAME
  local file="$work/client-$1.json"
  "$load" --port "$plain_port" --user bench --password "$password" --from sender@bench.example \
    --to rcpt@elsewhere.example --connections 1 --messages 1 --timeout 60 --json >"$file"
  python3 - "$file" <<'PY2'
import json, sys
d = json.load(open(sys.argv[1]))
if d["messages_ok"] != 1:
    print("failed: %s" % ", ".join("%d x %s" % (v, k) for k, v in sorted(d["errors"].items())))
else:
    print("%.0f/%.0f" % (d["setup_ms"]["p50"], d["latency_ms"]["p50"]))
PY2
}

# ---------------------------------------------------------------------------------------------
# 3. The sessions: plaintext, then after STARTTLS, each on a fresh postern. A phase takes the
# idle figures (after one login and message, so that the first Argon2id verification's memory
# and the database connections are in them, as in a server that has run for a while), opens
# the sessions (200 connects at a time), waits 2 s, reads postern's memory, times the ordinary
# client, closes the sessions and reads the memory again once postern has let them go.
echo "== machine: $(machine_line)"
rows=()
for mode in plain tls; do
  extra=()
  port=$plain_port
  if [ "$mode" = tls ]; then extra=(--starttls); port=$tls_port; fi
  start_postern idle.sh
  client "warm-up-$mode" >/dev/null
  sleep 2
  idle_rss=$(status_kib "$postern_pid" VmRSS)
  idle_client=$(client "idle-$mode")
  out="$work/idle-$mode.txt"
  printf '   %s: opening %d sessions ... ' "$mode" "$sessions"
  "$load" --port "$port" "${extra[@]}" --idle "$sessions" --connections 200 --timeout 60 \
    --source-range "127.0.0.2-127.0.0.$((1 + addresses))" >"$out" 2>&1 &
  opener_pid=$!
  for _ in $(seq 3000); do
    grep -q '^ready' "$out" && break
    kill -0 "$opener_pid" 2>/dev/null || break
    sleep 0.1
  done
  if ! grep -q '^ready' "$out"; then
    cat "$out" >&2
    echo "idle.sh: the sessions were not opened" >&2
    exit 1
  fi
  ready=$(grep '^ready' "$out")
  opened=${ready#*opened=}; opened=${opened%% *}
  echo "${ready#ready }"
  sleep 2
  open_rss=$(status_kib "$postern_pid" VmRSS)
  open_fds=$(fds)
  busy_client=$(client "open-$mode")
  stop_opener
  sed -n '/^ready/!p' "$out" | sed 's/^/     /'
  # Until postern has closed them (its descriptors back near the idle count), then settle.
  for _ in $(seq 300); do [ "$(fds)" -lt $((open_fds - opened + 50)) ] && break; sleep 0.1; done
  sleep 2
  rows+=("$mode|$opened|$idle_rss|$open_rss|$(status_kib "$postern_pid" VmHWM)|$(status_kib "$postern_pid" VmRSS)|$open_fds|$idle_client|$busy_client")
  stop_postern
  mv "$work/postern.log" "$work/postern-$mode.log"
done

# ---------------------------------------------------------------------------------------------
# 4. The table
echo
fmt='%-10s %8s %9s %9s %9s %12s %11s %7s %15s %15s\n'
# shellcheck disable=SC2059  # the format is the one above
printf "$fmt" sessions opened "idle MiB" "open MiB" "peak MiB" "KiB/session" "closed MiB" fds "client idle" "client loaded"
# shellcheck disable=SC2059
printf "$fmt" ---------- -------- --------- --------- --------- ------------ ----------- ------- --------------- ---------------
for r in "${rows[@]}"; do
  IFS='|' read -r mode n idle open peak closed nfds idle_client busy_client <<<"$r"
  per=$(awk -v a="$open" -v b="$idle" -v n="$n" 'BEGIN { printf "%.1f", n ? (a - b) / n : 0 }')
  # shellcheck disable=SC2059
  printf "$fmt" "$mode" "$n" "$(mib "$idle")" "$(mib "$open")" "$(mib "$peak")" "$per" "$(mib "$closed")" "$nfds" \
    "$idle_client" "$busy_client"
done
echo
echo "plain: connected, greeted, EHLO answered; tls: then STARTTLS, the handshake and EHLO again. Each on a fresh"
echo "postern. idle: VmRSS before the sessions (after one login and message); open: VmRSS 2 s after all were"
echo "open; peak: VmHWM at the end; KiB/session: (open - idle) / opened; closed: VmRSS 2 s after postern let"
echo "them go; fds: postern's open descriptors with the sessions open."
echo "client: one ordinary client from 127.0.0.1, ms from connect to 235 after AUTH PLAIN / from MAIL FROM to"
echo "250 after the dot of a 4 KiB message; idle: before the sessions, loaded: with them open."
echo "Goals: under 200 MB with 10,000 plaintext sessions, under 400 MB with 10,000 TLS sessions."
