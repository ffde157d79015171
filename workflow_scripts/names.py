"""The names jobs read at run time: methods, regimes, rejection targets, prompt languages, and how scope, dataset,
sample-source and subject names are formed and parsed. Steps import this module, so it is inside their code
fingerprints: an edit here reruns the steps that parse these names (paths and targets are planning's,
`workflow_scripts/planning/layout.py`).

  <samples>  a generator's samples: its model name, `+instructed` appended when the prompts carried the
             language instruction (an ablation)
  <source>   where training data comes from: <samples>, or `translated` (In-Lang / All-Lang SFT)
  <scope>    `mono-<lang>` or `multi-<lang>+<lang>...` (sorted)
  <dataset>  `dpo-<target>-<prompt language>`, `maxr`, `sft`, `icr` or `mapo` (the baselines' pairs, for DPO);
             `online-dpo-<target>` for online DPO (no dataset file: the policy samples its pairs while it
             trains); a sampled dataset built only from
             samples identified as in their requested language (the language filter) ends in `+in_language`
  <subject>  what is evaluated: a model name from `models:`, an adapter <policy>/<source>/<scope>/<dataset>, or
             a checkpoint of a curve run <policy>/<source>/<scope>/<dataset>/seed-<seed>/step-<step>

An experiment's variant (`experiments.<name>.settings`) names the settings in which it differs from the global
config after the name they change, sorted: samples `<generator>@samples=16`, an adapter's dataset component
`dpo-mean_minus_2sigma-chosen@beta=0.2@learning_rate=1e-05` (its training data keeps the plain name: the pairs
are the same). A setting equal to the global value is left out, so that variant shares the plain artifact.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from workflow_scripts.errors import UserError

METHODS = ("dpo", "maxr", "sft", "icr", "mapo")
ICR = "icr"  # the dataset of the ICR baseline's pairs (implicit cross-lingual rewards; trained with DPO)
MAPO = "mapo"  # the dataset of the MAPO baseline's pairs (translation-model alignment rewards; trained with DPO)
REGIMES = ("mono", "multi")
# Where the rejected response's reward is aimed: the paper's μ−2σ and two named alternatives; any μ−kσ
# (`mean_minus_<k>sigma`) and any quantile of the pool (`quantile_<p>`, 0 < p < 1) sweep the sweet spot.
TARGETS = ("mean_minus_2sigma", "q1", "min")
TARGET_RE = r"mean_minus_\d+(?:\.\d+)?sigma|quantile_0\.\d*[1-9]|q1|min"
PROMPT_LANGUAGES = ("chosen", "rejected", "random")  # the multilingual DPO prompt's language
TRANSLATED = "translated"  # the source of the SFT baselines on translated data
INSTRUCTED = "+instructed"  # samples whose prompts carry the language instruction
ONLINE = "online-"  # the prefix of an online DPO run's dataset name
IN_LANGUAGE = "+in_language"  # the suffix of a dataset built from in-language samples only (pairs.language_filter)
# the suffix of a Paired DPO dataset whose rewards are penalized by α·length per language (an experiment's
# length_control; stages/pairs.py)
LENGTH_CONTROLLED = "+length_controlled"
VARIANT = "@"  # opens each setting of an experiment's variant: `@beta=0.2`
# The settings a variant may change, by the name its artifacts carry: those of the samples (and so of everything
# made from them), and those of an adapter's training (its data is shared).
SAMPLE_SETTINGS = ("samples", "temperature", "max_tokens")
ADAPTER_SETTINGS = ("beta", "nll_weight", "learning_rate", "lora_r", "lora_alpha", "lora_dropout", "epochs", "max_steps")


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


def is_target(name: str) -> bool:
    return re.fullmatch(TARGET_RE, name) is not None


def parse_target(target: str) -> tuple[str, float]:
    """("sigma", k) for mean − k·std, or ("quantile", p) for the pool's p-quantile (q1: 0.25, min: 0)."""
    named = {"q1": ("quantile", 0.25), "min": ("quantile", 0.0)}
    if target in named:
        return named[target]
    if is_target(target):
        kind, value = (
            ("sigma", target[len("mean_minus_") : -len("sigma")])
            if target.endswith("sigma")
            else ("quantile", target[len("quantile_") :])
        )
        return kind, float(value)
    raise UserError(
        f"unknown rejection target '{target}' (mean_minus_<k>sigma, quantile_<p> with 0 < p < 1, q1 or min)",
        field="rejection_targets",
    )


def online_dataset(target: str) -> str:
    return f"{ONLINE}dpo-{target}"


def language_filtered(dataset: str) -> str:
    """The name of a sampled dataset built from in-language samples only."""
    return dataset + IN_LANGUAGE


def length_controlled(dataset: str) -> str:
    """The name of a Paired DPO dataset selected on length-penalized rewards; other datasets keep theirs."""
    return dataset + LENGTH_CONTROLLED if dataset.startswith("dpo-") else dataset


def setting_value(value) -> str:
    """A setting's value as a name carries it: integers without a point, other numbers exactly (repr)."""
    number = float(value)
    return str(int(number)) if number.is_integer() else repr(number)


