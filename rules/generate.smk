# On-policy sampling: n responses per prompt and language.


def generation_spec(wc):
    gen = config["generation"]
    return {
        **model_params(wc.generator),
        "generator": wc.generator,
        "language": wc.lang,
        "samples": gen["samples"],
        "temperature": config["models"][wc.generator].get("temperature", gen["temperature"]),
        "top_p": gen["top_p"],
        "max_tokens": gen["max_tokens"],
        "seed": gen["seed"],
        "language_instruction": gen["language_instruction"],
        "engine": config["engine"],
        "code": step_code("generate"),
    }


rule generate:
    input:
        prompts="results/prompts/{lang}.parquet",
        model=lambda wc: model_input(wc.generator),
    output:
        "results/generations/{generator}/{lang}.parquet",
    params:
        spec=generation_spec,
    resources:
        **job_resources("engine"),
    log:
        "logs/generate/{generator}/{lang}.log",
    cache: True
    threads: config["threads"]["engine"]
    script:
        "scripts/generate.py"
