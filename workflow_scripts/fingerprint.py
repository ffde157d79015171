"""Content fingerprints that make caching content-addressed.

Snakemake hashes a rule's script but not the modules that script imports; `code_fingerprint` closes
that gap by hashing a module and every `workflow_scripts` module it imports, transitively, so the
rules can put it into `params` (which both the rerun check and `--cache` hash).
"""

from __future__ import annotations

import ast
import hashlib
import json
import os
from functools import cache
from pathlib import Path

PACKAGE = "workflow_scripts"
PACKAGE_DIR = Path(__file__).resolve().parent
# Modules that name and plan artifacts. What they decide reaches a step through its paths (the job itself) or its
# typed spec (hashed in params), so they are left out of code fingerprints: adding an artifact or an experiment
# there reruns nothing that exists.
PLANNING_MODULES = frozenset(f"{PACKAGE}.{name}" for name in ("layout", "plan", "config_checks"))
# How a step is run (in the job's process or a forked worker), not what it computes: outside fingerprints too.
EXECUTION_MODULES = frozenset({f"{PACKAGE}.forkserver"})


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def digest(*parts) -> str:
    """Stable short hash of JSON-serialisable parts."""
    blob = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str).encode()
    return sha256_bytes(blob)[:16]


@cache
def _file_sha256(path: str, size: int, mtime_ns: int) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def file_sha256(path: str | os.PathLike) -> str:
    """SHA-256 of a file's content (memoised per process on path, size and mtime)."""
    st = os.stat(path)
    return _file_sha256(str(Path(path).resolve()), st.st_size, st.st_mtime_ns)


def _internal_imports(module_path: Path) -> set[str]:
    tree = ast.parse(module_path.read_text(), filename=str(module_path))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == PACKAGE:
                    found.add(alias.name)
        elif isinstance(node, ast.ImportFrom) and node.module:
            if node.level == 0 and node.module.split(".")[0] == PACKAGE:
                found.add(node.module)
                for alias in node.names:  # `from workflow_scripts import pairs`
                    found.add(f"{node.module}.{alias.name}")
            elif node.level == 1:
                found.add(f"{PACKAGE}.{node.module}")
    return found


def _module_file(name: str) -> Path | None:
    rel = Path(*name.split(".")[1:])
    if not rel.parts:  # `from workflow_scripts import x`: x is the module
        return None
    for candidate in (PACKAGE_DIR / rel.with_suffix(".py"), PACKAGE_DIR / rel / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


@cache
def code_fingerprint(*entry_files: str) -> str:
    """Hash of the given source files plus all `workflow_scripts` modules they import (transitively), planning
    and execution modules aside."""
    seen: dict[str, Path] = {}
    todo = [Path(f).resolve() for f in entry_files]
    while todo:
        path = todo.pop()
        key = str(path)
        if key in seen:
            continue
        seen[key] = path
        for name in _internal_imports(path) - PLANNING_MODULES - EXECUTION_MODULES:
            mod = _module_file(name)
            if mod is not None:
                todo.append(mod.resolve())
    h = hashlib.sha256()
    for key in sorted(seen):
        rel = os.path.relpath(key, PACKAGE_DIR.parent)
        h.update(rel.encode() + b"\0" + seen[key].read_bytes() + b"\0")
    return h.hexdigest()[:16]
