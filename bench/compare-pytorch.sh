#!/usr/bin/env bash
# nanolab's whole training step beside PyTorch's (../shared/reference/bench_step.py --best: the
# fastest of its two implementations and 1 or 2 threads), alternating, in the same session.
#   bash bench/compare-pytorch.sh [rounds] [precisions] > out.jsonl     (PyTorch: Debian's python3-torch)
# precisions: "fp32" (default) or e.g. "fp32 bf16"; bf16 is PyTorch's CPU autocast beside
# nanolab's precision: bf16 (AMX matmuls), and is only run where the native backend offers it.
# Prints one JSON line per measurement; bench/summarise.ts turns them into a table.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
precisions=${2:-fp32}
sizes=${SIZES:-small medium full}
ref=${REFERENCE:-../shared/reference/bench_step.py}
for r in $(seq 1 "$rounds"); do
  for p in $precisions; do
    for size in $sizes; do
      /usr/bin/python3 "$ref" --size "$size" --dtype "$p" --best | tail -n 1 | sed "s/^{/{\"round\": $r, /"
      npx tsx bench/step.bench.ts "$size" --precision "$p" 2>/dev/null | sed "s/^{/{\"round\": $r, /"
    done
  done
done
# tfjs' own JS backend, for scale (small only: medium takes tens of seconds a step)
NANOLAB_BACKEND=cpu npx tsx bench/step.bench.ts small 2>/dev/null | sed 's/^{/{"round": 1, /'
