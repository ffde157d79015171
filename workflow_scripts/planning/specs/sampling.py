"""Specs and inputs of the sampling jobs (rules/generate.smk, score.smk, language_id.smk): on-policy samples,
their rewards (and the reference answers'), their identified language, and the gathers of sharded steps."""

from __future__ import annotations

from workflow_scripts.languages import nllb_code
from workflow_scripts.names import parse_sample_source, sample_settings
from workflow_scripts.planning.layout import GENERATIONS, PROMPTS, adapter_dir
from workflow_scripts.planning.models import model_inputs
from workflow_scripts.planning.plan import icr_reference_adapter
from workflow_scripts.planning.specs.common import (
    ENGINE_PACKAGES,
    TRAINING_PACKAGES,
    engine_spec,
    model_ref,
    software,
    step_code,
)
from workflow_scripts.runtime.scatter import GatherSpec
from workflow_scripts.runtime.spec import Spec
from workflow_scripts.stages.generation import GenerationSpec
from workflow_scripts.stages.icr import ImplicitRewardSpec
from workflow_scripts.stages.language_id import LANGUAGE_ID_PACKAGES, LanguageIdSpec, identifier_identity
from workflow_scripts.stages.mapo import AlignmentSpec
from workflow_scripts.stages.scoring import ReferenceScoreSpec, ScoreSpec


def generation_spec(config: dict, samples: str, lang: str) -> GenerationSpec:
    """The spec of `samples` (a generator's name, `+instructed` for the language-instruction ablation, a
    variant's `@samples=`, `@temperature=`, `@max_tokens=`) in `lang`."""
    gen = config["generation"]
    generator, instructed = parse_sample_source(samples)
    variant = sample_settings(samples)
    return GenerationSpec(
        model=model_ref(config, generator),
        generator=generator,
        language=lang,
        samples=variant.get("samples", gen["samples"]),
        temperature=variant.get("temperature", config["models"][generator].get("temperature", gen["temperature"])),
        top_p=gen["top_p"],
        max_tokens=variant.get("max_tokens", gen["max_tokens"]),
        seed=gen["seed"],
        language_instruction=gen["language_instruction"] if instructed else None,
        engine=engine_spec(config, generator),
        software=software(ENGINE_PACKAGES),
        code=step_code("generate"),
    )


def score_spec(config: dict) -> ScoreSpec:
    """The rewards of any generator's samples, in any language (the reward model sees prompt and response)."""
    reward = config["reward"]
    return ScoreSpec(
        model=model_ref(config, reward["model"]),
        reward_model=reward["model"],
        backend=reward["backend"],
        rubric=reward["rubric"] if reward["backend"] == "generative" else None,
        max_length=reward["max_length"],
        empty_responses=reward["empty_responses"],
        engine=engine_spec(config, reward["model"]),
        software=software(ENGINE_PACKAGES),
        code=step_code("score"),
    )


def reference_score_spec(config: dict) -> ReferenceScoreSpec:
    return ReferenceScoreSpec(score_spec(config), step_code("score_references"))


def gather_spec(sharded: Spec, glue: str) -> GatherSpec:
    """The spec of the gather (glue script `glue`) of a sharded step's shards."""
    return GatherSpec(sharded.params(), step_code(glue))


def language_id_spec(config: dict, lang: str) -> LanguageIdSpec:
    return LanguageIdSpec(
        language=lang,
        identifier=identifier_identity(),
        max_characters=config["language_id"]["max_characters"],
        software=software(LANGUAGE_ID_PACKAGES),
        code=step_code("language_id"),
    )


def implicit_reward_spec(config: dict, samples: str) -> ImplicitRewardSpec:
    """ICR's rewards of `samples`: their generator with (π_DPO) and without (π_ref) its English Paired-DPO adapter."""
    generator = parse_sample_source(samples)[0]
    icr = config["pairs"]["icr"]
    return ImplicitRewardSpec(
        model=model_ref(config, generator),
        dpo_adapter=adapter_dir(icr_reference_adapter(config, generator)),
        source_language=config["source_language"],
        max_length=icr["max_length"],
        batch_size=icr["batch_size"],
        precision=config["training"]["common"]["precision"],
        software=software(TRAINING_PACKAGES),
        code=step_code("implicit_rewards"),
    )


def implicit_reward_inputs(config: dict, samples: str, lang: str) -> dict:
    generator = parse_sample_source(samples)[0]
    return {
        "generations": GENERATIONS.format(samples=samples, lang=lang),
        "source_prompts": PROMPTS.format(lang=config["source_language"]),
        "model": model_inputs(config, generator),
        "dpo_adapter": adapter_dir(icr_reference_adapter(config, generator)),
    }


def alignment_spec(config: dict, lang: str) -> AlignmentSpec:
    """MAPO's rewards of one language's samples: the translation model force-decodes their English answers."""
    mapo = config["pairs"]["mapo"]
    return AlignmentSpec(
        model=model_ref(config, mapo["model"]),
        language_code=nllb_code(lang),
        english_code=nllb_code(config["source_language"]),
        max_length=mapo["max_length"],
        batch_size=mapo["batch_size"],
        software=software(TRAINING_PACKAGES),
        code=step_code("alignment_rewards"),
    )


def alignment_inputs(config: dict, samples: str, lang: str) -> dict:
    return {
        "generations": GENERATIONS.format(samples=samples, lang=lang),
        "english": GENERATIONS.format(samples=samples, lang=config["source_language"]),
        "model": model_inputs(config, config["pairs"]["mapo"]["model"]),
    }
