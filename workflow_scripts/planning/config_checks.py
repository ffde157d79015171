"""The config beyond its JSON schema: schema violations turned into one message naming the key (with a
did-you-mean for a mistyped one), and the checks a schema cannot express (files that must exist, names that
must be defined, languages that must be known). Each failure is a UserError naming the key."""

from __future__ import annotations

import os
from pathlib import Path

from workflow_scripts.errors import UserError
from workflow_scripts.languages import language_name, nllb_code
from workflow_scripts.planning.models import gguf_path, model_spec
from workflow_scripts.planning.plan import (
    arena_comparisons,
    arena_jobs,
    euroeval_jobs,
    euroeval_offline,
    experiment_languages,
    trainings,
    uses_language_filter,
)


def _key_path(parts) -> str:
    """`experiments.main.languages[2]` from a JSON-schema error path."""
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _schema_keys(schema: dict) -> list[str]:
    """Every key path the config schema defines (`<name>` for user-named entries such as models)."""
    found = []

    def walk(node, prefix, depth):
        if not isinstance(node, dict) or depth > 8:
            return
        if "$ref" in node and node["$ref"].startswith("#/$defs/"):
            node = schema["$defs"].get(node["$ref"].split("/")[-1], {})
        for key, sub in node.get("properties", {}).items():
            path = f"{prefix}.{key}" if prefix else key
            found.append(path)
            walk(sub, path, depth + 1)
        if isinstance(node.get("additionalProperties"), dict):
            walk(node["additionalProperties"], f"{prefix}.<name>" if prefix else "<name>", depth + 1)

    walk(schema, "", 0)
    return found


def schema_error(config: dict, schema_path) -> UserError:
    """The most relevant JSON-schema violation, naming the key at fault (a mistyped key gets a suggestion)."""
    import difflib

    import jsonschema
    import yaml

    schema = yaml.safe_load(Path(schema_path).read_text())
    validator = jsonschema.Draft202012Validator(schema)
    error = jsonschema.exceptions.best_match(validator.iter_errors(config))
    if error is None:
        return UserError(f"the config does not match {Path(schema_path).name}")
    path = list(error.absolute_path)
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        known = sorted(error.schema.get("properties", {}))
        unknown = sorted(k for k in error.instance if k not in known)
        if unknown:
            # A typo of a key at this level, else a key that belongs elsewhere (`samples` at the top level).
            everywhere = {}
            for key_path in _schema_keys(schema):
                everywhere.setdefault(key_path.rsplit(".", 1)[-1], []).append(key_path)
            close = difflib.get_close_matches(str(unknown[0]), known, n=1, cutoff=0.8)
            elsewhere = difflib.get_close_matches(str(unknown[0]), list(everywhere), n=1, cutoff=0.8)
            suggestions = [close[0]] if close else everywhere[elsewhere[0]] if elsewhere else []
            hint = "; did you mean " + " or ".join(f"'{k}'" for k in suggestions) + "?" if suggestions else ""
            return UserError(f"unknown key{hint} (known here: {', '.join(known)})", field=_key_path(path + [unknown[0]]))
    if error.validator == "required" and isinstance(error.instance, dict):
        missing = [k for k in error.validator_value if k not in error.instance]
        if missing:
            return UserError("required key missing", field=_key_path(path + [missing[0]]))
    return UserError(error.message, field=_key_path(path) or "(top level)")


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
    if config["prompts"].get("file"):
        prompt_file = base_dir / config["prompts"]["file"]
        if not prompt_file.is_file():
            raise UserError(f"prompt file not found: {prompt_file}", field="prompts.file")
    corpus = (config["prompts"].get("sample") or {}).get("file")
    if corpus and not (base_dir / corpus).is_file():
        raise UserError(f"corpus file not found: {base_dir / corpus}", field="prompts.sample.file")
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
            check_model_config(path / "config.json", f"models.{name}.path")
    for name, exp in config["experiments"].items():
        field = f"experiments.{name}"
        model_spec(config, exp["policy"], field=f"{field}.policy")
        if exp.get("generator"):
            model_spec(config, exp["generator"], field=f"{field}.generator")
        for lang in exp.get("languages") or []:
            if lang not in langs:
                raise UserError(f"'{lang}' is not in the top-level languages {langs}", field=f"{field}.languages")
        evaluable = langs + [lang for lang in config["evaluation"]["euroeval"]["datasets"] if lang not in langs]
        for lang in exp.get("eval_languages") or []:
            if lang not in evaluable:
                raise UserError(
                    f"'{lang}' is neither in languages {langs} nor has EuroEval datasets", field=f"{field}.eval_languages"
                )
        for i, baseline in enumerate(exp.get("arena_baselines") or []):
            model_spec(config, baseline, field=f"{field}.arena_baselines[{i}]")
        if "multi" in exp["regimes"] and len(experiment_languages(config, exp)) < 2:
            raise UserError("the multi regime needs at least two languages", field=f"{field}.regimes")
        for key in ("methods", "regimes", "rejection_targets", "prompt_languages"):
            if not exp[key]:
                raise UserError("must not be empty", field=f"{field}.{key}")
        if "dpo" in exp["methods"] and "mono" in exp["regimes"] and config["generation"]["samples"] < 2:
            raise UserError(
                f"experiment '{name}' asks for monolingual Paired DPO, whose pools (one prompt, one language) need at "
                f"least 2 samples to form a pair; generation.samples is {config['generation']['samples']}",
                field="generation.samples",
            )
        if uses_language_filter(config, exp):
            check_language_filter(config, exp, field)
        check_baselines(config, exp, field)
    check_evaluation(config, base_dir)


