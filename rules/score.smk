# Reward scores for every sample, in `reward.shards` jobs per language (each a contiguous range of
# samples), gathered into one table per language; and the reward of every prompt's reference answer.
from workflow_scripts.layout import GENERATIONS, PROMPTS, REFERENCE_SCORES, SCORE_SHARD, SCORES
from workflow_scripts.reward import GatherSpec as GatherScoresSpec, reference_score_spec, score_shards, score_spec
from workflow_scripts.specs import step_code


rule score:
    input:
        generations=GENERATIONS,
        model=lambda wc: model_input(config["reward"]["model"]),
    output:
        temp(SCORE_SHARD),
    log:
        "logs/score/{samples}/{lang}/shard-{shard}-of-{shards}.log",
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
        shards=lambda wc: score_shards(config, wc.samples, wc.lang),
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
        spec=lambda wc: GatherScoresSpec(score_spec(config), step_code("gather_scores")).params(),
    script:
        "scripts/gather_scores.py"


rule score_references:
    input:
        prompts=PROMPTS,
        model=lambda wc: model_input(config["reward"]["model"]),
    output:
        REFERENCE_SCORES,
    log:
        "logs/score_references/{lang}.log",
    cache: CACHE
    threads: config["threads"]["engine"]
    resources:
        **engine_resources(lambda wc: config["reward"]["model"]),
    params:
        spec=reference_score_spec(config).params(),
    script:
        "scripts/score_references.py"
