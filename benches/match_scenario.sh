#!/usr/bin/env bash
# The `wirewatch match --config` scenario of issue 15: 100,000 watchlists over 2,000 article
# records that match about 20 watchlists each, then over their rotated twins, which match none
# (see examples/match_scenario.rs). Prints each run's CPU time per record and the cost per match:
# (matching − control) / matches. One process per run, so config loading and matcher building
# are in both; the difference is the matches'.
#
#   benches/match_scenario.sh [CORPUS_DIR]
#
# CORPUS_DIR: the article corpus (default: ../shared/corpus/extraction, else tests/fixtures).
# MATCH_SCENARIO_KEEP=DIR keeps the scenario and both outputs in DIR (to diff two builds).
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${MATCH_SCENARIO_KEEP:-$(mktemp -d)}
cargo build --release --quiet --example match_scenario --bin wirewatch
./target/release/examples/match_scenario "$dir" ${1:+"$1"}
run() {
  local name=$1
  # user+system CPU seconds of the run, from bash's `time`
  local TIMEFORMAT='%U %S'
  local cpu
  cpu=$( { time ./target/release/wirewatch match --config "$dir/wirewatch.toml" \
    "$dir/$name"/*.json > "$dir/$name.out"; } 2>&1 | tail -1)
  awk -v cpu="$cpu" 'BEGIN { split(cpu, t, " "); printf "%.3f", t[1] + t[2] }'
}
matching=$(run matching)
control=$(run control)
python3 - "$dir" "$matching" "$control" <<'PY'
import json, sys
dir, matching, control = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
def count(name):
    records = matches = hits = 0
    with open(f"{dir}/{name}.out") as out:
        for line in out:
            record = json.loads(line)
            records += 1
            matches += len(record["watchlists"])
            hits += len(record["hits"])
    return records, matches, hits
records, matches, hits = count("matching")
control_records, control_matches, _ = count("control")
print(f"matching: {records} records, {matches / records:.1f} matches and {hits / records:.1f} hits "
      f"per record, {matching:.2f} s CPU ({matching / records * 1e6:.0f} µs per record, "
      f"config loading and matcher build included)")
print(f"control:  {control_records} records, {control_matches} matches, {control:.2f} s CPU "
      f"({control / control_records * 1e6:.0f} µs per record)")
print(f"cost per match: {(matching - control) / max(matches, 1) * 1e6:.1f} µs "
      f"(matching − control, over {matches} matches)")
PY
[ -n "${MATCH_SCENARIO_KEEP:-}" ] || rm -rf "$dir"
