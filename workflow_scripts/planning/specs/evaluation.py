"""Specs and inputs of the evaluation jobs (rules/evaluate.smk, arena.smk): EuroEval per subject or per batch of
subjects, and m-ArenaHard prompts, answers, judgments and win rates."""

from __future__ import annotations

from pathlib import Path

from workflow_scripts.errors import UserError
from workflow_scripts.names import parse_subject
from workflow_scripts.planning.layout import ARENA_ANSWERS, ARENA_PROMPTS, adapter_dir, run_dir
from workflow_scripts.planning.models import model_inputs
from workflow_scripts.planning.plan import (
    arena_comparisons,
    arena_languages,
    effective_judge,
    euroeval_batches,
    euroeval_jobs,
    euroeval_offline,
)
from workflow_scripts.planning.specs.common import (
    ENGINE_PACKAGES,
    EUROEVAL_PACKAGES,
    HUB_DATA_PACKAGES,
    MERGE_PACKAGES,
    STATISTICS_PACKAGES,
    engine_spec,
    interpreter_software,
    model_ref,
    software,
    step_code,
)
from workflow_scripts.runtime.fingerprint import file_sha256
from workflow_scripts.runtime.spec import ModelRef
from workflow_scripts.stages.arena.answers import VLLM_LORA_RANKS, AnswersSpec
from workflow_scripts.stages.arena.judge import JudgeSettings, JudgeSpec
from workflow_scripts.stages.arena.prompts import ArenaPromptsSpec
from workflow_scripts.stages.arena.win_rates import WinRateSpec
from workflow_scripts.stages.euroeval.run import METRICS_DIR, SPLITS, EuroEvalSpec

# ---------------------------------------------------------------- EuroEval


def euroeval_spec(config: dict, subject: str) -> EuroEvalSpec:
    evaluation = config["evaluation"]["euroeval"]
    base, adapter = parse_subject(subject)
    languages = [lang for job_subject, lang in euroeval_jobs(config) if job_subject == subject]
    if not languages:
        raise UserError(f"'{subject}' is not evaluated with EuroEval by this config", field="evaluation.euroeval")
    datasets = {lang: list(evaluation["datasets"][lang]) for lang in languages}
    names = dict.fromkeys(name for lang in languages for name in datasets[lang])
    custom = {name: evaluation["custom_datasets"][name] for name in names if name in evaluation["custom_datasets"]}
    euroeval_software = (
        interpreter_software(evaluation["python"], EUROEVAL_PACKAGES) if evaluation["python"] else software(EUROEVAL_PACKAGES)
    )
    return EuroEvalSpec(
        model=model_ref(config, base),
        subject=subject,
        adapter=adapter_dir(adapter) if adapter else None,
        datasets=datasets,
        custom_datasets=custom,
        custom_data_sha256={
            name: {split: file_sha256(Path(spec["dir"]) / f"{split}.csv") for split in SPLITS} for name, spec in custom.items()
        },
        **{key: evaluation[key] for key in ("few_shot", "num_iterations", "evaluate_test_split", "python")},
        offline=euroeval_offline(config),
        gpu_memory_utilization=config["engine"]["gpu_memory_utilization"],
        software={"euroeval": euroeval_software, **({"merge": software(MERGE_PACKAGES)} if adapter else {})},
        # EuroEval loads the metric scripts by path: they compute its scores
        code=step_code("euroeval", *sorted(METRICS_DIR.glob("*/*.py"))),
    )


def euroeval_inputs(config: dict, subject: str) -> dict:
    """An adapter and its base model (the job merges them: EuroEval cannot take a local adapter); a base model's
    materialized directory, or for a Hub model (loaded by its id) the revision it resolves to."""
    base, adapter = parse_subject(subject)
    inputs = model_inputs(config, base)
    named = {"model" if "gguf" in config["models"][base] else "revision": inputs[0]} if inputs else {}
    if adapter:
        named["adapter"] = run_dir(adapter)  # a checkpoint lies in its curve run
    return named


def euroeval_batch_subjects(config: dict, batch: str) -> list[str]:
    subjects = euroeval_batches(config).get(batch)
    if not subjects:
        raise UserError(f"no EuroEval batch '{batch}' in this config", field="evaluation.euroeval")
    return subjects


