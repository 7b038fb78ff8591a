#!/usr/bin/env bash
# Benchmark for issue "network detection engine": builds a >= 400 MB mixed capture from the shared
# captures (copies with rewritten addresses, `tcprewrite --seed`), then in one run compares
# single-threaded `minetrace analyze` with Suricata 7 + the ET coin-miner rules (HOME_NET any) and
# with ndpiReader; reports throughput, peak RSS, `--threads 2` scaling (and the most two cores give
# here: two one-thread analyses at once), and whether every session a peer flags is flagged by
# minetrace too. Needs ../shared and the peers (../shared/scripts/install-peers.sh). Not a test:
# timing never decides a test.
#
#   scripts/bench-analyze.sh [TARGET_MB]     (default 400)
#
# Every tool runs $RUNS times (default 3), in rounds that run each tool once (interleaved, so a
# slow minute of the machine weighs on all of them); the figures are the median run's.
# The capture is built once and kept in $BENCH_DIR (default /tmp/minetrace-bench); the binary is
# taken from $CARGO_TARGET_DIR when set. BASELINE=/path/to/an/older/minetrace also runs that
# binary (1 and 2 threads) in the same run, for before/after figures on the same machine state.
# PEERS=0 leaves Suricata and ndpiReader out (threads and baseline only: quick, many rounds).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
shared=${SHARED:-$root/../shared}
target_mb=${1:-400}
work=${BENCH_DIR:-/tmp/minetrace-bench}
mkdir -p "$work"
peers=${PEERS:-1}
needed=(tcprewrite mergecap editcap capinfos)
[ "$peers" = 0 ] || needed+=(suricata ndpiReader)
for t in "${needed[@]}"; do
  command -v $t >/dev/null || { echo "missing $t: run $shared/scripts/install-peers.sh" >&2; exit 2; }
done

cargo build --release -q -p minetrace
mt=${CARGO_TARGET_DIR:-$root/target}/release/minetrace

