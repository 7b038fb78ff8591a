#!/usr/bin/env bash
# Sustained batched ingest into the server over loopback HTTP with durability on (SQLite WAL,
# synchronous=FULL: every acknowledged batch is fsynced). Optional PostgreSQL run when
# MINETRACE_BENCH_POSTGRES is set (e.g. from scripts/ci-postgres.sh).
# Usage: scripts/bench-ingest.sh [seconds] [batch] [clients]
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -p minetrace-server --example bench_ingest
bin="${CARGO_TARGET_DIR:-target}/release/examples/bench_ingest"
"$bin" "${1:-20}" "${2:-1000}" "${3:-2}"
if [ -n "${MINETRACE_BENCH_POSTGRES:-}" ]; then
  "$bin" "${1:-20}" "${2:-1000}" "${3:-2}"
fi
