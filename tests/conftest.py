"""Fixtures shared across test modules (the tiny DAG runs once per session and every test that only reads its
results, or dry-runs against it, uses that one run), and how `make test` shares the work between two
pytest-xdist workers."""

import pytest

from helpers import make_workspace, snakemake, tiny_config, write_config

# The modules whose tests read the session's tiny run: they run on one worker, so the run happens once.
TINY_RUN_MODULES = ("test_workflow_end_to_end", "test_determinism")
TINY_RUN_GROUP = "tiny_run"
# Modules that run whole tiny DAGs, longest first (measured with --durations): each worker takes the next one
# when it is free and the short modules fill in at the end, so that the two workers finish together.
LONGEST_FIRST = (
    TINY_RUN_GROUP,
    "test_paper_protocol",
    "test_evaluation_end_to_end",
    "test_paper_experiments",
    "test_shard_resume",
    "test_slurm",
    "test_training_speed",
    "test_bad_input_catalogue",
    "test_hub_revisions",
)


def work_unit(nodeid: str) -> str:
    """What one worker runs as a whole: a module (its module fixtures then run once), or the tiny-run group."""
    module = nodeid.split("::", 1)[0].rsplit("/", 1)[-1].removesuffix(".py")
    return TINY_RUN_GROUP if module in TINY_RUN_MODULES else module


def pytest_xdist_make_scheduler(config, log):
    """`-n 2`: schedule whole work units (pytest-xdist's `loadgroup` marks do not reach its scheduler under
    pytest 9, whose node ids no longer carry the group suffix)."""
    from xdist.scheduler import LoadScopeScheduling

    class WorkUnitScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid):
            return work_unit(nodeid)

    config.option.loadscopereorder = False  # keep the order below, not "most tests first"
    return WorkUnitScheduling(config, log)


@pytest.hookimpl(trylast=True)  # after pytest's own fixture-based ordering, which a stable sort keeps inside a unit
def pytest_collection_modifyitems(config, items):
    users = {work_unit(item.nodeid) for item in items if "tiny_run" in item.fixturenames}
    if users - {TINY_RUN_GROUP}:
        raise pytest.UsageError(f"tests/conftest.py: add {sorted(users - {TINY_RUN_GROUP})} to TINY_RUN_MODULES")
    rank = {unit: i for i, unit in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(work_unit(item.nodeid), len(rank)))


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory):
    """The embedded default at tiny scale, run to the end: (workspace, config file). Tests must leave its
    files as they found them (change a file only inside try/finally, and dry-run)."""
    ws = make_workspace(tmp_path_factory.mktemp("tiny-run"))
    config = write_config(ws, tiny_config())
    result = snakemake(ws, "--cores", "2", "--configfile", str(config))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-6000:]
    return ws, config