big=$work/mixed-${target_mb}MB.pcap
if [ ! -s "$big" ]; then
  echo "== building $big"
  rm -rf "$work/base" "$work/copies"; mkdir -p "$work/base" "$work/copies"
  # Ethernet captures only: one link type per output file keeps every tool reading all of it.
  n=0
  while IFS=$'\t' read -r file label _; do
    [ "$label" = mining ] || [ "$label" = benign ] || [ "$label" = crypto_p2p ] || continue
    enc=$(capinfos -E -T "$shared/data/captures/$file" 2>/dev/null | tail -1 | cut -f2)
    [ "$enc" = "ether" ] || [ "$enc" = "Ethernet" ] || continue
    n=$((n+1))
    editcap -F pcap "$shared/data/captures/$file" "$work/base/$(printf %04d $n).pcap" 2>/dev/null || true
  done < <(tail -n +2 "$shared/data/captures/MANIFEST.tsv")
  mergecap -F pcap -a -w "$work/base.pcap" "$work/base"/*.pcap
  base_mb=$(( $(stat -c %s "$work/base.pcap") / 1048576 ))
  copies=$(( target_mb / (base_mb > 0 ? base_mb : 1) + 1 ))
  for i in $(seq 1 $copies); do
    tcprewrite --seed=$i --infile="$work/base.pcap" --outfile="$work/copies/$(printf %03d $i).pcap" 2>/dev/null
  done
  mergecap -F pcap -a -w "$big" "$work/copies"/*.pcap
  rm -rf "$work/base" "$work/copies"
fi
size=$(stat -c %s "$big")
echo "== input: $big, $((size/1048576)) MiB, $(capinfos -c -M "$big" | awk -F: '/Number of packets/{gsub(/ /,"",$2);print $2}') packets"

# Warm the page cache so every tool reads from memory.
cat "$big" > /dev/null

runs=${RUNS:-3}
rm -rf "$work/suricata"; mkdir -p "$work/suricata"
cat "$shared/data/peers/emerging-coinminer.rules" "$shared/data/peers/et-policy-info-coinmining.rules" > "$work/suricata/coinminer.rules"

# Every round runs each tool once, in this order, so a machine that slows down for a minute
# (shared hosts do) weighs on every tool alike instead of on whichever tool ran in that minute;
# the ratios come from the same rounds. cmd_<name> holds each tool's command.
cmd_minetrace_1thread=("$mt" analyze -q --format jsonl --threads 1 "$big")
cmd_minetrace_2threads=("$mt" analyze -q --format jsonl --threads 2 "$big")
tools=(minetrace-1thread minetrace-2threads)
if [ -n "${BASELINE:-}" ]; then
  cmd_baseline_1thread=("$BASELINE" analyze -q --format jsonl --threads 1 "$big")
  cmd_baseline_2threads=("$BASELINE" analyze -q --format jsonl --threads 2 "$big")
  tools+=(baseline-1thread baseline-2threads)
fi
cmd_suricata=(suricata -r "$big" -k none --runmode single -l "$work/suricata"
  -S "$work/suricata/coinminer.rules" --set vars.address-groups.HOME_NET=any
  --set vars.address-groups.EXTERNAL_NET=any)
cmd_ndpiReader=(ndpiReader -i "$big" -q -C "$work/ndpi.csv")
[ "$peers" = 0 ] || tools+=(suricata ndpiReader)
for name in "${tools[@]}" pair; do : > "$work/$name.times"; done
for round in $(seq 1 "$runs"); do
  echo "== round $round of $runs: ${tools[*]}"
  for name in "${tools[@]}"; do
    declare -n cmd="cmd_${name//-/_}"
    # Suricata appends to its logs: each run starts with empty ones.
    if [ "$name" = suricata ]; then rm -f "$work/suricata/"*.json "$work/suricata/"*.log; fi
    /usr/bin/time -f "%e %M %U %S" -o "$work/$name.time" "${cmd[@]}" > "$work/$name.out" 2> "$work/$name.err" || true
    unset -n cmd
    # GNU time writes "Command exited with non-zero status N" first when the tool exits non-zero.
    tail -1 "$work/$name.time" >> "$work/$name.times"
  done
  # What two cores give here at best: two independent one-thread analyses at once. Their
  # combined throughput over one analysis's is the ceiling for any `--threads 2` scaling.
  t0=$(date +%s.%N)
  "${cmd_minetrace_1thread[@]}" > /dev/null 2>&1 &
  "${cmd_minetrace_1thread[@]}" > /dev/null 2>&1 &
  wait
  echo "$(date +%s.%N) - $t0" | bc -l >> "$work/pair.times"
done

: > "$work/results.txt"
report() { # name: prints the median run (elapsed and its CPU), the range, and the largest peak RSS
  local name=$1
  read -r secs rss cpu lo hi < <(sort -n "$work/$name.times" | awk '
    { e[NR] = $1; c[NR] = $3 + $4; if ($2 > rss) rss = $2 }
    END { m = int((NR + 1) / 2); print e[m], rss, c[m], e[1], e[NR] }')
  printf '%-22s %8.2f s %8.1f MiB/s  CPU %6.2f s  peak RSS %6.1f MiB  (%d runs: %.2f-%.2f s)\n' "$name" "$secs" \
    "$(echo "$size / 1048576 / $secs" | bc -l)" "$cpu" "$(echo "$rss / 1024" | bc -l)" "$runs" "$lo" "$hi"
  echo "$name $secs $rss $cpu" >> "$work/results.txt"
}
per_round_ratios() { # the ratios round by round (each round ran every tool once)
  python3 - "$work" "$peers" <<'PY'
import os, statistics, sys
work, peers = sys.argv[1], sys.argv[2] != "0"
def elapsed(name):
    with open(os.path.join(work, name + ".times")) as fh:
        return [float(line.split()[0]) for line in fh if line.strip()]
m1, m2 = elapsed("minetrace-1thread"), elapsed("minetrace-2threads")
ratios = []
if peers:
    ratios += [
        ("vs suricata", [s / m for s, m in zip(elapsed("suricata"), m1)]),
        ("vs ndpiReader", [n / m for n, m in zip(elapsed("ndpiReader"), m1)]),
    ]
ratios += [
    ("--threads 2 scaling", [a / b for a, b in zip(m1, m2)]),
    ("two-core ceiling", [2 * a / p for a, p in zip(m1, elapsed("pair"))]),
]
for label, values in ratios:
    print(f"per round, {label:20s} median {statistics.median(values):.2f}x  "
          f"(rounds: {' '.join(f'{v:.2f}' for v in values)})")
PY
}
cp "$work/minetrace-1thread.out" "$work/minetrace.jsonl"
report minetrace-1thread
report minetrace-2threads
if cmp -s <(sort "$work/minetrace-2threads.out") <(sort "$work/minetrace.jsonl"); then
  echo "2 threads and 1 thread findings: identical (as sets of lines)"
else
  echo "2 threads and 1 thread findings: DIFFER"
fi
if [ -n "${BASELINE:-}" ]; then
  report baseline-1thread
  report baseline-2threads
  if cmp -s <(sort "$work/baseline-1thread.out") <(sort "$work/minetrace.jsonl"); then
    echo "baseline and minetrace findings: identical (as sets of lines)"
  else
    only_new=$(comm -13 <(sort "$work/baseline-1thread.out") <(sort "$work/minetrace.jsonl") | wc -l)
    only_base=$(comm -23 <(sort "$work/baseline-1thread.out") <(sort "$work/minetrace.jsonl") | wc -l)
    attempts=$(comm -13 <(sort "$work/baseline-1thread.out") <(sort "$work/minetrace.jsonl") | grep -c '"connection_attempt":true' || true)
    echo "baseline and minetrace findings: DIFFER ($only_new lines only in minetrace, $attempts of them connection attempts; $only_base only in the baseline)"
  fi
fi
if [ "$peers" = 0 ]; then
  per_round_ratios
  exit 0
fi
report suricata
report ndpiReader

echo "== sessions flagged by peers and by minetrace"
python3 - "$work" <<'PY'
import csv, json, sys, os
work = sys.argv[1]
def pair(a, ap, b, bp):
    x, y = (str(a), int(ap)), (str(b), int(bp))
    return tuple(sorted([x, y]))
mt = set(); mt_hosts = set()
for line in open(os.path.join(work, "minetrace.jsonl"), errors="replace"):
    f = json.loads(line)
    c, s = f.get("client"), f.get("server")
    if c and s:
        mt.add(pair(c["ip"], c["port"], s["ip"], s["port"]))
        mt_hosts.add(c["ip"])
sur = set()
for line in open(os.path.join(work, "suricata", "eve.json"), errors="replace"):
    e = json.loads(line)
    if e.get("event_type") == "alert" and "src_port" in e:
        sur.add(pair(e["src_ip"], e["src_port"], e["dest_ip"], e["dest_port"]))
ndpi = set()
with open(os.path.join(work, "ndpi.csv"), errors="replace") as fh:
    rows = csv.reader(fh)
    header = next(rows)
    h = {k.strip("#"): i for i, k in enumerate(header)}
    for r in rows:
        try:
            proto = r[h["ndpi_proto"]] if "ndpi_proto" in h else ""
            if "Mining" in proto:
                ndpi.add(pair(r[h["src_ip"]], r[h["src_port"]], r[h["dst_ip"]], r[h["dst_port"]]))
        except (IndexError, KeyError, ValueError):
            pass
for name, s in (("suricata", sur), ("ndpiReader", ndpi)):
    missed = s - mt
    print(f"{name}: {len(s)} sessions flagged; minetrace flags {len(s & mt)} of them; missed {len(missed)}")
    for m in sorted(missed)[:10]:
        print("   missed:", m)
print(f"minetrace: {len(mt)} sessions flagged ({len(mt_hosts)} client hosts)")
PY

python3 - "$work/results.txt" <<'PY'
import sys
r = {l.split()[0]: (float(l.split()[1]), int(l.split()[2]), float(l.split()[3])) for l in open(sys.argv[1])}
m1 = r["minetrace-1thread"][0]
c1 = r["minetrace-1thread"][2]
print(f"throughput (elapsed) vs suricata: {r['suricata'][0]/m1:.1f}x   vs ndpiReader: {r['ndpiReader'][0]/m1:.1f}x")
print(f"CPU time ratio       vs suricata: {r['suricata'][2]/c1:.1f}x   vs ndpiReader: {r['ndpiReader'][2]/c1:.1f}x")
print(f"--threads 2 scaling: {m1/r['minetrace-2threads'][0]:.2f}x   minetrace peak RSS: {r['minetrace-1thread'][1]/1024:.1f} MiB")
if "baseline-1thread" in r:
    b1 = r["baseline-1thread"]
    print(f"baseline: {b1[0]:.2f} s elapsed, {b1[2]:.2f} s CPU, peak RSS {b1[1]/1024:.1f} MiB; "
          f"--threads 2 scaling {b1[0]/r['baseline-2threads'][0]:.2f}x; "
          f"minetrace vs baseline: {b1[0]/m1:.2f}x elapsed, {b1[2]/c1:.2f}x CPU")
PY

per_round_ratios
