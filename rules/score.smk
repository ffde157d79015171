# Reward scores for every sample, in `reward.shards` jobs per language (each a contiguous range of
# samples), gathered into one table per language.


def score_spec(wc):
    reward = config["reward"]
    return {
        **model_params(reward["model"]),
        "reward_model": reward["model"],
        "backend": reward["backend"],
        "rubric": reward["rubric"] if reward["backend"] == "generative" else None,
        "max_length": reward["max_length"],
        "empty_responses": reward["empty_responses"],
        "engine": engine_spec(reward["model"]),
        "code": step_code("score"),
    }


def score_shards(wc):
    shards = config["reward"]["shards"]
    return [f"results/scores/{wc.samples}/{wc.lang}/shard-{k}-of-{shards}.parquet" for k in range(shards)]


rule score:
    input:
        generations="results/generations/{samples}/{lang}.parquet",
        model=lambda wc: model_input(config["reward"]["model"]),
    output:
        temp("results/scores/{samples}/{lang}/shard-{shard}-of-{shards}.parquet"),
    params:
        spec=lambda wc: {**score_spec(wc), "shard": [int(wc.shard), int(wc.shards)]},
    resources:
        **engine_resources(lambda wc: config["reward"]["model"]),
    log:
        "logs/score/{samples}/{lang}/shard-{shard}-of-{shards}.log",
    cache: True
    threads: config["threads"]["engine"]
    script:
        "scripts/score.py"


rule gather_scores:
    input:
        shards=score_shards,
        generations="results/generations/{samples}/{lang}.parquet",
    output:
        "results/scores/{samples}/{lang}.parquet",
    params:
        spec=lambda wc: {"score": score_spec(wc), "code": step_code("gather_scores")},
    resources:
        **job_resources("light"),
    log:
        "logs/gather_scores/{samples}/{lang}.log",
    cache: True
    script:
        "scripts/gather_scores.py"
