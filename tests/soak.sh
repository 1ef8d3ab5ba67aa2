#!/usr/bin/env bash
# Soak run of the flaky-receiver reliability scenario (tests/it/soak.rs; never run by CI).
#   SOAK_SECONDS=180 SOAK_ALERTS=300 SOAK_KILLS=10 SOAK_DRAIN=90 tests/soak.sh
# Prints alerts, kills, requests, duplicates, losses and delivery latency p50/p90/p99.
set -euo pipefail
cd "$(dirname "$0")/.."
exec cargo test --release --test it soak:: -- --ignored --nocapture --test-threads 1
