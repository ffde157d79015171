"""A preloaded interpreter that local jobs fork from, so that each job does not import the model libraries again.

Importing torch, transformers, vLLM, PEFT, TRL and datasets takes ~10 s of CPU per job on a 2-core machine, as much
as a tiny job's work (measured: 45% of the CPU time of the tests' tiny DAG). For a run on this machine (not on a
cluster), the Snakefile's `onstart` names a directory in CROCO_FORKSERVER; the first job whose step loads models
starts the server there (`python -m workflow_scripts.runtime.forkserver DIR`), which imports the libraries once and forks
one worker per job. Each job's own process stays what Snakemake started and waits: it hands the worker its
standard streams, working directory, environment and `snakemake` object, forwards signals, and exits with the
worker's exit code. A step's output does not depend on the path taken; without a server (a cluster job, a dry
run, a machine with NVIDIA GPUs under `forkserver: auto`, `forkserver: false`, a server that failed to start),
the step runs in the job's own process as before.

The server leaves alone what a library sets up at import for one kind of step only: EuroEval (imported by the
EuroEval steps themselves) is not preloaded, as it sets global logging levels that would silence the other steps.

Forking is safe only from a single-threaded process: a lock another thread held at the fork stays locked in the
child forever. The server imports with the threads libraries would start at import turned off (OpenBLAS's
thread servers, pyarrow's jemalloc background thread), checks before every fork that it still runs one thread,
and otherwise refuses: the job then runs its step in its own process, and its log says why. Each worker takes
its job's thread counts (torch, OpenBLAS), reseeds Python's, numpy's and torch's global generators from the
job's entropy (as a fresh process seeds them from the OS), and ends its whole process tree however it ends
(runtime/processes.py).
"""

from __future__ import annotations

import atexit
import contextlib
import gc
import importlib
import os
import pickle
import random
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from pathlib import Path

# The directory of this run's server; set by the Snakefile for local runs (enable()).
ENV_DIRECTORY = "CROCO_FORKSERVER"
# The Snakemake process the server belongs to: it exits when that process is gone.
ENV_OWNER = "CROCO_FORKSERVER_OWNER"
# More modules for the server to import (comma-separated), for steps of your own that import other heavy libraries.
ENV_PRELOAD = "CROCO_FORKSERVER_PRELOAD"
# vLLM first: it configures its logging at import from the environment as it is (TRL sets VLLM_LOGGING_LEVEL).
PRELOAD = (
    "torch",
    "vllm",
    "transformers",
    "peft",
    "datasets",
    "trl",
    "pyarrow.parquet",
    "pandas",
)
# What a vLLM engine imports when it starts (~1 s), on a CPU.
PRELOAD_CPU_ENGINE = ("vllm.v1.engine.core", "vllm.v1.worker.cpu_worker", "vllm.v1.worker.cpu_model_runner")
# Lazily imported attributes the steps use (importing a package does not import them).
PRELOAD_ATTRIBUTES = {
    "vllm": ("LLM", "SamplingParams"),
    "transformers": ("AutoConfig", "AutoTokenizer", "AutoModelForCausalLM", "Trainer"),
    "trl": ("DPOConfig", "DPOTrainer", "SFTConfig", "SFTTrainer"),
}
STARTUP_TIMEOUT_S = 300
# The project's own modules are imported afresh in each worker, from the job's sys.path (a test workspace holds
# its own copy of them).
OWN_PACKAGE = "workflow_scripts"
# Written into each job's log by a worker.
WORKER_NOTE = "a worker forked from the preloaded interpreter (workflow_scripts.runtime.forkserver)"
HEADER = struct.Struct("!Q")
CODE = struct.Struct("!i")
# What the server sets before it imports anything: libraries that would otherwise start threads at import.
SINGLE_THREADED_IMPORTS = {
    "OPENBLAS_NUM_THREADS": "1",  # numpy's and scipy's OpenBLAS start (cores - 1) thread servers when loaded
    "JE_ARROW_MALLOC_CONF": "background_thread:false",  # pyarrow's bundled jemalloc starts a purging thread
}
# The pid the server answers with instead of a worker's, when it will not fork; a reason follows.
REFUSED = 0


def wanted(setting, local: bool, gpus: bool) -> bool:
    """Whether a run uses the server: its jobs run on this machine, and `forkserver` is true, or auto on a machine
    without NVIDIA GPUs (GPU jobs run for minutes, and forking them has not been measured)."""
    return local and (setting is True or (setting == "auto" and not gpus))


