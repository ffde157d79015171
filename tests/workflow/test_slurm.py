"""The DAG through a real SLURM cluster (single node, started here from Debian's packages by
envs/slurm-local.sh) with `snakemake --profile profiles/slurm`: real sbatch, a vLLM step and a training step,
and fake GPUs advertised through gres, so GPU rules must ask SLURM for them to be scheduled."""

import os
import re
import shutil
import subprocess
import sys

import pytest

from helpers import MODEL, REPO, make_workspace, tiny_config, write_config

ADAPTER = f"results/adapters/{MODEL}/{MODEL}/mono-da/maxr"


@pytest.fixture(scope="module")
def cluster():
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        pytest.skip("starting a local SLURM cluster needs root and apt-get")
    started = subprocess.run(
        ["bash", str(REPO / "envs/slurm-local.sh")],
        env={**os.environ, "FAKE_GPUS": "2"},
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert started.returncode == 0, started.stdout[-2000:] + started.stderr[-2000:]
    assert "gpu:a100:2" in started.stdout


def slurm_config():
    c = tiny_config()
    c["languages"] = ["en", "da"]
    c["translation"] = {"model": None}
    c["generation"]["shards"] = 2  # two generation jobs for Danish, gathered by a third
    c["experiments"] = {"main": {"policy": MODEL, "languages": ["da"], "methods": ["maxr"], "regimes": ["mono"]}}
    c["resources"] = {
        "engine": {"gpu": 1, "mem_mb": 6000, "runtime": 30},
        "training": {"gpu": 1, "mem_mb": 6000, "runtime": 30},
        "light": {"mem_mb": 2000, "runtime": 10},
    }
    return c


def test_dag_runs_through_real_sbatch_and_gpu_rules_ask_for_gpus(cluster, tmp_path):
    ws = make_workspace(tmp_path / "ws")
    config = write_config(ws, slurm_config())
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    # No accounting daemon here: job states come from squeue (see envs/slurm-local.sh and DEVELOPERS.md).
    result = subprocess.run(
        [
            "timeout",
            "-s",
            "INT",
            "-k",
            "30",
            "1500",
            sys.executable,
            "-m",
            "snakemake",
            ADAPTER,
            "--profile",
            "profiles/slurm",
            "--configfile",
            str(config),
            "--jobs",
            "2",
            "--verbose",
            "--slurm-status-command",
            "squeue",
            "--slurm-init-seconds-before-status-checks",
            "5",
        ],
        cwd=ws,
        env=env,
        capture_output=True,
        text=True,
        timeout=1600,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-6000:]
    assert (ws / ADAPTER / "adapter_config.json").is_file()
    # the profile leaves partition and account to the user: unset, the run says so at its start, naming the rules
    for setting in ("slurm_partition", "slurm_account"):
        assert re.search(rf"WARNING: {setting} is not set for \d+ rule\(s\) \([a-z_, ]*\btrain\b", output), output[:3000]
    calls = {}
    for line in output.splitlines():
        if "sbatch call:" in line:
            rule = re.search(r"--job-name \S+|rule_(\w+)", line)
            name = re.search(r"rule_([a-z_]+)", line)
            calls.setdefault(name.group(1) if name else "?", []).append(line)
            assert rule
    assert {"base_model", "prompt_set", "generate", "score", "preference_dataset", "train"} <= set(calls), sorted(calls)
    for rule in ("generate", "score", "train"):  # vLLM and training jobs: GPUs through the plugin's gpu resource
        assert all("--gpus=1" in call for call in calls[rule]), calls[rule]
    assert len(calls["generate"]) == 2 and len(calls["gather_generations"]) == 1 and len(calls["gather_scores"]) == 1
    for rule in ("base_model", "prompt_set", "gather_generations", "gather_scores", "preference_dataset"):
        assert not any("--gpus" in call for call in calls[rule]), calls[rule]
    assert all("--cpus-per-task=2" in call for call in calls["generate"])
    assert all("--mem 6000" in call or "--mem=6000" in call for call in calls["generate"]), calls["generate"]
    logs = list((ws / ".snakemake/slurm_logs").rglob("*.log"))
    assert any("rule_generate" in str(p) for p in logs) and any("rule_train" in str(p) for p in logs)
    assert (ws / "logs/generate" / MODEL / "da/shard-1-of-2.log").read_text().strip()
