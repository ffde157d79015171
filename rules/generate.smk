# On-policy sampling: n responses per prompt and language, in `generation.shards` jobs per language
# (each a contiguous range of prompts), gathered into one table per language.
from workflow_scripts.generate import GatherSpec as GatherGenerationsSpec, generation_shards, generation_spec
from workflow_scripts.layout import GENERATION_SHARD, GENERATIONS, PROMPTS, parse_sample_source
from workflow_scripts.specs import step_code


rule generate:
    input:
        prompts=PROMPTS,
        model=lambda wc: model_input(parse_sample_source(wc.samples)[0]),
    output:
        temp(GENERATION_SHARD),
    log:
        "logs/generate/{samples}/{lang}/shard-{shard}-of-{shards}.log",
    cache: CACHE
    priority: SAMPLING_PRIORITY
    threads: config["threads"]["engine"]
    resources:
        **engine_resources(lambda wc: parse_sample_source(wc.samples)[0]),
        # how the job splits its work, not what it computes: resources, outside the provenance
        prompts_per_chunk=config["generation"]["prompts_per_chunk"],
        engines=config["engine"]["data_parallel_size"],
    params:
        spec=lambda wc: generation_spec(config, wc.samples, wc.lang).params(),
        shard=lambda wc: [int(wc.shard), int(wc.shards)],
    script:
        "scripts/generate.py"


rule gather_generations:
    input:
        shards=lambda wc: generation_shards(config, wc.samples, wc.lang),
        prompts=PROMPTS,
    output:
        GENERATIONS,
    log:
        "logs/gather_generations/{samples}/{lang}.log",
    cache: CACHE
    priority: SAMPLING_PRIORITY
    resources:
        **job_resources("light"),
    params:
        # The shards are temporary: what determines them must be visible here to trigger a rerun.
        spec=lambda wc: GatherGenerationsSpec(
            generation_spec(config, wc.samples, wc.lang), step_code("gather_generations")
        ).params(),
    script:
        "scripts/gather_generations.py"
