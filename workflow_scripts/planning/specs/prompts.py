"""Specs and inputs of the prompt jobs (rules/prompts.smk): the corpus sample, each language's prompt set, the
machine translations, and the token lengths under a policy's tokenizer."""

from __future__ import annotations

from workflow_scripts.planning.layout import SOURCE_SAMPLE, TRANSLATION, TRANSLATION_STATS
from workflow_scripts.planning.plan import source_prompts_file
from workflow_scripts.planning.specs.common import (
    ENGINE_PACKAGES,
    HUB_DATA_PACKAGES,
    TABLE_PACKAGES,
    TOKENIZER_PACKAGES,
    engine_spec,
    model_ref,
    software,
    step_code,
)
from workflow_scripts.runtime.fingerprint import file_sha256
from workflow_scripts.stages.prompts.prompt_set import PromptSetSpec
from workflow_scripts.stages.prompts.sample import SampleSpec
from workflow_scripts.stages.prompts.token_lengths import TokenLengthsSpec
from workflow_scripts.stages.prompts.translate import TranslateSpec


def sample_spec(config: dict) -> SampleSpec:
    sample = config["prompts"]["sample"]
    return SampleSpec(
        **sample,
        file_sha256=file_sha256(sample["file"]) if sample["file"] else None,
        software=software(HUB_DATA_PACKAGES),
        code=step_code("sample_prompts"),
    )


def prompt_set_spec(config: dict, lang: str) -> PromptSetSpec:
    source_language = config["source_language"]
    provided = config["prompts"]["translations"].get(lang)
    if lang == source_language:
        origin, translation_sha = "source", None
    elif provided:
        origin, translation_sha = f"provided:{provided}", file_sha256(provided)
    else:
        origin, translation_sha = f"translated:{config['translation']['model']}", None
    source = source_prompts_file(config)
    return PromptSetSpec(
        prompt_file=source,
        prompt_sha256=None if source == SOURCE_SAMPLE else file_sha256(source),
        translation_sha256=translation_sha,
        limit=config["prompts"]["limit"],
        source_language=source_language,
        language=lang,
        origin=origin,
        software=software(TABLE_PACKAGES),
        code=step_code("prompt_set"),
    )


def prompt_set_inputs(config: dict, lang: str) -> dict[str, str]:
    """The source prompts, and for another language its provided or machine translation (with its stats)."""
    source = {"source": source_prompts_file(config)}
    if lang == config["source_language"]:
        return source
    provided = config["prompts"]["translations"].get(lang)
    if provided:
        return {**source, "translation": provided}
    translator = config["translation"]["model"]
    return {
        **source,
        "translation": TRANSLATION.format(translator=translator, lang=lang),
        "translation_stats": TRANSLATION_STATS.format(translator=translator, lang=lang),
    }


def translate_spec(config: dict, translator: str, lang: str) -> TranslateSpec:
    settings = config["translation"]
    return TranslateSpec(
        model=model_ref(config, translator),
        translator=translator,
        source_language=config["source_language"],
        language=lang,
        **{key: settings[key] for key in ("format", "instruction", "max_tokens", "temperature", "max_input_tokens", "too_long")},
        engine=engine_spec(config, translator),
        software=software(ENGINE_PACKAGES),
        code=step_code("translate"),
    )


def token_lengths_spec(config: dict, model: str, lang: str) -> TokenLengthsSpec:
    return TokenLengthsSpec(
        model=model_ref(config, model),
        tokenizer=model,
        language=lang,
        software=software(TOKENIZER_PACKAGES),
        code=step_code("token_lengths"),
    )
