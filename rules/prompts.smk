# Prompt sets per language: the source prompts (a file, or a stratified sample of a corpus), provided
# translations, or machine translation.
from workflow_scripts.plan import SOURCE_SAMPLE, SOURCE_SAMPLE_STATS, source_prompts_file


def _translator():
    return config["translation"]["model"]


rule sample_prompts:
    output:
        prompts=SOURCE_SAMPLE,
        stats=SOURCE_SAMPLE_STATS,
    params:
        spec=lambda wc: {
            **config["prompts"]["sample"],
            # a local corpus is identified by its content, a Hub corpus by its id, revision and split
            "file_sha256": file_sha256(config["prompts"]["sample"]["file"]) if config["prompts"]["sample"].get("file") else None,
            "code": step_code("sample_prompts"),
        },
    resources:
        **job_resources("light"),
    log:
        "logs/sample_prompts/sample.log",
    cache: True
    script:
        "scripts/sample_prompts.py"


def prompt_set_input(wc):
    source = source_prompts_file(config)
    if wc.lang == SOURCE_LANGUAGE:
        return {"source": source}
    provided = config["prompts"]["translations"].get(wc.lang)
    if provided:
        return {"source": source, "translation": provided}
    translated = f"results/translations/{_translator()}/{wc.lang}"
    return {"source": source, "translation": f"{translated}.parquet", "translation_stats": f"{translated}.stats.json"}


def prompt_set_spec(wc):
    provided = config["prompts"]["translations"].get(wc.lang)
    if wc.lang == SOURCE_LANGUAGE:
        origin, translation_sha = "source", None
    elif provided:
        origin, translation_sha = f"provided:{provided}", file_sha256(provided)
    else:
        origin, translation_sha = f"translated:{_translator()}", None
    source = source_prompts_file(config)
    return {
        "prompt_file": source,
        # a sampled source is an artifact (its provenance is its rule's); a user's file is hashed
        "prompt_sha256": None if source == SOURCE_SAMPLE else file_sha256(source),
        "translation_sha256": translation_sha,
        "limit": config["prompts"]["limit"],
        "source_language": SOURCE_LANGUAGE,
        "language": wc.lang,
        "origin": origin,
        "code": step_code("prompt_set"),
    }


rule prompt_set:
    input:
        unpack(prompt_set_input),
    output:
        "results/prompts/{lang}.parquet",
    params:
        spec=prompt_set_spec,
    resources:
        **job_resources("light"),
    log:
        "logs/prompt_set/{lang}.log",
    cache: True
    script:
        "scripts/prompt_set.py"


rule translate:
    input:
        prompts=f"results/prompts/{SOURCE_LANGUAGE}.parquet",
        model=lambda wc: model_input(wc.translator),
    output:
        translation="results/translations/{translator}/{lang}.parquet",
        stats="results/translations/{translator}/{lang}.stats.json",
    wildcard_constraints:
        lang="|".join(l for l in config["languages"] if l != SOURCE_LANGUAGE) or "^$",
    params:
        spec=lambda wc: {
            **model_params(wc.translator),
            "translator": wc.translator,
            "source_language": SOURCE_LANGUAGE,
            "language": wc.lang,
            **{k: config["translation"][k] for k in ("format", "instruction", "max_tokens", "temperature", "max_input_tokens", "too_long")},
            "engine": engine_spec(wc.translator),
            "code": step_code("translate"),
        },
    resources:
        **engine_resources(lambda wc: wc.translator),
    log:
        "logs/translate/{translator}/{lang}.log",
    cache: True
    threads: config["threads"]["engine"]
    script:
        "scripts/translate.py"


rule token_lengths:
    input:
        prompts="results/prompts/{lang}.parquet",
        model=lambda wc: model_input(wc.model),
    output:
        "results/token_lengths/{model}/{lang}.parquet",
    params:
        spec=lambda wc: {**model_params(wc.model), "tokenizer": wc.model, "language": wc.lang, "code": step_code("token_lengths")},
    resources:
        **job_resources("light"),
    log:
        "logs/token_lengths/{model}/{lang}.log",
    cache: True
    script:
        "scripts/token_lengths.py"
