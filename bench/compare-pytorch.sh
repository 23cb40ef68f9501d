#!/usr/bin/env bash
# nanolab's whole training step beside PyTorch's (../shared/reference/bench_step.py --best: the
# fastest of its two implementations and 1 or 2 threads), alternating, in the same session.
#   bash bench/compare-pytorch.sh [rounds] > out.jsonl     (PyTorch: Debian's python3-torch)
# Prints one JSON line per measurement; bench/summarise.ts turns them into a table.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
ref=${REFERENCE:-../shared/reference/bench_step.py}
for r in $(seq 1 "$rounds"); do
  for size in small medium full; do
    /usr/bin/python3 "$ref" --size "$size" --best | tail -n 1 | sed "s/^{/{\"round\": $r, /"
    npx tsx bench/step.bench.ts "$size" 2>/dev/null | sed "s/^{/{\"round\": $r, /"
  done
done
# tfjs' own JS backend, for scale (small only: medium takes tens of seconds a step)
NANOLAB_BACKEND=cpu npx tsx bench/step.bench.ts small 2>/dev/null | sed 's/^{/{"round": 1, /'
