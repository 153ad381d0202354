# Shared by the benchmark scripts (run.sh, chaos.sh, memory.sh, sharing.sh, compare.sh,
# compare-postfix.sh, idle.sh); sourced, not run.
# Expects the caller to be in the repository root.

# build_release NAME: builds postern, mailadmin and smtp-load in build-release (Release, no
# tests; BENCH_CMAKE_ARGS adds cmake arguments) unless BENCH_SKIP_BUILD=1, then sets build,
# postern (BENCH_POSTERN overrides it: another binary to measure), mailadmin and load. NAME
# prefixes the error messages. Exits when the build fails.
build_release() {
  local name=$1
  build="build-release"
  if [ "${BENCH_SKIP_BUILD:-0}" = 1 ]; then
    echo "== using the binaries in $build (BENCH_SKIP_BUILD=1)"
  else
    echo "== building release ($build)"
    local build_log
    build_log=$(mktemp /tmp/postern-bench-build.XXXXXX)
    # shellcheck disable=SC2086  # BENCH_CMAKE_ARGS is a list of words
    if ! { cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DPOSTERN_TESTS=OFF ${BENCH_CMAKE_ARGS:-} \
           && ninja -C "$build" -j "$(nproc)" postern mailadmin smtp-load; } >"$build_log" 2>&1; then
      tail -n 40 "$build_log" >&2
      echo "$name: build failed (full log: $build_log)" >&2
      exit 1
    fi
    rm -f "$build_log"
  fi
  postern=${BENCH_POSTERN:-$build/server/postern}
  mailadmin=$build/mailadmin/mailadmin
  load=$build/bench/smtp-load
  [ -x "$postern" ] || { echo "$name: no postern binary at $postern" >&2; exit 1; }
}

# A TCP port free on loopback right now.
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# start_sink NAME: starts tests/support/smtp_sink.py on a free loopback port, storing into
# $work/sink (the caller's work folder), and waits for it; sets sink_port and sink_pid (the
# caller's clean-up stops it). Exits, naming NAME, when it does not start.
start_sink() {
  local name=$1
  sink_port=$(free_port)
  /usr/bin/python3 tests/support/smtp_sink.py --port "$sink_port" --dir "$work/sink" >"$work/sink.log" 2>&1 &
  sink_pid=$!
  for _ in $(seq 100); do grep -q ready "$work/sink.log" 2>/dev/null && break; sleep 0.1; done
  grep -q ready "$work/sink.log" || { cat "$work/sink.log" >&2; echo "$name: the sink did not start" >&2; exit 1; }
}

# How many mails the sink started by start_sink holds.
delivered() { find "$work/sink" -name '*.eml' 2>/dev/null | wc -l; }

# make_cert: a self-signed ECDSA P-256 certificate for localhost and 127.0.0.1, valid two days,
# in $work/tls.crt with its key in $work/tls.key.
make_cert() {
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
    -subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1 \
    -keyout "$work/tls.key" -out "$work/tls.crt" >/dev/null 2>&1
}

# postern_config [LINE...]: prints the postern.yaml of compare-postfix.sh and idle.sh, the one
# place their postern configuration is made: PostgreSQL at $db_url; a listener on
# 127.0.0.1:$tls_port that requires STARTTLS before AUTH, as in production, and one on
# 127.0.0.1:$plain_port that allows AUTH without TLS from loopback; $work/tls.crt and
# $work/tls.key (make_cert); no HTTP endpoint; log level ${log_level:-info}; the credential
# cache's lifetime ${cache_seconds:-300}; and, when sink_port
# is set, delivery to the sink (start_sink) through ${sink_connections:-8} connections. Each
# argument is a "key: value" line of the limits section; without one naming
# max_connections_per_ip, that limit is 500 (every client here is 127.0.0.1).
postern_config() {
  local line limits=("$@")
  printf '%s\n' "${limits[@]}" | grep -q '^max_connections_per_ip:' || limits+=("max_connections_per_ip: 500")
  cat <<EOF2
hostname: bench.localhost
database:
  url: $db_url
listeners:
  - address: 127.0.0.1        # AUTH only after STARTTLS
    port: $tls_port
    tls: starttls
  - address: 127.0.0.1        # AUTH allowed without TLS from loopback
    port: $plain_port
    tls: starttls
    allow_plaintext_auth_on_loopback: true
tls:
  certificate: $work/tls.crt
  key: $work/tls.key
http:
  port: 0
logging:
  level: ${log_level:-info}
shutdown_grace_seconds: 2
auth:
  cache_seconds: ${cache_seconds:-300}
limits:
EOF2
  for line in "${limits[@]}"; do printf '  %s\n' "$line"; done
  if [ -n "${sink_port:-}" ]; then
    cat <<EOF2
upstreams:
  - name: sink
    kind: smtp
    host: 127.0.0.1
    port: $sink_port
    security: none
    max_connections: ${sink_connections:-8}
default_upstream: sink
EOF2
  fi
}

# two_ports: sets tls_port and plain_port to two different free loopback ports.
two_ports() {
  tls_port=$(free_port)
  plain_port=$(free_port)
  while [ "$plain_port" = "$tls_port" ]; do plain_port=$(free_port); done
}

# start_postern NAME: starts $postern with $work/postern.yaml, its output in $work/postern.log,
# and waits until both $tls_port and $plain_port accept connections; sets postern_pid (the
# caller's clean-up calls stop_postern). Exits, naming NAME, when it does not start.
start_postern() {
  local name=$1 ready=0
  "$postern" --config "$work/postern.yaml" >"$work/postern.log" 2>&1 &
  postern_pid=$!
  for _ in $(seq 300); do
    kill -0 "$postern_pid" 2>/dev/null || break
    if (exec 3<>"/dev/tcp/127.0.0.1/$tls_port" && exec 4<>"/dev/tcp/127.0.0.1/$plain_port") 2>/dev/null; then
      ready=1; break
    fi
    sleep 0.1
  done
  if [ "$ready" != 1 ]; then
    tail -n 30 "$work/postern.log" >&2
    echo "$name: postern did not start" >&2
    exit 1
  fi
}

# stop_postern: stops the postern started by start_postern (SIGTERM, SIGKILL after 10 s).
stop_postern() {
  [ -n "${postern_pid:-}" ] || return 0
  if kill -0 "$postern_pid" 2>/dev/null; then
    kill -TERM "$postern_pid" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$postern_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$postern_pid" 2>/dev/null || true
  fi
  wait "$postern_pid" 2>/dev/null || true
  postern_pid=""
}

# machine_line: cores, CPU model and load averages, for the head of a benchmark's output.
machine_line() {
  echo "$(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), load $(cut -d' ' -f1-3 /proc/loadavg)"
}
