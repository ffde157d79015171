"""Steps for tests/test_forkserver.py, run through workflow_scripts.step.run_step as a rule's script would."""

import json
import os
import sys
import time

from workflow_scripts.errors import UserError


class Job:
    """What run_step reads of Snakemake's `snakemake` object (picklable, as Snakemake's is)."""

    def __init__(self, rule: str, output: str, log: str):
        self.rule, self.output, self.log = rule, [output], [log]


def context_step(snakemake):
    import torch

    print("step: hello from the step", flush=True)
    record = {
        "cwd": os.getcwd(),
        "marker": os.environ.get("CROCO_TEST_MARKER"),
        "pid": os.getpid(),
        "torch_threads": torch.get_num_threads(),
        "path_has_tests": any(p.endswith("tests") for p in sys.path),
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


def run(step_name: str, rule: str, output: str, log: str, loads_models: bool) -> None:
    from workflow_scripts.runtime.step import run_step

    run_step(Job(rule, output, log), globals()[step_name], loads_models=loads_models)
