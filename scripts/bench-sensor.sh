#!/usr/bin/env bash
# Live capture benchmark (issue "live sensor"): a veth pair, `minetrace sensor` on one end with
# one worker, `tcpreplay --topspeed` pushing a capture into the other end. Reports the replay
# rate, what the sensor counted, and the kernel's drops. Needs root and tcpreplay.
#
#   scripts/bench-sensor.sh [PCAP] [THREADS]   (default: the capture scripts/bench-analyze.sh builds, 1)
set -euo pipefail
cd "$(dirname "$0")/.."
pcap=${1:-/tmp/minetrace-bench/mixed-400MB.pcap}
threads=${2:-1}
[ -s "$pcap" ] || { echo "no $pcap: run scripts/bench-analyze.sh first or name a capture" >&2; exit 2; }
command -v tcpreplay >/dev/null || { echo "missing tcpreplay" >&2; exit 2; }
cargo build --release -q -p minetrace
mt=$(pwd)/target/release/minetrace
a=mtbench0; b=mtbench1
cleanup() { ip link del "$a" 2>/dev/null || true; }
trap cleanup EXIT
cleanup
ip link add "$a" type veth peer name "$b"
ip link set "$a" mtu 9000 up
ip link set "$b" mtu 9000 up
cat "$pcap" > /dev/null
out=$(mktemp -d)
"$mt" sensor --interface "$b" --threads "$threads" --stats --format jsonl > "$out/findings.jsonl" 2> "$out/sensor.err" &
sensor=$!
sleep 1
echo "== tcpreplay --topspeed $(basename "$pcap") into $a; sensor on $b with $threads worker(s)"
tcpreplay --topspeed -i "$a" "$pcap" 2>&1 | grep -E "Actual|Rated|Statistics|Successful|Failed" || true
sleep 3
kill -INT "$sensor"
wait "$sensor" || true
echo "== sensor"
cat "$out/sensor.err"
echo "findings: $(wc -l < "$out/findings.jsonl")"
rm -rf "$out"
