#!/usr/bin/env bash
# bench/compare.sh: before/after on the same machine, in the same run. Measures the postern of
# this tree (build-release, built here) and another postern binary (e.g. a release build of the
# previous commit) with bench/run.sh, alternating the two, and prints the median of each and
# their ratio. Alternating spreads the machine's noise over both sides.
#
#   bench/compare.sh BASELINE_POSTERN [--runs N] [run.sh arguments, e.g. --deliver or --quick]
#
# With --deliver it compares the end-to-end rate (client -> postern -> PostgreSQL -> sink, 8
# connections, sessions of 100 messages of 4 KiB); otherwise every scenario's throughput.
# The same load generator, sink, PostgreSQL set-up and mailadmin serve both sides.
set -euo pipefail

if [ $# -lt 1 ] || [ "$1" = -h ] || [ "$1" = --help ]; then
  sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'
  exit 2
fi
baseline=$(realpath "$1"); shift
runs=3
args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) runs=$2; shift 2 ;;
    *) args+=("$1"); shift ;;
  esac
done
[ -x "$baseline" ] || { echo "compare.sh: $baseline is not an executable postern" >&2; exit 2; }

repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
out=$(mktemp -d /tmp/postern-compare.XXXXXX)
trap 'rm -rf "$out"' EXIT

# Build this tree once, as run.sh does, then measure alternately.
# shellcheck source=bench/lib.sh
source bench/lib.sh
BENCH_SKIP_BUILD=0 BENCH_POSTERN= build_release compare.sh
current=$(realpath build-release/server/postern)

for i in $(seq "$runs"); do
  for side in baseline current; do
    bin=$baseline; [ "$side" = current ] && bin=$current
    printf '   run %d, %s ... ' "$i" "$side"
    if BENCH_SKIP_BUILD=1 BENCH_POSTERN="$bin" bash bench/run.sh "${args[@]}" >"$out/$side-$i.txt" 2>&1; then
      echo ok
    else
      echo "failed (see below)"; tail -n 20 "$out/$side-$i.txt"; exit 1
    fi
  done
done

python3 - "$out" "$runs" <<'PY'
import glob, os, re, statistics, sys
out, runs = sys.argv[1], int(sys.argv[2])

def figures(path):
    """{label: messages/s} from one run.sh output: the end-to-end line, else each table row."""
    text = open(path).read()
    found = {}
    m = re.search(r"end to end: .* ([0-9.]+) msgs/s", text)
    if m:
        found["end to end (msgs/s)"] = float(m.group(1))
    for line in text.splitlines():  # the table: columns apart by two or more spaces
        cells = re.split(r"\s{2,}", line.strip())
        if len(cells) > 4 and cells[0].startswith("("):
            try:
                found[f"{cells[0]} {cells[1]} (msgs/s)"] = float(cells[4])
            except ValueError:
                pass
    return found

sides = {}
for side in ("baseline", "current"):
    per_label = {}
    for i in range(1, runs + 1):
        for label, value in figures(os.path.join(out, f"{side}-{i}.txt")).items():
            per_label.setdefault(label, []).append(value)
    sides[side] = per_label

print(f"\n{'figure':<48} {'baseline':>10} {'current':>10} {'ratio':>7}   (medians of {runs})")
for label in sides["baseline"]:
    b = statistics.median(sides["baseline"][label])
    c = statistics.median(sides["current"].get(label, [float("nan")]))
    print(f"{label:<48} {b:>10.1f} {c:>10.1f} {c / b:>7.3f}")
    print(f"{'':<48} {str(sides['baseline'][label]):>10}  {str(sides['current'].get(label)):>10}")
PY
