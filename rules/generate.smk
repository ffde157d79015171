# On-policy sampling: n responses per prompt and language, in `generation.shards` jobs per language
# (each a contiguous range of prompts), gathered into one table per language.


def generation_spec(wc):
    gen = config["generation"]
    generator, instructed = parse_sample_source(wc.samples)
    return {
        **model_params(generator),
        "generator": generator,
        "language": wc.lang,
        "samples": gen["samples"],
        "temperature": config["models"][generator].get("temperature", gen["temperature"]),
        "top_p": gen["top_p"],
        "max_tokens": gen["max_tokens"],
        "seed": gen["seed"],
        # The paper's prompts carry no instruction; `+instructed` samples (an ablation) append it.
        "language_instruction": gen["language_instruction"] if instructed else None,
        "engine": engine_spec(generator),
        "code": step_code("generate"),
    }


def generation_shards(wc):
    shards = config["generation"]["shards"]
    return [f"results/generations/{wc.samples}/{wc.lang}/shard-{k}-of-{shards}.parquet" for k in range(shards)]


rule generate:
    input:
        prompts="results/prompts/{lang}.parquet",
        model=lambda wc: model_input(parse_sample_source(wc.samples)[0]),
    output:
        temp("results/generations/{samples}/{lang}/shard-{shard}-of-{shards}.parquet"),
    params:
        spec=lambda wc: {**generation_spec(wc), "shard": [int(wc.shard), int(wc.shards)]},
    resources:
        **engine_resources(lambda wc: parse_sample_source(wc.samples)[0]),
    log:
        "logs/generate/{samples}/{lang}/shard-{shard}-of-{shards}.log",
    cache: True
    threads: config["threads"]["engine"]
    script:
        "scripts/generate.py"


rule gather_generations:
    input:
        shards=generation_shards,
        prompts="results/prompts/{lang}.parquet",
    output:
        "results/generations/{samples}/{lang}.parquet",
    params:
        # The shards are temporary: what determines them must be visible here to trigger a rerun.
        spec=lambda wc: {"generation": generation_spec(wc), "code": step_code("gather_generations")},
    resources:
        **job_resources("light"),
    log:
        "logs/gather_generations/{samples}/{lang}.log",
    cache: True
    script:
        "scripts/gather_generations.py"
