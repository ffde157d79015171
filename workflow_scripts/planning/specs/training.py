"""Specs and inputs of the training jobs (rules/datasets.smk, train.smk): training datasets from scored samples or
translations, LoRA adapters, curve runs with checkpoints, and online DPO runs."""

from __future__ import annotations

import dataclasses

from workflow_scripts.names import ICR, MAPO, TRANSLATED, dpo_dataset, parse_dataset, scope_languages, with_settings
from workflow_scripts.planning.layout import (
    ALIGNMENT_REWARDS,
    GENERATIONS,
    IMPLICIT_REWARDS,
    LANGUAGE_ID,
    PROMPTS,
    SCORES,
    training_data,
)
from workflow_scripts.planning.models import model_inputs
from workflow_scripts.planning.plan import curve_checkpoints
from workflow_scripts.planning.specs.common import TABLE_PACKAGES, TRAINING_PACKAGES, model_ref, software, step_code
from workflow_scripts.planning.specs.sampling import score_spec
from workflow_scripts.stages.pairs import DatasetSpec
from workflow_scripts.stages.training.online_dpo import OnlineSpec
from workflow_scripts.stages.training.train import CurveSpec, LoraSettings, TrainingSettings, TrainingSpec


def dataset_spec(config: dict, scope: str, dataset: str) -> DatasetSpec:
    filtered = parse_dataset(dataset).get("language_filter", False)
    return DatasetSpec(
        scope=scope,
        dataset=dataset,
        non_finite=config["reward"]["non_finite"],
        seed=config["pairs"]["seed"],
        min_language_probability=config["pairs"]["language_filter"]["min_probability"] if filtered else None,
        software=software(TABLE_PACKAGES),
        code=step_code("dataset"),
    )


def dataset_inputs(source: str, scope: str, dataset: str) -> dict[str, list[str]]:
    """The scope's scores and samples (a sampled source; with the language filter, their language IDs too),
    or its prompt sets (the translated SFT data)."""
    langs = scope_languages(scope)
    if source == TRANSLATED:
        return {"prompts": [PROMPTS.format(lang=lang) for lang in langs]}
    # the baselines rank by their own rewards
    rewards = {ICR: IMPLICIT_REWARDS, MAPO: ALIGNMENT_REWARDS}.get(parse_dataset(dataset).get("pairs"), SCORES)
    inputs = {
        "scores": [rewards.format(samples=source, lang=lang) for lang in langs],
        "generations": [GENERATIONS.format(samples=source, lang=lang) for lang in langs],
    }
    if parse_dataset(dataset).get("language_filter"):
        inputs["language_id"] = [LANGUAGE_ID.format(samples=source, lang=lang) for lang in langs]
    return inputs


def training_processes(config: dict) -> int:
    processes = config["training"]["common"]["processes"]
    return (config["resources"]["training"]["gpu"] or 1) if processes == "auto" else processes


def training_spec(config: dict, policy: str, dataset: str) -> TrainingSpec:
    """The adapter's training: the global settings of its method, with its variant's (`@beta=0.2`...) in their place."""
    training = config["training"]
    parsed = parse_dataset(dataset)
    method, variant = parsed["method"], parsed.get("settings", {})
    hyper = training["dpo"] if method == "dpo" else training["sft"]
    lora = {**training["lora"], **{key.removeprefix("lora_"): value for key, value in variant.items() if key.startswith("lora_")}}
    common = {key: variant.get(key, value) for key, value in training["common"].items()}
    return TrainingSpec(
        model=model_ref(config, policy),
        policy=policy,
        method=method,
        learning_rate=variant.get("learning_rate", hyper["learning_rate"]),
        beta=variant.get("beta", hyper.get("beta")),
        nll_weight=variant.get("nll_weight", hyper.get("nll_weight", 0.0)),
        lora=LoraSettings(**lora),
        common=TrainingSettings(**{**common, "processes": training_processes(config)}),
        software=software(TRAINING_PACKAGES),
        code=step_code("train"),
    )


def curve_training_spec(config: dict, policy: str, dataset: str, seed: int, **overrides) -> TrainingSpec:
    """The adapter's training spec for a curve run: the run's seed and training.curves.max_steps (and `overrides`
    of training.common)."""
    base = training_spec(config, policy, dataset)
    common = {**base.common.params(), "seed": seed, "max_steps": config["training"]["curves"]["max_steps"], **overrides}
    return dataclasses.replace(base, common=TrainingSettings(**common))


def curve_spec(config: dict, policy: str, dataset: str, seed: int) -> CurveSpec:
    return CurveSpec(
        training=curve_training_spec(config, policy, dataset, seed),
        checkpoints=curve_checkpoints(config),
        code=step_code("train_curve"),
    )


def global_batch(common: TrainingSettings) -> int:
    """Examples per optimizer step: per device x accumulation x processes (a per-device batch of `auto` keeps the
    per-process batch of `accumulation` examples, as with 1)."""
    per_device = 1 if common.per_device_batch_size == "auto" else common.per_device_batch_size
    return per_device * common.gradient_accumulation_steps * common.processes


def online_twin(policy: str, scope: str, dataset: str) -> tuple[str, str]:
    """(source, dataset) of the offline curve run an online run is compared with: Paired DPO on the policy's own
    samples, same scope, rejection target and training settings, the prompt in the chosen response's language."""
    parsed = parse_dataset(dataset)
    return policy, with_settings(dpo_dataset(parsed["target"], "chosen"), parsed.get("settings", {}))


def online_training_spec(config: dict, policy: str, scope: str, dataset: str, seed: int) -> TrainingSpec:
    """The online run's training: its offline twin's (online_twin), on one process (the policy generates, is scored
    and trains in turn on one GPU) with the twin's global batch, so that both take the same optimizer steps over
    the same number of prompts."""
    twin = curve_training_spec(config, policy, online_twin(policy, scope, dataset)[1], seed).common
    per_device = 1 if twin.per_device_batch_size == "auto" else twin.per_device_batch_size
    return curve_training_spec(
        config,
        policy,
        dataset,
        seed,
        processes=1,
        per_device_batch_size=per_device,
        gradient_accumulation_steps=global_batch(twin) // per_device,
    )


def online_spec(config: dict, policy: str, scope: str, dataset: str, seed: int) -> OnlineSpec:
    online, generation = config["training"]["online"], config["generation"]
    score = score_spec(config)
    # on a GPU the reward engine shares the device with the policy being trained
    score = dataclasses.replace(score, engine={**score.engine, "gpu_memory_utilization": online["reward_gpu_memory_utilization"]})
    temperature = online["temperature"]
    if temperature is None:
        temperature = config["models"][policy].get("temperature", generation["temperature"])
    return OnlineSpec(
        training=online_training_spec(config, policy, scope, dataset, seed),
        score=score,
        target=parse_dataset(dataset)["target"],
        languages=scope_languages(scope),
        samples=online["samples"],
        max_new_tokens=online["max_new_tokens"] or generation["max_tokens"],
        temperature=temperature,
        top_p=generation["top_p"],
        checkpoints=curve_checkpoints(config),
        code=step_code("train_online"),
    )


def online_inputs(config: dict, policy: str, scope: str, dataset: str) -> dict:
    """The offline twin's pair table (its prompts, held-out rows and row order are the online run's), the policy
    and the reward model."""
    source, twin = online_twin(policy, scope, dataset)
    return {
        "prompts": training_data(source, scope, twin),
        "model": model_inputs(config, policy),
        "reward_model": model_inputs(config, config["reward"]["model"]),
    }
