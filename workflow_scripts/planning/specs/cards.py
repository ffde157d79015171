"""Specs of the Hugging Face cards (rules/cards.smk): what each card states, picked out of the config and the
specs of the artifact it describes (so a card is rewritten exactly when what it states changes)."""

from __future__ import annotations

from workflow_scripts.names import ICR, MAPO, TRANSLATED, data_name, parse_dataset, parse_sample_source, scope_languages
from workflow_scripts.planning.layout import ADAPTER, DATASET, DATASET_CARD
from workflow_scripts.planning.models import model_identity
from workflow_scripts.planning.plan import machine_translated_languages
from workflow_scripts.planning.specs.common import CARD_PACKAGES, software, step_code
from workflow_scripts.planning.specs.sampling import generation_spec
from workflow_scripts.planning.specs.training import dataset_spec, training_spec
from workflow_scripts.runtime.fingerprint import digest
from workflow_scripts.stages.cards import CardSpec
from workflow_scripts.stages.report.common import method_label


def model_licence(config: dict, name: str) -> str:
    return config["models"][name].get("license") or "unknown"


def hub_name(config: dict, name: str) -> str:
    """A model as the Hub knows it: its Hub id, else its name here."""
    return config["models"][name].get("hub") or name


def data_sources(config: dict, source: str, scope: str, dataset: str) -> tuple[dict, dict, dict]:
    """(licences, rule, provenance) of a training dataset: where its prompts and responses come from."""
    langs = scope_languages(scope)
    parsed = parse_dataset(dataset)
    prompts = config["prompts"]
    prompt_source = prompts.get("file") or prompts["sample"]["hub"]
    licences = {f"prompts ({prompt_source})": prompts.get("license") or "unknown"}
    spec = dataset_spec(config, scope, dataset)
    provenance = {"dataset spec hash": digest(spec.params()), "dataset code": spec.code}
    if source == TRANSLATED:
        translator = config.get("translation", {}).get("model")
        translated = [lang for lang in langs if lang in machine_translated_languages(config)]
        if translated and translator:
            licences[f"translations ({hub_name(config, translator)})"] = model_licence(config, translator)
            provenance["translator"] = model_identity(config, translator)
        rule = {"method": "sft", "data": "the reference answers of the prompts, in each language", "languages": langs}
        return licences, rule, {**provenance, "software": spec.software}
    generator, instructed = parse_sample_source(source)
    generation = generation_spec(config, source, langs[0])
    licences[f"responses ({hub_name(config, generator)})"] = model_licence(config, generator)
    provenance["generator"] = generation.model.identity
    rule = {
        "samples per prompt": generation.samples,
        "temperature": generation.temperature,
        "top_p": generation.top_p,
        "max_tokens": generation.max_tokens,
        "language instruction": generation.language_instruction if instructed else None,
    }
    pairs = parsed.get("pairs")
    if pairs == ICR:
        rule.update(method="dpo", pairs="ICR: implicit cross-lingual rewards, length-controlled extremes per language")
    elif pairs == MAPO:
        rule.update(method="dpo", pairs="MAPO: NLLB alignment rewards, highest against lowest per prompt and language")
    else:
        provenance["reward model"] = model_identity(config, config["reward"]["model"])
        if parsed["method"] == "maxr":
            rule.update(method="sft", pairs="Max-R: the highest-reward response of each prompt's pool")
        else:
            rule.update(
                method="dpo",
                chosen="the highest reward of the pool",
                rejected="strictly below the chosen reward, the nearest to the target",
                target=parsed["target"],
                prompt_language=parsed["prompt_language"],
                pool="one prompt in one language" if scope.startswith("mono-") else "one prompt across the scope's languages",
            )
        rule.update(non_finite_rewards=spec.non_finite, language_filter=spec.min_language_probability, seed=spec.seed)
    return licences, rule, {**provenance, "software": spec.software}


def dataset_card_spec(config: dict, source: str, scope: str, dataset: str) -> CardSpec:
    licences, rule, provenance = data_sources(config, source, scope, dataset)
    method = parse_dataset(dataset)["method"]
    multi = scope.startswith("multi-")
    return CardSpec(
        kind="dataset",
        name=DATASET.format(source=source, scope=scope, dataset=dataset),
        title=f"CroCo {dataset} data, {scope}",
        languages=scope_languages(scope),
        licenses=licences,
        base_model=None,
        tags=["croco", method, *(["preference"] if method == "dpo" else []), *(["multilingual"] if multi else [])],
        rule=rule,
        provenance=provenance,
        code=step_code("card"),
    )


def adapter_card_spec(config: dict, policy: str, source: str, scope: str, dataset: str) -> CardSpec:
    spec = training_spec(config, policy, dataset)
    data = data_name(dataset)
    licences, data_rule, data_provenance = data_sources(config, source, scope, data)
    # the base model's first: the adapter's own licence (the card lists the data's below it)
    licences = {f"base model ({hub_name(config, policy)})": model_licence(config, policy), **licences}
    name = ADAPTER.format(policy=policy, source=source, scope=scope, dataset=dataset)
    _, method, regime = method_label(f"{policy}/{source}/{scope}/{dataset}")
    rule = {
        "method": method,
        "regime": regime,
        "trained with": spec.method,
        "learning rate": spec.learning_rate,
        "beta": spec.beta,
        "nll weight": spec.nll_weight if spec.method == "dpo" else None,
        "lora": spec.lora.params(),
        "training": spec.common.params(),
        "data": DATASET.format(source=source, scope=scope, dataset=data),
        "data card": DATASET_CARD.format(source=source, scope=scope, dataset=data),
        "data rule": data_rule,
    }
    return CardSpec(
        kind="adapter",
        name=name,
        title=f"CroCo {method} ({regime}, {', '.join(scope_languages(scope))}) adapter of {policy}",
        languages=scope_languages(scope),
        licenses=licences,
        base_model=hub_name(config, policy),
        tags=["croco", "lora", "trl", spec.method, *(["multilingual"] if regime == "multi" else [])],
        rule=rule,
        provenance={
            "training spec hash": digest(spec.params()),
            "training code": spec.code,
            "base model": spec.model.identity,
            **{f"data: {key}": value for key, value in data_provenance.items() if key != "software"},
            "software": {**spec.software, **software(CARD_PACKAGES)},
        },
        code=step_code("card"),
    )
