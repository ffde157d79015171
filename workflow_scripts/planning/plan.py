"""The experiment plan: which artifacts the configured experiments need (adapters, evaluations, the
report's inputs), and the first artifacts of one language for rebuilding it
(`python -m workflow_scripts.planning.plan roots <lang>`). Names: workflow_scripts/names.py; paths: layout.py;
the config's checks beyond its schema: config_checks.py.

Experiments that share an artifact share its path, so it is computed once.
"""

from __future__ import annotations

import itertools
from pathlib import Path

from workflow_scripts.errors import UserError
from workflow_scripts.names import (
    ADAPTER_SETTINGS,
    ICR,
    MAPO,
    SAMPLE_SETTINGS,
    TARGETS,
    TRANSLATED,
    Training,
    data_name,
    dpo_dataset,
    language_filtered,
    length_controlled,
    mono_scope,
    multi_scope,
    online_dataset,
    parse_dataset,
    parse_subject,
    sample_source,
    scope_languages,
    with_settings,
)
from workflow_scripts.planning.layout import (
    ADAPTER_CARD,
    ARENA_PROMPTS,
    DATASET_CARD,
    EUROEVAL,
    EUROEVAL_BATCH,
    GENERATIONS,
    LANGUAGE_ID,
    MODEL_REVISION,
    PROMPTS,
    REFERENCE_SCORES,
    REPORT_FILES,
    SCORES,
    SOURCE_SAMPLE,
    SOURCE_SAMPLE_STATS,
    TOKEN_LENGTHS,
    TRANSLATION,
    TRANSLATION_STATS,
    WINRATE,
    adapter_comparison,
    adapter_dir,
    euroeval_batch,
    run_dir,
    training_data,
)


def source_prompts_file(config: dict) -> str:
    """The source-language prompts: the user's file, or the sample drawn by the rule sample_prompts."""
    return config["prompts"].get("file") or SOURCE_SAMPLE


def experiment_languages(config: dict, exp: dict, key: str = "languages") -> list[str]:
    return list(exp.get(key) or config["languages"])


def experiment_variants(exp: dict) -> list[dict]:
    """The experiment's variants: one {setting: value} per combination of its `settings` (a list sweeps its
    values); [{}] without settings."""
    settings = exp.get("settings") or {}
    keys = sorted(settings)
    values = [settings[key] if isinstance(settings[key], list) else [settings[key]] for key in keys]
    return [dict(zip(keys, combination)) for combination in itertools.product(*values)]


def global_setting(config: dict, key: str, generator: str, method: str) -> float | int | None:
    """The value a variant's setting has in the global config, for this generator's samples or this method's adapters."""
    training = config["training"]
    found = {
        "samples": lambda: config["generation"]["samples"],
        "temperature": lambda: config["models"][generator].get("temperature", config["generation"]["temperature"]),
        "max_tokens": lambda: config["generation"]["max_tokens"],
        "beta": lambda: training["dpo"]["beta"],
        "nll_weight": lambda: training["dpo"]["nll_weight"],
        "learning_rate": lambda: training["dpo" if method == "dpo" else "sft"]["learning_rate"],
        "lora_r": lambda: training["lora"]["r"],
        "lora_alpha": lambda: training["lora"]["alpha"],
        "lora_dropout": lambda: training["lora"]["dropout"],
        "epochs": lambda: training["common"]["epochs"],
        "max_steps": lambda: training["common"]["max_steps"],
    }
    return found[key]()


def differing(config: dict, variant: dict, keys, generator: str, method: str = "dpo") -> dict:
    """The settings of a variant among `keys` that differ from the global config (only those name an artifact)."""
    return {
        key: value
        for key, value in variant.items()
        if key in keys
        and (key not in ("beta", "nll_weight") or method == "dpo")
        and value != global_setting(config, key, generator, method)
    }


