"""Steps that tests run the way a rule's script runs one (workflow_scripts.runtime.step.run_step), in a process
of their own: tests/workflow/test_forkserver.py through the preloaded interpreter, tests/unit/test_processes.py
without it."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from workflow_scripts.errors import UserError

TESTS = Path(__file__).resolve().parent

# A child that starts a grandchild in a session of its own, as torchrun starts its ranks (a process-group signal
# misses it), says the grandchild's pid, and waits.
CHILD = (
    "import subprocess, sys, time\n"
    "grandchild = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)'], start_new_session=True)\n"
    "print(grandchild.pid, flush=True)\n"
    "time.sleep(600)\n"
)


class Job:
    """What run_step reads of Snakemake's `snakemake` object (picklable, as Snakemake's is)."""

    def __init__(self, rule: str, output: str, log: str):
        self.rule, self.output, self.log = rule, [output], [log]


def context_step(snakemake):
    import random

    import numpy as np
    import torch
    from threadpoolctl import threadpool_info

    print("step: hello from the step", flush=True)
    blas = [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"]
    record = {
        "cwd": os.getcwd(),
        "marker": os.environ.get("CROCO_TEST_MARKER"),
        "pid": os.getpid(),
        "torch_threads": torch.get_num_threads(),
        "blas_threads": blas,
        "path_has_tests": any(p.endswith("tests") for p in sys.path),
        "python_random": random.random(),
        "numpy_random": float(np.random.random()),
        "torch_initial_seed": torch.initial_seed(),
        "torch_random": float(torch.rand(1)),
    }
    with open(snakemake.output[0], "w") as f:
        json.dump(record, f)


def user_error_step(snakemake):
    raise UserError("the table has no column 'reward'", file="scores.parquet")


def crashing_step(snakemake):
    raise ValueError("an unexpected failure")


def sleeping_step(snakemake):
    with open(snakemake.output[0], "w") as f:
        f.write(str(os.getpid()))
    time.sleep(600)


def family_step(snakemake):
    """Starts a child and, through it, a grandchild in another session; records the three pids; waits. Its finally
    block leaves a mark (a SIGTERM must end the step like an exception)."""
    child = subprocess.Popen([sys.executable, "-c", CHILD], stdout=subprocess.PIPE, text=True)
    grandchild = int(child.stdout.readline())
    Path(snakemake.output[0]).write_text(json.dumps({"step": os.getpid(), "child": child.pid, "grandchild": grandchild}))
    try:
        time.sleep(600)
    finally:
        Path(snakemake.output[0] + ".finally").write_text("ran")


def run(step_name: str, rule: str, output: str, log: str, loads_models: bool) -> None:
    from workflow_scripts.runtime.step import run_step

    run_step(Job(rule, output, log), globals()[step_name], loads_models=loads_models)


def start(work: Path, step: str, loads_models: bool = True, **env) -> subprocess.Popen:
    """A job's process, as Snakemake starts one for a rule's script, running `step` of this module in `work`."""
    code = f"import job_steps as steps; steps.run({step!r}, 'demo_rule', 'out.txt', 'logs/demo.log', loads_models={loads_models})"
    return subprocess.Popen(
        [sys.executable, "-c", code],
        cwd=work,
        # this module, and the workflow_scripts of the repository under test (not another installed copy)
        env={**os.environ, "PYTHONPATH": os.pathsep.join([str(TESTS), str(TESTS.parent)]), "OMP_NUM_THREADS": "1", **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for_record(job: subprocess.Popen, path: Path, timeout: float = 300) -> dict:
    """The pids a family_step (or sleeping_step) recorded, once it has."""
    deadline = time.time() + timeout
    while not path.exists() or not path.read_text():
        assert job.poll() is None and time.time() < deadline, job.communicate()
        time.sleep(0.1)
    text = path.read_text()
    return json.loads(text) if text.startswith("{") else {"step": int(text)}


def gone(pids, timeout: float = 15) -> bool:
    """Whether all these processes are gone (zombies count as gone) within `timeout` seconds."""
    from workflow_scripts.runtime.forkserver import is_running

    deadline = time.time() + timeout
    while any(is_running(pid) for pid in pids) and time.time() < deadline:
        time.sleep(0.1)
    return not any(is_running(pid) for pid in pids)
