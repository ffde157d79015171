"""Variants side by side, for real: an experiment sweeping DPO's β over [0.1 (the global value), 0.2], one with
fewer samples per prompt, and one sweeping the rejection target, added to a copy of the session's finished tiny
run. The dry run plans only what a variant changes (the β 0.2 adapter from the existing pairs; new samples and
everything made from them; the new targets' pair tables from the existing scores), the β 0.2 adapter trains with
β 0.2 next to the untouched β 0.1 one, each new target's pairs aim where it says, and then nothing of the sweep is
planned again."""

import hashlib
import json

import numpy as np
import pyarrow.parquet as pq
import pytest

from helpers import MODEL, snakemake, tiny_config, work_jobs, write_config

MULTI = f"{MODEL}/{MODEL}/multi-da+de+en"
PLAIN = f"results/adapters/{MULTI}/dpo-mean_minus_2sigma-chosen"
BETA_02 = PLAIN + "@beta=0.2"
FEWER = f"{MODEL}@samples=2"  # the tiny run samples 3
SWEPT = ["mean_minus_1sigma", "quantile_0.1"]  # next to the tiny run's mean_minus_2sigma
SWEEP_PAIRS = [f"results/datasets/{MODEL}/mono-da/dpo-{target}-chosen.parquet" for target in SWEPT]


def variants_config():
    c = tiny_config()
    c["experiments"]["beta-sweep"] = {
        "policy": MODEL,
        "methods": ["dpo"],
        "regimes": ["multi"],
        "settings": {"beta": [0.1, 0.2]},
    }
    c["experiments"]["fewer-samples"] = {"policy": MODEL, "methods": ["maxr"], "regimes": ["mono"], "settings": {"samples": 2}}
    c["experiments"]["rejection-sweep"] = {
        "policy": MODEL,
        "methods": ["dpo"],
        "regimes": ["mono"],
        "languages": ["da"],
        "rejection_targets": ["mean_minus_2sigma", *SWEPT],
    }
    return c


def digests(directory):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(directory.iterdir()) if p.is_file()}


@pytest.fixture(scope="module")
def workspace(tiny_run_copy, tmp_path_factory):
    ws = tiny_run_copy(tmp_path_factory.mktemp("variants") / "ws")
    return ws, write_config(ws, variants_config(), "variants.yaml")


def test_the_plan_makes_only_what_each_variant_changes(workspace):
    ws, config = workspace
    planned = snakemake(ws, "-n", "--cores", "2", "--configfile", str(config))
    assert planned.returncode == 0, planned.stderr[-3000:]
    jobs = work_jobs(planned)
    # β: one adapter, trained on the pairs the tiny run made (no sampling, scoring or pair job of the plain source
    # but the new rejection targets' pair tables and adapters, from the scores the tiny run made)
    assert ("train", BETA_02) in jobs
    sweep = [f"results/adapters/{MODEL}/{MODEL}/mono-da/dpo-{target}-chosen" for target in SWEPT]
    cards = [f"results/cards/adapters/{MODEL}/{MODEL}/mono-da/dpo-{target}-chosen/README.md" for target in SWEPT]
    cards += [f"results/cards/datasets/{MODEL}/mono-da/dpo-{target}-chosen/README.md" for target in SWEPT]
    plain_source = [out for _, out in jobs if f"/{MODEL}/" in out and "@" not in out]
    assert sorted(plain_source) == sorted(SWEEP_PAIRS + sweep + cards), plain_source
    # fewer samples: new samples, scores, Max-R data and adapters in each language, under their own name
    for lang in ("en", "da", "de"):
        assert ("gather_generations", f"results/generations/{FEWER}/{lang}.parquet") in jobs
        assert ("train", f"results/adapters/{MODEL}/{FEWER}/mono-{lang}/maxr") in jobs
    assert {rule for rule, _ in jobs} == {
        "generate",
        "gather_generations",
        "score",
        "gather_scores",
        "preference_dataset",
        "train",
        "dataset_card",
        "adapter_card",
    }, jobs


def test_both_betas_coexist_and_the_sweep_is_then_done(workspace):
    ws, config = workspace
    before = digests(ws / PLAIN)
    card = BETA_02.replace("results/adapters/", "results/cards/adapters/") + "/README.md"
    result = snakemake(ws, BETA_02, card, "--cores", "2", "--configfile", str(config))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-5000:]
    varied = json.loads((ws / BETA_02 / "training_metrics.json").read_text())["hyperparameters"]
    plain = json.loads((ws / PLAIN / "training_metrics.json").read_text())["hyperparameters"]
    assert (varied["beta"], plain["beta"]) == (0.2, 0.1)
    assert {key for key in plain if plain[key] != varied[key]} == {"beta"}  # the same training otherwise
    assert digests(ws / PLAIN) == before  # the β 0.1 adapter is untouched
    from huggingface_hub import ModelCard

    assert ModelCard.load(ws / card).data.to_dict()["croco"]["rule"]["beta"] == 0.2  # its card says which it is
    again = snakemake(ws, "-n", "--cores", "2", "--configfile", str(config))
    assert again.returncode == 0, again.stderr[-3000:]
    assert not [out for _, out in work_jobs(again) if "beta" in out or out.startswith(f"results/adapters/{MULTI}")]


def test_each_swept_target_aims_where_it_says(workspace):
    """The new targets' pair tables, built for real from the tiny run's Danish scores: in every pool the target
    value is the pool's mean − 1·std or its 0.1-quantile, and the rejected reward the nearest below the chosen."""
    ws, config = workspace
    result = snakemake(ws, *SWEEP_PAIRS, "--cores", "2", "--configfile", str(config))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-5000:]
    scores = pq.read_table(ws / f"results/scores/{MODEL}/da.parquet").to_pandas()
    pools = {pid: part["reward"].to_numpy() for pid, part in scores[scores.status == "scored"].groupby("prompt_id")}
    goals = {"mean_minus_1sigma": lambda r: r.mean() - r.std(), "quantile_0.1": lambda r: np.quantile(r, 0.1)}
    for target, path in zip(SWEPT, SWEEP_PAIRS):
        pairs = pq.read_table(ws / path).to_pandas()
        assert len(pairs) >= 1 and set(pairs["target"]) == {target}
        for row in pairs.itertuples():
            rewards = pools[row.prompt_id]
            assert row.target_value == pytest.approx(goals[target](rewards), abs=1e-12)
            below = rewards[rewards < row.chosen_reward]
            assert row.rejected_reward == below[np.argmin(np.abs(below - row.target_value))]
