# Prompt sets per language: the source prompts (a file, or a stratified sample of a corpus), provided
# translations, or machine translation; and their token lengths (Figure 3).
from workflow_scripts.planning.layout import (
    PROMPTS,
    SOURCE_SAMPLE,
    SOURCE_SAMPLE_STATS,
    TOKEN_LENGTHS,
    TRANSLATION,
    TRANSLATION_STATS,
)
from workflow_scripts.planning.specs.prompts import (
    prompt_set_inputs,
    prompt_set_spec,
    sample_spec,
    token_lengths_spec,
    translate_spec,
)


rule sample_prompts:
    output:
        prompts=SOURCE_SAMPLE,
        stats=SOURCE_SAMPLE_STATS,
    log:
        "logs/sample_prompts/sample.log",
    cache: CACHE
    resources:
        **job_resources("light"),
    params:
        spec=lambda wc: sample_spec(config).params(),
    script:
        "scripts/sample_prompts.py"


rule prompt_set:
    input:
        unpack(lambda wc: prompt_set_inputs(config, wc.lang)),
    output:
        PROMPTS,
    log:
        "logs/prompt_set/{lang}.log",
    cache: CACHE
    priority: SAMPLING_PRIORITY
    resources:
        **job_resources("light"),
    params:
        spec=lambda wc: prompt_set_spec(config, wc.lang).params(),
    script:
        "scripts/prompt_set.py"


rule translate:
    input:
        prompts=PROMPTS.format(lang=SOURCE_LANGUAGE),
        model=lambda wc: model_input(wc.translator),
    output:
        translation=TRANSLATION,
        stats=TRANSLATION_STATS,
    log:
        LOGS["translate"],
    wildcard_constraints:
        lang="|".join(l for l in config["languages"] if l != SOURCE_LANGUAGE) or "^$",
    cache: CACHE
    priority: SAMPLING_PRIORITY
    threads: config["threads"]["engine"]
    resources:
        **engine_resources(lambda wc: wc.translator),
    params:
        spec=lambda wc: translate_spec(config, wc.translator, wc.lang).params(),
    script:
        "scripts/translate.py"


rule token_lengths:
    input:
        prompts=PROMPTS,
        model=lambda wc: model_input(wc.model),
    output:
        TOKEN_LENGTHS,
    log:
        "logs/token_lengths/{model}/{lang}.log",
    cache: CACHE
    resources:
        **job_resources("light"),
    params:
        spec=lambda wc: token_lengths_spec(config, wc.model, wc.lang).params(),
    script:
        "scripts/token_lengths.py"