def experiment_trainings(config: dict, exp: dict) -> list[Training]:
    """The adapters one experiment asks for, in a stable order: every variant's (experiment_variants)."""
    policy = exp["policy"]
    generator = exp.get("generator") or policy
    langs = experiment_languages(config, exp)
    scopes = regime_scopes(exp, langs)
    # MAPO aligns the other languages' answers to the English ones: it never trains on English
    mapo_scopes = regime_scopes(exp, [lang for lang in langs if lang != config["source_language"]])
    filtered = language_filtered if uses_language_filter(config, exp) else str
    controlled = length_controlled if exp.get("length_control") else str

    def sampled(dataset: str) -> str:
        return controlled(filtered(dataset))

    found: dict[Training, None] = {}
    for variant in experiment_variants(exp):
        samples = with_settings(
            sample_source(generator, exp.get("language_instruction", False)),
            differing(config, variant, SAMPLE_SETTINGS, generator),
        )

        def adapter(method: str, dataset: str, variant=variant) -> str:
            return with_settings(dataset, differing(config, variant, ADAPTER_SETTINGS, generator, method))

        for scope in scopes:
            multi = scope.startswith("multi-")
            for method in exp["methods"]:
                if method == "sft":
                    found[Training(policy, TRANSLATED, scope, adapter("sft", "sft"))] = None
                elif method == "maxr":
                    found[Training(policy, samples, scope, adapter("maxr", sampled("maxr")))] = None
                elif method == ICR:
                    found[Training(policy, samples, scope, adapter("dpo", ICR))] = None
                elif method == MAPO:
                    continue  # below: its own scopes
                else:
                    for target in exp["rejection_targets"]:
                        # In a monolingual pool every response shares the prompt's language.
                        for plang in exp["prompt_languages"] if multi else ["chosen"]:
                            found[Training(policy, samples, scope, adapter("dpo", sampled(dpo_dataset(target, plang))))] = None
        if MAPO in exp["methods"]:
            found.update(dict.fromkeys(Training(policy, samples, scope, adapter("dpo", MAPO)) for scope in mapo_scopes))
    return list(found)


def regime_scopes(exp: dict, langs: list[str]) -> list[str]:
    """The scopes of an experiment's regimes over these languages: one per language (mono), one pooling them (multi)."""
    scopes = [mono_scope(lang) for lang in langs] if "mono" in exp["regimes"] else []
    return scopes + ([multi_scope(langs)] if "multi" in exp["regimes"] and langs else [])


def icr_reference_adapter(config: dict, generator: str) -> Training:
    """ICR's π_DPO: the generator's English (source-language) Paired-DPO adapter, on its own samples."""
    return Training(generator, generator, mono_scope(config["source_language"]), dpo_dataset(TARGETS[0], "chosen"))


def uses_language_filter(config: dict, exp: dict) -> bool:
    """Whether an experiment's sampled datasets keep only in-language samples (its own setting, else the global one)."""
    own = exp.get("language_filter")
    return config["pairs"]["language_filter"]["enabled"] if own is None else own


def experiment_curve_runs(config: dict, exp: dict) -> list[Training]:
    """The curve runs one experiment asks for (`curves`): per seed, each of its Paired DPO adapters trained with
    checkpoints, and with `online`, an online DPO run of the same policy, scope and rejection target. A run is
    a Training with its seed; its checkpoints add the step."""
    if not exp.get("curves"):
        return []
    offline = [t for t in experiment_trainings(config, exp) if t.dataset.startswith("dpo-")]
    runs = list(offline)
    if exp["curves"]["online"]:
        # the same policy, scope, rejection target and adapter settings (online DPO samples its own pairs)
        online = [(t, parse_dataset(t.dataset)) for t in offline]
        runs += [
            Training(t.policy, t.policy, t.scope, with_settings(online_dataset(parsed["target"]), parsed.get("settings", {})))
            for t, parsed in online
        ]
    runs = list(dict.fromkeys(runs))
    return [Training(t.policy, t.source, t.scope, t.dataset, seed) for seed in exp["curves"]["seeds"] for t in runs]


def curve_checkpoints(config: dict) -> list[int]:
    """The steps at which every curve run keeps its adapter."""
    curves = config["training"]["curves"]
    return list(range(curves["checkpoint_every"], curves["max_steps"] + 1, curves["checkpoint_every"]))


def curve_runs(config: dict) -> list[Training]:
    """Every curve run of the experiments, each once."""
    return list(dict.fromkeys(run for exp in config["experiments"].values() for run in experiment_curve_runs(config, exp)))


def trainings(config: dict) -> list[Training]:
    """Every adapter the experiments ask for, each once, in a stable order."""
    seen: dict[Training, None] = {}
    for exp in config["experiments"].values():
        seen.update(dict.fromkeys(experiment_trainings(config, exp)))
    return list(seen)


