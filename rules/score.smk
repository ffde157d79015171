# Reward scores for every sample, in `reward.shards` jobs per language (each a contiguous range of
# samples), gathered into one table per language (workflow_scripts/runtime/scatter.py); and the reward of every
# prompt's reference answer.
from workflow_scripts.planning.layout import GENERATIONS, PROMPTS, REFERENCE_SCORES, SCORE_SHARD, SCORES, shard_files
from workflow_scripts.planning.specs.sampling import gather_spec, reference_score_spec, score_spec


rule score:
    input:
        generations=GENERATIONS,
        model=lambda wc: model_input(config["reward"]["model"]),
    output:
        temp(SCORE_SHARD),
    log:
        LOGS["score"],
    cache: CACHE
    priority: SAMPLING_PRIORITY
    threads: config["threads"]["engine"]
    resources:
        **engine_resources(lambda wc: config["reward"]["model"]),
        # how the job splits its work, not what it computes: resources, outside the provenance
        samples_per_chunk=config["reward"]["samples_per_chunk"],
        engines=config["engine"]["data_parallel_size"],
    params:
        spec=lambda wc: score_spec(config).params(),
        shard=lambda wc: [int(wc.shard), int(wc.shards)],
    script:
        "scripts/score.py"


rule gather_scores:
    input:
        shards=lambda wc: shard_files(SCORES, config["reward"]["shards"], samples=wc.samples, lang=wc.lang),
        generations=GENERATIONS,
    output:
        SCORES,
    log:
        "logs/gather_scores/{samples}/{lang}.log",
    cache: CACHE
    priority: SAMPLING_PRIORITY
    resources:
        **job_resources("light"),
    params:
        # The shards are temporary: what determines them must be visible here to trigger a rerun.
        spec=lambda wc: gather_spec(score_spec(config), "gather_scores").params(),
    script:
        "scripts/gather_scores.py"


rule score_references:
    input:
        prompts=PROMPTS,
        model=lambda wc: model_input(config["reward"]["model"]),
    output:
        REFERENCE_SCORES,
    log:
        LOGS["score_references"],
    cache: CACHE
    threads: config["threads"]["engine"]
    resources:
        **engine_resources(lambda wc: config["reward"]["model"]),
    params:
        spec=reference_score_spec(config).params(),
    script:
        "scripts/score_references.py"
