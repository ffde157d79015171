"""Atomic artifact writes: a killed job never leaves a file or directory that looks complete.

Everything is written to a temporary sibling first and renamed into place (rename is atomic on POSIX
within one file system). A writer killed before the rename leaves its temporary sibling; the next writer of
the same output removes it.

What is renamed into place gets the modes the umask gives (files 0666 & ~umask, directories 0777 & ~umask),
as a plain `open` would: temporary files and directories are created private (0600, 0700), and so are the
files some libraries write (safetensors), which on shared cluster storage would hide results from the group.
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq


def sweep_stale(path: Path) -> None:
    """Remove what a killed writer of `path` left beside it (`.<name>.*.tmp`, which a kill gives no chance to remove).
    Nobody else writes it now: Snakemake runs one job per output at a time."""
    for stale in path.parent.glob(f".{glob.escape(path.name)}.*.tmp"):
        if stale.is_dir() and not stale.is_symlink():
            shutil.rmtree(stale, ignore_errors=True)
        else:
            stale.unlink(missing_ok=True)


def current_umask() -> int:
    """The process's umask, read without changing it where Linux allows (os.umask sets it for every thread)."""
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def apply_umask_modes(path: Path) -> None:
    """Give `path` (and, for a directory, everything under it) the modes the umask gives to new files and
    directories, keeping the execute bits of files that have them."""
    mask = current_umask()

    def file_mode(p: Path) -> int:
        executable = p.stat().st_mode & 0o111
        return (0o777 if executable else 0o666) & ~mask

    if path.is_dir() and not path.is_symlink():
        for root, dirs, files in os.walk(path):
            for name in dirs:
                if not os.path.islink(os.path.join(root, name)):
                    os.chmod(os.path.join(root, name), 0o777 & ~mask)
            for name in files:
                p = Path(root, name)
                if not p.is_symlink():
                    os.chmod(p, file_mode(p))
        os.chmod(path, 0o777 & ~mask)
    elif path.is_file() and not path.is_symlink():
        os.chmod(path, file_mode(path))


@contextlib.contextmanager
def atomic_file(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside `path`; on success rename it onto `path`, else remove it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    sweep_stale(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp)
    try:
        yield tmp
        apply_umask_modes(tmp)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


@contextlib.contextmanager
def atomic_directory(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary directory beside `path`; on success it replaces `path` whole."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    sweep_stale(path)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    try:
        yield tmp
        apply_umask_modes(tmp)
        if path.exists():
            shutil.rmtree(path)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)


def write_parquet(table: pa.Table, path: str | os.PathLike, **kwargs) -> None:
    with atomic_file(path) as tmp:
        pq.write_table(table, tmp, **kwargs)


def write_json(obj, path: str | os.PathLike) -> None:
    with atomic_file(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False) + "\n")
