"""The paper preset states the authors' protocol, one experiment has its own targets, and EuroEval batches partition
the subjects (its dry runs: tests/workflow/test_planning.py)."""

import pytest

from workflow_scripts.names import parse_subject
from workflow_scripts.planning.layout import euroeval_batch
from workflow_scripts.planning.plan import euroeval_batches, euroeval_jobs, language_roots

from helpers import REPO, paper_config


def test_paper_preset_runs_the_authors_protocol():
    """The preset, validated and filled in as the workflow does, states the authors' settings where the report
    shows them (the same function renders the report's protocol table)."""
    from workflow_scripts.planning.config_checks import check_config
    from workflow_scripts.planning.specs.report import protocol_values
    from workflow_scripts.stages.report.protocol import protocol_rows

    config = paper_config()
    check_config(config, REPO)
    settings = {(stage, key): value for stage, key, value in protocol_rows(protocol_values(config))}
    expected = {
        ("prompts", "source"): "allenai/Dolci-Instruct-SFT: 20000 stratified by domain, seed 42",
        ("translation", "max_tokens"): "8192",
        ("translation", "max_input_tokens"): "8192",
        ("translation", "too_long"): "drop",
        ("generation", "samples per prompt"): "64",
        ("generation", "temperature (eurollm-9b)"): "1.0",
        ("generation", "temperature (tiny-aya)"): "1.0",
        ("generation", "max_tokens"): "4096",
        ("generation", "top_p"): "1.0",
        (
            "generation",
            "language instruction",
        ): "'Please respond in {language} and nothing else.' in eurollm_language_instruction",
        ("reward", "max_length"): "32768",
        ("reward", "empty_responses"): "score",
        ("training", "seed"): "42",
        ("training", "eval_fraction"): "0.01",
        ("EuroEval", "split"): "test",
        ("EuroEval", "num_iterations"): "3",
        ("EuroEval", "few_shot"): "True",
        ("EuroEval", "environment"): ".venv-euroeval/bin/python",
        ("m-ArenaHard", "prompts"): "CohereLabs/m-ArenaHard-v2.1",
        ("m-ArenaHard", "answers"): "max_tokens 8192, temperature 0.0, tiny-aya: 0.1",
        ("m-ArenaHard", "judge protocol"): "paper",
        ("m-ArenaHard", "judge orders"): "random",
        ("m-ArenaHard", "judge temperature"): "0.7",
        ("m-ArenaHard", "judge max_tokens"): "4096",
    }
    assert {key: settings.get(key) for key in expected} == expected
    assert config["models"]["skywork-reward-v2"]["max_model_len"] == 32768
    assert config["models"]["qwen3.6-35b-a3b"]["max_model_len"] == 32768
    assert config["engine"]["max_model_len"] is None  # the policies' own context, as the authors' engines
    # the only experiment whose samples carry the instruction is the ablation
    assert [name for name, exp in config["experiments"].items() if exp["language_instruction"]] == [
        "eurollm_language_instruction"
    ]


def test_one_experiment_has_its_own_targets():
    """`python -m workflow_scripts.planning.plan targets <experiment>`: what builds just that experiment (README's table)."""
    from workflow_scripts.planning.plan import experiment_targets

    config = paper_config()
    low = experiment_targets(config, "eurollm_low_resource")
    assert sum(t.startswith("results/adapters/") for t in low) == 12
    assert sum(t.startswith("results/arena/winrates/") and ".mono-" in t for t in low) == 24  # Figure 5
    assert "results/arena/winrates/eurollm-base-vs-gemma3-12b/da.json" in low  # its policy's configured comparison
    assert not any(t.startswith("results/curves/") for t in low)
    online = experiment_targets(config, "eurollm_online")
    assert sum(t.startswith("results/curves/") for t in online) == 6
    assert sum("/seed-" in t and t.startswith("results/euroeval/") for t in online) == 36
    with pytest.raises(Exception, match="no experiment 'nope'"):
        experiment_targets(config, "nope")


