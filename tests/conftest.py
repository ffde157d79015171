"""Fixtures shared across test modules (the tiny DAG runs once per session, and every test that reads its
results, dry-runs against it or extends it with more targets starts from a copy of that one run), and how
`make test` shares the work between its pytest-xdist workers.

tests/unit/ runs no Snakemake and loads no model (`make test-fast`); tests/workflow/ runs the real workflow at
tiny scale. Module names are unique across both: a module is the unit of scheduling."""

import os
import shutil
from pathlib import Path

import pytest
from filelock import FileLock

from helpers import MODEL, make_workspace, snakemake, tiny_config, worker_cores, write_config

# Models trained or merged inside a test (tests/fixed_answer.py) use this worker's share of the cores, like
# the Snakemake runs (helpers.snakemake); set before anything imports torch.
os.environ["OMP_NUM_THREADS"] = str(worker_cores())

# Modules that run whole tiny DAGs, longest first (measured with --durations, which `make test` prints): each
# worker takes the next one when it is free and the short modules fill in at the end, so that the workers
# finish together. The first two share nothing with the tiny run, so their workers never wait for it; the third
# builds it (tiny_run_snapshot) while they run; the modules after it extend copies of it (tiny_run_copy).
LONGEST_FIRST = (
    "test_determinism",
    "test_paper_protocol",
    "test_workflow_end_to_end",
    "test_paper_experiments",
    "test_evaluation_end_to_end",
    "test_slurm",
    "test_shard_resume",
    "test_baselines",
    "test_your_own",
    "test_variants",
    "test_training_speed",
    "test_distributed_training",
    "test_bad_input_catalogue",
    "test_hub_revisions",
    "test_planning",
    "test_forkserver",
)


def work_unit(nodeid: str) -> str:
    """What one worker runs as a whole: a module (its module fixtures then run once)."""
    return nodeid.split("::", 1)[0].rsplit("/", 1)[-1].removesuffix(".py")


def pytest_xdist_make_scheduler(config, log):
    """`-n N`: schedule whole modules (pytest-xdist's `loadgroup` marks do not reach its scheduler under pytest 9,
    whose node ids no longer carry the group suffix)."""
    from xdist.scheduler import LoadScopeScheduling

    class WorkUnitScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid):
            return work_unit(nodeid)

    config.option.loadscopereorder = False  # keep the order below, not "most tests first"
    return WorkUnitScheduling(config, log)


@pytest.hookimpl(trylast=True)  # after pytest's own fixture-based ordering, which a stable sort keeps inside a unit
def pytest_collection_modifyitems(config, items):
    rank = {unit: i for i, unit in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(work_unit(item.nodeid), len(rank)))


def shared_directory(tmp_path_factory, worker_id: str) -> Path:
    """A directory every xdist worker of this session sees (the session's own base without xdist)."""
    base = tmp_path_factory.getbasetemp()
    return base if worker_id == "master" else base.parent


def build_once(shared: Path, name: str, build) -> Path:
    """`shared/name`, made by build(workspace) in the first worker that asks; the other waits for it."""
    ws, done = shared / name, shared / f"{name}.done"
    with FileLock(shared / f"{name}.lock"):
        if not done.exists():
            shutil.rmtree(ws, ignore_errors=True)  # a build that failed in the other worker
            build(ws)
            done.touch()
    return ws


def run_to_the_end(ws: Path, *targets: str) -> None:
    make_workspace(ws)
    config = write_config(ws, tiny_config())
    result = snakemake(ws, *targets, "--cores", "2", "--configfile", str(config))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-6000:]


@pytest.fixture(scope="session")
def base_model_snapshot(tmp_path_factory, worker_id):
    """A workspace whose one result is the demo's base model, materialized by the workflow's base_model rule
    once per session. Never changed afterwards: modules whose subject is not that rule start from it
    (seeded_workspace, materialized_model) instead of materializing it again (~30 s each)."""

    def build(ws):
        run_to_the_end(ws, f"results/models/{MODEL}")

    return build_once(shared_directory(tmp_path_factory, worker_id), "base-model-snapshot", build)


@pytest.fixture(scope="session")
def materialized_model(base_model_snapshot):
    """The demo's base model as a Hugging Face directory, to read (never to write)."""
    return base_model_snapshot / "results/models" / MODEL


@pytest.fixture(scope="session")
def seeded_workspace(base_model_snapshot):
    """seed(dest): a fresh workspace at `dest` that already holds the base model and Snakemake's record of it
    (so that the base_model job does not run again, as in a project that built it before)."""

    def seed(dest: Path) -> Path:
        make_workspace(dest)
        for part in ("results/models", ".snakemake/metadata"):
            shutil.copytree(base_model_snapshot / part, dest / part, symlinks=True)
        return dest

    return seed


@pytest.fixture(scope="session")
def tiny_run_snapshot(tmp_path_factory, worker_id):
    """The embedded default at tiny scale, run to the end once per session: the first worker that asks builds
    it, the other waits for it. Never changed afterwards: tests work on copies (tiny_run, tiny_run_copy). It
    materializes its own base model: its tests are those of the base_model rule."""
    return build_once(shared_directory(tmp_path_factory, worker_id), "tiny-run-snapshot", run_to_the_end)


@pytest.fixture(scope="session")
def tiny_run_copy(tiny_run_snapshot):
    """copy(dest): a workspace at `dest` holding the finished tiny run (results and Snakemake's records, so
    that nothing in it reruns), to change or to extend with other targets and settings."""

    def copy(dest: Path) -> Path:
        shutil.copytree(tiny_run_snapshot, dest, symlinks=True)
        return dest

    return copy


@pytest.fixture(scope="session")
def tiny_run(tiny_run_copy, tmp_path_factory):
    """The finished tiny run, in this worker's own copy: (workspace, config file). Tests must leave its files as
    they found them (change a file only inside try/finally, and dry-run): the worker's other modules share it."""
    ws = tiny_run_copy(tmp_path_factory.mktemp("tiny-run") / "ws")
    return ws, ws / "test-config.yaml"
