"""With fixed seeds, two runs of the embedded default at tiny scale in two separate clones produce identical
translations, generations, scores and pairs on a CPU, and an identical trained adapter. Compared by content
digest (workflow_scripts.digests), as a user would compare two runs. The first run is the session's shared
tiny DAG (tests/conftest.py); the second is made here, up to the pairs and one adapter, from the session's
other materialization of the base model (base_model_snapshot), made apart from the tiny run's. Both ran their
steps in workers of the preloaded interpreter (workflow_scripts.runtime.forkserver); the second then trains its adapter
and translates again without it, each in its job's own process, which must give the same bytes."""

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from workflow_scripts.digests import digests
from workflow_scripts.runtime.forkserver import WORKER_NOTE

from helpers import MODEL, snakemake, tiny_config, work_jobs, write_config

ADAPTER = f"results/adapters/{MODEL}/{MODEL}/multi-da+de+en/dpo-mean_minus_2sigma-chosen"
TRANSLATION = f"results/translations/{MODEL}/de.parquet"
COMPARED = [
    f"results/translations/{MODEL}",
    f"results/generations/{MODEL}",
    f"results/scores/{MODEL}",
    f"results/datasets/{MODEL}",
    ADAPTER,
]
PROMPTS, SAMPLES = 4, 3  # tiny_config()


@pytest.fixture(scope="module")
def two_runs(tiny_run, seeded_workspace, tmp_path_factory):
    ws = seeded_workspace(tmp_path_factory.mktemp("second"))
    config = write_config(ws, tiny_config())
    unforked = write_config(ws, {**tiny_config(), "forkserver": False}, "unforked.yaml")
    # The pairs of every experiment, then one adapter trained on them; then that adapter and the German
    # translation again, without the server (the translation last: nothing below it is asked for).
    for args, config_file in (
        (["--until", "preference_dataset"], config),
        ([ADAPTER], config),
        ([ADAPTER, "--forcerun", ADAPTER], unforked),
        ([TRANSLATION, "--forcerun", TRANSLATION], unforked),
    ):
        result = snakemake(ws, *args, "--cores", "2", "--configfile", str(config_file))
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-6000:]
        if config_file == unforked:
            assert work_jobs(result) and {rule for rule, _ in work_jobs(result)} <= {"train", "translate"}
    return [tiny_run[0], ws]


def test_generations_scores_pairs_and_adapter_are_identical(two_runs):
    first, second = [digests([ws / path for path in COMPARED], root=ws) for ws in two_runs]
    assert sorted(first) == sorted(second)
    kinds = {
        kind: [p for p in first if p.startswith(f"results/{kind}/")]
        for kind in ("translations", "generations", "scores", "datasets", "adapters")
    }
    assert len(kinds["translations"]) == 2  # German: the table and its stats
    assert len(kinds["generations"]) == 3 and len(kinds["scores"]) == 3
    assert len(kinds["datasets"]) == 16  # 4 scopes x (DPO, Max-R) x (table, stats)
    assert f"{ADAPTER}/adapter_model.safetensors" in first
    metrics = f"{ADAPTER}/training_metrics.json"  # holds wall-clock times: its losses are compared below
    differing = sorted(p for p in first if first[p] != second[p] and p != metrics)
    assert differing == []
    losses = [[(e.get("step"), e.get("loss")) for e in json.loads((ws / metrics).read_text())["log_history"]] for ws in two_runs]
    assert losses[0] == losses[1] and any(loss for _, loss in losses[0])


def last_run(log: Path) -> str:
    """What the last run of a job wrote into its log (which may hold the lines of earlier runs too)."""
    return log.read_text().rsplit(" started: ", 1)[-1]


def test_steps_ran_in_workers_and_again_without(two_runs):
    first, second = two_runs
    for log in (f"logs/generate/{MODEL}/da/shard-0-of-1.log", f"logs/score/{MODEL}/de/shard-0-of-1.log"):
        assert WORKER_NOTE in (first / log).read_text() and WORKER_NOTE in (second / log).read_text(), log
    for log in (f"logs/train/{ADAPTER.removeprefix('results/adapters/')}.log", f"logs/translate/{MODEL}/de.log"):
        assert WORKER_NOTE in last_run(first / log) and WORKER_NOTE not in last_run(second / log), log
        assert "finished in" in last_run(second / log), log


def test_identical_runs_are_not_degenerate(two_runs):
    """Identity must come from the seeds, not from a model that always writes the same text."""
    ws = two_runs[0]
    for lang in ("en", "da", "de"):
        generations = pq.read_table(ws / f"results/generations/{MODEL}/{lang}.parquet").to_pandas()
        assert len(generations) == PROMPTS * SAMPLES
        distinct = generations.groupby("prompt_id").response.nunique()
        assert (distinct > 1).mean() > 0.5, distinct.describe()
        assert generations.seed.nunique() == len(generations)
        scores = pq.read_table(ws / f"results/scores/{MODEL}/{lang}.parquet").to_pandas()
        assert scores.reward.nunique() > len(scores) // 2
