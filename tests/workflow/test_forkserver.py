"""The preloaded interpreter that local jobs fork from (workflow_scripts.runtime.forkserver), for real: a job's process
hands its step to a worker that runs it with the job's directory, environment, streams and thread counts and a
random state of its own; errors read as they do without it; a job killed or cancelled takes its worker and every
process the step started with it; a server with more than one thread refuses to fork and the job runs its step
itself, saying why; a step without models does not start the server; the run's end stops it. That a whole run
gives the same bytes either way is tests/workflow/test_determinism.py's."""

import json
import os
import signal
import subprocess
import tempfile
from pathlib import Path

import pytest

from workflow_scripts.runtime import forkserver
from workflow_scripts.runtime.forkserver import WORKER_NOTE, is_running, wanted

from job_steps import gone, start, wait_for_record


def new_server_directory() -> Path:
    return Path(tempfile.mkdtemp(prefix="croco-forkserver-test-"))


def stop(directory: Path) -> None:
    os.environ[forkserver.ENV_DIRECTORY] = str(directory)
    forkserver.disable()


@pytest.fixture(scope="module")
def server_directory():
    """A server directory as the Snakefile's onstart makes one, owned by this test process; stopped at the end."""
    directory = new_server_directory()
    yield directory
    stop(directory)


def start_job(directory: Path, work: Path, step: str, loads_models: bool = True, **env) -> subprocess.Popen:
    """A job's process in a run whose server directory is `directory`."""
    owner = {forkserver.ENV_DIRECTORY: str(directory), forkserver.ENV_OWNER: str(os.getpid())}
    return start(work, step, loads_models, **owner, **env)


def finish(job: subprocess.Popen) -> tuple[int, str, str]:
    out, err = job.communicate(timeout=600)
    return job.returncode, out, err


def test_a_step_runs_in_a_worker_with_the_jobs_context(server_directory, tmp_path):
    records = []
    for threads in ("1", "2"):  # the first job starts the server, with its own thread variables
        work = tmp_path / f"job-{threads}"
        work.mkdir()
        thread_variables = {"OMP_NUM_THREADS": threads, "OPENBLAS_NUM_THREADS": threads}
        job = start_job(server_directory, work, "context_step", CROCO_TEST_MARKER=f"job-{threads}", **thread_variables)
        rc, out, err = finish(job)
        assert rc == 0, err[-3000:]
        record = json.loads((work / "out.txt").read_text())
        assert record["cwd"] == str(work) and record["marker"] == f"job-{threads}" and record["path_has_tests"]
        assert record["torch_threads"] == int(threads)  # the job's thread count, not the server's
        assert record["blas_threads"] and set(record["blas_threads"]) == {int(threads)}  # OpenBLAS's too
        log = (work / "logs/demo.log").read_text()
        assert WORKER_NOTE in log and "step: hello from the step" in log and "rule demo_rule finished" in log
        # the terminal shows the workflow's own lines; what the step (a library) prints is in the log only
        assert "[croco] rule demo_rule finished" in err and "step: hello from the step" not in err + out
        records.append(record)
    server = int((server_directory / "pid").read_text())
    assert is_running(server) and server not in {r["pid"] for r in records}
    # the server forked single-threaded, and each worker has a random state of its own, as fresh processes do
    assert "1 thread(s)" in (server_directory / "server.log").read_text()
    for generator in ("python_random", "numpy_random", "torch_random", "torch_initial_seed"):
        assert records[0][generator] != records[1][generator], generator


def test_errors_read_as_without_the_server(server_directory, tmp_path):
    rc, _, err = finish(start_job(server_directory, tmp_path, "user_error_step"))
    assert rc == 1 and "[croco] ERROR in rule demo_rule: [file scores.parquet] the table has no column 'reward'" in err
    assert "Traceback" not in err
    rc, _, err = finish(start_job(server_directory, tmp_path, "crashing_step"))
    assert rc == 1 and "Traceback" in err and "ValueError: an unexpected failure" in err
    log = (tmp_path / "logs/demo.log").read_text()  # the job's log has it too, not only the terminal
    assert "Traceback" in log and "ValueError: an unexpected failure" in log and "[croco] ERROR in rule demo_rule" in log


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_a_killed_job_leaves_no_process_of_its_step(server_directory, tmp_path, signum):
    """The step started a child, and the child a grandchild in a session of its own (out of the worker's process
    group, as torchrun's ranks are). SIGTERM (a cancelled run, a time limit) goes to the worker's group and ends the
    step like an exception (its finally block runs); SIGKILL closes the job's connection and the worker kills its
    whole tree. Either way nothing of the step remains."""
    job = start_job(server_directory, tmp_path, "family_step")
    pids = wait_for_record(job, tmp_path / "out.txt")
    assert pids["step"] != job.pid and all(is_running(pid) for pid in pids.values())
    job.send_signal(signum)
    job.wait(timeout=60)
    assert gone(pids.values()), {name: is_running(pid) for name, pid in pids.items()}
    if signum == signal.SIGTERM:
        assert job.returncode == 128 + signal.SIGTERM  # the worker's exit code, through the job's process
        assert (tmp_path / "out.txt.finally").read_text() == "ran"
    else:
        assert job.returncode == -signal.SIGKILL


def test_a_server_with_threads_refuses_to_fork_and_the_job_says_why(tmp_path):
    """A library that starts a thread at import (here tests/threaded_import.py, preloaded on request) makes a fork
    unsafe: the server refuses, and the job runs its step in its own process, its log saying why."""
    directory = new_server_directory()
    try:
        job = start_job(directory, tmp_path, "context_step", CROCO_FORKSERVER_PRELOAD="threaded_import")
        rc, out, err = finish(job)
        assert rc == 0, err[-3000:]
        record = json.loads((tmp_path / "out.txt").read_text())
        assert record["pid"] == job.pid  # the job's own process ran the step
        log = (tmp_path / "logs/demo.log").read_text()
        assert WORKER_NOTE not in log and "runs 2 threads" in log and "forking a multi-threaded process can deadlock" in log
        assert "2 thread(s)" in (directory / "server.log").read_text()
    finally:
        stop(directory)


def test_a_step_without_models_does_not_start_a_server(tmp_path):
    directory = new_server_directory()
    try:
        rc, _, err = finish(start_job(directory, tmp_path, "user_error_step", loads_models=False))
        assert rc == 1 and "[croco] ERROR in rule demo_rule" in err
        assert not (directory / "pid").exists() and WORKER_NOTE not in (tmp_path / "logs/demo.log").read_text()
    finally:
        stop(directory)


def test_the_end_of_the_run_stops_the_server(server_directory):
    server = int((server_directory / "pid").read_text())
    assert is_running(server)
    stop(server_directory)  # the Snakefile's onsuccess and onerror
    assert gone([server], timeout=10) and not server_directory.exists()


def test_runs_on_this_machine_use_it_unless_told_or_on_a_gpu_machine():
    assert wanted("auto", local=True, gpus=False) and wanted(True, local=True, gpus=True)
    assert not wanted("auto", local=True, gpus=True) and not wanted(False, local=True, gpus=False)
    assert not wanted(True, local=False, gpus=False)  # cluster jobs run in their own processes
