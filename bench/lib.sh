# Shared by the benchmark scripts (run.sh, chaos.sh, memory.sh, compare.sh); sourced, not run.
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
