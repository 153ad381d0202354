#!/usr/bin/env bash
# bench/compare-postfix.sh: Postern next to the stack it replaces, Postfix with Dovecot SASL,
# in one run on one machine: the same PostgreSQL, users, certificate, load generator and sink,
# the same loads one after the other, and a table of both throughputs, their ratio and the CPU
# time each stack spent per message. A benchmark: it prints figures, and exits non-zero only
# when it cannot run or when a message that got 250 never reached the sink.
#
#   bench/compare-postfix.sh              every scenario, about 10 minutes on 2 cores
#   bench/compare-postfix.sh --quick      a subset with smaller counts, about 3 minutes
#   bench/compare-postfix.sh --runs N     every scenario N times; the table has the medians
#
# Installs postfix, postfix-pgsql, dovecot-core and dovecot-pgsql from Debian when missing
# (and stops the system services the packages may have started), then runs private instances
# of Postfix and Dovecot in the work folder, on loopback ports of their own.
#
# Environment:
#   BENCH_KEEP=1            keep the work folder (logs, configurations, results/*.json)
#   BENCH_CMAKE_ARGS="..."  extra arguments for the cmake configure step
#   BENCH_SKIP_BUILD=1      use the binaries already in build-release
#   BENCH_POSTERN=PATH      measure this postern binary instead of build-release's
#
# Scenarios (4 KiB bodies unless said; "1000 users": users bench0000..bench0999 log in in turn,
# each sending as its own address; otherwise every session logs in as the one user bench):
#   (a) one message per session, 8 and 32 connections, plaintext AUTH and STARTTLS, one user
#       and 1000 users
#   (b) 8 connections, sessions of 100 messages (STARTTLS)
#   (c) 100 KiB messages, 8 connections, sessions of 10 (STARTTLS)
# Stacks: postern; Postfix + Dovecot as installed (no auth cache); Postfix + a second Dovecot
# with auth_cache_size = 10M and auth_cache_verify_password_with_worker = yes.
set -euo pipefail

usage() { sed -n '2,29p' "$0" | sed 's/^# \{0,1\}//'; }
quick=0
runs=1
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) quick=1; shift ;;
    --runs)
      [[ "${2:-}" =~ ^[1-9][0-9]*$ ]] || { echo "compare-postfix.sh: --runs needs a number" >&2; exit 2; }
      runs=$2; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "compare-postfix.sh: unknown argument $1" >&2; usage >&2; exit 2 ;;
  esac
done

repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
# shellcheck source=bench/lib.sh
source bench/lib.sh

