"""Variants side by side, for real: an experiment sweeping DPO's β over [0.1 (the global value), 0.2] and one
with fewer samples per prompt, added to a copy of the session's finished tiny run. The dry run plans only what
a variant changes (the β 0.2 adapter from the existing pairs; new samples and everything made from them), the
β 0.2 adapter trains with β 0.2 next to the untouched β 0.1 one, and then nothing of the sweep is planned again."""

import hashlib
import json

import pytest

from helpers import MODEL, snakemake, tiny_config, work_jobs, write_config

MULTI = f"{MODEL}/{MODEL}/multi-da+de+en"
PLAIN = f"results/adapters/{MULTI}/dpo-mean_minus_2sigma-chosen"
BETA_02 = PLAIN + "@beta=0.2"
FEWER = f"{MODEL}@samples=2"  # the tiny run samples 3


def variants_config():
    c = tiny_config()
    c["experiments"]["beta-sweep"] = {
        "policy": MODEL,
        "methods": ["dpo"],
        "regimes": ["multi"],
        "settings": {"beta": [0.1, 0.2]},
    }
    c["experiments"]["fewer-samples"] = {"policy": MODEL, "methods": ["maxr"], "regimes": ["mono"], "settings": {"samples": 2}}
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
    # β: one adapter, trained on the pairs the tiny run made (no sampling, scoring or pair job of the plain source)
    assert ("train", BETA_02) in jobs
    plain_source = [out for _, out in jobs if f"/{MODEL}/" in out and "@" not in out]
    assert not plain_source, plain_source
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
    }, jobs


def test_both_betas_coexist_and_the_sweep_is_then_done(workspace):
    ws, config = workspace
    before = digests(ws / PLAIN)
    result = snakemake(ws, BETA_02, "--cores", "2", "--configfile", str(config))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-5000:]
    varied = json.loads((ws / BETA_02 / "training_metrics.json").read_text())["hyperparameters"]
    plain = json.loads((ws / PLAIN / "training_metrics.json").read_text())["hyperparameters"]
    assert (varied["beta"], plain["beta"]) == (0.2, 0.1)
    assert {key for key in plain if plain[key] != varied[key]} == {"beta"}  # the same training otherwise
    assert digests(ws / PLAIN) == before  # the β 0.1 adapter is untouched
    again = snakemake(ws, "-n", "--cores", "2", "--configfile", str(config))
    assert again.returncode == 0, again.stderr[-3000:]
    assert not [out for _, out in work_jobs(again) if "beta" in out or out.startswith(f"results/adapters/{MULTI}")]