def with_settings(name: str, settings: dict) -> str:
    """`name` followed by a variant's settings, sorted by key: `dpo-q1-chosen@beta=0.2@max_steps=100`."""
    return name + "".join(f"{VARIANT}{key}={setting_value(value)}" for key, value in sorted(settings.items()))


def split_settings(name: str, allowed=SAMPLE_SETTINGS + ADAPTER_SETTINGS) -> tuple[str, dict]:
    """(the plain name, {setting: number}) of a name that may carry a variant's settings."""
    plain, *parts = name.split(VARIANT)
    settings = {}
    for part in parts:
        key, sep, value = part.partition("=")
        if not sep or key not in allowed or not re.fullmatch(r"-?[0-9.]+(?:e[+-]?\d+)?", value):
            raise UserError(
                f"'{name}': malformed variant setting '{VARIANT}{part}' (expected {VARIANT}<setting>=<number>, "
                f"a setting one of {', '.join(allowed)})"
            )
        settings[key] = int(value) if re.fullmatch(r"-?\d+", value) else float(value)
    return plain, settings


def parse_dataset(dataset: str) -> dict:
    """`dpo-mean_minus_2sigma-chosen` -> {method: dpo, target: ..., prompt_language: ...}; an online run's
    `online-dpo-<target>` -> {method: dpo, target: ..., online: True}; a `+in_language` dataset adds
    language_filter: True; an adapter's name with a variant's settings adds them (`settings`) and the
    name of its training data (`data`)."""
    if VARIANT in dataset:
        plain, settings = split_settings(dataset, ADAPTER_SETTINGS)
        parsed = parse_dataset(plain)
        for dpo_only in ("beta", "nll_weight"):
            if dpo_only in settings and parsed["method"] != "dpo":
                raise UserError(f"'{dataset}': {dpo_only} is a DPO setting, and this adapter is trained with {parsed['method']}")
        return {**parsed, "settings": settings, "data": plain}
    if dataset.endswith(LENGTH_CONTROLLED):
        parsed = parse_dataset(dataset[: -len(LENGTH_CONTROLLED)])
        if parsed.get("target") is None or parsed.get("online"):
            raise UserError(f"'{dataset}': only Paired DPO datasets are length-controlled")
        return {**parsed, "length_control": True}
    if dataset.endswith(IN_LANGUAGE):
        parsed = parse_dataset(dataset[: -len(IN_LANGUAGE)])
        if parsed["method"] == "sft" or parsed.get("online"):
            raise UserError(f"'{dataset}': only Paired DPO and Max-R datasets are built from identified samples")
        return {**parsed, "language_filter": True}
    if dataset in ("maxr", "sft"):
        return {"method": dataset}
    if dataset in (ICR, MAPO):
        return {"method": "dpo", "pairs": dataset}
    if dataset.startswith(ONLINE):
        target = dataset[len(ONLINE) + len("dpo-") :]
        if not dataset.startswith(f"{ONLINE}dpo-") or not is_target(target):
            raise UserError(f"malformed online dataset name '{dataset}'")
        return {"method": "dpo", "target": target, "online": True}
    method, _, rest = dataset.partition("-")
    target, _, prompt_language = rest.rpartition("-")
    if method != "dpo" or not is_target(target) or prompt_language not in PROMPT_LANGUAGES:
        raise UserError(f"malformed dataset name '{dataset}'")
    return {"method": "dpo", "target": target, "prompt_language": prompt_language}


def data_name(dataset: str) -> str:
    """The dataset an adapter trains on: its name without a variant's training settings (they share it)."""
    return parse_dataset(dataset).get("data", dataset)


def sample_source(generator: str, instructed: bool) -> str:
    """Name of a generator's samples: `eurollm-9b`, or `eurollm-9b+instructed` with the language instruction."""
    return generator + (INSTRUCTED if instructed else "")


def parse_sample_source(source: str) -> tuple[str, bool]:
    """(generator model, instructed) of a sample source name (a variant's settings: sample_settings)."""
    source = split_settings(source, SAMPLE_SETTINGS)[0]
    if source.endswith(INSTRUCTED):
        return source[: -len(INSTRUCTED)], True
    return source, False


def sample_settings(source: str) -> dict:
    """The settings of a variant's samples (`eurollm-9b@samples=16` -> {samples: 16}); {} for the global ones."""
    return split_settings(source, SAMPLE_SETTINGS)[1]


@dataclass(frozen=True)
class Training:
    """One adapter: `policy` trained on `dataset` built from `source` data in `scope`; for a checkpoint of a
    curve run (`training.curves`), also the run's seed and the checkpoint's step. Its directories are
    planning's (`planning.layout.run_dir`, `adapter_dir`)."""

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

    def checkpoint(self, seed: int, step: int) -> Training:
        return Training(self.policy, self.source, self.scope, self.dataset, seed, step)


def checkpoint_name(step: int) -> str:
    """The directory a curve run keeps the adapter of `step` in."""
    return f"checkpoint-{step}"


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
