"""Fixtures shared across test modules: the tiny DAG runs once per session and every test that only reads
its results (or dry-runs against it) uses that one run."""

import pytest

from helpers import make_workspace, snakemake, tiny_config, write_config


def pytest_collection_modifyitems(config, items):
    """`make test` runs two pytest-xdist workers (`-n 2 --dist loadgroup`): a module goes to one worker as a
    whole, so each module fixture (most run a tiny DAG) runs once, and the modules that read the session's tiny
    run share one group, hence one run."""
    uses_tiny_run = {item.module.__name__ for item in items if "tiny_run" in item.fixturenames}
    for item in items:
        module = item.module.__name__
        item.add_marker(pytest.mark.xdist_group("tiny_run" if module in uses_tiny_run else module))


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory):
    """The embedded default at tiny scale, run to the end: (workspace, config file). Tests must leave its
    files as they found them (change a file only inside try/finally, and dry-run)."""
    ws = make_workspace(tmp_path_factory.mktemp("tiny-run"))
    config = write_config(ws, tiny_config())
    result = snakemake(ws, "--cores", "2", "--configfile", str(config))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-6000:]
    return ws, config
