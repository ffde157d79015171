"""The report's spec (rules/report.smk): what it shows, and the settings behind its numbers, picked out of the
config (the report words them: `stages/report/protocol.py`)."""

from __future__ import annotations

from workflow_scripts.errors import UserError
from workflow_scripts.names import TRANSLATED, parse_dataset, parse_sample_source
from workflow_scripts.planning.cost import cost_plan
from workflow_scripts.planning.models import model_identity
from workflow_scripts.planning.plan import (
    arena_comparisons,
    curve_runs,
    effective_judge,
    evaluation_only_languages,
    policies,
    trainings,
)
from workflow_scripts.planning.specs.common import REPORT_PACKAGES, software, step_code
from workflow_scripts.planning.specs.training import curve_spec, global_batch, online_training_spec
from workflow_scripts.stages.report.protocol import TRAINING_KEYS
from workflow_scripts.stages.report.step import ReportSpec


def report_spec(config: dict, title: str) -> ReportSpec:
    return ReportSpec(
        title=title,
        languages=list(config["languages"]),
        held_out_languages=evaluation_only_languages(config),
        policies=policies(config),
        adapter_comparisons=[name for name, pair in arena_comparisons(config).items() if not pair["configured"]],
        source_language=config["source_language"],
        language_filter_min_probability=config["pairs"]["language_filter"]["min_probability"],
        arena_min_prompts=config["evaluation"]["arena"]["min_prompts"],
        curve_batches=curve_batches(config),
        cost=report_cost_plan(config),
        protocol=protocol_values(config),
        software=software(REPORT_PACKAGES),
        code=step_code("report"),
    )


def report_cost_plan(config: dict) -> dict:
    """The GPU-hour plan the report sets against the jobs' logged times; a config the plan cannot price (a model
    of unknown size) gets the reason instead, which the report shows in one line."""
    try:
        # from the config and its input files only: a spec that read the tables the run makes would change once
        # they exist, and a finished run would plan its report again
        return cost_plan(config, read_results=False)
    except UserError as exc:
        return {"error": str(exc)}


def curve_batches(config: dict) -> dict[str, int]:
    """Each curve run's global batch, by its name without the seed (the report's `run`)."""
    batches = {}
    for run in curve_runs(config):
        if parse_dataset(run.dataset).get("online"):
            common = online_training_spec(config, run.policy, run.scope, run.dataset, run.seed).common
        else:
            common = curve_spec(config, run.policy, run.dataset, run.seed).training.common
        batches[f"{run.policy}/{run.source}/{run.scope}/{run.dataset}"] = global_batch(common)
    return batches


def protocol_values(config: dict) -> dict:
    """The settings that decide the report's numbers, by stage: every model by what identifies its weights (a
    GGUF's SHA-256, a Hub model's resolved commit, a directory), the prompts, and each stage's parameters."""
    prompts, gen, reward, train = config["prompts"], config["generation"], config["reward"], config["training"]
    euroeval, arena = config["evaluation"]["euroeval"], config["evaluation"]["arena"]
    translation = config.get("translation", {})
    generators = sorted({parse_sample_source(t.source)[0] for t in trainings(config) if t.source != TRANSLATED})
    sample = prompts.get("sample") or {}
    return {
        "models": {name: model_identity(config, name) for name in config["models"]},
        "prompts": {
            "file": prompts.get("file"),
            "sample": None if prompts.get("file") else {k: sample[k] for k in ("file", "hub", "size", "stratify_by", "seed")},
            "limit": prompts.get("limit"),
        },
        "translation": (
            {k: translation[k] for k in ("model", "max_tokens", "max_input_tokens", "too_long", "temperature")}
            if translation.get("model")
            else None
        ),
        "generation": {
            "samples": gen["samples"],
            "temperatures": {g: config["models"][g].get("temperature", gen["temperature"]) for g in generators},
            **{k: gen[k] for k in ("top_p", "max_tokens", "seed", "language_instruction")},
            "instructed_experiments": sorted(n for n, exp in config["experiments"].items() if exp.get("language_instruction")),
        },
        "reward": {k: reward[k] for k in ("model", "backend", "max_length", "empty_responses", "non_finite")},
        "rejection_targets": sorted({t for exp in config["experiments"].values() for t in exp["rejection_targets"]}),
        "training": {
            "lora": {k: train["lora"][k] for k in ("r", "alpha", "dropout")},
            "dpo": {k: train["dpo"][k] for k in ("learning_rate", "beta")},
            "sft": {"learning_rate": train["sft"]["learning_rate"]},
            "common": {k: train["common"][k] for k in TRAINING_KEYS},
        },
        "euroeval": (
            {k: euroeval[k] for k in ("evaluate_test_split", "num_iterations", "few_shot", "python")}
            if euroeval["enabled"]
            else None
        ),
        "arena": (
            {
                "prompt_files": dict(arena["prompts"]["files"]),
                "prompt_hub": arena["prompts"]["hub"],
                "answers": {k: arena["generation"][k] for k in ("max_tokens", "temperature", "temperatures")},
                "judge": {
                    k: v
                    for k, v in effective_judge(arena["judge"]).items()
                    if k in ("model", "mode", "protocol", "orders", "temperature", "allow_ties", "max_tokens")
                },
            }
            if arena["comparisons"]
            else None
        ),
    }
