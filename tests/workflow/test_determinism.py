"""Two runs of the embedded default at tiny scale, in two separate clones, give identical results on a CPU, compared
by content digest (workflow_scripts.digests) as a user would compare two runs. The first run is the session's
shared tiny DAG (tests/conftest.py), every step in a worker forked from the preloaded interpreter; the second runs
with `forkserver: false`, every step in its job's own process (the path cluster jobs and GPU machines take), from
the session's other materialization of the base model. It makes every kind of artifact of that DAG for German
(the translation, prompts, samples and scores, a DPO and an SFT data set, an adapter from each) but not the other
languages' nor all twelve adapters: they would add minutes of the same steps. Identical digests show both that
the seeds make the run reproducible and that the path a step takes does not change what it computes."""

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from workflow_scripts.digests import digests
from workflow_scripts.runtime.forkserver import WORKER_NOTE

from helpers import MODEL, snakemake, tiny_config, write_config

ADAPTER = f"results/adapters/{MODEL}/{MODEL}/mono-de/dpo-mean_minus_2sigma-chosen"
SFT_ADAPTER = f"results/adapters/{MODEL}/translated/mono-de/sft"
PROMPTS, SAMPLES = 4, 3  # tiny_config()
WALL_CLOCK = "training_metrics.json"  # an adapter's metrics hold its wall-clock times: its losses are compared


@pytest.fixture(scope="module")
def two_runs(seeded_workspace, tmp_path_factory, request):
    ws = seeded_workspace(tmp_path_factory.mktemp("unforked"))
    config = write_config(ws, {**tiny_config(), "forkserver": False})
    result = snakemake(ws, ADAPTER, SFT_ADAPTER, "--cores", "2", "--configfile", str(config))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-6000:]
    # the tiny run only now: another worker builds it meanwhile (tests/conftest.py), instead of this one waiting
    return [request.getfixturevalue("tiny_run")[0], ws]


def test_every_result_is_identical_without_the_preloaded_interpreter(two_runs):
    first, second = [digests([ws / "results"], root=ws) for ws in two_runs]
    assert set(second) <= set(first)  # the second run made a part of what the first made, nothing else
    kinds = {kind: [p for p in second if p.startswith(f"results/{kind}/")] for kind in ("translations", "datasets", "adapters")}
    assert len(kinds["translations"]) == 2  # German: the table and its stats
    assert len(kinds["datasets"]) == 4  # the German DPO and SFT data sets, each a table and its stats
    assert sum(p.endswith("adapter_model.safetensors") for p in kinds["adapters"]) == 2
    assert {p.split("/")[1] for p in second} >= {
        "models",
        "translations",
        "prompts",
        "generations",
        "scores",
        "datasets",
        "adapters",
    }
    differing = sorted(p for p in second if first[p] != second[p] and not p.endswith(WALL_CLOCK))
    assert differing == []
    for metrics in (p for p in second if p.endswith(WALL_CLOCK)):
        losses = [
            [(e.get("step"), e.get("loss")) for e in json.loads((ws / metrics).read_text())["log_history"]] for ws in two_runs
        ]
        assert losses[0] == losses[1] and any(loss for _, loss in losses[0]), metrics


def test_the_first_run_forked_its_steps_and_the_second_did_not(two_runs):
    first, second = two_runs
    logs = sorted(path.relative_to(second) for path in (second / "logs").rglob("*.log"))
    model_steps = [log for log in logs if log.parts[1] in ("generate", "score", "translate", "train")]
    assert len(model_steps) >= 1 + 1 + 1 + 2  # German's translation, samples and scores, two adapters
    for log in model_steps:
        assert WORKER_NOTE in (first / log).read_text(), log
        assert WORKER_NOTE not in (second / log).read_text() and "finished in" in (second / log).read_text(), log


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
    adapter = Path(ws / ADAPTER / "adapter_model.safetensors")
    assert adapter.stat().st_size > 10_000
