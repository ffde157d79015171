"""The helper processes a step starts (torchrun and its ranks, data-parallel engines, vLLM's engine core, the
EuroEval interpreter) end with the step, however it ends.

A process that runs a step becomes a child subreaper (PR_SET_CHILD_SUBREAPER), so its descendants stay in its
tree even when their parent dies first; a process group would not do, as some leave it (torchrun starts its ranks
in sessions of their own). On the way out, `end_descendants` walks /proc for the whole tree and ends it: SIGTERM,
a grace period, SIGKILL. A SIGTERM to the step's process (a cancelled run, a time limit) becomes `SystemExit`, so
that the step's `finally` blocks and atexit handlers run first.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import threading
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36
GRACE_S = 5.0


def _prctl(option: int, value: int) -> None:
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(option, value, 0, 0, 0)


def become_subreaper() -> None:
    """Orphaned descendants of this process are reparented to it, not to init: none leaves its tree."""
    _prctl(PR_SET_CHILD_SUBREAPER, 1)


def die_with_parent(parent: int) -> None:
    """SIGKILL this process when its parent dies; at once if `parent` is already gone (it may have died before the
    request was made). Called by the child itself: nothing runs between fork and exec."""
    _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:
        os.kill(os.getpid(), signal.SIGKILL)


def _parents() -> dict[int, int]:
    """pid -> parent pid of every process on the machine."""
    out = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, IndexError, ValueError):
            # the command name (in parentheses) may hold spaces and parentheses: split after the last ')'
            out[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
    return out


def descendants(root: int, spare: Iterable[int] = ()) -> list[int]:
    """Every process below `root`, but those in `spare` and their own descendants."""
    spared = set(spare)
    children: dict[int, list[int]] = {}
    for pid, parent in _parents().items():
        children.setdefault(parent, []).append(pid)
    found, todo = [], list(children.get(root, []))
    while todo:
        pid = todo.pop()
        if pid in spared:
            continue
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


def _signal_all(pids: Iterable[int], signum: int) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signum)


def _reap() -> None:
    """Collect exited children (as a subreaper this process inherits orphans), so that they count as gone."""
    with contextlib.suppress(ChildProcessError):
        while os.waitpid(-1, os.WNOHANG)[0]:
            pass


def end_descendants(spare: Iterable[int] = (), grace: float = GRACE_S) -> list[int]:
    """End every descendant of this process (but `spare` and theirs): SIGTERM, then SIGKILL after `grace` seconds
    to those still there. The pids it found."""
    spare = list(spare)
    found = descendants(os.getpid(), spare)
    if not found:
        return []
    _signal_all(found, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        _reap()
        if not descendants(os.getpid(), spare):
            return found
        time.sleep(0.05)
    _signal_all(descendants(os.getpid(), spare), signal.SIGKILL)
    _reap()
    return found


def kill_descendants_now(spare: Iterable[int] = ()) -> None:
    """SIGKILL every descendant at once (the step's job is gone: nobody waits for a clean end)."""
    _signal_all(descendants(os.getpid(), spare), signal.SIGKILL)


def _exit_on_sigterm(signum, _frame):
    raise SystemExit(128 + signum)


@contextlib.contextmanager
def step_process(spare: Iterable[int] = ()) -> Iterator[None]:
    """Run a step in this process such that a SIGTERM ends it like an exception (finally blocks run), and that
    whatever processes it started end with it. `spare`: processes that must outlive the step (a preloaded
    interpreter this process started for the run's other jobs)."""
    become_subreaper()
    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        yield
    finally:
        end_descendants(spare)
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
