#!/usr/bin/env bash
# Benchmarks of running many accounts (results: docs/benchmarks.md, "Scheduling at scale"):
# examples/bench_scale.rs, release build, simulator and exporter in one process.
#
#   bash scripts/bench-scale.sh                       # rate_limit 1000/s at 1 100 1000 5000 accounts
#   RATE=500 ACCOUNTS="1 100" bash scripts/bench-scale.sh
#   CALL_ACCOUNTS=10 CALL_DAYS=14                     # the upstream-calls section
set -euo pipefail
cd "$(dirname "$0")/.."
RATE=${RATE:-1000}
ACCOUNTS=${ACCOUNTS:-"1 100 1000 5000"}
CALL_ACCOUNTS=${CALL_ACCOUNTS:-10}
CALL_DAYS=${CALL_DAYS:-14}
cargo build --release --example bench_scale >&2
BIN=${CARGO_TARGET_DIR:-target}/release/examples/bench_scale
echo "Cold start to ready (rate_limit = $RATE/s, concurrency auto; unpaced: 32):"
# shellcheck disable=SC2086
"$BIN" ready "$RATE" $ACCOUNTS
echo
echo "Upstream calls per simulated day ($CALL_ACCOUNTS accounts, $CALL_DAYS days after the cold start, simulator publishing at 09:00 UTC+8):"
"$BIN" calls "$CALL_ACCOUNTS" "$CALL_DAYS"
