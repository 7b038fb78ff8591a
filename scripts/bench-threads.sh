#!/usr/bin/env bash
# `analyze --threads 1` and `--threads 2` alternated N times on the benchmark capture (built by
# scripts/bench-analyze.sh), then medians: alternating spreads the VM's changing state over both.
# Also runs two single-thread analyses at once, the machine's own ceiling for two-way sharding.
#
#   scripts/bench-threads.sh [N]      (default 12)
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-12}
work=${BENCH_DIR:-/tmp/minetrace-bench}
big=${BIG:-$work/mixed-400MB.pcap}
[ -s "$big" ] || { echo "missing $big: run scripts/bench-analyze.sh first" >&2; exit 2; }
cargo build --release -q -p minetrace
mt=${CARGO_TARGET_DIR:-$(pwd)/target}/release/minetrace
times=$(mktemp)
cat "$big" > /dev/null
for _ in $(seq 1 "$n"); do
  for t in 1 2; do
    /usr/bin/time -f "$t %e %U %S" -a -o "$times" "$mt" analyze -q --format jsonl --threads $t "$big" > /dev/null || true
  done
  /usr/bin/time -f "alone %e %U %S" -a -o "$times" "$mt" analyze -q --format jsonl "$big" > /dev/null || true
  ( /usr/bin/time -f "pair %e %U %S" -a -o "$times.a" "$mt" analyze -q --format jsonl "$big" > /dev/null &
    /usr/bin/time -f "pair %e %U %S" -a -o "$times.b" "$mt" analyze -q --format jsonl "$big" > /dev/null
    wait ) || true
done
cat "$times.a" "$times.b" >> "$times"
python3 - "$times" <<'PY'
import statistics as st, sys
runs = {}
for line in open(sys.argv[1]):
    p = line.split()
    if len(p) == 4 and p[0] in ("1", "2", "alone", "pair"):
        runs.setdefault(p[0], []).append((float(p[1]), float(p[2]) + float(p[3])))
for k, label in (("1", "1 thread"), ("2", "2 threads"), ("alone", "one run alone"), ("pair", "two runs at once, each")):
    r = runs.get(k, [])
    if r:
        print(f"{label:24} median {st.median(x[0] for x in r):.2f} s  CPU {st.median(x[1] for x in r):.2f} s  "
              f"range {min(x[0] for x in r):.2f}-{max(x[0] for x in r):.2f} s  ({len(r)} runs)")
m1, m2 = st.median(x[0] for x in runs["1"]), st.median(x[0] for x in runs["2"])
print(f"--threads 2 scaling (medians): {m1 / m2:.2f}x")
alone, pair = st.median(x[0] for x in runs["alone"]), st.median(x[0] for x in runs["pair"])
print(f"machine ceiling for two-way sharding (2 x alone / pair): {2 * alone / pair:.2f}x")
PY
rm -f "$times" "$times.a" "$times.b"
