# Prompt sets per language: the source prompts, provided translations, or machine translation.


def _translator():
    return config["translation"]["model"]


def prompt_set_input(wc):
    if wc.lang == SOURCE_LANGUAGE:
        return {"source": config["prompts"]["file"]}
    provided = config["prompts"]["translations"].get(wc.lang)
    if provided:
        return {"source": config["prompts"]["file"], "translation": provided}
    return {"source": config["prompts"]["file"], "translation": f"results/translations/{_translator()}/{wc.lang}.parquet"}


def prompt_set_spec(wc):
    provided = config["prompts"]["translations"].get(wc.lang)
    if wc.lang == SOURCE_LANGUAGE:
        origin, translation_sha = "source", None
    elif provided:
        origin, translation_sha = f"provided:{provided}", file_sha256(provided)
    else:
        origin, translation_sha = f"translated:{_translator()}", None
    return {
        "prompt_file": config["prompts"]["file"],
        "prompt_sha256": file_sha256(config["prompts"]["file"]),
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
        "results/translations/{translator}/{lang}.parquet",
    wildcard_constraints:
        lang="|".join(l for l in config["languages"] if l != SOURCE_LANGUAGE) or "^$",
    params:
        spec=lambda wc: {
            **model_params(wc.translator),
            "translator": wc.translator,
            "source_language": SOURCE_LANGUAGE,
            "language": wc.lang,
            **{k: config["translation"][k] for k in ("format", "instruction", "max_tokens", "temperature")},
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
