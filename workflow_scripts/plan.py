"""The experiment plan: config semantics beyond the schema, and every artifact the experiments need.

Artifact paths (all under results/):
  models/<model>/                                   GGUF model materialized as a HF directory
  prompts/<lang>.parquet                            prompts with stable ids, per language
  translations/<translator>/<lang>.parquet          machine translations (when not provided)
  generations/<generator>/<lang>.parquet            one row per sample
  scores/<generator>/<lang>.parquet                 one reward (or skip reason) per sample
  datasets/<source>/<scope>/<dataset>.parquet       training data (+ .stats.json)
  adapters/<policy>/<source>/<scope>/<dataset>/     LoRA adapter, training metrics and curves

<source> is the generator model, or `translated` for In-Lang / All-Lang SFT; <scope> is `mono-<lang>` or
`multi-<lang>+<lang>...` (sorted); <dataset> is `dpo-<target>-<prompt language>`, `maxr` or `sft`.
Experiments that share an artifact share its path, so it is computed once.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from workflow_scripts.errors import UserError
from workflow_scripts.languages import language_name
from workflow_scripts.models import gguf_path, model_spec

TRANSLATED = "translated"


def mono_scope(lang: str) -> str:
    return f"mono-{lang}"


def multi_scope(langs) -> str:
    return "multi-" + "+".join(sorted(langs))


def scope_languages(scope: str) -> list[str]:
    regime, _, langs = scope.partition("-")
    if regime not in ("mono", "multi") or not langs:
        raise UserError(f"malformed scope '{scope}' (expected mono-<lang> or multi-<lang>+<lang>...)")
    return langs.split("+")


def parse_dataset(dataset: str) -> dict:
    """`dpo-mean_minus_2sigma-chosen` -> {method: dpo, target: ..., prompt_language: ...}."""
    if dataset in ("maxr", "sft"):
        return {"method": dataset}
    method, _, rest = dataset.partition("-")
    target, _, prompt_language = rest.rpartition("-")
    if method != "dpo" or not target or not prompt_language:
        raise UserError(f"malformed dataset name '{dataset}'")
    return {"method": "dpo", "target": target, "prompt_language": prompt_language}


@dataclass(frozen=True)
class Training:
    policy: str
    source: str
    scope: str
    dataset: str

    @property
    def adapter_dir(self) -> str:
        return f"results/adapters/{self.policy}/{self.source}/{self.scope}/{self.dataset}"


def experiment_languages(config: dict, exp: dict, key: str = "languages") -> list[str]:
    return list(exp.get(key) or config["languages"])


def trainings(config: dict) -> list[Training]:
    """Every adapter the experiments ask for, each once, in a stable order."""
    seen: dict[Training, None] = {}
    for name, exp in config["experiments"].items():
        policy = exp["policy"]
        generator = exp.get("generator") or policy
        langs = experiment_languages(config, exp)
        scopes = []
        if "mono" in exp["regimes"]:
            scopes += [mono_scope(lang) for lang in langs]
        if "multi" in exp["regimes"]:
            scopes.append(multi_scope(langs))
        for scope in scopes:
            multi = scope.startswith("multi-")
            for method in exp["methods"]:
                if method == "sft":
                    seen[Training(policy, TRANSLATED, scope, "sft")] = None
                elif method == "maxr":
                    seen[Training(policy, generator, scope, "maxr")] = None
                else:
                    for target in exp["rejection_targets"]:
                        # In a monolingual pool every response shares the prompt's language.
                        for plang in (exp["prompt_languages"] if multi else ["chosen"]):
                            seen[Training(policy, generator, scope, f"dpo-{target}-{plang}")] = None
    return list(seen)


def all_targets(config: dict) -> list[str]:
    return [t.adapter_dir for t in trainings(config)]


def describe_schema_error(config: dict, schema_path) -> str:
    """The most relevant JSON-schema violation, as `at 'key.path': message`."""
    import jsonschema
    import yaml

    schema = yaml.safe_load(Path(schema_path).read_text())
    validator = jsonschema.Draft202012Validator(schema)
    error = jsonschema.exceptions.best_match(validator.iter_errors(config))
    if error is None:
        return "the config does not match schemas/config.schema.yaml"
    key = ".".join(str(p) for p in error.absolute_path) or "(top level)"
    return f"at '{key}': {error.message}"


def check_config(config: dict, base_dir: str | os.PathLike = ".") -> None:
    """Semantic checks the JSON schema cannot express; raises a UserError naming the key."""
    base_dir = Path(base_dir)
    langs = config["languages"]
    for i, lang in enumerate(langs):
        language_name(lang, field=f"languages[{i}]")
    source = config["source_language"]
    language_name(source, field="source_language")
    if source not in langs:
        raise UserError(f"source language '{source}' must be one of languages {langs}", field="source_language")
    prompt_file = base_dir / config["prompts"]["file"]
    if not prompt_file.is_file():
        raise UserError(f"prompt file not found: {prompt_file}", field="prompts.file")
    provided = config["prompts"].get("translations", {})
    for lang, path in provided.items():
        field = f"prompts.translations.{lang}"
        language_name(lang, field=field)
        if lang == source:
            raise UserError("the source language needs no translation file", field=field)
        if lang not in langs:
            raise UserError(f"'{lang}' is not in languages {langs}", field=field)
        if not (base_dir / path).is_file():
            raise UserError(f"translation file not found: {base_dir / path}", field=field)
    translator = config.get("translation", {}).get("model")
    if translator is not None:
        model_spec(config, translator, field="translation.model")
    missing = [lang for lang in langs if lang != source and lang not in provided]
    if missing and translator is None:
        raise UserError(
            f"languages {missing} have no provided translation file and no translator is configured",
            field="translation.model",
        )
    model_spec(config, config["reward"]["model"], field="reward.model")
    for name, spec in config["models"].items():
        if "gguf" in spec:
            gguf_path(spec, name, base_dir)
        elif "path" in spec:
            path = Path(spec["path"]) if Path(spec["path"]).is_absolute() else base_dir / spec["path"]
            if not (path / "config.json").is_file():
                raise UserError(f"model directory not found or without config.json: {path}", field=f"models.{name}.path")
    for name, exp in config["experiments"].items():
        field = f"experiments.{name}"
        model_spec(config, exp["policy"], field=f"{field}.policy")
        if exp.get("generator"):
            model_spec(config, exp["generator"], field=f"{field}.generator")
        for key in ("languages", "eval_languages"):
            for lang in exp.get(key) or []:
                if lang not in langs:
                    raise UserError(f"'{lang}' is not in the top-level languages {langs}", field=f"{field}.{key}")
        if "multi" in exp["regimes"] and len(experiment_languages(config, exp)) < 2:
            raise UserError("the multi regime needs at least two languages", field=f"{field}.regimes")
        for key in ("methods", "regimes", "rejection_targets", "prompt_languages"):
            if not exp[key]:
                raise UserError("must not be empty", field=f"{field}.{key}")