def euroeval_batch_inputs(config: dict, batch: str) -> dict:
    """The inputs of every subject of a batch: their shared base model and their adapters' directories."""
    per_subject = [euroeval_inputs(config, subject) for subject in euroeval_batch_subjects(config, batch)]
    named = {key: path for key, path in per_subject[0].items() if key != "adapter"}
    adapters = list(dict.fromkeys(inputs["adapter"] for inputs in per_subject if "adapter" in inputs))
    return {**named, "adapters": adapters} if adapters else named


# ---------------------------------------------------------------- m-ArenaHard


def arena_prompts_spec(config: dict, lang: str) -> ArenaPromptsSpec:
    prompts = config["evaluation"]["arena"]["prompts"]
    path = prompts["files"].get(lang)
    return ArenaPromptsSpec(
        language=lang,
        file=path,
        file_sha256=file_sha256(path) if path else None,
        hub=None if path else prompts["hub"],
        split=prompts["split"],
        revision=prompts["revision"],
        limit=prompts["limit"],
        software=software(HUB_DATA_PACKAGES),
        code=step_code("arena_prompts"),
    )


def answers_spec(config: dict, subject: str, languages: list[str] | None = None) -> AnswersSpec:
    """A subject's answers in `languages` (by default every arena language, the configured comparisons' job)."""
    base, _ = parse_subject(subject)
    generation = config["evaluation"]["arena"]["generation"]
    return AnswersSpec(
        model=model_ref(config, base),
        subject=subject,
        languages=list(languages or arena_languages(config)),
        max_lora_rank=min(r for r in VLLM_LORA_RANKS if r >= config["training"]["lora"]["r"]),
        engine=engine_spec(config, base),
        max_tokens=generation["max_tokens"],
        # per base model (the authors answer with aya at 0.1, every other model greedily)
        temperature=generation["temperatures"].get(base, generation["temperature"]),
        seed=generation["seed"],
        software=software(ENGINE_PACKAGES),
        code=step_code("arena_answers"),
    )


def answers_inputs(config: dict, subject: str, languages: list[str] | None = None) -> dict:
    base, adapter = parse_subject(subject)
    return {
        "prompts": [ARENA_PROMPTS.format(lang=lang) for lang in languages or arena_languages(config)],
        "model": model_inputs(config, base),
        "adapter": [adapter_dir(adapter)] if adapter else [],
    }


def judge_spec(config: dict, languages: list[str] | None = None) -> JudgeSpec:
    """The judge's settings for `languages` (by default every arena language, the configured comparisons' job)."""
    judge = effective_judge(config["evaluation"]["arena"]["judge"])
    ref = model_ref(config, judge["model"])
    # the judge's own template arguments win over the arena default (thinking off)
    ref = ModelRef(ref.location, ref.revision, ref.identity, {**judge["chat_template_kwargs"], **ref.chat_template_kwargs})
    settings = JudgeSettings(**{k: v for k, v in judge.items() if k != "chat_template_kwargs"})
    return JudgeSpec(
        model=ref,
        languages=list(languages or arena_languages(config)),
        judge=settings,
        engine=engine_spec(config, judge["model"]),
        software=software(ENGINE_PACKAGES),
        code=step_code("arena_judge"),
    )


def judge_inputs(config: dict, comparison: str, languages: list[str] | None = None) -> dict:
    pair = arena_comparisons(config)[comparison]
    langs = languages or arena_languages(config)
    return {
        "model_answers": [ARENA_ANSWERS.format(subject=pair["model"], lang=lang) for lang in langs],
        "baseline_answers": [ARENA_ANSWERS.format(subject=pair["baseline"], lang=lang) for lang in langs],
        "judge": model_inputs(config, config["evaluation"]["arena"]["judge"]["model"]),
    }


def win_rate_spec(config: dict, comparison: str, lang: str) -> WinRateSpec:
    arena = config["evaluation"]["arena"]
    pair = arena_comparisons(config)[comparison]
    return WinRateSpec(
        comparison=comparison,
        model=pair["model"],
        baseline=pair["baseline"],
        judge=arena["judge"]["model"],
        protocol=arena["judge"]["protocol"],
        language=lang,
        bootstrap_samples=arena["bootstrap_samples"],
        seed=arena["seed"],
        software=software(STATISTICS_PACKAGES),
        code=step_code("arena_winrate"),
    )
