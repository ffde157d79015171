"""With fixed seeds, two runs of the embedded default at tiny scale in two separate clones produce identical
translations, generations, scores and pairs on a CPU, and an identical trained adapter. Compared by content
digest (workflow_scripts.digests), as a user would compare two runs. The first run is the session's shared
tiny DAG (tests/conftest.py), whose jobs ran in workers of the preloaded interpreter (workflow_scripts.forkserver);
the second is made here without it, each step in its job's own process, up to the pairs and one adapter, from the
session's other materialization of the base model (base_model_snapshot), made apart from the tiny run's."""

import json

import pyarrow.parquet as pq
import pytest

from workflow_scripts.digests import digests
from workflow_scripts.forkserver import WORKER_NOTE

from helpers import MODEL, snakemake, tiny_config, write_config

ADAPTER = f"results/adapters/{MODEL}/{MODEL}/multi-da+de+en/dpo-mean_minus_2sigma-chosen"
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
    config = write_config(ws, {**tiny_config(), "forkserver": False})
    # The pairs of every experiment, then one adapter trained on them.
    for args in (["--until", "preference_dataset"], [ADAPTER]):
        result = snakemake(ws, *args, "--cores", "2", "--configfile", str(config))
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-6000:]
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


def test_the_first_run_forked_its_steps_and_the_second_did_not(two_runs):
    train_log = f"logs/train/{MODEL}/{MODEL}/multi-da+de+en/dpo-mean_minus_2sigma-chosen.log"
    for log in (train_log, f"logs/generate/{MODEL}/da/shard-0-of-1.log", f"logs/score/{MODEL}/de/shard-0-of-1.log"):
        first, second = ((ws / log).read_text() for ws in two_runs)
        assert WORKER_NOTE in first and WORKER_NOTE not in second, log


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
