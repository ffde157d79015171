"""Specs and inputs of the sampling jobs (rules/generate.smk, score.smk, language_id.smk): on-policy samples,
their rewards (and the reference answers'), their identified language, and the gathers of sharded steps."""

from __future__ import annotations

from workflow_scripts.names import parse_sample_source, sample_settings
from workflow_scripts.planning.specs.common import ENGINE_PACKAGES, engine_spec, model_ref, software, step_code
from workflow_scripts.runtime.scatter import GatherSpec
from workflow_scripts.runtime.spec import Spec
from workflow_scripts.stages.generation import GenerationSpec
from workflow_scripts.stages.language_id import LANGUAGE_ID_PACKAGES, LanguageIdSpec, identifier_identity
from workflow_scripts.stages.scoring import ReferenceScoreSpec, ScoreSpec


def generation_spec(config: dict, samples: str, lang: str) -> GenerationSpec:
    """The spec of `samples` (a generator's name, `+instructed` for the language-instruction ablation, a
    variant's `@samples=` and `@temperature=`) in `lang`."""
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
        max_tokens=gen["max_tokens"],
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
