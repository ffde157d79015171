"""Sharded generation and scoring, with two data-parallel engines per job, killed mid-way (SIGKILL, as a
time limit or preemption would): the reruns resume from the checkpointed chunks, and the gathered tables
hold exactly n samples per prompt and exactly one score per sample, with nothing half-written on the way."""

import os
import signal
import subprocess
import sys
import time

import pyarrow.parquet as pq

from workflow_scripts.stages.generation import sample_seed

from helpers import MODEL, snakemake, tiny_config, write_config

GENERATIONS = f"results/generations/{MODEL}/en.parquet"
SCORES = f"results/scores/{MODEL}/en.parquet"
PROMPTS, SAMPLES = 6, 3


def kill_when(ws, config, pattern):
    """Start the run, SIGKILL it (Snakemake, the step and its engine workers) once `pattern` exists."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    job = subprocess.Popen(
        [sys.executable, "-m", "snakemake", SCORES, "--cores", "2", "--configfile", str(config)],
        cwd=ws,
        env=env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 900
    while time.time() < deadline and not list(ws.glob(pattern)):
        assert job.poll() is None, f"the run ended before {pattern} appeared"
        time.sleep(0.2)
    os.killpg(job.pid, signal.SIGKILL)
    job.wait()
    assert snakemake(ws, "--unlock", "--configfile", str(config)).returncode == 0  # the killed run's lock
    return sorted(p.relative_to(ws).as_posix() for p in ws.glob(pattern))


def test_killed_shards_resume_without_duplicates_or_losses(seeded_workspace, tmp_path):
    ws = seeded_workspace(tmp_path / "ws")
    c = tiny_config()
    c["languages"] = ["en"]
    c["prompts"].update(limit=PROMPTS, translations={})
    c["translation"] = {"model": None}
    c["generation"].update(samples=SAMPLES, max_tokens=48, shards=2, prompts_per_chunk=1)  # 3 chunks per shard
    c["reward"].update(shards=2, samples_per_chunk=3)  # 3 chunks per shard
    c["engine"]["data_parallel_size"] = 2  # 2 engines per job
    c["experiments"] = {"main": {"policy": MODEL, "methods": ["maxr"], "regimes": ["mono"]}}
    config = write_config(ws, c)

    # 1. Killed while generating.
    done = kill_when(ws, config, f"results/generations/{MODEL}/en/shard-*.parquet.parts/chunk-*.parquet")
    assert done and not (ws / GENERATIONS).exists(), "a killed job must not leave an output that looks complete"
    assert not list(ws.glob(f"results/generations/{MODEL}/en/shard-*-of-2.parquet")) or len(done) >= 3

    # 2. Resumed, then killed while scoring.
    kill_when(ws, config, f"results/scores/{MODEL}/en/shard-*.parquet.parts/chunk-*.parquet")
    logs = "".join(p.read_text() for p in ws.glob(f"logs/generate/{MODEL}/en/*.log"))
    assert "resuming:" in logs and "chunks already done" in logs
    assert (ws / GENERATIONS).exists() and not (ws / SCORES).exists()

    # 3. Resumed to the end.
    rerun = snakemake(ws, SCORES, "--cores", "2", "--configfile", str(config))
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    logs = "".join(p.read_text() for p in ws.glob(f"logs/score/{MODEL}/en/*.log"))
    assert "resuming:" in logs and "worker 1:" in logs

    gen = pq.read_table(ws / GENERATIONS).to_pandas()
    assert len(gen) == PROMPTS * SAMPLES
    assert not gen.duplicated(["prompt_id", "sample_index"]).any()
    assert all(sorted(group) == list(range(SAMPLES)) for _, group in gen.groupby("prompt_id").sample_index)
    assert list(dict.fromkeys(gen.prompt_id)) == [f"demo-{i:03d}" for i in range(1, PROMPTS + 1)]  # prompt order kept
    assert all(
        s == sample_seed(c["generation"]["seed"], p, "en", i) for p, i, s in zip(gen.prompt_id, gen.sample_index, gen.seed)
    )
    assert gen.response.str.len().gt(0).all()

    scores = pq.read_table(ws / SCORES).to_pandas()
    assert list(zip(scores.prompt_id, scores.sample_index)) == list(zip(gen.prompt_id, gen.sample_index))
    assert scores.status.eq("scored").all() and scores.reward.notna().all()

    leftovers = [p for p in (ws / "results").rglob("*") if p.name.endswith((".parts", ".tmp")) or "shard-" in p.name]
    assert not leftovers, f"checkpoints and temporary shards are removed: {leftovers}"
