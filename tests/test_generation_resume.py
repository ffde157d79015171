"""A generation job killed mid-way (SIGKILL, as a time limit or preemption would) resumes from its
checkpointed chunks: exactly n samples per prompt, no duplicates, nothing half-written."""
import os
import signal
import subprocess
import sys
import time

import pyarrow.parquet as pq

from helpers import MODEL, make_workspace, snakemake, tiny_config, write_config
from workflow_scripts.generate import sample_seed

TARGET = f"results/generations/{MODEL}/en.parquet"


def test_killed_generation_resumes_without_duplicates_or_losses(tmp_path):
    ws = make_workspace(tmp_path / "ws")
    c = tiny_config()
    c["languages"] = ["en"]
    c["prompts"].update(limit=6, translations={})
    c["translation"] = {"model": None}
    c["generation"].update(samples=3, max_tokens=48)
    c["experiments"] = {"main": {"policy": MODEL, "methods": ["maxr"], "regimes": ["mono"]}}
    config = write_config(ws, c)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["CROCO_PROMPTS_PER_CHUNK"] = "2"  # 3 checkpointed chunks of 2 prompts
    parts = ws / f"{TARGET}.parts"
    job = subprocess.Popen([sys.executable, "-m", "snakemake", TARGET, "--cores", "2", "--configfile", str(config)],
                           cwd=ws, env=env, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 900
    while time.time() < deadline and not list(parts.glob("chunk-*.parquet")):
        assert job.poll() is None, "the job ended before it could be killed"
        time.sleep(0.2)
    os.killpg(job.pid, signal.SIGKILL)  # the whole job: Snakemake and the generation step
    job.wait()
    finished_chunks = sorted(p.name for p in parts.glob("chunk-*.parquet"))
    assert 1 <= len(finished_chunks) < 3, finished_chunks
    assert not (ws / TARGET).exists(), "a killed job must not leave an output that looks complete"

    assert snakemake(ws, "--unlock", "--configfile", str(config)).returncode == 0  # the killed run's lock
    rerun = snakemake(ws, TARGET, "--cores", "2", "--configfile", str(config), env={"CROCO_PROMPTS_PER_CHUNK": "2"})
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    log = (ws / f"logs/generate/{MODEL}/en.log").read_text()
    assert f"resuming: {len(finished_chunks)} of 3 chunks already generated" in log
    table = pq.read_table(ws / TARGET).to_pandas()
    assert len(table) == 6 * 3
    assert not table.duplicated(["prompt_id", "sample_index"]).any()
    assert all(sorted(group) == [0, 1, 2] for _, group in table.groupby("prompt_id").sample_index)
    assert list(dict.fromkeys(table.prompt_id)) == [f"demo-{i:03d}" for i in range(1, 7)]  # prompt order kept
    assert all(s == sample_seed(c["generation"]["seed"], p, "en", i)
               for p, i, s in zip(table.prompt_id, table.sample_index, table.seed))
    assert not parts.exists(), "checkpoints are removed once the output is complete"
