"""The names jobs read at run time: methods, regimes, rejection targets, prompt languages, and how scope, dataset,
sample-source and subject names are formed and parsed. Steps import this module, so it is inside their code
fingerprints: an edit here reruns the steps that parse these names (paths and targets are planning's,
`workflow_scripts/planning/layout.py`).

  <samples>  a generator's samples: its model name, `+instructed` appended when the prompts carried the
             language instruction (an ablation)
  <source>   where training data comes from: <samples>, or `translated` (In-Lang / All-Lang SFT)
  <scope>    `mono-<lang>` or `multi-<lang>+<lang>...` (sorted)
  <dataset>  `dpo-<target>-<prompt language>`, `maxr` or `sft`; `online-dpo-<target>` for online DPO (no
             dataset file: the policy samples its pairs while it trains); a sampled dataset built only from
             samples identified as in their requested language (the language filter) ends in `+in_language`
  <subject>  what is evaluated: a model name from `models:`, an adapter <policy>/<source>/<scope>/<dataset>, or
             a checkpoint of a curve run <policy>/<source>/<scope>/<dataset>/seed-<seed>/step-<step>
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from workflow_scripts.errors import UserError

METHODS = ("dpo", "maxr", "sft")
REGIMES = ("mono", "multi")
TARGETS = ("mean_minus_2sigma", "q1", "min")  # where the rejected response's reward is aimed
PROMPT_LANGUAGES = ("chosen", "rejected", "random")  # the multilingual DPO prompt's language
TRANSLATED = "translated"  # the source of the SFT baselines on translated data
INSTRUCTED = "+instructed"  # samples whose prompts carry the language instruction
ONLINE = "online-"  # the prefix of an online DPO run's dataset name
IN_LANGUAGE = "+in_language"  # the suffix of a dataset built from in-language samples only (pairs.language_filter)


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
