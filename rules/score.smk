# Reward scores for every sample.


def score_spec(wc):
    reward = config["reward"]
    return {
        **model_params(reward["model"]),
        "reward_model": reward["model"],
        "backend": reward["backend"],
        "rubric": reward["rubric"] if reward["backend"] == "generative" else None,
        "max_length": reward["max_length"],
        "engine": config["engine"],
        "code": step_code("score"),
    }


rule score:
    input:
        generations="results/generations/{generator}/{lang}.parquet",
        model=lambda wc: model_input(config["reward"]["model"]),
    output:
        "results/scores/{generator}/{lang}.parquet",
    params:
        spec=score_spec,
    resources:
        **job_resources("engine"),
    log:
        "logs/score/{generator}/{lang}.log",
    cache: True
    threads: config["threads"]["engine"]
    script:
        "scripts/score.py"
