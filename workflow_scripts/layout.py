"""The results layout and the name vocabulary: the one place that says where every artifact lives and how
its names are formed. Rules use the templates in `output:` (their `{wildcards}` are Snakemake wildcards);
planning formats the same templates (`PROMPTS.format(lang="da")`). Renaming an artifact is a one-line change
here; tests/test_layout.py checks that every rule writes a template from here and that the schema's names
match these.

Names:
  <samples>  a generator's samples: its model name, `+instructed` appended when the prompts carried the
             language instruction (an ablation)
  <source>   where training data comes from: <samples>, or `translated` (In-Lang / All-Lang SFT)
  <scope>    `mono-<lang>` or `multi-<lang>+<lang>...` (sorted)
  <dataset>  `dpo-<target>-<prompt language>`, `maxr` or `sft`; `online-dpo-<target>` for online DPO (no
             dataset file: the policy samples its pairs while it trains); a sampled dataset built only from
             samples identified as in their requested language (`pairs.language_filter`) ends in `+in_language`
  <subject>  what is evaluated: a model name from `models:`, an adapter <policy>/<source>/<scope>/<dataset>, or
             a checkpoint of a curve run <policy>/<source>/<scope>/<dataset>/seed-<seed>/step-<step>
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from workflow_scripts.errors import UserError

# ---------------------------------------------------------------- vocabulary

METHODS = ("dpo", "maxr", "sft")
REGIMES = ("mono", "multi")
TARGETS = ("mean_minus_2sigma", "q1", "min")  # where the rejected response's reward is aimed
PROMPT_LANGUAGES = ("chosen", "rejected", "random")  # the multilingual DPO prompt's language
TRANSLATED = "translated"  # the source of the SFT baselines on translated data
INSTRUCTED = "+instructed"  # samples whose prompts carry the language instruction
ONLINE = "online-"  # the prefix of an online DPO run's dataset name
IN_LANGUAGE = "+in_language"  # the suffix of a dataset built from in-language samples only (pairs.language_filter)

SCOPE_RE = r"(?:mono|multi)-[a-z+]+"
SAMPLED_DATASET_RE = rf"(?:dpo-(?:{'|'.join(TARGETS)})-(?:{'|'.join(PROMPT_LANGUAGES)})|maxr)(?:{re.escape(IN_LANGUAGE)})?"
ONLINE_DATASET_RE = rf"{ONLINE}dpo-(?:{'|'.join(TARGETS)})"
DATASET_RE = rf"{SAMPLED_DATASET_RE}|sft|{ONLINE_DATASET_RE}"


def mono_scope(lang: str) -> str:
    return f"mono-{lang}"


def multi_scope(langs) -> str:
    return "multi-" + "+".join(sorted(langs))


def scope_languages(scope: str) -> list[str]:
    regime, _, langs = scope.partition("-")
    if regime not in REGIMES or not langs:
        raise UserError(f"malformed scope '{scope}' (expected mono-<lang> or multi-<lang>+<lang>...)")
    return langs.split("+")


def dpo_dataset(target: str, prompt_language: str) -> str:
    return f"dpo-{target}-{prompt_language}"


def online_dataset(target: str) -> str:
    return f"{ONLINE}dpo-{target}"


def language_filtered(dataset: str) -> str:
    """The name of a sampled dataset built from in-language samples only."""
    return dataset + IN_LANGUAGE


def parse_dataset(dataset: str) -> dict:
    """`dpo-mean_minus_2sigma-chosen` -> {method: dpo, target: ..., prompt_language: ...}; an online run's
    `online-dpo-<target>` -> {method: dpo, target: ..., online: True}; a `+in_language` dataset adds
    language_filter: True."""
    if dataset.endswith(IN_LANGUAGE):
        parsed = parse_dataset(dataset[: -len(IN_LANGUAGE)])
        if parsed["method"] == "sft" or parsed.get("online"):
            raise UserError(f"'{dataset}': only Paired DPO and Max-R datasets are built from identified samples")
        return {**parsed, "language_filter": True}
    if dataset in ("maxr", "sft"):
        return {"method": dataset}
    if dataset.startswith(ONLINE):
        target = dataset[len(ONLINE) + len("dpo-") :]
        if not dataset.startswith(f"{ONLINE}dpo-") or target not in TARGETS:
            raise UserError(f"malformed online dataset name '{dataset}'")
        return {"method": "dpo", "target": target, "online": True}
    method, _, rest = dataset.partition("-")
    target, _, prompt_language = rest.rpartition("-")
    if method != "dpo" or target not in TARGETS or prompt_language not in PROMPT_LANGUAGES:
        raise UserError(f"malformed dataset name '{dataset}'")
    return {"method": "dpo", "target": target, "prompt_language": prompt_language}


def sample_source(generator: str, instructed: bool) -> str:
    """Name of a generator's samples: `eurollm-9b`, or `eurollm-9b+instructed` with the language instruction."""
    return generator + (INSTRUCTED if instructed else "")


def parse_sample_source(source: str) -> tuple[str, bool]:
    """(generator model, instructed) of a sample source name."""
    if source.endswith(INSTRUCTED):
        return source[: -len(INSTRUCTED)], True
    return source, False


def names_pattern(names) -> str:
    """A wildcard pattern matching exactly these names (no names: a pattern that matches nothing)."""
    return "|".join(re.escape(name) for name in names) or "(?!)"


def samples_re(model_re: str) -> str:
    """Wildcard pattern of <samples> given the pattern of the configured model names."""
    return rf"(?:{model_re})(?:{re.escape(INSTRUCTED)})?"


