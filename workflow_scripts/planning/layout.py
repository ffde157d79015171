"""The results layout: the one place that says where every artifact lives, and the wildcard patterns of its
names. Rules use the templates in `output:` (their `{wildcards}` are Snakemake wildcards); planning formats the
same templates (`PROMPTS.format(lang="da")`). Renaming an artifact is a one-line change here;
tests/workflow/test_planning.py checks that every planned artifact is a template from here. The names themselves
(methods, scopes, datasets, subjects) are `workflow_scripts/names.py`: jobs read those, never this module.
"""

from __future__ import annotations

import re

from workflow_scripts.names import (
    ADAPTER_SETTINGS,
    ICR,
    IN_LANGUAGE,
    INSTRUCTED,
    LENGTH_CONTROLLED,
    MAPO,
    ONLINE,
    PROMPT_LANGUAGES,
    SAMPLE_SETTINGS,
    TARGET_RE,
    VARIANT,
    Training,
    checkpoint_name,
    data_name,
    parse_subject,
)

# ---------------------------------------------------------------- wildcard patterns


def settings_re(keys) -> str:
    """Any of a variant's settings among `keys`: `@beta=0.2@max_steps=100` (names.with_settings), or none."""
    return rf"(?:{re.escape(VARIANT)}(?:{'|'.join(keys)})=-?[0-9.]+(?:e[+-]?\d+)?)*"


SCOPE_RE = r"(?:mono|multi)-[a-z+]+"
PAIRED_DPO_RE = rf"dpo-(?:{TARGET_RE})-(?:{'|'.join(PROMPT_LANGUAGES)})"
SAMPLED_DATASET_RE = (
    rf"(?:{PAIRED_DPO_RE}(?:{re.escape(IN_LANGUAGE)})?(?:{re.escape(LENGTH_CONTROLLED)})?"
    rf"|maxr(?:{re.escape(IN_LANGUAGE)})?|{ICR}|{MAPO})"
)
ONLINE_DATASET_RE = rf"{ONLINE}dpo-(?:{TARGET_RE})"
DATASET_RE = rf"{SAMPLED_DATASET_RE}|sft|{ONLINE_DATASET_RE}"
# an adapter's name: its training data's, and its variant's training settings
ADAPTER_SETTINGS_RE = settings_re(ADAPTER_SETTINGS)
ADAPTER_DATASET_RE = rf"(?:{DATASET_RE}){ADAPTER_SETTINGS_RE}"


def names_pattern(names) -> str:
    """A wildcard pattern matching exactly these names (no names: a pattern that matches nothing)."""
    return "|".join(re.escape(name) for name in names) or "(?!)"


def samples_re(model_re: str) -> str:
    """Wildcard pattern of <samples> given the pattern of the configured model names."""
    return rf"(?:{model_re})(?:{re.escape(INSTRUCTED)})?{settings_re(SAMPLE_SETTINGS)}"


def run_dir(training: Training) -> str:
    """The directory a training job writes: the adapter, or the curve run holding this checkpoint."""
    t = training
    if t.seed is None:
        return ADAPTER.format(policy=t.policy, source=t.source, scope=t.scope, dataset=t.dataset)
    return CURVE_RUN.format(policy=t.policy, source=t.source, scope=t.scope, dataset=t.dataset, seed=t.seed)


def adapter_dir(training: Training) -> str:
    """Where an adapter's files are (a checkpoint's lie in its curve run)."""
    return run_dir(training) if training.step is None else f"{run_dir(training)}/{checkpoint_name(training.step)}"


def training_data(source: str, scope: str, dataset: str) -> str:
    """The dataset an adapter trains on: its own name without a variant's training settings (they share it)."""
    return DATASET.format(source=source, scope=scope, dataset=data_name(dataset))


def euroeval_batch(subject: str) -> str:
    """The EuroEval job a subject shares with its siblings under `evaluation.euroeval.batch: scope`: a base model
    alone (`<model>`), the adapters of one policy and scope (`<policy>/<scope>`, every source and dataset), or the
    checkpoints of one curve run (`<policy>/<source>/<scope>/<dataset>/seed-<seed>`)."""
    base, adapter = parse_subject(subject)
    if adapter is None:
        return base
    if adapter.step is None:
        return f"{adapter.policy}/{adapter.scope}"
    return adapter.subject.rsplit("/", 1)[0]


