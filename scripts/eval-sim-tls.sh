#!/usr/bin/env bash
# Per-session precision and recall of `minetrace analyze` on simulated encrypted mining (TLS with
# and without SNI, on pool ports and 443, rigs behind NAT) and on long-lived benign sessions
# (TLS website, bulk TLS downloads, SSH, MQTT, websocket chat, JSON-RPC), over several simulator
# seeds.
# Usage: scripts/eval-sim-tls.sh [seeds]   (default 10)
set -euo pipefail
cd "$(dirname "$0")/.."
seeds=${1:-10}
cargo build --release -q -p minetrace
mt=target/release/minetrace
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for seed in $(seq 1 "$seeds"); do
  "$mt" simulate --seed "$seed" --minutes 10 --out "$work/$seed" \
    --scenario tls-stratum-sni --scenario tls-xmrig-no-sni-443 --scenario nat-rigs-tls \
    --scenario stratum-v2-noise --scenario benign-tls-website --scenario benign-ssh \
    --scenario benign-mqtt --scenario benign-websocket-chat --scenario benign-jsonrpc-login \
    --scenario benign-https-download >/dev/null
  for f in "$work/$seed"/*.pcap; do
    "$mt" analyze -q --format jsonl "$f" > "$f.jsonl" || true
  done
done
python3 - "$work" <<'PY'
import json, os, sys
work = sys.argv[1]
tp = fp = fn = tn = 0
per = {}
for seed in sorted(os.listdir(work)):
    d = os.path.join(work, seed)
    for t in json.load(open(os.path.join(d, "truth.json"))):
        f = os.path.join(d, t["file"])
        found = {(x["client"]["ip"], x["client"]["port"]) for x in map(json.loads, open(f + ".jsonl")) if x.get("client")}
        truth = {(c["ip"], c["port"]) for c in t["clients"]}
        name = t["scenario"]
        s = per.setdefault(name, [0, 0, 0, 0])
        if t["expected_finding"]:
            hit = len(truth & found); miss = len(truth - found)
            tp += hit; fn += miss; s[0] += hit; s[2] += miss
            extra = len(found - truth); fp += extra; s[1] += extra
        else:
            fp += len(found); tn += 0 if found else 1; s[1] += len(found); s[3] += 0 if found else 1
for name, (a, b, c, d) in sorted(per.items()):
    print(f"{name:<24} TP {a:>3} FP {b:>3} FN {c:>3} benign-silent {d:>3}")
prec = tp / (tp + fp) if tp + fp else 1.0
rec = tp / (tp + fn) if tp + fn else 1.0
print(f"sessions: TP {tp} FP {fp} FN {fn}; precision {prec:.4f} recall {rec:.4f}")
PY