def enable(workflow, config: dict) -> None:
    """Snakefile `onstart`: offer a server to this run's jobs, if they run on this machine."""
    gpus = Path("/dev/nvidiactl").exists()  # the NVIDIA driver's control device: there are GPUs here
    if not wanted(config.get("forkserver", "auto"), workflow.local_exec and not workflow.remote_exec, gpus):
        return
    os.environ[ENV_DIRECTORY] = tempfile.mkdtemp(prefix="croco-forkserver-")
    os.environ[ENV_OWNER] = str(os.getpid())


def disable() -> None:
    """Snakefile `onsuccess`/`onerror`: stop this run's server and remove its directory."""
    directory = os.environ.pop(ENV_DIRECTORY, None)
    os.environ.pop(ENV_OWNER, None)
    if not directory:
        return
    with contextlib.suppress(FileNotFoundError, ValueError, ProcessLookupError):
        os.kill(int((Path(directory) / "pid").read_text()), signal.SIGTERM)
    shutil.rmtree(directory, ignore_errors=True)


# ---------------------------------------------------------------- client: the job's own process


class Refused:
    """The server did not fork a worker for this call (it was not single-threaded): why, for the job's log."""

    def __init__(self, reason: str):
        self.reason = reason


def delegate(snakemake, step, loads_models: bool) -> int | Refused | None:
    """Run `step(snakemake)` (through step.run_here) in a worker of this run's server: its exit code; a Refused
    when the server would not fork; None when there is no server to use. A step that loads models starts the
    server if nobody has yet. Signals this process gets (a cancelled run, a time limit) are passed on to the
    worker's process group."""
    if step.__module__ == "__main__":  # a worker imports the step by name
        return None
    forked = submit("workflow_scripts.runtime.step", "run_here", (snakemake, step, WORKER_NOTE), start=loads_models)
    if not isinstance(forked, Forked):
        return forked
    forward = lambda signum, _frame: forked.send_signal(signum)  # noqa: E731
    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, forward)
    return forked.wait()


# The server this process started, if any: it serves the run's other jobs, so this job's step must not end it.
_started_server: int | None = None


def started_server() -> int | None:
    return _started_server


class Forked:
    """A call running in a worker of the server, awaited like a subprocess.Popen. It ends if this process dies
    or closes it before it finished."""

    def __init__(self, connection: socket.socket, pid: int | None):
        self.connection, self.pid, self.returncode = connection, pid, None

    def send_signal(self, signum: int) -> None:
        """To the worker's process group (the worker leads it): the worker and the processes its call started."""
        if self.pid is not None and self.returncode is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.pid, signum)

    def wait(self) -> int:
        if self.returncode is None:
            code = receive_exactly(self.connection, CODE.size) if self.pid is not None else None
            self.connection.close()
            # No code: the worker died without one (killed, or a crash in native code).
            self.returncode = CODE.unpack(code)[0] if code is not None else 1
        return self.returncode


def submit(module: str, function: str, arguments: tuple, start: bool, env: dict | None = None) -> Forked | Refused | None:
    """Call module.function(*arguments) in a worker, with this process's standard streams, directory, sys.path
    and environment (or `env`); its return value (an int, or None for 0) is the worker's exit code. None when
    there is no server to use, Refused when it would not fork (then the caller runs it itself); `start`: start
    the server if nobody has yet."""
    directory = os.environ.get(ENV_DIRECTORY)
    if not directory or not Path(directory).is_dir():
        return None
    connection = connect(Path(directory), start=start)
    if connection is None:
        return None
    request = {
        "module": module,
        "function": function,
        "arguments": pickle.dumps(arguments),  # unpickled once the worker has this process's sys.path
        "cwd": os.getcwd(),
        "env": dict(os.environ if env is None else env),
        "path": list(sys.path),
        "argv": list(sys.argv),
        "entropy": int.from_bytes(os.urandom(8), "little"),  # the worker's random state is its own, not the server's
    }
    payload = pickle.dumps(request)
    sys.stdout.flush()
    sys.stderr.flush()
    socket.send_fds(connection, [HEADER.pack(len(payload)) + payload], [0, 1, 2])
    pid = receive_exactly(connection, HEADER.size)
    pid = HEADER.unpack(pid)[0] if pid is not None else None
    if pid == REFUSED:
        size = receive_exactly(connection, HEADER.size)
        reason = receive_exactly(connection, HEADER.unpack(size)[0]) if size is not None else None
        connection.close()
        return Refused(reason.decode(errors="replace") if reason else "no reason given")
    return Forked(connection, pid)