# ---------------------------------------------------------------------------------------------
# 1. Postfix and Dovecot from Debian, when missing
install_postfix_dovecot() {
  local absent=() p
  for p in postfix postfix-pgsql dovecot-core dovecot-pgsql; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || absent+=("$p")
  done
  [ ${#absent[@]} -gt 0 ] || return 0
  [ "$(id -u)" -eq 0 ] || { echo "compare-postfix.sh: ${absent[*]} missing; run as root to install them" >&2; exit 1; }
  echo "== installing ${absent[*]} from Debian"
  local had_postfix=0 had_dovecot=0
  [ -x /usr/sbin/postfix ] && had_postfix=1
  [ -x /usr/sbin/dovecot ] && had_dovecot=1
  # No system Postfix configuration: only the private instance below runs.
  [ "$had_postfix" = 1 ] || echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
  local log
  log=$(mktemp /tmp/postern-bench-apt.XXXXXX)
  if ! { DEBIAN_FRONTEND=noninteractive apt-get update -q \
         && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${absent[@]}"; } >"$log" 2>&1; then
    tail -n 30 "$log" >&2
    echo "compare-postfix.sh: apt-get failed (full log: $log)" >&2
    exit 1
  fi
  rm -f "$log"
  # Stop the system services that installing may have started; the ones already installed
  # before are left alone (the private instances do not touch them).
  local services=()
  [ "$had_postfix" = 1 ] || services+=(postfix)
  [ "$had_dovecot" = 1 ] || services+=(dovecot)
  for p in "${services[@]}"; do
    if [ -d /run/systemd/system ]; then
      systemctl stop "$p" >/dev/null 2>&1 || true
      systemctl disable "$p" >/dev/null 2>&1 || true
    elif [ -x "/etc/init.d/$p" ]; then
      "/etc/init.d/$p" stop >/dev/null 2>&1 || true
    fi
  done
}
install_postfix_dovecot

# ---------------------------------------------------------------------------------------------
# 2. Build
build_release compare-postfix.sh

# ---------------------------------------------------------------------------------------------
# Work folder under /tmp (the postgres, postfix and dovecot users must reach into it) and the
# clean-up of everything started here, however the script ends.
work=$(mktemp -d /tmp/postern-vs-postfix.XXXXXX)
chmod 755 "$work"
postern_pid=""
sink_pid=""
postfix_started=0
dovecots_started=()
# pid_of FILE: the number in a pid file (Postfix pads it with spaces), or nothing.
pid_of() { if [ -f "$1" ]; then tr -dc '0-9' <"$1"; fi; }
# wait_gone PID: waits up to 10 s for a process to end, then kills it.
wait_gone() {
  [ -n "$1" ] || return 0
  for _ in $(seq 100); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.1; done
  kill -KILL "$1" 2>/dev/null || true
}
cleanup() {
  local rc=$? pid name
  stop_postern
  if [ "$postfix_started" = 1 ]; then
    pid=$(pid_of "$work/postfix/spool/pid/master.pid")
    postfix -c "$work/postfix/conf" stop >/dev/null 2>&1 || true
    wait_gone "$pid"
  fi
  for name in "${dovecots_started[@]}"; do
    pid=$(pid_of "$work/$name/run/master.pid")
    dovecot -c "$work/$name/dovecot.conf" stop >/dev/null 2>&1 || true
    wait_gone "$pid"
  done
  [ -z "$sink_pid" ] || kill "$sink_pid" 2>/dev/null || true
  "$repo/scripts/pg-cluster.sh" stop "$work/pg" || true
  if [ "${BENCH_KEEP:-0}" = 1 ]; then
    echo "== kept $work (postern.log, postfix/maillog, dovecot-*/dovecot.log, pg/postgres.log, results/)"
  else
    rm -rf "$work"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------------------------------------
# 3. PostgreSQL (durable: fsync and synchronous_commit on), schema, users. The user bench may
# send as any address @bench.example (a domain grant); bench0000..bench0999 each as its own
# address benchNNNN@bench.example (an address grant). One password for all.
echo "== starting PostgreSQL"
db_url=$("$repo/scripts/pg-cluster.sh" start "$work/pg")
pg_port=${db_url##*:}; pg_port=${pg_port%%/*}
psql_q() { psql "$db_url" -qAtX -c "$1"; }
"$mailadmin" --db "$db_url" migrate >/dev/null
password="bench-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
many_users=1000
echo "== creating the users bench and bench0000..bench$(printf '%04d' $((many_users - 1))) with mailadmin"
printf '%s\n' "$password" | "$mailadmin" --db "$db_url" add user bench --password-stdin >/dev/null
"$mailadmin" --db "$db_url" add domain bench.example >/dev/null
"$mailadmin" --db "$db_url" grant domain bench.example to bench >/dev/null
# mailadmin's interactive mode, fed a script: a user's password is the line after `add user`.
# Two at once, one per core: each user costs an Argon2id hash.
user_script() {  # FIRST LAST
  local i u
  for i in $(seq "$1" "$2"); do
    u=$(printf 'bench%04d' "$i")
    printf 'add user %s\n%s\nadd address %s@bench.example\ngrant address %s@bench.example to %s\n' \
      "$u" "$password" "$u" "$u" "$u"
  done
}
half=$((many_users / 2))
user_script 0 $((half - 1)) | "$mailadmin" --db "$db_url" >"$work/users-1.log" 2>&1 &
users_pid=$!
user_script "$half" $((many_users - 1)) | "$mailadmin" --db "$db_url" >"$work/users-2.log" 2>&1
wait "$users_pid"
granted=$(psql_q "SELECT count(*) FROM emailing_users u JOIN emailing_users_addresses ua ON ua.id_user = u.id
                  JOIN emailing_addresses a ON a.id = ua.id_address WHERE a.address = u.name || '@bench.example'")
if [ "$granted" != "$many_users" ]; then
  grep -h mailadmin: "$work"/users-*.log | head -n 5 >&2
  echo "compare-postfix.sh: $granted of $many_users users were created with their grant" >&2
  exit 1
fi

# ---------------------------------------------------------------------------------------------
# 4. Certificate, sink, postern
make_cert
start_sink compare-postfix.sh
two_ports
# Postern delivers through as many connections as Postfix's concurrency limit below.
sink_connections=8
# Logins stay remembered an hour, as in Dovecot's auth cache (auth_cache_ttl's default).
# shellcheck disable=SC2119  # no extra limits
cache_seconds=3600 postern_config >"$work/postern.yaml"
echo "== starting postern (STARTTLS port $tls_port, plaintext-AUTH port $plain_port)"
start_postern compare-postfix.sh
postern_tls=$tls_port
postern_plain=$plain_port

# ---------------------------------------------------------------------------------------------
# 5. Dovecot, twice: as installed (no auth cache), and with the auth cache. Each is an
# authentication server only (no protocols), reading the same users from PostgreSQL: the stored
# libsodium string with Dovecot's {ARGON2ID} scheme prefix. Its auth socket is in its folder,
# for the postfix user. Dovecot's pgsql driver is asynchronous, so the sql passdb runs in the
# auth process itself, and so does the Argon2id check on a cache miss; with
# auth_cache_verify_password_with_worker the check of a cached hash runs in auth-worker processes.
start_dovecot() {  # NAME EXTRA_SETTINGS
  local name=$1 extra=$2 dir="$work/$1"
  mkdir -p "$dir"
  chmod 755 "$dir"
  cat >"$dir/sql.conf" <<EOF
driver = pgsql
connect = host=127.0.0.1 port=$pg_port dbname=postern user=postern
password_query = SELECT name AS user, '{ARGON2ID}' || password_hash AS password \\
  FROM emailing_users WHERE name = lower('%u') AND enabled
EOF
  cat >"$dir/dovecot.conf" <<EOF
base_dir = $dir/run
state_dir = $dir/state
log_path = $dir/dovecot.log
protocols =
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
passdb {
  driver = sql
  args = $dir/sql.conf
}
userdb {
  driver = static
  args = uid=nobody gid=nogroup allow_all_users=yes
}
service auth {
  unix_listener $dir/auth-postfix {
    mode = 0660
    user = postfix
    group = postfix
  }
}
$extra
EOF
  if ! dovecot -c "$dir/dovecot.conf" 2>"$dir/start.err"; then
    cat "$dir/start.err" "$dir/dovecot.log" >&2 2>/dev/null || true
    echo "compare-postfix.sh: dovecot ($name) did not start" >&2
    exit 1
  fi
  dovecots_started+=("$name")
  for _ in $(seq 100); do [ -S "$dir/auth-postfix" ] && [ -n "$(pid_of "$dir/run/master.pid")" ] && break; sleep 0.1; done
  [ -S "$dir/auth-postfix" ] || { echo "compare-postfix.sh: dovecot ($name) has no auth socket" >&2; exit 1; }
}
echo "== starting Dovecot twice (as installed; with auth_cache_size = 10M)"
start_dovecot dovecot-nocache ""
start_dovecot dovecot-cache "auth_cache_size = 10M
auth_cache_verify_password_with_worker = yes"

# ---------------------------------------------------------------------------------------------
# 6. Postfix: a private instance (its own configuration directory, queue and ports; no chroot),
# two submission services per Dovecot: one that requires STARTTLS before AUTH and one that allows
# AUTH in plaintext, as postern's listeners. Relays everything to the sink through at most as
# many connections as postern. Sender check: reject_sender_login_mismatch with a pgsql map over
# postern's grant tables (who holds the address, or its domain), read through proxymap as
# Postfix advises for SQL tables: every smtpd process (one per session at once, per service)
# would otherwise hold a PostgreSQL connection of its own, and four services at 32 sessions
# exhaust max_connections. Fsync of queue files is Postfix's default. TLS: the same certificate,
# no session cache, no session tickets.
P="$work/postfix"
mkdir -p "$P/conf" "$P/spool" "$P/data"
chmod 755 "$P"
chown postfix: "$P/data"
read -r fx_nocache_tls fx_nocache_plain fx_cache_tls fx_cache_plain < <(
  python3 -c 'import socket
socks = [socket.socket() for _ in range(4)]
for s in socks: s.bind(("127.0.0.1", 0))
print(*(s.getsockname()[1] for s in socks))')
cat >"$P/conf/sender_login.cf" <<EOF
hosts = 127.0.0.1:$pg_port
user = postern
dbname = postern
query = SELECT u.name FROM emailing_users u
    JOIN emailing_users_addresses ua ON ua.id_user = u.id
    JOIN emailing_addresses a ON a.id = ua.id_address
    WHERE lower(a.address) = lower('%s') AND u.enabled
  UNION SELECT u.name FROM emailing_users u
    JOIN emailing_users_domains ud ON ud.id_user = u.id
    JOIN emailing_domains d ON d.id = ud.id_domain
    WHERE d.domain = lower('%d') AND u.enabled
EOF
cat >"$P/conf/main.cf" <<EOF
compatibility_level = 3.6
queue_directory = $P/spool
data_directory = $P/data
maillog_file = $P/maillog
maillog_file_prefixes = $P
myhostname = postfix.bench.localhost
mydomain = bench.localhost
mydestination =
relay_domains =
local_recipient_maps =
alias_maps =
alias_database =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
# Connection limits (anvil) exempt loopback, as postern's are raised: every client is 127.0.0.1.
# Relaying is allowed only after AUTH (smtpd_relay_restrictions), never for mynetworks.
mynetworks = 127.0.0.0/8
relayhost = [127.0.0.1]:$sink_port
default_destination_concurrency_limit = $sink_connections
smtp_tls_security_level = none
smtpd_tls_chain_files = $work/tls.key, $work/tls.crt
smtpd_tls_security_level = may
smtpd_tls_session_cache_database =
smtpd_tls_session_cache_timeout = 0
tls_session_ticket_cipher =
smtpd_sasl_type = dovecot
smtpd_sasl_security_options = noanonymous
smtpd_sender_login_maps = proxy:pgsql:$P/conf/sender_login.cf
smtpd_sender_restrictions = reject_sender_login_mismatch
smtpd_relay_restrictions = permit_sasl_authenticated, reject
smtpd_recipient_restrictions =
EOF
submission() {  # PORT AUTH_ONLY_AFTER_TLS DOVECOT
  printf '127.0.0.1:%s inet n - n - - smtpd\n  -o smtpd_sasl_auth_enable=yes\n  -o smtpd_tls_auth_only=%s\n  -o smtpd_sasl_path=%s\n' \
    "$1" "$2" "$work/$3/auth-postfix"
}
{
  submission "$fx_nocache_tls" yes dovecot-nocache
  submission "$fx_nocache_plain" no dovecot-nocache
  submission "$fx_cache_tls" yes dovecot-cache
  submission "$fx_cache_plain" no dovecot-cache
  cat <<'EOF'
pickup     unix  n  -  n  60    1  pickup
cleanup    unix  n  -  n  -     0  cleanup
qmgr       unix  n  -  n  300   1  qmgr
tlsmgr     unix  -  -  n  1000? 1  tlsmgr
rewrite    unix  -  -  n  -     -  trivial-rewrite
bounce     unix  -  -  n  -     0  bounce
defer      unix  -  -  n  -     0  bounce
trace      unix  -  -  n  -     0  bounce
verify     unix  -  -  n  -     1  verify
flush      unix  n  -  n  1000? 0  flush
proxymap   unix  -  -  n  -     -  proxymap
proxywrite unix  -  -  n  -     1  proxymap
smtp       unix  -  -  n  -     -  smtp
relay      unix  -  -  n  -     -  smtp
showq      unix  n  -  n  -     -  showq
error      unix  -  -  n  -     -  error
retry      unix  -  -  n  -     -  error
discard    unix  -  -  n  -     -  discard
anvil      unix  -  -  n  -     1  anvil
scache     unix  -  -  n  -     1  scache
postlog    unix-dgram n - n -   1  postlogd
EOF
} >"$P/conf/master.cf"
echo "== starting Postfix (ports: no cache $fx_nocache_tls STARTTLS / $fx_nocache_plain plaintext AUTH; auth cache $fx_cache_tls / $fx_cache_plain)"
postfix_started=1
if ! postfix -c "$P/conf" start >"$P/start.out" 2>&1; then
  cat "$P/start.out" "$P/maillog" >&2 2>/dev/null || true
  echo "compare-postfix.sh: postfix did not start" >&2
  exit 1
fi
for port in "$fx_nocache_tls" "$fx_nocache_plain" "$fx_cache_tls" "$fx_cache_plain"; do
  for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
done

# ---------------------------------------------------------------------------------------------
# 7. The stacks: name, label, STARTTLS port, plaintext-AUTH port, and the roots of the process
# trees whose CPU time is the stack's (PostgreSQL's postmaster holds every backend).
pg_pid=$(head -n 1 "$work/pg/data/postmaster.pid")
postfix_pid=$(pid_of "$P/spool/pid/master.pid")
stacks=(
  "postern|Postern|$postern_tls|$postern_plain|$postern_pid $pg_pid"
  "postfix|Postfix|$fx_nocache_tls|$fx_nocache_plain|$postfix_pid $(pid_of "$work/dovecot-nocache/run/master.pid") $pg_pid"
  "postfix-cache|Postfix+cache|$fx_cache_tls|$fx_cache_plain|$postfix_pid $(pid_of "$work/dovecot-cache/run/master.pid") $pg_pid"
)

# tree_cpu PID...: seconds of CPU (user + system) the processes of the trees under these PIDs
# have used, including their children that have ended and been waited for (cutime, cstime of
# /proc/PID/stat): a Postfix smtpd, a Dovecot auth worker or a PostgreSQL backend that exits
# within a measurement is counted in its parent's figures.
tree_cpu() {
  python3 - "$@" <<'PY'
import os, sys
hz = os.sysconf("SC_CLK_TCK")
procs = {}
for d in os.listdir("/proc"):
    if not d.isdigit():
        continue
    try:
        raw = open(f"/proc/{d}/stat").read()
    except OSError:
        continue
    f = raw[raw.rindex(")") + 2:].split()  # from field 3 (state) on
    procs[int(d)] = (int(f[1]), sum(int(x) for x in f[11:15]))  # ppid; utime stime cutime cstime
children = {}
for pid, (ppid, _) in procs.items():
    children.setdefault(ppid, []).append(pid)
total, seen, todo = 0, set(), [int(p) for p in sys.argv[1:]]
while todo:
    pid = todo.pop()
    if pid in seen or pid not in procs:
        continue
    seen.add(pid)
    total += procs[pid][1]
    todo += children.get(pid, [])
print("%.3f" % (total / hz))
PY
}

# queue_empty STACK: nothing left in the stack's queue.
queue_empty() {
  if [ "$1" = postern ]; then
    [ "$(psql_q 'SELECT count(*) FROM postern_queue')" = 0 ]
  else
    [ -z "$(find "$P/spool/incoming" "$P/spool/active" "$P/spool/deferred" -type f -print -quit)" ]
  fi
}

# ---------------------------------------------------------------------------------------------
# 8. Smoke test: a message through each stack, each TLS mode, one user and the 1000; then each
# must reach the sink. A failure here is a broken set-up, so it stops the script.
mkdir -p "$work/results"
load_args() {  # TLS USERS FIRST_USER: the identity and TLS arguments of smtp-load
  local tls=$1 users=$2 first=$3
  [ "$tls" = plain ] || printf '%s\n' --starttls
  if [ "$users" = 1 ]; then
    printf '%s\n' --user bench --from sender@bench.example
  else
    printf '%s\n' --user bench --users "$users" --first-user "$first" --from '{user}@bench.example'
  fi
}
port_for() {  # STACK_LINE TLS
  local name label tls_p plain_p roots
  IFS='|' read -r name label tls_p plain_p roots <<<"$1"
  if [ "$2" = plain ]; then echo "$plain_p"; else echo "$tls_p"; fi
}
echo "== smoke test"
smoke_sent=0
for s in "${stacks[@]}"; do
  for tls in plain starttls; do
    for users in 1 "$many_users"; do
      mapfile -t extra < <(load_args "$tls" "$users" $((RANDOM % many_users)))
      out=$("$load" --port "$(port_for "$s" "$tls")" --password "$password" "${extra[@]}" \
              --to rcpt@elsewhere.example --connections 1 --messages 1 --json) || true
      if ! python3 -c 'import json,sys; sys.exit(json.loads(sys.argv[1])["messages_ok"] != 1)' "$out" 2>/dev/null; then
        echo "compare-postfix.sh: smoke test failed (${s%%|*}, $tls, $users users): $out" >&2
        tail -n 5 "$work/postern.log" "$P/maillog" "$work"/dovecot-*/dovecot.log >&2 2>/dev/null || true
        exit 1
      fi
      smoke_sent=$((smoke_sent + 1))
    done
  done
done
for _ in $(seq 300); do [ "$(delivered)" -ge "$smoke_sent" ] && break; sleep 0.1; done
[ "$(delivered)" -ge "$smoke_sent" ] || { echo "compare-postfix.sh: the smoke test's messages did not reach the sink" >&2; exit 1; }
find "$work/sink" -type f -delete

# Warm the caches: each of the 1000 users logs in once to the cached Dovecot and to postern (its
# credential cache, auth.cache_seconds), so that the measured logins are the repeat logins of
# steady state (auth_cache_ttl is an hour, and so is postern's auth.cache_seconds here).
# Dovecot as installed has no cache: a login there always runs Argon2id.
echo "== warming the Dovecot auth cache and postern's credential cache: $many_users logins each"
for warm_port in "$fx_cache_plain" "$postern_plain"; do
  "$load" --port "$warm_port" --user bench --users "$many_users" --password "$password" \
    --login-only --connections 8 --messages $((many_users / 8)) --json >>"$work/results/warm-up.json"
done

# ---------------------------------------------------------------------------------------------
# 9. Scenarios: label|connections|messages per connection|messages per session|size|tls|users
if [ "$quick" = 1 ]; then
  scenarios=(
    "(a) 8 conns, 1 msg/session|8|20|1|4096|plain|1"
    "(a) 8 conns, 1 msg/session|8|20|1|4096|plain|$many_users"
    "(b) 8 conns, 100 msgs/session|8|200|100|4096|starttls|1"
    "(c) 100 KiB, 10 msgs/session|8|20|10|102400|starttls|1"
  )
else
  scenarios=(
    "(a) 8 conns, 1 msg/session|8|50|1|4096|plain|1"
    "(a) 8 conns, 1 msg/session|8|50|1|4096|plain|$many_users"
    "(a) 32 conns, 1 msg/session|32|13|1|4096|plain|1"
    "(a) 32 conns, 1 msg/session|32|13|1|4096|plain|$many_users"
    "(a) 8 conns, 1 msg/session|8|50|1|4096|starttls|1"
    "(a) 8 conns, 1 msg/session|8|50|1|4096|starttls|$many_users"
    "(a) 32 conns, 1 msg/session|32|13|1|4096|starttls|1"
    "(a) 32 conns, 1 msg/session|32|13|1|4096|starttls|$many_users"
    "(b) 8 conns, 100 msgs/session|8|1000|100|4096|starttls|1"
    "(c) 100 KiB, 10 msgs/session|8|50|10|102400|starttls|1"
  )
fi

echo "== machine: $(machine_line)"
echo "== PostgreSQL: fsync=$(psql_q 'SHOW fsync'), synchronous_commit=$(psql_q 'SHOW synchronous_commit'); Postfix $(postconf -dh mail_version), $(dovecot --version | sed 's/^/Dovecot /; s/ (.*//')"
missing=0
first_user=0
n=0
for run in $(seq "$runs"); do
  for k in "${!scenarios[@]}"; do
    IFS='|' read -r label conns msgs per_session size tls users <<<"${scenarios[$k]}"
    for s in "${stacks[@]}"; do
      IFS='|' read -r name stack_label tls_p plain_p roots <<<"$s"
      n=$((n + 1))
      file="$work/results/$(printf '%03d' "$n").json"
      mapfile -t extra < <(load_args "$tls" "$users" "$first_user")
      printf '   run %d: %s, %s, %s user%s, %s ... ' "$run" "$label" "$tls" "$users" "$([ "$users" = 1 ] || echo s)" "$stack_label"
      # shellcheck disable=SC2086  # roots is a list of PIDs
      cpu0=$(tree_cpu $roots)
      t0=$(date +%s.%N)
      if ! "$load" --port "$(port_for "$s" "$tls")" --password "$password" "${extra[@]}" \
             --to rcpt@elsewhere.example --connections "$conns" --messages "$msgs" --per-session "$per_session" \
             --size "$size" --timeout 60 --json >"$file"; then
        echo "smtp-load failed"; exit 1
      fi
      t1=$(date +%s.%N)
      ok=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["messages_ok"])' "$file")
      # End to end: until the sink holds every accepted message and the stack's queue is empty.
      for _ in $(seq 3000); do [ "$(delivered)" -ge "$ok" ] && queue_empty "$name" && break; sleep 0.1; done
      t2=$(date +%s.%N)
      # shellcheck disable=SC2086
      cpu1=$(tree_cpu $roots)
      got=$(delivered)
      [ "$got" -ge "$ok" ] || missing=1
      python3 - "$file" "$label" "$tls" "$users" "$name" "$run" "$t0" "$t1" "$t2" "$cpu0" "$cpu1" "$got" \
        "$(cut -d' ' -f1 /proc/loadavg)" <<'PY'
import json, sys
path, label, tls, users, stack, run, t0, t1, t2, cpu0, cpu1, got, load = sys.argv[1:]
d = json.load(open(path))
d.update(label=label, tls=tls, users=int(users), stack=stack, run=int(run), load=float(load),
         delivered=int(got), e2e_seconds=float(t2) - float(t0), load_seconds=float(t1) - float(t0),
         cpu_seconds=float(cpu1) - float(cpu0))
json.dump(d, open(path, "w"))
print("%d ok, %d failed, %d at the sink, %.1f s, %.1f msgs/s, %.1f ms CPU/msg" % (
    d["messages_ok"], d["messages_failed"], d["delivered"], d["e2e_seconds"],
    d["delivered"] / d["e2e_seconds"], 1000 * d["cpu_seconds"] / max(1, d["messages_ok"])))
PY
      find "$work/sink" -type f -delete
    done
    [ "$users" = 1 ] || first_user=$(((first_user + conns * msgs) % many_users))
  done
done

# ---------------------------------------------------------------------------------------------
# 10. The table
echo
python3 - "$work/results" "$runs" <<'PY'
import glob, json, os, statistics, sys
folder, runs = sys.argv[1], int(sys.argv[2])
results = [json.load(open(p)) for p in sorted(glob.glob(os.path.join(folder, "[0-9]*.json")))]
stacks = ["postern", "postfix", "postfix-cache"]
rows, order = {}, []
for r in results:
    key = (r["label"], r["tls"], r["users"])
    if key not in rows:
        rows[key] = {s: [] for s in stacks}
        order.append(key)
    rows[key][r["stack"]].append(r)

def med(values):
    return statistics.median(values) if values else float("nan")

def e2e_rate(r):
    return r["delivered"] / r["e2e_seconds"] if r["e2e_seconds"] > 0 else 0.0

def cpu_ms(r):
    return 1000 * r["cpu_seconds"] / r["messages_ok"] if r["messages_ok"] else float("nan")

def table(title, head, lines):
    print(title)
    widths = [max(len(str(row[i])) for row in [head] + lines) for i in range(len(head))]
    for k, row in enumerate([head] + lines):
        print("  ".join(str(c).ljust(w) if i < 3 else str(c).rjust(w) for i, (c, w) in enumerate(zip(row, widths))))
        if k == 0:
            print("  ".join("-" * w for w in widths))
    print()

def f1(v):
    return "-" if v != v else "%.1f" % v

def ratio(a, b):
    return "-" if not (a == a and b == b and b > 0) else "%.2f" % (a / b)

lines, submit = [], []
for key in order:
    label, tls, users = key
    per = rows[key]
    rate = {s: med([e2e_rate(r) for r in per[s]]) for s in stacks}
    acc = {s: med([r["msgs_per_second"] for r in per[s]]) for s in stacks}
    setup = {s: med([r["setup_ms"]["p50"] for r in per[s] if r["setup_ms"]]) for s in stacks}
    cpu = {s: med([cpu_ms(r) for r in per[s]]) for s in stacks}
    load = max(r["load"] for s in stacks for r in per[s])
    who = "1" if users == 1 else str(users)
    lines.append((label, tls, who, f1(rate["postern"]), f1(rate["postfix"]), ratio(rate["postern"], rate["postfix"]),
                  f1(rate["postfix-cache"]), ratio(rate["postern"], rate["postfix-cache"]),
                  f1(cpu["postern"]), f1(cpu["postfix"]), f1(cpu["postfix-cache"]), "%.2f" % load))
    submit.append((label, tls, who, f1(acc["postern"]), f1(acc["postfix"]), ratio(acc["postern"], acc["postfix"]),
                   f1(acc["postfix-cache"]), ratio(acc["postern"], acc["postfix-cache"]),
                   f1(setup["postern"]), f1(setup["postfix"]), f1(setup["postfix-cache"])))
note = " (medians of %d runs)" % runs if runs > 1 else ""
table("End to end: messages delivered to the sink per second, from the first connection until the sink held every accepted message%s;" % note
      + "\nCPU: user+system CPU ms per accepted message of the stack's processes and PostgreSQL, over the same time",
      ("scenario", "tls", "users", "Postern", "Postfix", "ratio", "Postfix+cache", "ratio",
       "CPU Postern", "CPU Postfix", "CPU Postfix+cache", "load"), lines)
table("Submission only: accepted messages per second until the client's last 250; setup: median ms from connect to 235",
      ("scenario", "tls", "users", "Postern", "Postfix", "ratio", "Postfix+cache", "ratio",
       "setup Postern", "setup Postfix", "setup Postfix+cache"), submit)
print("ratio: Postern / Postfix. Postfix: Postfix + Dovecot as installed (no auth cache); Postfix+cache: Dovecot with")
print("auth_cache_size = 10M and auth_cache_verify_password_with_worker = yes, warmed with one login per user.")
print("load: the highest 1-minute load average seen at the end of the row's runs (above the core count, other work")
print("shared the CPU and every figure of the row is low).")
failed = [r for r in results if r["errors"]]
for r in failed:
    print("errors in %s, %s, %s, %s (run %d): %s" % (r["label"], r["tls"], "1 user" if r["users"] == 1 else "%d users" % r["users"], r["stack"], r["run"],
          ", ".join("%d x %s" % (v, k) for k, v in sorted(r["errors"].items()))))
accepted = sum(r["messages_ok"] for r in results)
delivered = sum(r["delivered"] for r in results)
print("end to end: %d messages got 250, %d reached the sink%s" % (accepted, delivered,
      "" if delivered >= accepted else ": MISSING MESSAGES"))
PY
if [ "$missing" = 1 ]; then
  echo "compare-postfix.sh: a message that got 250 never reached the sink" >&2
  exit 3
fi
