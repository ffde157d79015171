"""Run the real workflow in a scratch copy of the repository."""

from __future__ import annotations

import copy
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from workflow_scripts.runtime.fingerprint import CHECK_ENV

REPO = Path(__file__).resolve().parents[1]
TEST_DATA = Path(__file__).resolve().parent / "data"  # fixtures the tests read
WORKFLOW_PARTS = ["Snakefile", "rules", "workflow_scripts", "schemas", "profiles", "data", "config.yaml", "presets", "report"]


def make_workspace(dest: Path) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    for part in WORKFLOW_PARTS:
        src = REPO / part
        if src.is_dir():
            shutil.copytree(src, dest / part, ignore=shutil.ignore_patterns("__pycache__"))
        elif src.exists():
            shutil.copy2(src, dest / part)
    return dest


def write_config(workspace: Path, config: dict, name: str = "test-config.yaml") -> Path:
    path = workspace / name
    path.write_text(yaml.safe_dump(config, sort_keys=False, allow_unicode=True))
    return path


def worker_cores() -> int:
    """The cores one pytest-xdist worker may use: the machine's, shared out between the workers. Never more
    busy threads than cores: on the 2-core machine, two 2-thread torch trainings side by side took 290 s each,
    two 1-thread ones 79 s each (OpenMP threads spin while they wait for a core the other process holds)."""
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    return max(1, len(os.sched_getaffinity(0)) // workers)


def within_worker_cores(args: tuple[str, ...]) -> list[str]:
    """Snakemake's arguments with `--cores N` lowered to this worker's share (Snakemake then lowers every job's
    threads to it)."""
    args = list(args)
    for i, arg in enumerate(args[:-1]):
        if arg == "--cores" and args[i + 1].isdigit():
            args[i + 1] = str(min(int(args[i + 1]), worker_cores()))
    return args


def snakemake(workspace: Path, *args: str, env: dict | None = None, timeout: int = 1800) -> subprocess.CompletedProcess:
    # The workspace is a copy of the project: its jobs (and their helper processes) import its own
    # workflow_scripts, not the installed package's. Every job fails if its step imported a module of the
    # project that its code fingerprint leaves out (workflow_scripts/runtime/fingerprint.py).
    full_env = {**os.environ, CHECK_ENV: "1", **(env or {}), "PYTHONPATH": str(workspace)}
    return subprocess.run(
        [sys.executable, "-m", "snakemake", *within_worker_cores(args)],
        cwd=workspace,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def planned_jobs(result: subprocess.CompletedProcess) -> list[tuple[str, str]]:
    """(rule, first output) of every job a dry run lists, sorted."""
    jobs, rule = [], None
    for line in result.stdout.splitlines() + result.stderr.splitlines():
        m = re.match(r"^(?:local)?rule (\w+):$", line.strip())
        if m:
            rule = m.group(1)
            continue
        m = re.match(r"^output: (\S+?),?(\s|$)", line.strip())
        if m and rule:
            jobs.append((rule, m.group(1)))
            rule = None
        elif rule == "all" and line.strip().startswith("jobid"):
            jobs.append(("all", ""))
            rule = None
    return sorted(set(jobs))


def work_jobs(result) -> list[tuple[str, str]]:
    """Planned jobs without the aggregate target rule."""
    return [j for j in planned_jobs(result) if j[0] != "all"]


def load_default_config() -> dict:
    return yaml.safe_load((REPO / "config.yaml").read_text())


MODEL = "smollm2-135m"


def paper_config() -> dict:
    """The paper preset as the workflow sees it: validated, defaults filled in."""
    from snakemake.utils import validate

    config = yaml.safe_load((REPO / "presets/paper.yaml").read_text())
    validate(config, str(REPO / "schemas/config.schema.yaml"))
    return config


def tiny_config(evaluation: bool = False) -> dict:
    """The embedded default at tiny scale; evaluation and report off unless asked for."""
    c = copy.deepcopy(load_default_config())
    c["prompts"]["limit"] = 4
    c["prompts"]["translations"] = {"da": "data/translations/da.jsonl"}  # de goes through the translate rule
    c["translation"] = {"model": MODEL, "format": "instruction", "max_tokens": 48}
    c["generation"].update(samples=3, max_tokens=16)
    c["training"]["common"].update(max_steps=1, per_device_batch_size=2, max_length=128)
    c["threads"] = {"engine": 2, "training": 1}
    if not evaluation:
        c["evaluation"]["report"] = False
        c["evaluation"] = {"report": False, "euroeval": {"enabled": False}, "arena": {"comparisons": {}}}
    return c


def plan_roots(workspace: Path, config: Path, lang: str) -> list[str]:
    """`python -m workflow_scripts.planning.plan roots <lang>`: the files to --forcerun to rebuild one language."""
    return subprocess.run(
        [sys.executable, "-m", "workflow_scripts.planning.plan", "roots", lang, "--configfile", str(config)],
        cwd=workspace,
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(workspace)},
    ).stdout.split()


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def screenshot(url: str, path: Path, height: int):
    """A headless Chromium screenshot of a page, as an image array."""
    import matplotlib.image

    subprocess.run(
        [
            CHROMIUM,
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            f"--window-size=1400,{height}",
            "--virtual-time-budget=15000",
            f"--screenshot={path}",
            url,
        ],
        check=True,
        capture_output=True,
        timeout=180,
    )
    return matplotlib.image.imread(path)
