"""A step run in its job's own process (a cluster job, `forkserver: false`) reports a crash with its traceback in
the job's log, ends like an exception on SIGTERM and takes every process it started with it (a grandchild in a
session of its own included); the process-tree walk finds exactly a process's descendants; a started helper dies
with its parent."""

import os
import signal
import subprocess
import sys
import time

import pytest

from workflow_scripts.runtime.forkserver import is_running
from workflow_scripts.runtime.processes import descendants

from helpers import REPO
from job_steps import gone, start, wait_for_record


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


def test_a_started_helper_dies_with_its_parent_without_code_between_fork_and_exec(tmp_path):
    """A data-parallel engine started without the preloaded interpreter asks for PDEATHSIG itself (the parent
    runs no preexec_fn): when its parent dies, it dies; if the parent died before it asked, it dies at once."""
    helper = "import os, sys, time; from workflow_scripts.runtime.processes import die_with_parent; "
    helper += "die_with_parent(int(sys.argv[1])); time.sleep(60)"
    parent = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import os, subprocess, sys, time\n"
            f"child = subprocess.Popen([sys.executable, '-c', {helper!r}, str(os.getpid())])\n"
            "print(child.pid, flush=True)\n"
            "time.sleep(2)\n",  # the child has asked by then; the parent then exits
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    child = int(parent.stdout.readline())
    assert is_running(child)
    parent.wait(timeout=30)
    assert gone([child], timeout=10)
    # a parent gone before the child asked: the child ends itself
    late = subprocess.run(
        [sys.executable, "-c", helper, "1"], capture_output=True, timeout=30
    )  # pid 1 is not its parent: as if the parent had died
    assert late.returncode == -signal.SIGKILL


def test_no_step_code_runs_between_fork_and_exec():
    for path in (REPO / "workflow_scripts").rglob("*.py"):
        assert "preexec_fn" not in path.read_text(), path


def test_a_crash_leaves_its_traceback_in_the_jobs_log(tmp_path):
    """On a cluster the job's log is where a failure is read: a bug's traceback must be there, not only on the
    terminal of a process nobody watches."""
    job = start(tmp_path, "crashing_step", loads_models=False)
    out, err = job.communicate(timeout=60)
    error = "[croco] ERROR in rule demo_rule: ValueError: an unexpected failure (traceback in logs/demo.log)"
    log = (tmp_path / "logs/demo.log").read_text()
    assert error in log and "Traceback" in log.split(error)[1]  # the error line, then its traceback
    assert job.returncode == 1 and error in err and "Traceback" in err  # from the error on, the terminal shows all


@pytest.mark.parametrize("verbose", ["", "1"])
def test_library_output_goes_to_the_log_and_to_the_terminal_only_when_verbose(tmp_path, verbose):
    """A step's own prints stand for a library's (vLLM, TRL, EuroEval): thousands of lines in a run, kept in the
    job's log; the terminal shows the workflow's [croco] lines unless CROCO_VERBOSE is set."""
    job = start(tmp_path, "context_step", loads_models=False, CROCO_VERBOSE=verbose)
    out, err = job.communicate(timeout=60)
    assert job.returncode == 0, err
    log = (tmp_path / "logs/demo.log").read_text()
    assert "step: hello from the step" in log and "[croco] rule demo_rule finished" in log
    assert "[croco] rule demo_rule started" in err and "[croco] rule demo_rule finished" in err
    assert ("step: hello from the step" in err) == bool(verbose)


def test_the_terminal_filter_keeps_workflow_lines_and_everything_from_an_error_on():
    from workflow_scripts.runtime.step import TerminalFilter

    terminal = TerminalFilter(verbose=False)
    chunks = [
        b"[croco] rule score sta",  # a line split across reads
        b"rted: x.parquet\nINFO 12-03 vLLM engine\nProcessed prompts:  50%\rProcessed prompts: 100%\n",
        b"  [croco] scored 12 samples\n\n[croco] ERROR in rule score: [file x] bad\n  a second line of it\nTraceback",
    ]
    shown = b"".join(terminal.feed(chunk) for chunk in chunks) + terminal.flush()
    assert shown.decode().splitlines() == [
        "[croco] rule score started: x.parquet",
        "  [croco] scored 12 samples",
        "[croco] ERROR in rule score: [file x] bad",
        "  a second line of it",
        "Traceback",
    ]
    everything = TerminalFilter(verbose=True)
    assert b"".join(everything.feed(chunk) for chunk in chunks) == b"".join(chunks)