def adapter_comparison(subject: str, baseline: str) -> str:
    """The name of the m-ArenaHard comparison of an adapter with a baseline that an experiment asks for
    (`arena_baselines`): the adapter's subject with dots for slashes, `.vs.` and the baseline."""
    return f"{subject.replace('/', '.')}.vs.{baseline}"


def shard_template(gathered: str) -> str:
    """The temporary shard files a gathered table is made of: `<table without .parquet>/shard-K-of-N.parquet`."""
    return gathered.removesuffix(".parquet") + "/shard-{shard}-of-{shards}.parquet"


def shard_files(gathered: str, shards: int, **wildcards: str) -> list[str]:
    """The paths of the `shards` shard files of one gathered table."""
    return [shard_template(gathered).format(**wildcards, shard=k, shards=shards) for k in range(shards)]


# ---------------------------------------------------------------- artifacts (all under results/)

MODEL_DIR = "results/models/{model}"  # a GGUF materialized as a HF directory
MODEL_REVISION = "results/models/{model}.revision.json"  # the commit a Hub model is loaded at
SOURCE_SAMPLE = "results/source_prompts/sample.parquet"  # the stratified corpus sample
SOURCE_SAMPLE_STATS = "results/source_prompts/sample.stats.json"
PROMPTS = "results/prompts/{lang}.parquet"  # per language, ids stable across them
TRANSLATION = "results/translations/{translator}/{lang}.parquet"
TRANSLATION_STATS = "results/translations/{translator}/{lang}.stats.json"
TOKEN_LENGTHS = "results/token_lengths/{model}/{lang}.parquet"
GENERATIONS = "results/generations/{samples}/{lang}.parquet"  # one row per sample
GENERATION_SHARD = shard_template(GENERATIONS)  # temporary: `generation.shards` jobs per language
SCORES = "results/scores/{samples}/{lang}.parquet"  # one reward (or skip) per sample
SCORE_SHARD = shard_template(SCORES)  # temporary: `reward.shards` jobs per language
REFERENCE_SCORES = "results/reference_scores/{lang}.parquet"  # the reward of each prompt's reference answer
LANGUAGE_ID = "results/language_id/{samples}/{lang}.parquet"  # the identified language of every sample
# ICR's implicit reward of every sample: log pi_DPO - log pi_ref under the English prompt (stages/icr.py)
IMPLICIT_REWARDS = "results/implicit_rewards/{samples}/{lang}.parquet"
# MAPO's alignment reward of every non-English sample against the English samples (stages/mapo.py)
ALIGNMENT_REWARDS = "results/alignment_rewards/{samples}/{lang}.parquet"
DATASET = "results/datasets/{source}/{scope}/{dataset}.parquet"  # training data
DATASET_STATS = "results/datasets/{source}/{scope}/{dataset}.stats.json"
ADAPTER = "results/adapters/{policy}/{source}/{scope}/{dataset}"  # LoRA adapter, metrics, curves
# a training run with a checkpoint every `training.curves.checkpoint_every` steps: checkpoint-<step>/ adapters
CURVE_RUN = "results/curves/{policy}/{source}/{scope}/{dataset}/seed-{seed}"
# Hugging Face cards (README.md with YAML metadata) of every training dataset and adapter (stages/cards.py)
DATASET_CARD = "results/cards/datasets/{source}/{scope}/{dataset}/README.md"
ADAPTER_CARD = "results/cards/adapters/{policy}/{source}/{scope}/{dataset}/README.md"
EUROEVAL = "results/euroeval/{subject}.json"  # every language the subject is evaluated in
# several subjects' EuroEval results from one job (`evaluation.euroeval.batch: scope`, see euroeval_batch)
EUROEVAL_BATCH = "results/euroeval-batches/{batch}.json"
ARENA_PROMPTS = "results/arena/prompts/{lang}.parquet"
ARENA_ANSWERS = "results/arena/answers/{subject}/{lang}.parquet"
JUDGMENTS = "results/arena/judgments/{comparison}/{lang}.parquet"
WINRATE = "results/arena/winrates/{comparison}/{lang}.json"

