#!/bin/bash
# Submits a sharded nanolab sweep to Slurm and a merge job that runs after every shard ended.
#   examples/slurm/submit.sh <experiment.yaml> [results dir] [shards]
set -euo pipefail
EXPERIMENT=${1:?usage: $0 <experiment.yaml> [results dir] [shards]}
OUT=${2:-results/$(basename "$EXPERIMENT" .yaml)}
SHARDS=${3:-4}
here=$(dirname "$0")
# validate once, here, before anything queues (exit 2 with the located problem)
node --import tsx runner.ts "$EXPERIMENT" --dry-run > /dev/null
jid=$(sbatch --parsable --array=0-$((SHARDS - 1)) "$here/ablation.sbatch" "$EXPERIMENT" "$OUT")
# afterany: merge even when some runs failed (their rows say so); shards not finished are reported
mid=$(sbatch --parsable --dependency=afterany:"$jid" --job-name=nanolab-merge --cpus-per-task=1 --mem=2G --time=00:30:00 \
  --output="slurm-%x-%j.out" --wrap "node --import tsx runner.ts merge $OUT/shard-*-of-$SHARDS --out $OUT")
echo "shards: job $jid (array 0-$((SHARDS - 1))), merge: job $mid -> $OUT/results.csv"