# ---------------------------------------------------------------- evaluation
# A *subject* is what gets evaluated: a model from `models:` by its name (the base model, or a reference
# such as Gemma3-12B-it), or an adapter by its path under results/adapters: <policy>/<source>/<scope>/<dataset>.


def euroeval_languages(config: dict) -> list[str]:
    """Languages with configured EuroEval datasets: the training languages first, then evaluation-only ones
    (held-out languages such as the paper's Norwegian, Portuguese and Swedish)."""
    datasets = config["evaluation"]["euroeval"]["datasets"]
    extra = sorted(lang for lang in datasets if lang not in config["languages"])
    return [lang for lang in list(config["languages"]) + extra if datasets.get(lang)]


def evaluation_only_languages(config: dict) -> list[str]:
    """Languages evaluated but not trained on (no prompts, samples or adapters of their own)."""
    return [lang for lang in euroeval_languages(config) if lang not in config["languages"]]


def euroeval_offline(config: dict) -> bool:
    """EuroEval downloads nothing: the run is `offline`, or EuroEval alone is."""
    return bool(config["offline"] or config["evaluation"]["euroeval"]["offline"])


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
            for lang in scope_languages(training.scope) if own_only else langs:
                if lang in available:
                    jobs[(training.subject, lang)] = None
        # every checkpoint of a curve run, in the experiment's eval_languages (else its training languages)
        curve_langs = [lang for lang in (exp.get("eval_languages") or experiment_languages(config, exp)) if lang in available]
        for run in experiment_curve_runs(config, exp):
            for step in curve_checkpoints(config):
                for lang in curve_langs:
                    jobs[(run.checkpoint(run.seed, step).subject, lang)] = None
    return list(jobs)


def euroeval_files(config: dict, lang: str | None = None) -> list[str]:
    """One EuroEval result per subject (all its languages); with `lang`, those of the subjects evaluated in it."""
    return list(
        dict.fromkeys(EUROEVAL.format(subject=subject) for subject, job_lang in euroeval_jobs(config) if lang in (None, job_lang))
    )


def euroeval_batched(config: dict) -> bool:
    """Whether one EuroEval job evaluates a whole batch of subjects (`evaluation.euroeval.batch: scope`)."""
    return config["evaluation"]["euroeval"]["batch"] == "scope"


def euroeval_batches(config: dict) -> dict[str, list[str]]:
    """Batch name -> its subjects, in planning order (see layout.euroeval_batch)."""
    batches: dict[str, list[str]] = {}
    for subject in dict.fromkeys(subject for subject, _ in euroeval_jobs(config)):
        batches.setdefault(euroeval_batch(subject), []).append(subject)
    return batches


def euroeval_job_files(config: dict, subjects) -> list[str]:
    """The files of the EuroEval jobs that evaluate these subjects: to force those jobs (--forcerun) is to
    evaluate them again. A subject's own result, or under `batch: scope` its batch's."""
    if euroeval_batched(config):
        return list(dict.fromkeys(EUROEVAL_BATCH.format(batch=euroeval_batch(subject)) for subject in subjects))
    return [EUROEVAL.format(subject=subject) for subject in dict.fromkeys(subjects)]


def arena_languages(config: dict) -> list[str]:
    """The languages every configured comparison (`evaluation.arena.comparisons`) is judged in."""
    return list(config["evaluation"]["arena"]["languages"] or config["languages"])


def arena_comparisons(config: dict) -> dict[str, dict]:
    """name -> {model, baseline, languages, configured}: the configured comparisons, judged in every arena
    language (Figure 4), then one per adapter and baseline of each experiment with `arena_baselines`, judged in
    the adapter's own languages (the low-resource languages of Figure 5)."""
    arena = config["evaluation"]["arena"]
    out = {
        name: {"model": pair["model"], "baseline": pair["baseline"], "languages": arena_languages(config), "configured": True}
        for name, pair in arena["comparisons"].items()
    }
    for exp in config["experiments"].values():
        for training in experiment_trainings(config, exp):
            for baseline in exp.get("arena_baselines") or []:
                name = adapter_comparison(training.subject, baseline)
                langs = scope_languages(training.scope)
                out.setdefault(name, {"model": training.subject, "baseline": baseline, "languages": langs, "configured": False})
    return out


