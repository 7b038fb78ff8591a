#!/usr/bin/env bash
# Scale-out load benchmark: a 3-node NATS JetStream cluster and 1, 2, 3 minetrace-server
# replicas on one PostgreSQL database (started by scripts/ci-postgres.sh), all on loopback.
# Usage: scripts/bench-scale-out.sh [seconds] [batch]
set -euo pipefail
cd "$(dirname "$0")/.."
eval "$(scripts/ci-postgres.sh)"
cargo build --release -q -p minetrace-server --bin minetrace-server --example bench_scale_out
MINETRACE_BENCH_POSTGRES=$MINETRACE_TEST_POSTGRES \
  "${CARGO_TARGET_DIR:-target}/release/examples/bench_scale_out" "${1:-15}" "${2:-500}"