@dataclass(frozen=True)
class Training:
    """One adapter: `policy` trained on `dataset` built from `source` data in `scope`; for a checkpoint of a
    curve run (`training.curves`), also the run's seed and the checkpoint's step."""

    policy: str
    source: str
    scope: str
    dataset: str
    seed: int | None = None
    step: int | None = None

    @property
    def subject(self) -> str:
        subject = f"{self.policy}/{self.source}/{self.scope}/{self.dataset}"
        return subject if self.step is None else f"{subject}/seed-{self.seed}/step-{self.step}"

    @property
    def run_dir(self) -> str:
        """The directory a job writes: the adapter, or the curve run holding this checkpoint."""
        if self.seed is None:
            return ADAPTER.format(policy=self.policy, source=self.source, scope=self.scope, dataset=self.dataset)
        return CURVE_RUN.format(policy=self.policy, source=self.source, scope=self.scope, dataset=self.dataset, seed=self.seed)

    @property
    def adapter_dir(self) -> str:
        """Where the adapter's files are."""
        return self.run_dir if self.step is None else f"{self.run_dir}/{checkpoint_name(self.step)}"

    def checkpoint(self, seed: int, step: int) -> Training:
        return Training(self.policy, self.source, self.scope, self.dataset, seed, step)


def checkpoint_name(step: int) -> str:
    return f"checkpoint-{step}"


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


def parse_subject(subject: str) -> tuple[str, Training | None]:
    """(base model name, adapter or None)."""
    parts = subject.split("/")
    if len(parts) == 1:
        return parts[0], None
    if len(parts) == 6 and re.fullmatch(r"seed-\d+", parts[4]) and re.fullmatch(r"step-\d+", parts[5]):
        return parts[0], Training(*parts[:4], int(parts[4][5:]), int(parts[5][5:]))
    if len(parts) != 4:
        raise UserError(
            f"'{subject}' is neither a model name, <policy>/<source>/<scope>/<dataset>, nor a checkpoint "
            "<policy>/<source>/<scope>/<dataset>/seed-<seed>/step-<step>"
        )
    return parts[0], Training(*parts)


# ---------------------------------------------------------------- artifacts (all under results/)

MODEL_DIR = "results/models/{model}"  # a GGUF materialized as a HF directory
MODEL_REVISION = "results/models/{model}.revision.json"  # the commit a Hub model is loaded at
SOURCE_SAMPLE = "results/source_prompts/sample.parquet"  # the stratified corpus sample
SOURCE_SAMPLE_STATS = "results/source_prompts/sample.stats.json"
PROMPTS = "results/prompts/{lang}.parquet"  # per language, ids stable across them
TRANSLATION = "results/translations/{translator}/{lang}.parquet"
TRANSLATION_STATS = "results/translations/{translator}/{lang}.stats.json"
TOKEN_LENGTHS = "results/token_lengths/{model}/{lang}.parquet"
GENERATION_SHARD = "results/generations/{samples}/{lang}/shard-{shard}-of-{shards}.parquet"
GENERATIONS = "results/generations/{samples}/{lang}.parquet"  # one row per sample
SCORE_SHARD = "results/scores/{samples}/{lang}/shard-{shard}-of-{shards}.parquet"
SCORES = "results/scores/{samples}/{lang}.parquet"  # one reward (or skip) per sample
REFERENCE_SCORES = "results/reference_scores/{lang}.parquet"  # the reward of each prompt's reference answer
LANGUAGE_ID = "results/language_id/{samples}/{lang}.parquet"  # the identified language of every sample
DATASET = "results/datasets/{source}/{scope}/{dataset}.parquet"  # training data
DATASET_STATS = "results/datasets/{source}/{scope}/{dataset}.stats.json"
ADAPTER = "results/adapters/{policy}/{source}/{scope}/{dataset}"  # LoRA adapter, metrics, curves
# a training run with a checkpoint every `training.curves.checkpoint_every` steps: checkpoint-<step>/ adapters
CURVE_RUN = "results/curves/{policy}/{source}/{scope}/{dataset}/seed-{seed}"
EUROEVAL = "results/euroeval/{subject}.json"  # every language the subject is evaluated in
# several subjects' EuroEval results from one job (`evaluation.euroeval.batch: scope`, see euroeval_batch)
EUROEVAL_BATCH = "results/euroeval-batches/{batch}.json"
ARENA_PROMPTS = "results/arena/prompts/{lang}.parquet"
ARENA_ANSWERS = "results/arena/answers/{subject}/{lang}.parquet"
JUDGMENTS = "results/arena/judgments/{comparison}/{lang}.parquet"
WINRATE = "results/arena/winrates/{comparison}/{lang}.json"

REPORT_FILES = {
    "summary": "results/report/summary.html",
    "protocol_table": "results/report/protocol.html",
    "domains_plot": "results/report/prompt_domains.png",
    "token_lengths_plot": "results/report/token_lengths.png",
    "euroeval_table": "results/report/euroeval_deltas.html",
    "euroeval_csv": "results/report/euroeval_scores.csv",
    "held_out_table": "results/report/euroeval_held_out.html",
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
}


def per_language(template: str, languages: list[str]) -> dict[str, str]:
    """{lang_<code>: the template with {lang} filled in, other wildcards kept}: the named outputs of a job that
    writes every language (named, as Snakemake's between-workflow cache requires of several outputs)."""
    return {f"lang_{lang.replace('-', '_')}": template.replace("{lang}", lang) for lang in languages}
