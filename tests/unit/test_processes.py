"""A step run in its job's own process (a cluster job, `forkserver: false`) ends like an exception on SIGTERM and
takes every process it started with it, a grandchild in a session of its own included; the process-tree walk
finds exactly a process's descendants."""

import os
import signal
import subprocess
import sys
import time

from job_steps import gone, start, wait_for_record

from workflow_scripts.runtime.forkserver import is_running
from workflow_scripts.runtime.processes import descendants


def test_a_sigterm_ends_the_step_like_an_exception_and_leaves_no_process(tmp_path):
    job = start(tmp_path, "family_step", loads_models=True)  # no server directory: the step runs in this process
    pids = wait_for_record(job, tmp_path / "out.txt", timeout=60)
    assert pids["step"] == job.pid and is_running(pids["child"]) and is_running(pids["grandchild"])
    job.send_signal(signal.SIGTERM)
    job.wait(timeout=60)
    assert job.returncode == 128 + signal.SIGTERM
    assert (tmp_path / "out.txt.finally").read_text() == "ran"
    assert gone([pids["child"], pids["grandchild"]])
    log = (tmp_path / "logs/demo.log").read_text()
    assert "rule demo_rule started" in log and "finished" not in log


def test_descendants_are_the_whole_tree_and_nothing_else():
    parent = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import subprocess, sys, time\n"
            "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'], start_new_session=True)\n"
            "print(child.pid, flush=True)\n"
            "time.sleep(60)\n",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        grandchild = int(parent.stdout.readline())
        found = descendants(os.getpid())
        assert parent.pid in found and grandchild in found and os.getpid() not in found
        spared = descendants(os.getpid(), spare=[parent.pid])
        assert parent.pid not in spared and grandchild not in spared  # a spared process keeps its own
    finally:
        parent.kill()
        os.kill(grandchild, signal.SIGKILL)
        parent.wait()
        time.sleep(0.1)
