"""Invalid configs fail before any job runs, with a message naming the key. (The cases of the bad-input
catalogue, such as unknown keys and language codes, are in test_bad_input_catalogue.py.)"""

import copy

import pytest

from helpers import load_default_config, make_workspace, planned_jobs, snakemake, write_config


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    return make_workspace(tmp_path_factory.mktemp("config-ws"))


def dry_run(workspace, config):
    path = write_config(workspace, config)
    return snakemake(workspace, "-n", "--cores", "1", "--configfile", str(path))


def mutate(fn):
    config = copy.deepcopy(load_default_config())
    fn(config)
    return config


CASES = [
    ("wrong type", lambda c: c["generation"].update(samples="four"), "generation.samples"),
    ("undefined policy", lambda c: c["experiments"]["main"].update(policy="nope"), "experiments.main.policy"),
    ("undefined reward model", lambda c: c["reward"].update(model="nope"), "reward.model"),
    (
        "missing translation file",
        lambda c: c["prompts"]["translations"].update(da="data/translations/missing.jsonl"),
        "prompts.translations.da",
    ),
    ("language without translation or translator", lambda c: c["prompts"]["translations"].pop("de"), "translation.model"),
    ("bad rejection target", lambda c: c["experiments"]["main"].update(rejection_targets=["median"]), "rejection_targets"),
    ("missing prompt file", lambda c: c["prompts"].update(file="data/prompts/none.jsonl"), "prompts.file"),
    (
        "comparison with an adapter no experiment trains",
        lambda c: c["evaluation"]["arena"]["comparisons"]["multi-dpo-vs-base"].update(
            model="smollm2-135m/smollm2-135m/multi-da+de/maxr"
        ),
        "evaluation.arena.comparisons.multi-dpo-vs-base.model",
    ),
    (
        "comparison with an undefined model",
        lambda c: c["evaluation"]["arena"]["comparisons"]["multi-dpo-vs-base"].update(baseline="gemma3-12b"),
        "evaluation.arena.comparisons.multi-dpo-vs-base.baseline",
    ),
    ("undefined judge", lambda c: c["evaluation"]["arena"]["judge"].update(model="qwen3"), "evaluation.arena.judge.model"),
    ("unknown judge mode", lambda c: c["evaluation"]["arena"]["judge"].update(mode="vote"), "evaluation.arena.judge.mode"),
    (
        "custom EuroEval dataset listed under another language",
        lambda c: c["evaluation"]["euroeval"]["datasets"].update(de=["demo-sentiment-da"]),
        "evaluation.euroeval.datasets.de",
    ),
    (
        "custom EuroEval dataset without its files",
        lambda c: c["evaluation"]["euroeval"]["custom_datasets"]["demo-sentiment-da"].update(dir="data/euroeval/none"),
        "evaluation.euroeval.custom_datasets.demo-sentiment-da.dir",
    ),
    ("zero generation shards", lambda c: c["generation"].update(shards=0), "generation.shards"),
    (
        "monolingual DPO from one sample per prompt (no pool can form a pair)",
        lambda c: c["generation"].update(samples=1),
        "generation.samples",
    ),
    (
        "data parallel size that is neither a count nor auto",
        lambda c: c["engine"].update(data_parallel_size="all"),
        "engine.data_parallel_size",
    ),
    ("zero training processes", lambda c: c["training"]["common"].update(processes=0), "training.common.processes"),
    (
        "missing m-ArenaHard prompt file",
        lambda c: c["evaluation"]["arena"]["prompts"]["files"].update(da="data/arena/none.jsonl"),
        "evaluation.arena.prompts.files.da",
    ),
]


@pytest.mark.parametrize("label,change,key", CASES, ids=[c[0] for c in CASES])
def test_invalid_config_names_the_key_and_runs_nothing(workspace, label, change, key):
    result = dry_run(workspace, mutate(change))
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert "Invalid config" in output and key in output, output
    assert planned_jobs(result) == []
    assert "Traceback" not in output


def test_valid_default_config_dry_runs(workspace):
    result = dry_run(workspace, load_default_config())
    assert result.returncode == 0, result.stderr
    rules = {rule for rule, _ in planned_jobs(result)}
    assert {
        "base_model",
        "prompt_set",
        "generate",
        "score",
        "preference_dataset",
        "translated_dataset",
        "train",
        "euroeval",
        "arena_prompts",
        "arena_answers",
        "arena_judge",
        "arena_winrate",
        "report",
    } <= rules