def test_euroeval_batches_partition_the_subjects_by_scope():
    """Under `evaluation.euroeval.batch: scope` every subject is in exactly one batch with its base model; a
    language's rebuild forces the batches of its subjects, nothing else."""
    config = paper_config()
    config["evaluation"]["euroeval"]["batch"] = "scope"
    batches = euroeval_batches(config)
    subjects = list(dict.fromkeys(subject for subject, _ in euroeval_jobs(config)))
    assert sorted(s for members in batches.values() for s in members) == sorted(subjects)
    for batch, members in batches.items():
        assert all(euroeval_batch(s) == batch for s in members)
        assert len({parse_subject(s)[0] for s in members}) == 1  # one base model per batch
    assert batches["eurollm-9b"] == ["eurollm-9b"]
    mono_da = batches["eurollm-9b/mono-da"]  # every method and source of one scope
    assert {"eurollm-9b/translated/mono-da/sft", "eurollm-9b/eurollm-9b+instructed/mono-da/dpo-mean_minus_2sigma-chosen"} <= set(
        mono_da
    )
    curve = batches["eurollm-9b/eurollm-9b/mono-da/online-dpo-mean_minus_2sigma/seed-43"]
    assert [s.rsplit("/", 1)[1] for s in curve] == [f"step-{step}" for step in range(50, 301, 50)]
    held_out = language_roots(config, "no")
    assert "results/euroeval-batches/eurollm-9b.json" in held_out
    assert "results/euroeval-batches/eurollm-9b/multi-da+de+en+es+fr+it+nl.json" in held_out
    assert all(root.startswith("results/euroeval-batches/") and "/mono-" not in root for root in held_out)
    assert "results/euroeval-batches/eurollm-9b.json" in language_roots(config, "da")


def test_the_icr_baseline_runs_for_both_policies_in_the_shared_languages():
    """§4.1: ICR for EuroLLM-9B and aya-3B in de/en/es/fr, on ICR's own sampling (10 samples, temperature 0.9,
    2,400 tokens), with the policy's English Paired-DPO adapter as π_DPO; on CroCo's samples as the ablation."""
    from workflow_scripts.planning.plan import experiment_targets
    from workflow_scripts.planning.specs.sampling import generation_spec, implicit_reward_inputs

    config = paper_config()
    for experiment, policy in (("eurollm_icr", "eurollm-9b"), ("aya_icr", "tiny-aya")):
        source = f"{policy}@max_tokens=2400@samples=10@temperature=0.9"
        adapter = f"results/adapters/{policy}/{source}/multi-de+en+es+fr/icr"
        targets = experiment_targets(config, experiment)
        assert adapter in targets and f"results/euroeval/{adapter.removeprefix('results/adapters/')}.json" in targets
        spec = generation_spec(config, source, "de")
        assert (spec.samples, spec.temperature, spec.max_tokens) == (10, 0.9, 2400)
        inputs = implicit_reward_inputs(config, source, "de")
        assert inputs["dpo_adapter"] == f"results/adapters/{policy}/{policy}/mono-en/dpo-mean_minus_2sigma-chosen"
        assert inputs["source_prompts"] == "results/prompts/en.parquet"
    ablation = experiment_targets(config, "eurollm_icr_on_croco_samples")
    assert "results/adapters/eurollm-9b/eurollm-9b/multi-de+en+es+fr/icr" in ablation


def test_the_mapo_baseline_runs_for_both_policies_without_training_on_english():
    """§4.1: MAPO for both policies, de/es/fr aligned to en with NLLB-200-distilled-600M, on MAPO's own sampling
    (20 samples, temperature 0.8, 512 tokens)."""
    from workflow_scripts.planning.plan import experiment_targets
    from workflow_scripts.planning.specs.sampling import alignment_inputs, alignment_spec

    config = paper_config()
    for experiment, policy in (("eurollm_mapo", "eurollm-9b"), ("aya_mapo", "tiny-aya")):
        source = f"{policy}@max_tokens=512@samples=20@temperature=0.8"
        adapters = [t for t in experiment_targets(config, experiment) if t.startswith("results/adapters/")]
        assert adapters == [f"results/adapters/{policy}/{source}/multi-de+es+fr/mapo"]
        inputs = alignment_inputs(config, source, "es")
        assert inputs["english"] == f"results/generations/{source}/en.parquet"
    spec = alignment_spec(config, "es")
    assert spec.model.location == "facebook/nllb-200-distilled-600M" and spec.max_length == 512
    assert (spec.language_code, spec.english_code) == ("spa_Latn", "eng_Latn")
