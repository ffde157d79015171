"""The preloaded interpreter that local jobs fork from (workflow_scripts.runtime.forkserver), for real: a job's process
hands its step to a worker that runs it with the job's directory, environment, streams and thread count; errors
read as they do without it; a killed or cancelled job takes its worker with it; a step without models does not
start the server; the run's end stops it. That a whole run gives the same bytes either way is
tests/test_determinism.py's (its first run uses the server, its second does not)."""

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from workflow_scripts import forkserver
from workflow_scripts.runtime.forkserver import WORKER_NOTE, is_running, wanted

TESTS = Path(__file__).parent


@pytest.fixture(scope="module")
def server_directory():
    """A server directory as the Snakefile's onstart makes one, owned by this test process; stopped at the end."""
    directory = Path(tempfile.mkdtemp(prefix="croco-forkserver-test-"))
    yield directory
    os.environ[forkserver.ENV_DIRECTORY] = str(directory)
    forkserver.disable()


def start_job(directory: Path, work: Path, step: str, loads_models: bool = True, **env) -> subprocess.Popen:
    """A job's process, as Snakemake starts one for a rule's script, running `step` of tests/forkserver_steps.py."""
    code = (
        "import forkserver_steps as steps; "
        f"steps.run({step!r}, 'demo_rule', 'out.txt', 'logs/demo.log', loads_models={loads_models})"
    )
    return subprocess.Popen(
        [sys.executable, "-c", code],
        cwd=work,
        env={
            **os.environ,
            "PYTHONPATH": str(TESTS),
            forkserver.ENV_DIRECTORY: str(directory),
            forkserver.ENV_OWNER: str(os.getpid()),
            "OMP_NUM_THREADS": "1",
            **env,
        },
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(job: subprocess.Popen) -> tuple[int, str, str]:
    out, err = job.communicate(timeout=600)
    return job.returncode, out, err


def test_a_step_runs_in_a_worker_with_the_jobs_context(server_directory, tmp_path):
    for threads in ("1", "2"):  # the first job starts the server, with its own OMP_NUM_THREADS
        job = start_job(server_directory, tmp_path, "context_step", CROCO_TEST_MARKER=f"job-{threads}", OMP_NUM_THREADS=threads)
        rc, out, err = finish(job)
        assert rc == 0, err[-3000:]
        record = json.loads((tmp_path / "out.txt").read_text())
        assert record["cwd"] == str(tmp_path) and record["marker"] == f"job-{threads}" and record["path_has_tests"]
        assert record["torch_threads"] == int(threads)  # the job's thread count, not the server's
    log = (tmp_path / "logs/demo.log").read_text()
    assert WORKER_NOTE in log and "step: hello from the step" in log and "rule demo_rule finished" in log
    assert "step: hello from the step" in err + out  # the log is teed to the job's own streams
    server = int((server_directory / "pid").read_text())
    assert is_running(server) and record["pid"] != server


def test_errors_read_as_without_the_server(server_directory, tmp_path):
    rc, _, err = finish(start_job(server_directory, tmp_path, "user_error_step"))
    assert rc == 1 and "[croco] ERROR in rule demo_rule: [file scores.parquet] the table has no column 'reward'" in err
    assert "Traceback" not in err
    rc, _, err = finish(start_job(server_directory, tmp_path, "crashing_step"))
    assert rc == 1 and "Traceback" in err and "ValueError: an unexpected failure" in err


@pytest.mark.parametrize("signum", [signal.SIGKILL, signal.SIGTERM])
def test_a_killed_job_takes_its_worker_with_it(server_directory, tmp_path, signum):
    job = start_job(server_directory, tmp_path, "sleeping_step")
    deadline = time.time() + 300
    while not (tmp_path / "out.txt").exists() or not (tmp_path / "out.txt").read_text():
        assert job.poll() is None and time.time() < deadline, job.communicate()
        time.sleep(0.1)
    worker = int((tmp_path / "out.txt").read_text())
    assert worker != job.pid and is_running(worker)
    job.send_signal(signum)  # SIGKILL: the worker sees its job's connection close; SIGTERM: forwarded to it
    job.wait(timeout=30)
    assert job.returncode != 0
    deadline = time.time() + 10
    while is_running(worker) and time.time() < deadline:
        time.sleep(0.1)
    assert not is_running(worker)


def test_a_step_without_models_does_not_start_a_server(tmp_path):
    directory = Path(tempfile.mkdtemp(prefix="croco-forkserver-test-"))
    try:
        rc, _, err = finish(start_job(directory, tmp_path, "user_error_step", loads_models=False))
        assert rc == 1 and "[croco] ERROR in rule demo_rule" in err
        assert not (directory / "pid").exists() and WORKER_NOTE not in (tmp_path / "logs/demo.log").read_text()
    finally:
        os.environ[forkserver.ENV_DIRECTORY] = str(directory)
        forkserver.disable()


def test_the_end_of_the_run_stops_the_server(server_directory):
    server = int((server_directory / "pid").read_text())
    assert is_running(server)
    os.environ[forkserver.ENV_DIRECTORY] = str(server_directory)
    forkserver.disable()  # the Snakefile's onsuccess and onerror
    deadline = time.time() + 10
    while is_running(server) and time.time() < deadline:
        time.sleep(0.1)
    assert not is_running(server) and not server_directory.exists()


def test_runs_on_this_machine_use_it_unless_told_or_on_a_gpu_machine():
    assert wanted("auto", local=True, gpus=False) and wanted(True, local=True, gpus=True)
    assert not wanted("auto", local=True, gpus=True) and not wanted(False, local=True, gpus=False)
    assert not wanted(True, local=False, gpus=False)  # cluster jobs run in their own processes