# The logs of the jobs whose time the cost plan measures (planning/cost.py reads their `finished in` lines); the
# rules name their logs with these templates.
LOGS = {
    "translate": "logs/translate/{translator}/{lang}.log",
    "generate": "logs/generate/{samples}/{lang}/shard-{shard}-of-{shards}.log",
    "score": "logs/score/{samples}/{lang}/shard-{shard}-of-{shards}.log",
    "score_references": "logs/score_references/{lang}.log",
    "implicit_rewards": "logs/implicit_rewards/{samples}/{lang}.log",
    "alignment_rewards": "logs/alignment_rewards/{samples}/{lang}.log",
    "train": "logs/train/{policy}/{source}/{scope}/{dataset}.log",
    "train_curve": "logs/train_curve/{policy}/{source}/{scope}/{dataset}/seed-{seed}.log",
    "train_online": "logs/train_online/{policy}/{source}/{scope}/{dataset}/seed-{seed}.log",
    "euroeval": "logs/euroeval/{subject}.log",
    "euroeval_batch": "logs/euroeval-batches/{batch}.log",
    "arena_answers": "logs/arena_answers/{subject}.log",
    "arena_answers_one": "logs/arena_answers/{subject}/{lang}.log",
    "arena_judge": "logs/arena_judge/{comparison}.log",
    "arena_judge_one": "logs/arena_judge/{comparison}/{lang}.log",
}

REPORT_FILES = {
    "summary": "results/report/summary.html",
    "protocol_table": "results/report/protocol.html",
    "domains_plot": "results/report/prompt_domains.png",
    "token_lengths_plot": "results/report/token_lengths.png",
    "euroeval_table": "results/report/euroeval_deltas.html",
    "euroeval_csv": "results/report/euroeval_scores.csv",
    "held_out_table": "results/report/euroeval_held_out.html",
    "baselines_table": "results/report/euroeval_baselines.html",
    "arena_plot": "results/report/arena_lc_win_rates.png",
    "arena_table": "results/report/arena_win_rates.html",
    "adapter_arena_plot": "results/report/arena_adapters_lc_win_rates.png",
    "rewards_plot": "results/report/reward_distributions.png",
    "reward_consistency_plot": "results/report/reward_consistency.png",
    "pair_languages_plot": "results/report/pair_languages.png",
    "language_id_plot": "results/report/language_id.png",
    "language_id_table": "results/report/language_id.html",
    "training_plot": "results/report/training_curves.png",
    "checkpoint_curves_plot": "results/report/checkpoint_curves.png",
    "checkpoint_curves_csv": "results/report/checkpoint_curves.csv",  # the values behind the figure
    "adapter_arena_csv": "results/report/arena_adapters_lc_win_rates.csv",
    "sweep_plot": "results/report/rejection_sweep.png",
    "sweep_csv": "results/report/rejection_sweep.csv",  # the values behind the figure
    "length_table": "results/report/length_bias.html",
    "length_plot": "results/report/length_bias.png",
    "cost_table": "results/report/gpu_hours.html",
    "cost_csv": "results/report/gpu_hours.csv",
    "cost_plot": "results/report/gpu_hours.png",
}


def per_language(template: str, languages: list[str]) -> dict[str, str]:
    """{lang_<code>: the template with {lang} filled in, other wildcards kept}: the named outputs of a job that
    writes every language (named, as Snakemake's between-workflow cache requires of several outputs)."""
    return {f"lang_{lang.replace('-', '_')}": template.replace("{lang}", lang) for lang in languages}


def artifact_templates() -> list[str]:
    """Every artifact path template above (the directories a run writes into)."""
    found = [
        value for name, value in globals().items() if name.isupper() and isinstance(value, str) and value.startswith("results/")
    ]
    return found + list(REPORT_FILES.values())
