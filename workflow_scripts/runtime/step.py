"""Glue between a Snakemake `script:` job and a step function.

`run_step` writes everything the step prints, including native libraries and child processes writing
to file descriptors 1 and 2, into the rule's log file. The terminal gets the workflow's own `[croco]` lines
(a step's start, its summary lines, its end) and, from an error on, everything: one run of the demo is dozens
of lines there instead of thousands of library lines; `CROCO_VERBOSE=1` shows the libraries' output too. A
`UserError` becomes one clear message instead of a traceback. The step runs in a worker forked from
the run's preloaded interpreter where there is one (runtime/forkserver.py), else in the job's own process;
in both, a SIGTERM ends it like an exception and the processes it started end with it.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time
import traceback
from collections.abc import Callable
from pathlib import Path

from workflow_scripts.errors import UserError

VERBOSE_ENV = "CROCO_VERBOSE"
WORKFLOW_PREFIX = b"[croco]"
ERROR_PREFIX = b"[croco] ERROR"


class TerminalFilter:
    """Which of a step's output lines the terminal shows: the `[croco]` ones until an `[croco] ERROR` line, then
    every line (a message may span several); with `verbose`, every line. Bytes, fed in arbitrary chunks."""

    def __init__(self, verbose: bool):
        self.everything = verbose
        self.partial = b""

    def feed(self, chunk: bytes) -> bytes:
        if self.everything:
            return chunk
        lines = (self.partial + chunk).split(b"\n")
        self.partial = lines.pop()
        shown = []
        for line in lines:
            text = line.rsplit(b"\r", 1)[-1].lstrip()  # a progress bar redraws its line after \r
            if text.startswith(ERROR_PREFIX):
                self.everything = True
            if self.everything or text.startswith(WORKFLOW_PREFIX):
                shown.append(line + b"\n")
        return b"".join(shown)

    def flush(self) -> bytes:
        rest, self.partial = self.partial, b""
        text = rest.rsplit(b"\r", 1)[-1].lstrip()
        return rest + b"\n" if rest and (self.everything or text.startswith(WORKFLOW_PREFIX)) else b""


def verbose() -> bool:
    return os.environ.get(VERBOSE_ENV, "") not in ("", "0")


@contextlib.contextmanager
def tee_to_log(log_path: str | None):
    if not log_path:
        yield
        return
    Path(log_path).parent.mkdir(parents=True, exist_ok=True)
    log = open(log_path, "ab", buffering=0)
    read_end, write_end = os.pipe()
    saved_out, saved_err = os.dup(1), os.dup(2)
    terminal = TerminalFilter(verbose())

    def pump():
        while True:
            chunk = os.read(read_end, 1 << 16)
            if not chunk:
                break
            log.write(chunk)
            shown = terminal.feed(chunk)
            if shown:
                os.write(saved_err, shown)
        shown = terminal.flush()
        if shown:
            os.write(saved_err, shown)

    thread = threading.Thread(target=pump, daemon=True)
    thread.start()
    sys.stdout.flush()
    sys.stderr.flush()
    os.dup2(write_end, 1)
    os.dup2(write_end, 2)
    os.close(write_end)
    try:
        yield
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(saved_out, 1)
        os.dup2(saved_err, 2)
        thread.join(timeout=10)
        os.close(read_end)
        os.close(saved_out)
        os.close(saved_err)
        log.close()


def run_step(snakemake, step: Callable[..., None], loads_models: bool = False) -> None:
    """Run `step(snakemake)` with its output teed to the rule's log; exit 1 on a UserError. In a local run, the
    step runs in a worker forked from a preloaded interpreter (workflow_scripts.runtime.forkserver), which a step
    that `loads_models` starts if it is not running yet."""
    from workflow_scripts.runtime.forkserver import Refused, delegate

    outcome = delegate(snakemake, step, loads_models)
    if isinstance(outcome, int):
        code = outcome
    else:
        code = run_here(snakemake, step, note=outcome.reason if isinstance(outcome, Refused) else "")
    if code:
        sys.exit(code)


def run_here(snakemake, step: Callable[..., None], where: str = "", note: str = "") -> int:
    """Run `step(snakemake)` in this process, teed to the rule's log: 0, or 1 after an error (a UserError in one
    line, anything else with its traceback, both in the log). `where` says
    in the log which process runs it, when not the job's own; `note`, why it runs here when a worker would have.
    A SIGTERM ends the step like an exception, and every process the step started ends with it
    (runtime/processes.py)."""
    from workflow_scripts.runtime.fingerprint import check_step_imports
    from workflow_scripts.runtime.forkserver import started_server
    from workflow_scripts.runtime.processes import step_process

    log_path = snakemake.log[0] if len(snakemake.log) else None
    spare = [pid for pid in [started_server()] if pid]  # the run's preloaded interpreter outlives this step
    with tee_to_log(log_path), step_process(spare):
        started = time.time()
        print(f"[croco] rule {snakemake.rule} started: {', '.join(map(str, snakemake.output))}", flush=True)
        if where:
            print(f"[croco] running in {where}", flush=True)
        if note:
            print(f"[croco] {note}", flush=True)
        try:
            step(snakemake)
        except UserError as exc:
            print(f"\n[croco] ERROR in rule {snakemake.rule}: {exc}", file=sys.stderr, flush=True)
            return 1
        except Exception as exc:
            # a bug, not bad input: its traceback goes into the job's log, where a cluster job's reader looks
            # (and, after this line, to the terminal)
            where_logged = f" (traceback in {log_path})" if log_path else ""
            print(
                f"\n[croco] ERROR in rule {snakemake.rule}: {type(exc).__name__}: {exc}{where_logged}",
                file=sys.stderr,
                flush=True,
            )
            traceback.print_exc()
            return 1
        gap = check_step_imports(step)
        if gap:
            print(f"\n[croco] ERROR in rule {snakemake.rule}: {gap}", file=sys.stderr, flush=True)
            return 1
        print(f"[croco] rule {snakemake.rule} finished in {time.time() - started:.1f} s", flush=True)
    return 0


def run_worker(work: Callable[[], None], label: str) -> int:
    """Body of a step's helper process (a data-parallel engine, a training rank): its exit code, with a
    UserError printed as one clear line (the parent step reports the failure)."""
    try:
        work()
    except UserError as exc:
        print(f"[croco] ERROR in {label}: {exc}", file=sys.stderr, flush=True)
        return 2
    return 0


def child_env(**extra: str) -> dict[str, str]:
    """Environment of a helper process started by a step (`python -m workflow_scripts....`, importable as the
    installed package): this one's, plus `extra`."""
    return {**os.environ, **extra}
