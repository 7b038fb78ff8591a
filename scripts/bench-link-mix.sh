#!/usr/bin/env bash
# Live capture benchmark on a link-like mix (issue "live sensor"): captures written by the
# simulator with every scenario merged in time order — mining sessions of every dialect, benign
# look-alikes, and bulk TLS downloads (benign-https-download), which carry most of the bytes as
# they do on a real link — then scripts/bench-sensor.sh replays them at top speed into the sensor.
#
#   scripts/bench-link-mix.sh [SEEDS] [MINUTES] [THREADS] [SENDERS]
#   (defaults: 10 seeds of 60 simulated minutes, about 1 GB; 1 sensor worker; 2 senders)
#
# Each seed is one capture with its own addresses; the senders share them. Needs root,
# tcpreplay and mergecap.
set -euo pipefail
cd "$(dirname "$0")/.."
seeds=${1:-10}
minutes=${2:-60}
threads=${3:-1}
senders=${4:-2}
dir=/tmp/minetrace-bench/link-mix-$seeds-$minutes
cargo build --release -q -p minetrace
mt=$(pwd)/target/release/minetrace
if [ ! -s "$dir/link-$seeds.pcap" ]; then
  rm -rf "$dir"
  mkdir -p "$dir/truth"
  for s in $(seq 1 "$seeds"); do
    "$mt" simulate --seed "$s" --minutes "$minutes" --single "$dir/link-$s.pcap" --out "$dir/truth/$s" > /dev/null
  done
fi
echo "== $dir: $(find "$dir" -maxdepth 1 -name '*.pcap' | wc -l) captures, $(du -sh "$dir" | cut -f1)"
capinfos -c -d -z "$dir"/link-1.pcap 2>/dev/null | sed 's/^/   /' || true
MINETRACE_BIN="$mt" scripts/bench-sensor.sh "$dir" "$threads" "$senders"
