#!/usr/bin/env bash
# Host-scan benchmark: with >= 1000 processes running, a steady-state rescan (hashes cached)
# against `ps -eo pid,args`, side by side; then the agent's CPU and RSS at a 10 s interval.
# Usage: scripts/bench-scan.sh [processes=1000] [agent_seconds=60]
set -euo pipefail
N=${1:-1000}
AGENT_SECS=${2:-60}
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-target}
cargo build --release -q -p minetrace --bin minetrace
cargo build --release -q -p minetrace-host --example rescan
BIN=$CARGO_TARGET_DIR/release/minetrace
RESCAN=$CARGO_TARGET_DIR/release/examples/rescan
WORK=$(mktemp -d)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

for _ in $(seq "$N"); do sleep 600 & PIDS+=($!); done
sleep 1
TOTAL=$(ls -d /proc/[0-9]* | wc -l)
echo "processes running: $TOTAL (spawned $N sleep)"

# Steady-state rescan: the median of 20 rescans after a first (cold) scan.
SCAN_MS=$("$RESCAN" 20 2>"$WORK/rescan.err" | sed -n 's/^median_ms=\([0-9.]*\).*/\1/p')
cat "$WORK/rescan.err"

# ps -eo pid,args, median of 20 runs.
if command -v hyperfine >/dev/null; then
  hyperfine -N -w 3 -r 20 --export-json "$WORK/ps.json" 'ps -eo pid,args' >/dev/null
  PS_MS=$(python3 -c "import json,sys;d=json.load(open('$WORK/ps.json'));print('%.3f'%(d['results'][0]['median']*1000))")
  PS_TOOL=hyperfine
else
  for _ in $(seq 20); do
    s=$(date +%s%N); ps -eo pid,args >/dev/null; e=$(date +%s%N)
    echo $(( (e - s) / 1000 ))
  done | sort -n > "$WORK/ps.us"
  PS_MS=$(awk 'NR==10{printf "%.3f", $1/1000}' "$WORK/ps.us")
  PS_TOOL="date +%s%N loop"
fi
RATIO=$(awk -v a="$SCAN_MS" -v b="$PS_MS" 'BEGIN{printf "%.2f", a/b}')
echo "steady-state rescan median: $SCAN_MS ms; ps -eo pid,args median: $PS_MS ms ($PS_TOOL); ratio $RATIO"

# Agent at a 10 s interval: CPU (utime+stime) and peak RSS over AGENT_SECS after a warm-up.
"$BIN" agent --interval 10 --spool "$WORK/spool" --no-gpu --root / >/dev/null 2>"$WORK/agent.err" &
AGENT=$!
PIDS+=($AGENT)
sleep 12
if ! kill -0 "$AGENT" 2>/dev/null; then echo "agent exited early:"; cat "$WORK/agent.err"; exit 1; fi
TCK=$(getconf CLK_TCK)
cpu() { awk '{print $14+$15}' "/proc/$AGENT/stat"; }
C0=$(cpu); T0=$(date +%s%N); PEAK=0
END=$(( $(date +%s) + AGENT_SECS ))
while [ "$(date +%s)" -lt "$END" ]; do
  R=$(awk '/VmRSS/{print $2}' "/proc/$AGENT/status"); [ "$R" -gt "$PEAK" ] && PEAK=$R
  sleep 1
done
C1=$(cpu); T1=$(date +%s%N)
AGENT_CPU=$(awk -v c="$((C1 - C0))" -v t="$TCK" -v ns="$((T1 - T0))" 'BEGIN{printf "%.3f", c/t/(ns/1e9)*100}')
AGENT_RSS=$(awk -v k="$PEAK" 'BEGIN{printf "%.1f", k/1024}')
echo "agent (10 s interval, $AGENT_SECS s measured): CPU ${AGENT_CPU}% of one core, peak RSS ${AGENT_RSS} MB"
echo "RESULT processes=$TOTAL rescan_ms=$SCAN_MS ps_ms=$PS_MS ratio=$RATIO agent_cpu_pct=$AGENT_CPU agent_rss_mb=$AGENT_RSS"