def connect(directory: Path, start: bool) -> socket.socket | None:
    """A connection to the server, started first if asked and not running; None if there is none to use."""
    address = str(directory / "socket")
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while True:
        connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            connection.connect(address)
            return connection
        except (FileNotFoundError, ConnectionRefusedError):  # not listening (yet)
            connection.close()
        if server_state(directory, start) == "absent" or time.monotonic() > deadline:
            return None
        time.sleep(0.2)  # starting: waiting costs no CPU, importing beside it would


def server_state(directory: Path, start: bool) -> str:
    """'starting' (the server imports, or this call just started it) or 'absent' (none, and none is started
    here, or it died)."""
    import fcntl

    with open(directory / "lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        pid_file = directory / "pid"
        if pid_file.exists():
            text = pid_file.read_text()
            if text == "failed":
                return "absent"
            if is_running(int(text)):
                return "starting"
            pid_file.write_text("failed")  # it died before it listened: do not start it again
            last = (directory / "server.log").read_text(errors="replace").strip().splitlines()[-1:] or ["no message"]
            print(f"[croco] the preloaded interpreter did not start ({last[0]}); jobs run their steps themselves", flush=True)
            return "absent"
        if not start:
            return "absent"
        with open(directory / "server.log", "ab") as log:
            server = subprocess.Popen(
                [sys.executable, "-m", __name__, str(directory)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # not killed with the job that started it: it serves the whole run
            )
        pid_file.write_text(str(server.pid))
        global _started_server
        _started_server = server.pid
        return "starting"


def is_running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie (exited, not yet reaped) counts as gone.
    with contextlib.suppress(OSError):
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    return True


def receive_exactly(connection: socket.socket, size: int) -> bytes | None:
    data = b""
    while len(data) < size:
        try:
            chunk = connection.recv(size - len(data))
        except InterruptedError:
            continue
        if not chunk:
            return None
        data += chunk
    return data


# ---------------------------------------------------------------- server


def thread_count() -> int:
    """This process's threads, native ones included (a Python-level count would miss OpenMP's or BLAS's)."""
    return len(os.listdir("/proc/self/task"))


def thread_names() -> list[str]:
    names = []
    for task in sorted(os.listdir("/proc/self/task")):
        with contextlib.suppress(OSError):
            names.append(Path(f"/proc/self/task/{task}/comm").read_text().strip())
    return names


def refuse(connection: socket.socket, reason: str) -> None:
    """Tell a caller that no worker is forked for it, and why (it runs its call itself)."""
    with contextlib.suppress(OSError, struct.error):
        connection.settimeout(10)
        header, fds, _, _ = socket.recv_fds(connection, HEADER.size, 3)
        for fd in fds:
            os.close(fd)
        receive_exactly(connection, HEADER.unpack(header)[0])  # the whole request, unused: the caller's send completes
    text = reason.encode()
    with contextlib.suppress(OSError):
        connection.sendall(HEADER.pack(REFUSED) + HEADER.pack(len(text)) + text)


def serve(directory: Path) -> None:
    owner = int(os.environ.get(ENV_OWNER, "0"))
    started = time.monotonic()
    os.environ.update(SINGLE_THREADED_IMPORTS)
    for name in PRELOAD:
        module = importlib.import_module(name)
        for attribute in PRELOAD_ATTRIBUTES.get(name, ()):
            getattr(module, attribute)
    from vllm.platforms import current_platform

    if current_platform.is_cpu():
        for name in PRELOAD_CPU_ENGINE:
            importlib.import_module(name)
    for name in filter(None, os.environ.get(ENV_PRELOAD, "").split(",")):
        importlib.import_module(name.strip())
    # The imported objects never change: out of the collector's reach, a worker's gc.collect() (vLLM calls it 5
    # times while an engine starts: 1.4 s) does not walk them, nor touch their pages.
    gc.freeze()
    print(
        f"[croco] forkserver: {', '.join(PRELOAD)} imported in {time.monotonic() - started:.1f} s; "
        f"{thread_count()} thread(s): {', '.join(thread_names())}",
        flush=True,
    )
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(directory / "socket"))
    listener.listen(16)
    listener.settimeout(1.0)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # workers are reaped by the kernel; their jobs wait for them
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        while owner == 0 or is_running(owner):
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                continue
            threads = thread_count()
            if threads > 1:  # a fork now could inherit a lock held by another thread: the job runs its step itself
                refuse(
                    connection,
                    f"the preloaded interpreter runs {threads} threads ({', '.join(thread_names())}), and forking a "
                    "multi-threaded process can deadlock the child; the step runs in the job's own process",
                )
            elif os.fork() == 0:
                listener.close()
                worker(connection)  # never returns
            connection.close()
    finally:  # stopped (SIGTERM), or its run ended without stopping it (killed)
        shutil.rmtree(directory, ignore_errors=True)


def worker(connection: socket.socket) -> None:
    """A forked worker: take over the caller's streams and context, make the call, report the exit code."""
    from workflow_scripts.runtime.processes import become_subreaper, end_descendants

    code = 1
    finished = threading.Event()
    try:
        for signum in (signal.SIGCHLD, signal.SIGHUP):
            signal.signal(signum, signal.SIG_DFL)
        signal.signal(signal.SIGTERM, exit_on_sigterm)  # a normal exit: finally blocks and atexit handlers run
        signal.signal(signal.SIGINT, signal.default_int_handler)
        os.setpgid(0, 0)  # its own group, which the job's process signals: the helper processes of its call get it too
        become_subreaper()  # helpers that leave the group (torchrun's ranks) stay in its tree, to be ended with it
        connection.settimeout(None)
        header, fds, _, _ = socket.recv_fds(connection, HEADER.size, 3)
        payload = receive_exactly(connection, HEADER.unpack(header)[0])
        for target, fd in zip((0, 1, 2), fds):
            os.dup2(fd, target)
            os.close(fd)
        request = pickle.loads(payload)  # plain values: imports nothing
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        sys.path[:] = request["path"]
        sys.argv[:] = request["argv"]
        tempfile.tempdir = None  # from the job's TMPDIR, not the server's
        for name in [m for m in sys.modules if m == OWN_PACKAGE or m.startswith(OWN_PACKAGE + ".")]:
            del sys.modules[name]
        threading.Thread(target=exit_with_job, args=(connection, finished), daemon=True).start()
        connection.sendall(HEADER.pack(os.getpid()))
        use_job_threads()
        reseed(request["entropy"])
        arguments = pickle.loads(request["arguments"])  # may import the job's modules: after the purge
        result = getattr(importlib.import_module(request["module"]), request["function"])(*arguments)
        code = 0 if result is None else int(result)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:
        traceback.print_exc()
        code = 1
    with contextlib.suppress(BaseException):
        atexit._run_exitfuncs()  # what the job's own process would do on its way out
    with contextlib.suppress(BaseException):
        sys.stdout.flush()
        sys.stderr.flush()
    with contextlib.suppress(BaseException):
        end_descendants()  # nothing the call started outlives it
    finished.set()
    with contextlib.suppress(OSError):
        connection.sendall(CODE.pack(code))
    os._exit(code)


def exit_with_job(connection: socket.socket, finished: threading.Event) -> None:
    """The job's process closed the connection before the step ended (killed: a time limit, a cancelled run):
    end the step and every process it started, at once."""
    from workflow_scripts.runtime.processes import kill_descendants_now

    with contextlib.suppress(OSError):
        connection.recv(1)
    if not finished.is_set():
        kill_descendants_now()
        os.killpg(0, signal.SIGKILL)


def exit_on_sigterm(signum, _frame):
    raise SystemExit(128 + signum)


def use_job_threads() -> None:
    """The job's thread counts (Snakemake sets OMP_NUM_THREADS and OPENBLAS_NUM_THREADS to its `threads`), which
    the OpenMP runtime and OpenBLAS only read when they are loaded, here in the server."""
    threads = os.environ.get("OMP_NUM_THREADS")
    if threads and threads.isdigit():
        import torch

        torch.set_num_threads(int(threads))
    blas = os.environ.get("OPENBLAS_NUM_THREADS") or threads
    if blas and blas.isdigit():
        from threadpoolctl import threadpool_limits

        threadpool_limits(limits=int(blas), user_api="blas")


def reseed(entropy: int) -> None:
    """A worker's random state: Python's, numpy's and torch's global generators seeded from the job's entropy, as a
    fresh process seeds them from the OS, instead of the one state every worker would inherit from the server.
    (What must be reproducible is seeded explicitly by the steps: training's seed, vLLM's per-request seeds.)"""
    import numpy as np
    import torch

    random.seed(entropy)
    np.random.seed(entropy % 2**32)
    torch.manual_seed(entropy)


if __name__ == "__main__":
    serve(Path(sys.argv[1]))