def check_baselines(config: dict, exp: dict, field: str) -> None:
    """ICR needs the source-language prompts and adapter; MAPO a translation model, English samples to align to,
    another language to train on, and an NLLB code for each language."""
    source, langs = config["source_language"], experiment_languages(config, exp)
    if "icr" in exp["methods"] and source not in config["languages"]:
        raise UserError(
            f"ICR rewards every sample under its {source} prompt with the policy's {source} Paired-DPO adapter: "
            f"add '{source}' to languages",
            field="languages",
        )
    if "mapo" not in exp["methods"]:
        return
    model = config["pairs"]["mapo"]["model"]
    if not model:
        raise UserError("method mapo needs a translation model (NLLB, a name in models:)", field="pairs.mapo.model")
    model_spec(config, model, field="pairs.mapo.model")
    if source not in langs or len(langs) < 2:
        raise UserError(
            f"MAPO aligns the other languages' samples to the {source} ones: the experiment needs '{source}' and "
            "at least one other language",
            field=f"{field}.languages",
        )
    for lang in langs:
        nllb_code(lang, field=f"{field}.languages")


def check_model_config(path: Path, field: str) -> None:
    """A local model's config.json must describe a model (JSON with its `model_type`), or every job that loads it
    fails in transformers."""
    import json

    try:
        described = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise UserError(f"config.json is not valid JSON ({exc})", file=str(path), field=field) from None
    if not isinstance(described, dict) or not described.get("model_type"):
        raise UserError(
            "config.json does not describe a model (no model_type): not a Hugging Face model directory",
            file=str(path),
            field=field,
        )


def check_output_directories(base_dir: Path, templates) -> None:
    """Where the run writes must be writable directories: a file in the place of one (results/prompts) or a
    read-only file system fails every job that writes there, in Snakemake's own traceback."""
    roots = {Path("results"), Path("logs"), Path(".snakemake")}
    for template in templates:
        prefix = template.split("{", 1)[0]  # the directories before the first wildcard
        static = Path(prefix) if prefix.endswith("/") else Path(prefix).parent
        roots.update(p for p in [static, *static.parents] if str(p) != ".")
    for relative in sorted(roots):
        path = base_dir / relative
        if path.exists() and not path.is_dir():
            raise UserError("the run writes into this path, which is a file, not a directory", file=str(relative))
        if path.is_dir() and not os.access(path, os.W_OK):
            raise UserError("the run writes into this directory, which is not writable", file=str(relative))


def check_language_filter(config: dict, exp: dict, field: str) -> None:
    """The filter keeps samples lid.176 identifies as their requested language: it must know every one."""
    from workflow_scripts.stages.language_id import requested_labels

    unknown = [lang for lang in experiment_languages(config, exp) if requested_labels(lang) is None]
    if unknown:
        raise UserError(
            f"the language filter cannot keep samples in {unknown}: fastText lid.176 does not identify them "
            "(set language_filter: false for this experiment)",
            field=f"{field}.language_filter",
        )
    if (exp.get("curves") or {}).get("online"):
        raise UserError(
            "online DPO samples its pairs while it trains: there is no identified pool to filter",
            field=f"{field}.language_filter",
        )


