"""Code fingerprints hold every module a step runs, and nothing of planning: a step's glue script reaches no planning
module (planning refuses one that does, naming the chain); an edit to a module a step imports changes its
fingerprint, an edit to planning code does not; and what a step imported at run time is checked against its
fingerprint (the check every job of the tests runs, tests/helpers.py)."""

import os
import shutil
import subprocess
import sys
import textwrap

import pytest

from workflow_scripts.runtime.fingerprint import (
    CHECK_ENV,
    EXECUTION_MODULES,
    PLANNING,
    PlanningImportError,
    code_fingerprint,
    code_modules,
)

from helpers import REPO

GLUE = sorted((REPO / "rules/scripts").glob("*.py"))


@pytest.mark.parametrize("glue", GLUE, ids=lambda path: path.stem)
def test_no_step_reaches_planning_code(glue):
    modules = code_modules(str(glue))
    assert "workflow_scripts.runtime.step" in modules and "workflow_scripts.errors" in modules
    assert any(name.startswith("workflow_scripts.stages.") for name in modules)
    assert not [name for name in modules if name == PLANNING or name.startswith(PLANNING + ".")]
    assert not set(modules) & EXECUTION_MODULES
    # the packages on the way are run by the import too
    assert {"workflow_scripts", "workflow_scripts.runtime", "workflow_scripts.stages"} <= set(modules)


def test_a_step_that_imports_planning_code_is_refused_with_the_chain(tmp_path):
    glue = tmp_path / "glue.py"
    glue.write_text(
        "from workflow_scripts.stages.pairs import dataset_step\n"
        "from workflow_scripts.planning.layout import PROMPTS\n"  # what a step must never do
    )
    with pytest.raises(PlanningImportError, match=r"workflow_scripts\.planning\.layout <- .*glue\.py"):
        code_modules(str(glue))


def fingerprints(package_copy, *globs):
    """The fingerprints of glue scripts computed against a copy of the package (a fresh interpreter)."""
    code = textwrap.dedent(
        """
        import json, sys
        from workflow_scripts.runtime.fingerprint import code_fingerprint
        print(json.dumps({name: code_fingerprint(name) for name in sys.argv[1:]}))
        """
    )
    env = {**os.environ, "PYTHONPATH": str(package_copy)}
    # run in the copy: `python -c` puts the working directory first on the path
    out = subprocess.run(
        [sys.executable, "-c", code, *globs], env=env, cwd=package_copy, capture_output=True, text=True, check=True
    )
    import json

    return json.loads(out.stdout)


def test_an_edit_reaches_the_fingerprints_of_the_steps_that_import_it_only(tmp_path):
    shutil.copytree(REPO / "workflow_scripts", tmp_path / "workflow_scripts", ignore=shutil.ignore_patterns("__pycache__"))
    glue = [str(REPO / f"rules/scripts/{name}.py") for name in ("dataset", "train", "generate", "score")]
    before = fingerprints(tmp_path, *glue)
    names = tmp_path / "workflow_scripts/names.py"
    parser = "def parse_dataset(dataset: str) -> dict:\n"
    names.write_text(names.read_text().replace(parser, parser + "    dataset = str(dataset)\n"))
    after_names = fingerprints(tmp_path, *glue)
    changed = {name.rsplit("/", 1)[1] for name in glue if before[name] != after_names[name]}
    assert changed == {"dataset.py", "train.py"}
    for module in (tmp_path / "workflow_scripts/planning").rglob("*.py"):
        module.write_text(module.read_text() + "\n# an edit in planning code\n")
    assert fingerprints(tmp_path, *glue) == after_names
    runtime = tmp_path / "workflow_scripts/runtime/atomic.py"
    runtime.write_text(runtime.read_text() + "\n# an edit every step runs\n")
    assert all(value != after_names[name] for name, value in fingerprints(tmp_path, *glue).items())


def test_the_repositorys_fingerprints_are_stable():
    glue = str(REPO / "rules/scripts/train.py")
    assert code_fingerprint(glue) == code_fingerprint(glue) and len(code_fingerprint(glue)) == 16


def imports_check(extra_import: str = "") -> str:
    """What the run-time check says of the dataset step after it (and `extra_import`) was imported."""
    code = textwrap.dedent(
        f"""
        import importlib
        from workflow_scripts.runtime.fingerprint import check_step_imports
        from workflow_scripts.runtime.step import run_step  # what a rule's glue script imports
        from workflow_scripts.stages.pairs import dataset_step
        {extra_import}
        print(check_step_imports(dataset_step))
        """
    )
    env = {**os.environ, CHECK_ENV: "1", "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout.strip()


def test_the_run_time_check_names_a_module_outside_the_fingerprint():
    assert imports_check() == "None"
    # a run-time import nothing in the code states: invisible to the fingerprint, seen by the check
    message = imports_check('importlib.import_module("workflow_scripts.planning.layout")')
    assert "workflow_scripts.planning.layout" in message and "outside its code fingerprint" in message
    # the execution machinery is left out of fingerprints on purpose: loading it is no gap
    assert imports_check('importlib.import_module("workflow_scripts.runtime.forkserver")') == "None"