def arena_jobs(config: dict) -> dict[str, list[tuple[str, str]]]:
    """{"answers": [(subject, lang)], "comparisons": [(comparison, lang)]}."""
    answers: dict[tuple[str, str], None] = {}
    comparisons = []
    for name, pair in arena_comparisons(config).items():
        for lang in pair["languages"]:
            comparisons.append((name, lang))
            answers[(pair["model"], lang)] = None
            answers[(pair["baseline"], lang)] = None
    return {"answers": list(answers), "comparisons": comparisons}


def grouped_arena_subjects(config: dict) -> list[str]:
    """The subjects of the configured comparisons: one job answers all arena languages for each."""
    pairs = [pair for pair in arena_comparisons(config).values() if pair["configured"]]
    return list(dict.fromkeys(s for pair in pairs for s in (pair["model"], pair["baseline"])))


def machine_translated_languages(config: dict) -> list[str]:
    provided = config["prompts"].get("translations", {})
    return [lang for lang in config["languages"] if lang != config["source_language"] and lang not in provided]


def policies(config: dict) -> list[str]:
    return sorted({exp["policy"] for exp in config["experiments"].values()})


def sample_sets(trained: list[Training]) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(source, language) of the samples some training set is built from (a generator may serve a subset of the
    languages), and of those the reward model ranks (the baselines rank by their own rewards), each once."""
    sampled = dict.fromkeys((t.source, lang) for t in trained if t.source != TRANSLATED for lang in scope_languages(t.scope))
    rewarded = dict.fromkeys(
        (t.source, lang)
        for t in trained
        if t.source != TRANSLATED and parse_dataset(t.dataset).get("pairs") not in (ICR, MAPO)
        for lang in scope_languages(t.scope)
    )
    return list(sampled), list(rewarded)


def report_inputs(config: dict) -> dict[str, list[str]]:
    jobs = arena_jobs(config)
    trained = trainings(config)
    translator = config.get("translation", {}).get("model")
    sampled, rewarded = sample_sets(trained)
    return {
        "euroeval": euroeval_files(config),
        "winrates": [WINRATE.format(comparison=c, lang=lang) for c, lang in jobs["comparisons"]],
        "scores": [SCORES.format(samples=source, lang=lang) for source, lang in rewarded],
        # their samples' lengths (the report's length-bias section)
        "generations": [GENERATIONS.format(samples=source, lang=lang) for source, lang in rewarded],
        # the identified language of the same samples (the report's language section)
        "language_id": [LANGUAGE_ID.format(samples=source, lang=lang) for source, lang in sampled],
        # the reward of each language's reference answers: the reward-model consistency check
        "reference_scores": [REFERENCE_SCORES.format(lang=lang) for lang in config["languages"]],
        # each pair table once: a variant's adapters may share one
        "pairs": list(dict.fromkeys(training_data(t.source, t.scope, t.dataset) for t in trained if t.dataset[:4] == "dpo-")),
        "adapters": [adapter_dir(t) for t in trained],
        "prompts": [PROMPTS.format(lang=lang) for lang in config["languages"]],
        "translation_stats": [
            TRANSLATION_STATS.format(translator=translator, lang=lang) for lang in machine_translated_languages(config)
        ],
        "sample_stats": [] if config["prompts"].get("file") else [SOURCE_SAMPLE_STATS],
        "token_lengths": [
            TOKEN_LENGTHS.format(model=policy, lang=lang) for policy in policies(config) for lang in config["languages"]
        ],
        # the commits the Hub models resolved to (the protocol table shows them)
        "model_revisions": [MODEL_REVISION.format(model=name) for name, spec in config["models"].items() if "hub" in spec],
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


def card_files(config: dict) -> list[str]:
    """The Hugging Face card of every adapter and of every dataset one trains on."""
    trained = trainings(config)
    datasets = dict.fromkeys(DATASET_CARD.format(source=t.source, scope=t.scope, dataset=data_name(t.dataset)) for t in trained)
    adapters = [ADAPTER_CARD.format(policy=t.policy, source=t.source, scope=t.scope, dataset=t.dataset) for t in trained]
    return list(datasets) + adapters


def all_targets(config: dict) -> list[str]:
    targets = [adapter_dir(t) for t in trainings(config)] + [run_dir(run) for run in curve_runs(config)]
    targets += card_files(config)
    if config["evaluation"]["report"]:
        targets += list(REPORT_FILES.values())
    else:
        inputs = report_inputs(config)
        targets += inputs["euroeval"] + inputs["winrates"]
    return targets


def experiment_targets(config: dict, name: str) -> list[str]:
    """The final artifacts of one experiment: its adapters and curve runs, the EuroEval results of its policy,
    adapters and checkpoints, and the m-ArenaHard win rates of every comparison involving one of its adapters
    (or, for the configured comparisons, its policy). Building them builds everything they need, nothing else."""
    experiments = config["experiments"]
    if name not in experiments:
        raise UserError(f"no experiment '{name}' (defined: {', '.join(experiments)})", field="experiments")
    exp = experiments[name]
    adapters = experiment_trainings(config, exp)
    runs = experiment_curve_runs(config, exp)
    checkpoints = {run.checkpoint(run.seed, step).subject for run in runs for step in curve_checkpoints(config)}
    subjects = {exp["policy"]} | {t.subject for t in adapters} | checkpoints
    euroeval = dict.fromkeys(EUROEVAL.format(subject=s) for s, _ in euroeval_jobs(config) if s in subjects)
    comparisons = arena_comparisons(config)
    winrates = [
        WINRATE.format(comparison=c, lang=lang)
        for c, lang in arena_jobs(config)["comparisons"]
        if comparisons[c]["model"] in subjects or comparisons[c]["baseline"] in {t.subject for t in adapters}
    ]
    return [adapter_dir(t) for t in adapters] + [run_dir(run) for run in runs] + list(euroeval) + winrates


# ---------------------------------------------------------------- rebuilding one language


def language_roots(config: dict, lang: str) -> list[str]:
    """The first artifacts of one language. Forcing them (snakemake --forcerun) reruns everything of that
    language: its translation, prompts, generations, scores, monolingual datasets, adapters and evaluations,
    the multilingual artifacts whose pools include it, and the base models' evaluations in it."""
    if lang in evaluation_only_languages(config):
        # nothing is trained on it: its evaluations are its first (and only) artifacts; a subject's EuroEval job
        # evaluates all its languages, so the others are evaluated again (with identical results)
        return euroeval_job_files(config, [subject for subject, job_lang in euroeval_jobs(config) if job_lang == lang])
    if lang not in config["languages"]:
        raise UserError(f"'{lang}' is not in languages {config['languages']}", field="languages")
    roots = [PROMPTS.format(lang=lang)]
    translator = config.get("translation", {}).get("model")
    if lang != config["source_language"] and lang not in config["prompts"].get("translations", {}):
        roots.insert(0, TRANSLATION.format(translator=translator, lang=lang))
    # the base models' evaluations (an adapter's follow from its training data)
    base_subjects = dict.fromkeys(s for s, job_lang in euroeval_jobs(config) if job_lang == lang and parse_subject(s)[1] is None)
    roots += euroeval_job_files(config, base_subjects)
    if any(answer_lang == lang for _, answer_lang in arena_jobs(config)["answers"]):
        roots.append(ARENA_PROMPTS.format(lang=lang))
    return roots


def main(argv=None) -> None:
    """python -m workflow_scripts.planning.plan roots <lang> [--configfile FILE]: the files to pass to --forcerun;
    python -m workflow_scripts.planning.plan targets <experiment>... [--configfile FILE]: the files that build them."""
    import argparse

    import yaml
    from snakemake.utils import validate

    parser = argparse.ArgumentParser(prog="python -m workflow_scripts.planning.plan")
    parser.add_argument("command", choices=["roots", "targets"])
    parser.add_argument("names", nargs="+", help="a language (roots), or experiment names (targets)")
    parser.add_argument("--configfile", default="config.yaml")
    args = parser.parse_args(argv)
    config = yaml.safe_load(Path(args.configfile).read_text())
    validate(config, str(Path(__file__).resolve().parents[2] / "schemas/config.schema.yaml"))
    try:
        if args.command == "roots":
            if len(args.names) != 1:
                raise UserError("roots takes one language")
            print(" ".join(language_roots(config, args.names[0])))
        else:
            print(" ".join(dict.fromkeys(t for name in args.names for t in experiment_targets(config, name))))
    except UserError as exc:
        raise SystemExit(f"error: {exc}") from None


if __name__ == "__main__":
    main()