def check_evaluation(config: dict, base_dir: Path) -> None:
    langs = config["languages"]
    evaluation = config["evaluation"]
    euroeval = evaluation["euroeval"]
    custom = euroeval["custom_datasets"]
    for lang, names in euroeval["datasets"].items():
        field = f"evaluation.euroeval.datasets.{lang}"
        language_name(lang, field=field)  # a language outside `languages` is evaluated only (held out)
        for name in names:
            if name in custom and custom[name]["language"] != lang:
                raise UserError(f"custom dataset '{name}' is in '{custom[name]['language']}', not '{lang}'", field=field)
    if euroeval["enabled"] and euroeval_offline(config):
        switch = "offline" if config["offline"] else "evaluation.euroeval.offline"
        for lang, names in euroeval["datasets"].items():
            for name in names:
                if name not in custom:
                    raise UserError(
                        f"'{name}' is not a local dataset (evaluation.euroeval.custom_datasets) and {switch} is true, "
                        "so EuroEval cannot download it: add it under custom_datasets with a local dir, or set "
                        f"{switch}: false where the Hugging Face Hub is reachable",
                        field=f"evaluation.euroeval.datasets.{lang}",
                    )
    for name, spec in custom.items():
        directory = base_dir / spec["dir"]
        for split in ("train", "val", "test"):
            if not (directory / f"{split}.csv").is_file():
                raise UserError(
                    f"missing {split}.csv in {directory}",
                    file=str(directory / f"{split}.csv"),
                    field=f"evaluation.euroeval.custom_datasets.{name}.dir",
                )
    arena = evaluation["arena"]
    for i, lang in enumerate(arena["languages"] or []):
        if lang not in langs:
            raise UserError(f"'{lang}' is not in languages {langs}", field=f"evaluation.arena.languages[{i}]")
    for lang, path in arena["prompts"]["files"].items():
        field = f"evaluation.arena.prompts.files.{lang}"
        if lang not in langs:
            raise UserError(f"'{lang}' is not in languages {langs}", field=field)
        if not (base_dir / path).is_file():
            raise UserError(f"m-ArenaHard prompt file not found: {base_dir / path}", field=field)
    if config["offline"]:
        for lang in dict.fromkeys(lang for _, lang in arena_jobs(config)["answers"]):
            if lang not in arena["prompts"]["files"]:
                raise UserError(
                    f"m-ArenaHard prompts in '{lang}' would come from the Hub ({arena['prompts']['hub']}) and "
                    f"offline is true: give a local file under evaluation.arena.prompts.files.{lang}, leave '{lang}' "
                    "out of evaluation.arena.languages, or set offline: false where the Hub is reachable",
                    field=f"evaluation.arena.prompts.files.{lang}",
                )
    if arena_comparisons(config):
        model_spec(config, arena["judge"]["model"], field="evaluation.arena.judge.model")
    for name in arena["generation"]["temperatures"]:
        model_spec(config, name, field=f"evaluation.arena.generation.temperatures.{name}")
    adapters = {t.subject for t in trainings(config)}
    for name, pair in arena["comparisons"].items():
        for role in ("model", "baseline"):
            ref = pair[role]
            field = f"evaluation.arena.comparisons.{name}.{role}"
            if "/" in ref:
                if ref not in adapters:
                    raise UserError(unknown_adapter_message(ref, adapters), field=field)
            else:
                model_spec(config, ref, field=field)
        if pair["model"] == pair["baseline"]:
            raise UserError("a model compared with itself", field=f"evaluation.arena.comparisons.{name}")


def unknown_adapter_message(ref: str, adapters: set[str]) -> str:
    """An adapter path no experiment trains: the nearest one first (a pool's name changes with its languages:
    multi-da+de+en becomes multi-da+de+en+fr when French is added), then all of them."""
    import difflib

    known = "\n  ".join(sorted(adapters)) or "(none)"
    close = difflib.get_close_matches(ref, sorted(adapters), n=1, cutoff=0.6)
    guess = f"did you mean '{close[0]}'? " if close else ""
    return f"no experiment trains the adapter '{ref}'; {guess}adapters:\n  {known}"


def config_warnings(config: dict) -> list[str]:
    """What a run would do without complaint but a user would want to know before it: adapters trained and
    never evaluated (no EuroEval dataset in their languages, no m-ArenaHard comparison). A config that evaluates
    nothing at all (EuroEval disabled, no comparisons) chose that: no warning."""
    if not config["evaluation"]["euroeval"]["enabled"] and not arena_comparisons(config):
        return []
    evaluated = {subject for subject, _ in euroeval_jobs(config)}
    evaluated |= {subject for subject, _ in arena_jobs(config)["answers"]}  # both sides of every comparison
    never = [t.subject for t in trainings(config) if t.subject not in evaluated]
    if not never:
        return []
    shown = "\n  ".join(never[:12]) + (f"\n  ... and {len(never) - 12} more" if len(never) > 12 else "")
    return [
        f"{len(never)} adapter(s) are trained but never evaluated (no EuroEval datasets in their languages under "
        f"evaluation.euroeval.datasets, and no m-ArenaHard comparison):\n  {shown}"
    ]
