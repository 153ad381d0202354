# Shared by the benchmark scripts (run.sh, chaos.sh, memory.sh, sharing.sh, compare.sh); sourced, not run.
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
           && ninja -C "$build" postern mailadmin smtp-load; } >"$build_log" 2>&1; then
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
