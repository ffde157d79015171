"""The experiment plan: config semantics beyond the schema, and every artifact the experiments need.

Artifact paths (all under results/):
  models/<model>/                                   GGUF model materialized as a HF directory
  prompts/<lang>.parquet                            prompts with stable ids, per language
  translations/<translator>/<lang>.parquet          machine translations (when not provided)
  generations/<generator>/<lang>.parquet            one row per sample (gathered from temporary
                                                    generations/<generator>/<lang>/shard-<k>-of-<K>.parquet)
  scores/<generator>/<lang>.parquet                 one reward (or skip reason) per sample (likewise)
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


def experiment_trainings(config: dict, exp: dict) -> list[Training]:
    """The adapters one experiment asks for, in a stable order."""
    policy = exp["policy"]
    generator = exp.get("generator") or policy
    langs = experiment_languages(config, exp)
    scopes = []
    if "mono" in exp["regimes"]:
        scopes += [mono_scope(lang) for lang in langs]
    if "multi" in exp["regimes"]:
        scopes.append(multi_scope(langs))
    found: dict[Training, None] = {}
    for scope in scopes:
        multi = scope.startswith("multi-")
        for method in exp["methods"]:
            if method == "sft":
                found[Training(policy, TRANSLATED, scope, "sft")] = None
            elif method == "maxr":
                found[Training(policy, generator, scope, "maxr")] = None
            else:
                for target in exp["rejection_targets"]:
                    # In a monolingual pool every response shares the prompt's language.
                    for plang in (exp["prompt_languages"] if multi else ["chosen"]):
                        found[Training(policy, generator, scope, f"dpo-{target}-{plang}")] = None
    return list(found)


def trainings(config: dict) -> list[Training]:
    """Every adapter the experiments ask for, each once, in a stable order."""
    seen: dict[Training, None] = {}
    for exp in config["experiments"].values():
        seen.update(dict.fromkeys(experiment_trainings(config, exp)))
    return list(seen)


# ---------------------------------------------------------------- evaluation
# A *subject* is what gets evaluated: a model from `models:` by its name (the base model, or a reference
# such as Gemma3-12B-it), or an adapter by its path under results/adapters: <policy>/<source>/<scope>/<dataset>.

def subject_of(training: Training) -> str:
    return f"{training.policy}/{training.source}/{training.scope}/{training.dataset}"


def parse_subject(subject: str) -> tuple[str, Training | None]:
    """(base model name, adapter or None)."""
    parts = subject.split("/")
    if len(parts) == 1:
        return parts[0], None
    if len(parts) != 4:
        raise UserError(f"'{subject}' is neither a model name nor <policy>/<source>/<scope>/<dataset>")
    return parts[0], Training(*parts)


def euroeval_languages(config: dict) -> list[str]:
    """Languages with configured EuroEval datasets."""
    datasets = config["evaluation"]["euroeval"]["datasets"]
    return [lang for lang in config["languages"] if datasets.get(lang)]


def euroeval_jobs(config: dict) -> list[tuple[str, str]]:
    """(subject, language) for the base policies and every adapter. A monolingual adapter is evaluated on
    its own language (the paper's Table 1), or on all evaluation languages with mono_adapters: all."""
    evaluation = config["evaluation"]["euroeval"]
    if not evaluation["enabled"]:
        return []
    available = set(euroeval_languages(config))
    jobs: dict[tuple[str, str], None] = {}
    for exp in config["experiments"].values():
        langs = [lang for lang in experiment_languages(config, exp, "eval_languages") if lang in available]
        for lang in langs:
            jobs[(exp["policy"], lang)] = None
        for training in experiment_trainings(config, exp):
            mono = training.scope.startswith("mono-")
            # An experiment's explicit eval_languages apply to its monolingual adapters too (e.g. English-only
            # training evaluated everywhere); otherwise they are evaluated on their own language.
            own_only = mono and evaluation["mono_adapters"] == "own_language" and not exp.get("eval_languages")
            for lang in (scope_languages(training.scope) if own_only else langs):
                if lang in available:
                    jobs[(subject_of(training), lang)] = None
    return list(jobs)


def arena_jobs(config: dict) -> dict[str, list[tuple[str, str]]]:
    """{"answers": [(subject, lang)], "comparisons": [(comparison, lang)]}."""
    arena = config["evaluation"]["arena"]
    langs = arena["languages"] or config["languages"]
    answers: dict[tuple[str, str], None] = {}
    comparisons = []
    for name, pair in arena["comparisons"].items():
        for lang in langs:
            comparisons.append((name, lang))
            answers[(pair["model"], lang)] = None
            answers[(pair["baseline"], lang)] = None
    return {"answers": list(answers), "comparisons": comparisons}


def euroeval_path(subject: str, lang: str) -> str:
    return f"results/euroeval/{subject}/{lang}.json"


def winrate_path(comparison: str, lang: str) -> str:
    return f"results/arena/winrates/{comparison}/{lang}.json"


REPORT_FILES = {
    "summary": "results/report/summary.html",
    "euroeval_table": "results/report/euroeval_deltas.html",
    "euroeval_csv": "results/report/euroeval_scores.csv",
    "arena_plot": "results/report/arena_lc_win_rates.png",
    "arena_table": "results/report/arena_win_rates.html",
    "rewards_plot": "results/report/reward_distributions.png",
    "pair_languages_plot": "results/report/pair_languages.png",
    "training_plot": "results/report/training_curves.png",
}


def report_inputs(config: dict) -> dict[str, list[str]]:
    jobs = arena_jobs(config)
    trained = trainings(config)
    # only the scores some training set is built from: a generator may serve a subset of the languages
    scores = dict.fromkeys(f"results/scores/{t.source}/{lang}.parquet"
                           for t in trained if t.source != TRANSLATED for lang in scope_languages(t.scope))
    return {
        "euroeval": [euroeval_path(s, lang) for s, lang in euroeval_jobs(config)],
        "winrates": [winrate_path(c, lang) for c, lang in jobs["comparisons"]],
        "scores": list(scores),
        "pairs": [f"results/datasets/{t.source}/{t.scope}/{t.dataset}.parquet"
                  for t in trained if t.dataset.startswith("dpo-")],
        "adapters": [t.adapter_dir for t in trained],
    }


def all_targets(config: dict) -> list[str]:
    targets = [t.adapter_dir for t in trainings(config)]
    if config["evaluation"]["report"]:
        targets += list(REPORT_FILES.values())
    else:
        inputs = report_inputs(config)
        targets += inputs["euroeval"] + inputs["winrates"]
    return targets


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
    check_evaluation(config, base_dir)


def check_evaluation(config: dict, base_dir: Path) -> None:
    langs = config["languages"]
    evaluation = config["evaluation"]
    euroeval = evaluation["euroeval"]
    custom = euroeval["custom_datasets"]
    for lang, names in euroeval["datasets"].items():
        field = f"evaluation.euroeval.datasets.{lang}"
        if lang not in langs:
            raise UserError(f"'{lang}' is not in languages {langs}", field=field)
        for name in names:
            if name in custom and custom[name]["language"] != lang:
                raise UserError(f"custom dataset '{name}' is in '{custom[name]['language']}', not '{lang}'", field=field)
    for name, spec in custom.items():
        directory = base_dir / spec["dir"]
        for split in ("train", "val", "test"):
            if not (directory / f"{split}.csv").is_file():
                raise UserError(f"missing {split}.csv in {directory}", file=str(directory / f"{split}.csv"),
                                field=f"evaluation.euroeval.custom_datasets.{name}.dir")
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
    if arena["comparisons"]:
        model_spec(config, arena["judge"]["model"], field="evaluation.arena.judge.model")
    adapters = {subject_of(t) for t in trainings(config)}
    for name, pair in arena["comparisons"].items():
        for role in ("model", "baseline"):
            ref = pair[role]
            field = f"evaluation.arena.comparisons.{name}.{role}"
            if "/" in ref:
                if ref not in adapters:
                    known = "\n  ".join(sorted(adapters)) or "(none)"
                    raise UserError(f"no experiment trains the adapter '{ref}'; adapters:\n  {known}", field=field)
            else:
                model_spec(config, ref, field=field)
        if pair["model"] == pair["baseline"]:
            raise UserError("a model compared with itself", field=f"evaluation.arena.comparisons.{name}")


# ---------------------------------------------------------------- rebuilding one language

def language_roots(config: dict, lang: str) -> list[str]:
    """The first artifacts of one language. Forcing them (snakemake --forcerun) reruns everything of that
    language: its translation, prompts, generations, scores, monolingual datasets, adapters and evaluations,
    the multilingual artifacts whose pools include it, and the base models' evaluations in it."""
    if lang not in config["languages"]:
        raise UserError(f"'{lang}' is not in languages {config['languages']}", field="languages")
    roots = [f"results/prompts/{lang}.parquet"]
    translator = config.get("translation", {}).get("model")
    if lang != config["source_language"] and lang not in config["prompts"].get("translations", {}):
        roots.insert(0, f"results/translations/{translator}/{lang}.parquet")
    roots += [euroeval_path(subject, l) for subject, l in euroeval_jobs(config) if l == lang and "/" not in subject]
    if any(l == lang for _, l in arena_jobs(config)["answers"]):
        roots.append(f"results/arena/prompts/{lang}.parquet")
    return roots


def main(argv=None) -> None:
    """python -m workflow_scripts.plan roots <lang> [--configfile FILE]: the files to pass to --forcerun."""
    import argparse

    import yaml
    from snakemake.utils import validate

    parser = argparse.ArgumentParser(prog="python -m workflow_scripts.plan")
    parser.add_argument("command", choices=["roots"])
    parser.add_argument("language")
    parser.add_argument("--configfile", default="config.yaml")
    args = parser.parse_args(argv)
    config = yaml.safe_load(Path(args.configfile).read_text())
    validate(config, str(Path(__file__).resolve().parents[1] / "schemas/config.schema.yaml"))
    try:
        print(" ".join(language_roots(config, args.language)))
    except UserError as exc:
        raise SystemExit(f"error: {exc}") from None


if __name__ == "__main__":
    main()
