#!/usr/bin/env bash
# Live capture benchmark (issue "live sensor"): a veth pair, `minetrace sensor` on one end with
# THREADS workers, SENDERS copies of `tcpreplay --topspeed -K` (capture preloaded into memory)
# pushing a capture into the other end at once. Reports each replay, the aggregate offered rate
# (conservative: all bytes sent over the wall time from the first launch to the last exit,
# preloading included), what the sensor counted, the kernel's drops, and the sensor's own CPU
# time, from which its throughput per core follows. Needs root and tcpreplay.
#
#   [LOOPS=N] scripts/bench-sensor.sh [PCAP|DIR] [THREADS] [SENDERS]
#   (defaults: the capture scripts/bench-analyze.sh builds, 1 worker, 2 senders, 1 loop; with a
#   small PCAP and LOOPS=N each sender replays it N times, so preloading costs less of the wall time)
#   With a DIR of captures (scripts/bench-link-mix.sh builds one), the senders share its *.pcap
#   files round-robin, each file is replayed once, and `minetrace analyze` runs afterwards on the
#   same files joined into one capture, for comparison with what the sensor found.
#
# One tcpreplay on this 2-core machine tops out near 500-800 Mbit/s of this small-packet mix
# (its per-packet cost includes the veth delivering into the sensor's ring); two reach 1 Gbit/s.
set -euo pipefail
cd "$(dirname "$0")/.."
pcap=${1:-/tmp/minetrace-bench/mixed-400MB.pcap}
threads=${2:-1}
senders=${3:-2}
loops=${LOOPS:-1}
if [ -d "$pcap" ]; then
  mapfile -t files < <(find "$pcap" -maxdepth 1 -name '*.pcap' | sort -V)
  [ "${#files[@]}" -gt 0 ] || { echo "no *.pcap in $pcap" >&2; exit 2; }
else
  [ -s "$pcap" ] || { echo "no $pcap: run scripts/bench-analyze.sh first or name a capture" >&2; exit 2; }
  files=()
fi
command -v tcpreplay >/dev/null || { echo "missing tcpreplay" >&2; exit 2; }
[ ! -d "$pcap" ] || command -v mergecap >/dev/null || { echo "missing mergecap (wireshark-common)" >&2; exit 2; }
cargo build --release -q -p minetrace
mt=${MINETRACE_BIN:-$(pwd)/target/release/minetrace}
a=mtbench0; b=mtbench1
cleanup() { ip link del "$a" 2>/dev/null || true; }
trap cleanup EXIT
cleanup
ip link add "$a" type veth peer name "$b"
# No IPv6 on the pair: the kernel's own neighbour discovery would add packets to what is counted.
sysctl -qw "net.ipv6.conf.$a.disable_ipv6=1" "net.ipv6.conf.$b.disable_ipv6=1" 2>/dev/null || true
ip link set "$a" mtu 9000 up
ip link set "$b" mtu 9000 up
if [ -d "$pcap" ]; then cat "${files[@]}" > /dev/null; else cat "$pcap" > /dev/null; fi
out=$(mktemp -d)
tick=$(getconf CLK_TCK)
# utime + stime of a process (all its threads), in clock ticks.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

"$mt" sensor --interface "$b" --threads "$threads" --stats --format jsonl > "$out/findings.jsonl" 2> "$out/sensor.err" &
sensor=$!
sleep 1
cpu_before=$(cpu_ticks "$sensor")
echo "== $senders x tcpreplay --topspeed -K --loop=$loops $(basename "$pcap") into $a; sensor on $b with $threads worker(s)"
start=$(date +%s.%N)
pids=()
for i in $(seq 1 "$senders"); do
  if [ -d "$pcap" ]; then
    # This sender's share of the files: i, i + SENDERS, ...
    mine=()
    for ((k = i - 1; k < ${#files[@]}; k += senders)); do mine+=("${files[k]}"); done
    tcpreplay --topspeed -K --loop="$loops" -i "$a" "${mine[@]}" > "$out/replay$i.txt" 2>&1 &
  else
    tcpreplay --topspeed -K --loop="$loops" -i "$a" "$pcap" > "$out/replay$i.txt" 2>&1 &
  fi
  pids+=($!)
done
wait "${pids[@]}"
end=$(date +%s.%N)
sleep 3
cpu_after=$(cpu_ticks "$sensor")
kill -INT "$sensor"
wait "$sensor" || true
sent=0
for i in $(seq 1 "$senders"); do
  grep -E "Actual|Rated" "$out/replay$i.txt" | sed "s/^/replay $i: /"
  bytes=$(sed -n 's/^Actual: [0-9]* packets (\([0-9]*\) bytes).*/\1/p' "$out/replay$i.txt")
  sent=$((sent + ${bytes:-0}))
done
echo "== sensor"
cat "$out/sensor.err"
echo "findings: $(wc -l < "$out/findings.jsonl")"
# FINDINGS=FILE keeps the sensor's findings.
[ -z "${FINDINGS:-}" ] || cp "$out/findings.jsonl" "$FINDINGS"
awk -v sent="$sent" -v s="$start" -v e="$end" -v c0="$cpu_before" -v c1="$cpu_after" -v tick="$tick" 'BEGIN {
  bits = sent * 8; wall = e - s; cpu = (c1 - c0) / tick;
  printf "offered: %.0f bytes in %.2f s = %.1f Mbit/s aggregate (wall clock, preload included)\n", sent, wall, bits / wall / 1e6;
  if (cpu > 0) printf "sensor CPU: %.2f s = %.2f Gbit/s per core of sensor CPU\n", cpu, bits / cpu / 1e9;
}'
if [ -d "$pcap" ]; then
  # The same packets as one input (the sensor saw one stream: a DNS answer or a pool proven in
  # one file counts for the others), compared detector by detector.
  mergecap -F pcap -a -w "$out/all.pcap" "${files[@]}"
  "$mt" analyze "$out/all.pcap" --quiet --format jsonl > "$out/analyze.jsonl" || true
  [ -z "${FINDINGS:-}" ] || cp "$out/analyze.jsonl" "$FINDINGS.analyze"
  python3 - "$out/findings.jsonl" "$out/analyze.jsonl" <<'PY'
import collections, json, sys
def count(path):
    c = collections.Counter()
    for line in open(path):
        c[json.loads(line)["detector"]] += 1
    return c
live, file = count(sys.argv[1]), count(sys.argv[2])
print(f"{'detector':<16} {'sensor':>7} {'analyze':>8}")
for d in sorted(set(live) | set(file)):
    print(f"{d:<16} {live[d]:>7} {file[d]:>8}")
PY
fi
rm -rf "$out"
