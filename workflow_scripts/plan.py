"""The experiment plan: config semantics beyond the schema, and every artifact the experiments need.

Artifact paths (all under results/):
  models/<model>/                                   GGUF model materialized as a HF directory
  prompts/<lang>.parquet                            prompts with stable ids, per language
  translations/<translator>/<lang>.parquet          machine translations (when not provided)
  generations/<samples>/<lang>.parquet              one row per sample (gathered from temporary
                                                    generations/<samples>/<lang>/shard-<k>-of-<K>.parquet)
  scores/<samples>/<lang>.parquet                   one reward (or skip reason) per sample (likewise)
  datasets/<source>/<scope>/<dataset>.parquet       training data (+ .stats.json)
  adapters/<policy>/<source>/<scope>/<dataset>/     LoRA adapter, training metrics and curves

<samples> is the generator model, with `+instructed` when its prompts carry the language instruction (an
ablation); <source> is <samples>, or `translated` for In-Lang / All-Lang SFT; <scope> is `mono-<lang>` or
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
# Samples whose prompts carry generation.language_instruction (an ablation; the paper's prompts carry none).
INSTRUCTED = "+instructed"


# The paper's source prompts: a stratified sample of a corpus (prompts.sample), when no prompt file is given.
SOURCE_SAMPLE = "results/source_prompts/sample.parquet"
SOURCE_SAMPLE_STATS = "results/source_prompts/sample.stats.json"


def source_prompts_file(config: dict) -> str:
    """The source-language prompts: the user's file, or the sample drawn by the rule sample_prompts."""
    return config["prompts"].get("file") or SOURCE_SAMPLE


def sample_source(generator: str, instructed: bool) -> str:
    """Name of a generator's samples: `eurollm-9b`, or `eurollm-9b+instructed` with the language instruction."""
    return generator + (INSTRUCTED if instructed else "")


def parse_sample_source(source: str) -> tuple[str, bool]:
    """(generator model, instructed) of a sample source name."""
    if source.endswith(INSTRUCTED):
        return source[: -len(INSTRUCTED)], True
    return source, False


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
    generator = sample_source(exp.get("generator") or policy, exp.get("language_instruction", False))
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
    """Languages with configured EuroEval datasets: the training languages first, then evaluation-only ones
    (held-out languages such as the paper's Norwegian, Portuguese and Swedish)."""
    datasets = config["evaluation"]["euroeval"]["datasets"]
    extra = sorted(lang for lang in datasets if lang not in config["languages"])
    return [lang for lang in list(config["languages"]) + extra if datasets.get(lang)]


def evaluation_only_languages(config: dict) -> list[str]:
    """Languages evaluated but not trained on (no prompts, samples or adapters of their own)."""
    return [lang for lang in euroeval_languages(config) if lang not in config["languages"]]


def euroeval_jobs(config: dict) -> list[tuple[str, str]]:
    """(subject, language) for the base policies and every adapter. A monolingual adapter is evaluated on
    its own language (the paper's Table 1), or on all evaluation languages with mono_adapters: all."""
    evaluation = config["evaluation"]["euroeval"]
    if not evaluation["enabled"]:
        return []
    available = euroeval_languages(config)
    jobs: dict[tuple[str, str], None] = {}
    for exp in config["experiments"].values():
        # by default every language with datasets, held-out ones included (the paper's Table 2)
        langs = [lang for lang in (exp.get("eval_languages") or available) if lang in available]
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
    "protocol_table": "results/report/protocol.html",
    "domains_plot": "results/report/prompt_domains.png",
    "token_lengths_plot": "results/report/token_lengths.png",
    "euroeval_table": "results/report/euroeval_deltas.html",
    "euroeval_csv": "results/report/euroeval_scores.csv",
    "arena_plot": "results/report/arena_lc_win_rates.png",
    "arena_table": "results/report/arena_win_rates.html",
    "rewards_plot": "results/report/reward_distributions.png",
    "pair_languages_plot": "results/report/pair_languages.png",
    "training_plot": "results/report/training_curves.png",
}


def machine_translated_languages(config: dict) -> list[str]:
    provided = config["prompts"].get("translations", {})
    return [lang for lang in config["languages"] if lang != config["source_language"] and lang not in provided]


def policies(config: dict) -> list[str]:
    return sorted({exp["policy"] for exp in config["experiments"].values()})


def report_inputs(config: dict) -> dict[str, list[str]]:
    jobs = arena_jobs(config)
    trained = trainings(config)
    translator = config.get("translation", {}).get("model")
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
        "prompts": [f"results/prompts/{lang}.parquet" for lang in config["languages"]],
        "translation_stats": [f"results/translations/{translator}/{lang}.stats.json" for lang in machine_translated_languages(config)],
        "sample_stats": [] if config["prompts"].get("file") else [SOURCE_SAMPLE_STATS],
        "token_lengths": [f"results/token_lengths/{policy}/{lang}.parquet" for policy in policies(config) for lang in config["languages"]],
    }


