#!/usr/bin/env bash
# Extraction benchmark, side by side in one run: wirewatch's extractor and Python trafilatura on
# the same pages, single-threaded, then both scored for body F1.
#
#   benches/extract_vs_trafilatura.sh [GOLD_DIR] [SCORER]
#
# GOLD_DIR holds <id>.html pages and <id>.json ground truth (default: ../shared/corpus/extraction);
# SCORER is score_extraction.py (default: ../shared/tools/score_extraction.py). trafilatura is
# installed into target/trafilatura-venv on first use (needs PyPI).
set -euo pipefail
cd "$(dirname "$0")/.."
gold=${1:-../shared/corpus/extraction}
scorer=${2:-../shared/tools/score_extraction.py}
venv=target/trafilatura-venv
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet "trafilatura==2.3.1" lxml_html_clean
fi
cargo build --release --quiet --example extract_corpus
out=$(mktemp -d)
echo "== wirewatch"
./target/release/examples/extract_corpus "$gold" "$out/wirewatch" | tail -2
python3 "$scorer" "$gold" "$out/wirewatch" | tail -1
echo "== trafilatura"
"$venv/bin/python" benches/trafilatura_extract.py "$gold" "$out/trafilatura" | tail -1
python3 "$scorer" "$gold" "$out/trafilatura" | tail -1
rm -rf "$out"
