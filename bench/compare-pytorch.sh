#!/usr/bin/env bash
# nanolab's whole training step beside PyTorch's (../shared/reference/bench_step.py --best: the
# fastest of its two implementations and 1 or 2 threads), alternating, in the same session.
#   bash bench/compare-pytorch.sh [rounds] [precisions] > out.jsonl     (PyTorch: Debian's python3-torch)
# precisions: "fp32" (default) or e.g. "fp32 bf16"; bf16 is PyTorch's CPU autocast beside
# nanolab's precision: bf16 (AMX matmuls), and is only run where the native backend offers it.
# DEVICE=gpu compares on an NVIDIA GPU instead: nanolab's CUDA backend beside PyTorch eager on
# CUDA (both of bench_step.py's implementations; PYTHON names a python3 with CUDA PyTorch), e.g.
#   DEVICE=gpu bash bench/compare-pytorch.sh 3 "fp32 tf32 bf16" > gpu.jsonl
# Prints one JSON line per measurement; bench/summarise.ts turns them into a table.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
precisions=${2:-fp32}
sizes=${SIZES:-small medium full}
ref=${REFERENCE:-../shared/reference/bench_step.py}
device=${DEVICE:-cpu}
case "$device" in cpu|gpu) ;; *) echo "DEVICE must be cpu or gpu, not $device" >&2; exit 2 ;; esac
for r in $(seq 1 "$rounds"); do
  for p in $precisions; do
    for size in $sizes; do
      if [ "$device" = gpu ]; then  # threads do not matter on CUDA: each implementation once
        for impl in batched lecture; do
          "${PYTHON:-python3}" "$ref" --size "$size" --device cuda --dtype "$p" --impl "$impl" --steps 50
        done | sed "s/^{/{\"round\": $r, /"
      else
        /usr/bin/python3 "$ref" --size "$size" --dtype "$p" --best | tail -n 1 | sed "s/^{/{\"round\": $r, /"
      fi
      npx tsx bench/step.bench.ts "$size" --device "$device" --precision "$p" 2>/dev/null | sed "s/^{/{\"round\": $r, /"
    done
  done
done
[ "$device" = gpu ] && exit 0
# tfjs' own JS backend, for scale (small only: medium takes tens of seconds a step)
NANOLAB_BACKEND=cpu npx tsx bench/step.bench.ts small 2>/dev/null | sed 's/^{/{"round": 1, /'
