#!/usr/bin/env bash
# Builds Postern and runs every test: unit, integration (real PostgreSQL), CLI and end-to-end
# (real binaries, real clients), all under AddressSanitizer + UndefinedBehaviorSanitizer, then the
# fuzz targets for a short bounded time. One PostgreSQL cluster serves the whole suite.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh

jobs=${POSTERN_JOBS:-$(nproc)}
build=${POSTERN_TEST_BUILD:-build-test}

cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DPOSTERN_SANITIZE=ON -DPOSTERN_WERROR=ON >/dev/null
ninja -C "$build" -j "$jobs"

# One optimized build of the shipped binaries, with -Werror: GCC warns differently with the
# optimizer on, and packagers build RelWithDebInfo. Only postern and mailadmin, to keep CI short.
cmake -S . -B build-rwdi -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPOSTERN_WERROR=ON -DPOSTERN_TESTS=OFF >/dev/null
ninja -C build-rwdi -j "$jobs" postern mailadmin

CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPOSTERN_FUZZ=ON -DPOSTERN_WERROR=ON >/dev/null
fuzz_targets=$(ninja -C build-fuzz -t targets all | sed -n 's/^\([a-z0-9_]*_fuzz\): .*/\1/p' | sort -u)
if [ -n "$fuzz_targets" ]; then
  # shellcheck disable=SC2086
  ninja -C build-fuzz -j "$jobs" $fuzz_targets
fi

# The suite's PostgreSQL, stopped whatever happens.
pgdir=$(mktemp -d /tmp/postern-suite-XXXXXX)
chmod 755 "$pgdir"
cleanup() { scripts/pg-cluster.sh stop "$pgdir/pg"; rm -rf "$pgdir"; }
trap cleanup EXIT
POSTERN_TEST_PG_URL=$(scripts/pg-cluster.sh start "$pgdir/pg" --fsync off)
export POSTERN_TEST_PG_URL

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$(pwd)/tests/lsan.supp:print_suppressions=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
ctest --test-dir "$build" --output-on-failure -j "$jobs" "$@"
if [ -n "$fuzz_targets" ]; then
  ctest --test-dir build-fuzz --output-on-failure -R '^fuzz_' -j "$jobs"
fi
echo "all tests passed"
