"""Content fingerprints that make caching content-addressed.

Snakemake hashes a rule's script but not the modules that script imports; `code_fingerprint` closes that gap by
hashing a glue script and every `workflow_scripts` module it imports, transitively (imports inside functions
included, and the `__init__.py` of every package on the way), so the rules can put it into `params`, which both
the rerun check and `--cache` hash.

Two kinds of module stay out, on purpose:
- planning code (`workflow_scripts.planning`): what it decides reaches a step through its paths and its spec, so
  adding an artifact or an experiment reruns nothing that exists. A step that imports planning code would make
  an edit there change what the step computes without rerunning it: `code_modules` refuses such a step when the
  workflow is planned, naming the import chain;
- how a step is run (`EXECUTION_MODULES`: in the job's process or in a worker forked from a preloaded
  interpreter), which does not change what it computes (tests/workflow/test_determinism.py compares both ways).

`check_step_imports` compares what a step really imported at run time with its fingerprint (the tests turn it on
for every job they run).
"""

from __future__ import annotations

import ast
import hashlib
import json
import os
import sys
from functools import cache
from pathlib import Path

PACKAGE = "workflow_scripts"
PACKAGE_DIR = Path(__file__).resolve().parents[1]
PLANNING = f"{PACKAGE}.planning"
EXECUTION_MODULES = frozenset({f"{PACKAGE}.runtime.forkserver"})
# Set (to anything) for a job to fail when its step imported a module its fingerprint leaves out.
CHECK_ENV = "CROCO_CHECK_FINGERPRINTS"


class PlanningImportError(ImportError):
    """Run-time code imports planning code: an edit there would change a step without rerunning it."""


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


def module_file(name: str) -> Path | None:
    """The source file of a module of this package (a package's `__init__.py`); None for anything else."""
    if name != PACKAGE and not name.startswith(PACKAGE + "."):
        return None
    rel = Path(*name.split(".")[1:]) if "." in name else Path()
    for candidate in (PACKAGE_DIR / rel.with_suffix(".py") if rel.parts else None, PACKAGE_DIR / rel / "__init__.py"):
        if candidate is not None and candidate.is_file():
            return candidate
    return None


def module_name(path: Path) -> str | None:
    """The module name of a file inside this package, else None (a glue script)."""
    try:
        rel = path.resolve().relative_to(PACKAGE_DIR)
    except ValueError:
        return None
    parts = [PACKAGE, *rel.with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """Names of the modules of this package a file imports (anywhere in it), and their parent packages."""
    own = module_name(path)
    package = (own if path.name == "__init__.py" else own.rpartition(".")[0]) if own else None
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: from the importing module's package
                if package is None:
                    continue
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                module = f"{base}.{node.module}" if node.module else base
            else:
                module = node.module or ""
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names)  # `from workflow_scripts.runtime import step`
    modules = {name for name in found if module_file(name) is not None}
    for name in list(modules):  # importing a.b.c runs a/__init__.py and a/b/__init__.py first
        parts = name.split(".")
        modules.update(".".join(parts[:i]) for i in range(1, len(parts)))
    return modules


@cache
def code_modules(*entry_files: str) -> dict[str, Path]:
    """Every module of this package the given files import, transitively: name -> file, execution modules aside.
    Raises PlanningImportError, naming the chain, when one of them is planning code."""
    found: dict[str, Path] = {}
    parent: dict[str, str] = {}
    todo = [(str(Path(f).resolve()), Path(f).resolve()) for f in entry_files]
    seen_files = set()
    while todo:
        name, path = todo.pop()
        if path in seen_files:
            continue
        seen_files.add(path)
        imports = _imports(path) - EXECUTION_MODULES
        planning = [m for m in imports if m == PLANNING or m.startswith(PLANNING + ".")]
        if planning:
            chain = [max(planning, key=len), name]  # the module itself, not just its package
            while chain[-1] in parent:
                chain.append(parent[chain[-1]])
            raise PlanningImportError(
                f"{' <- '.join(chain)}: run-time code imports planning code, whose edits would not rerun the "
                "steps that use it; move what it needs out of workflow_scripts/planning (names: "
                "workflow_scripts/names.py)"
            )
        for imported in sorted(imports):
            if imported not in found:
                found[imported] = module_file(imported)
                parent[imported] = name
                todo.append((imported, found[imported]))
    return found


@cache
def code_fingerprint(*entry_files: str) -> str:
    """Hash of the given source files plus every module of this package they import, transitively (see
    code_modules)."""
    files = {str(Path(f).resolve()): Path(f).resolve() for f in entry_files}
    files.update({str(path): path for path in code_modules(*entry_files).values()})
    h = hashlib.sha256()
    for key in sorted(files):
        rel = os.path.relpath(key, PACKAGE_DIR.parent)
        h.update(rel.encode() + b"\0" + files[key].read_bytes() + b"\0")
    return h.hexdigest()[:16]


def unfingerprinted_modules(step_module: str) -> list[str]:
    """The modules of this package loaded in this process that the fingerprint of a step defined in `step_module`
    leaves out (its rule's glue script imports that module and workflow_scripts.runtime.step)."""
    entry_modules = (step_module, f"{PACKAGE}.runtime.step")
    entries = [module_file(name) for name in entry_modules]
    covered = set(code_modules(*(str(path) for path in entries if path is not None)))
    covered.update(entry_modules)
    covered.update(m for name in entry_modules for m in _parents(name))
    loaded = {name for name in sys.modules if name == PACKAGE or name.startswith(PACKAGE + ".")}
    return sorted(loaded - covered - EXECUTION_MODULES)


def _parents(name: str) -> list[str]:
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


def check_step_imports(step) -> str | None:
    """With CROCO_CHECK_FINGERPRINTS set: a message naming the modules the step imported at run time that its
    fingerprint leaves out (an edit to them would not rerun it), else None."""
    if not os.environ.get(CHECK_ENV) or not step.__module__.startswith(PACKAGE + "."):
        return None
    missing = unfingerprinted_modules(step.__module__)
    if not missing:
        return None
    return (
        f"{step.__module__}.{step.__name__} imported {', '.join(missing)} at run time, outside its code fingerprint "
        "(workflow_scripts/runtime/fingerprint.py): an edit there would not rerun it"
    )
