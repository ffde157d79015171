#!/usr/bin/env bash
# Time the paper preset's dry run (the full grid: two policies, seven languages, 8 generation and 8 scoring
# shards per language, every method, regime, evaluation and curve run). Usage: bash benchmarks/paper_dry_run.sh [runs]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
for i in $(seq "$runs"); do
  start=$EPOCHREALTIME
  jobs=$(env -u PYTHONPATH .venv/bin/snakemake -n --configfile presets/paper.yaml 2>&1 | grep -cE '^(local)?rule ')
  end=$EPOCHREALTIME
  awk -v i="$i" -v n="$jobs" -v a="$start" -v b="$end" 'BEGIN { printf "run %d: %d jobs planned in %.2f s\n", i, n, b - a }'
done