# What each judge protocol does by default (judge.orders and judge.temperature may override).
#   paper: the authors' prompt, one seeded random order per prompt, temperature 0.7, the last verdict in the
#          output counted ([[M]] and [[T]] are ties), LC win rate on character lengths with their penalized fit;
#   debiased: this project's prompt, both orders, greedy, exactly one distinct verdict after any thinking
#          block (else unparseable), LC win rate on token lengths.
PROTOCOL_DEFAULTS = {"paper": {"orders": "random", "temperature": 0.7}, "debiased": {"orders": "both", "temperature": 0.0}}


def effective_judge(judge: dict) -> dict:
    """The judge settings with the protocol's defaults filled in where the config leaves them null."""
    out = dict(judge)
    for key, value in PROTOCOL_DEFAULTS[judge["protocol"]].items():
        if out.get(key) is None:
            out[key] = value
    return out


def protocol_settings(config: dict) -> list[tuple[str, str, str]]:
    """(stage, setting, value) of the settings that decide the numbers, for the report: which protocol made them."""
    gen, reward, train = config["generation"], config["reward"], config["training"]
    euroeval, arena = config["evaluation"]["euroeval"], config["evaluation"]["arena"]
    rows = []
    prompts = config["prompts"]
    if prompts.get("file"):
        rows.append(("prompts", "source", prompts["file"]))
    else:
        sample = prompts["sample"]
        rows.append(("prompts", "source", f"{sample['file'] or sample['hub']}: {sample['size']} stratified by "
                                          f"{sample['stratify_by']}, seed {sample['seed']}"))
    if prompts.get("limit"):
        rows.append(("prompts", "limit", str(prompts["limit"])))
    translation = config.get("translation", {})
    if translation.get("model"):
        rows.append(("translation", "model", translation["model"]))
        rows += [("translation", key, str(translation[key])) for key in ("max_tokens", "max_input_tokens", "too_long", "temperature")]
    generators = sorted({parse_sample_source(t.source)[0] for t in trainings(config) if t.source != TRANSLATED})
    rows.append(("generation", "samples per prompt", str(gen["samples"])))
    rows += [("generation", f"temperature ({g})", str(config["models"][g].get("temperature", gen["temperature"]))) for g in generators]
    rows += [("generation", key, str(gen[key])) for key in ("top_p", "max_tokens", "seed")]
    instructed = sorted(name for name, exp in config["experiments"].items() if exp.get("language_instruction"))
    rows.append(("generation", "language instruction", f"'{gen['language_instruction']}' in {', '.join(instructed)}" if instructed else "none"))
    rows.append(("reward", "model", f"{reward['model']} ({reward['backend']})"))
    rows += [("reward", key, str(reward[key])) for key in ("max_length", "empty_responses", "non_finite")]
    targets = sorted({t for exp in config["experiments"].values() for t in exp["rejection_targets"]})
    rows.append(("pairs", "rejection targets", ", ".join(targets)))
    common = train["common"]
    rows.append(("training", "LoRA", f"r {train['lora']['r']}, alpha {train['lora']['alpha']}, dropout {train['lora']['dropout']}"))
    rows.append(("training", "learning rate", f"DPO {train['dpo']['learning_rate']} (beta {train['dpo']['beta']}), SFT {train['sft']['learning_rate']}"))
    rows += [("training", key, str(common[key])) for key in ("epochs", "max_steps", "max_length", "per_device_batch_size",
                                                           "gradient_accumulation_steps", "processes", "warmup_ratio",
                                                           "weight_decay", "seed", "eval_fraction")]
    if euroeval["enabled"]:
        rows.append(("EuroEval", "split", "test" if euroeval["evaluate_test_split"] else "validation"))
        rows += [("EuroEval", key, str(euroeval[key])) for key in ("num_iterations", "few_shot")]
        rows.append(("EuroEval", "environment", euroeval["python"] or "this one"))
    if arena["comparisons"]:
        source = ", ".join(f"{lang}: {path}" for lang, path in arena["prompts"]["files"].items()) or arena["prompts"]["hub"]
        rows.append(("m-ArenaHard", "prompts", source))
        rows.append(("m-ArenaHard", "answers", f"max_tokens {arena['generation']['max_tokens']}, temperature "
                                               f"{arena['generation']['temperature']}"
                     + "".join(f", {m}: {t}" for m, t in arena["generation"]["temperatures"].items())))
        judge = effective_judge(arena["judge"])
        rows.append(("m-ArenaHard", "judge", f"{judge['model']} ({judge['mode']})"))
        rows.append(("m-ArenaHard", "judge protocol", judge["protocol"]))
        rows += [("m-ArenaHard", f"judge {key}", str(judge[key])) for key in ("orders", "temperature", "allow_ties", "max_tokens")
                 if judge[key] is not None]
    return rows


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
                raise UserError(f"'{lang}' is neither in languages {langs} nor has EuroEval datasets",
                                field=f"{field}.eval_languages")
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
        language_name(lang, field=field)  # a language outside `languages` is evaluated only (held out)
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
    for name in arena["generation"]["temperatures"]:
        model_spec(config, name, field=f"evaluation.arena.generation.temperatures.{name}")
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
    if lang in evaluation_only_languages(config):
        # nothing is trained on it: its evaluations are its first (and only) artifacts
        return [euroeval_path(subject, l) for subject, l in euroeval_jobs(config) if l == lang]
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
