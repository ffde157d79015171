# On-policy sampling: n responses per prompt and language, in `generation.shards` jobs per language
# (each a contiguous range of prompts), gathered into one table per language (workflow_scripts/runtime/scatter.py).
from workflow_scripts.names import parse_sample_source
from workflow_scripts.planning.layout import GENERATION_SHARD, GENERATIONS, PROMPTS, shard_files
from workflow_scripts.planning.specs.sampling import gather_spec, generation_spec


rule generate:
    input:
        prompts=PROMPTS,
        model=lambda wc: model_input(parse_sample_source(wc.samples)[0]),
    output:
        temp(GENERATION_SHARD),
    log:
        LOGS["generate"],
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
        shards=lambda wc: shard_files(GENERATIONS, config["generation"]["shards"], samples=wc.samples, lang=wc.lang),
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
        spec=lambda wc: gather_spec(generation_spec(config, wc.samples, wc.lang), "gather_generations").params(),
    script:
        "scripts/gather_generations.py"
