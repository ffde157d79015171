# m-ArenaHard: prompts per language, answers per (subject, language), pairwise judgments and win rates per
# (comparison, language). Adapters answer through vLLM LoRA requests on their base model (no merged copy).
from workflow_scripts.plan import effective_judge


def arena_prompts_spec(wc):
    prompts = config["evaluation"]["arena"]["prompts"]
    path = prompts["files"].get(wc.lang)
    return {
        "language": wc.lang,
        "file": path,
        "file_sha256": file_sha256(path) if path else None,
        "hub": None if path else prompts["hub"],
        "split": prompts["split"],
        "revision": prompts["revision"],
        "limit": prompts["limit"],
        "code": step_code("arena_prompts"),
    }


rule arena_prompts:
    output:
        "results/arena/prompts/{lang}.parquet",
    params:
        spec=arena_prompts_spec,
    resources:
        **job_resources("light"),
    log:
        "logs/arena_prompts/{lang}.log",
    cache: True
    script:
        "scripts/arena_prompts.py"


def answers_spec(wc):
    base, adapter = parse_subject(wc.subject)
    generation = config["evaluation"]["arena"]["generation"]
    return {
        **model_params(base),
        "subject": wc.subject,
        # vLLM accepts only some ranks as max_lora_rank: the smallest one that holds the adapters' rank.
        "max_lora_rank": min(r for r in (8, 16, 32, 64, 128, 256, 320, 512) if r >= config["training"]["lora"]["r"]),
        "engine": engine_spec(base),
        "max_tokens": generation["max_tokens"],
        # per base model (the authors answer with aya at 0.1, every other model greedily)
        "temperature": generation["temperatures"].get(base, generation["temperature"]),
        "seed": generation["seed"],
        "code": step_code("arena_answers"),
    }


rule arena_answers:
    input:
        prompts="results/arena/prompts/{lang}.parquet",
        model=lambda wc: subject_model_input(wc.subject),
        adapter=lambda wc: adapter_input(wc.subject),
    output:
        "results/arena/answers/{subject}/{lang}.parquet",
    params:
        spec=answers_spec,
    resources:
        **engine_resources(lambda wc: parse_subject(wc.subject)[0]),
    log:
        "logs/arena_answers/{subject}/{lang}.log",
    cache: True
    threads: config["threads"]["engine"]
    script:
        "scripts/arena_answers.py"


def comparison(name):
    return config["evaluation"]["arena"]["comparisons"][name]


def judge_spec(wc):
    judge = effective_judge(config["evaluation"]["arena"]["judge"])
    params = model_params(judge["model"])
    return {
        **params,
        "chat_template_kwargs": {**judge["chat_template_kwargs"], **params["chat_template_kwargs"]},
        "language": wc.lang,
        "judge": {k: v for k, v in judge.items() if k != "chat_template_kwargs"},
        "engine": engine_spec(judge["model"]),
        "code": step_code("arena_judge"),
    }


rule arena_judge:
    input:
        model_answers=lambda wc: f"results/arena/answers/{comparison(wc.comparison)['model']}/{wc.lang}.parquet",
        baseline_answers=lambda wc: f"results/arena/answers/{comparison(wc.comparison)['baseline']}/{wc.lang}.parquet",
        judge=lambda wc: model_input(config["evaluation"]["arena"]["judge"]["model"]),
    output:
        "results/arena/judgments/{comparison}/{lang}.parquet",
    params:
        spec=judge_spec,
    resources:
        **engine_resources(lambda wc: config["evaluation"]["arena"]["judge"]["model"]),
    log:
        "logs/arena_judge/{comparison}/{lang}.log",
    cache: True
    threads: config["threads"]["engine"]
    script:
        "scripts/arena_judge.py"


def win_rate_spec(wc):
    arena = config["evaluation"]["arena"]
    return {
        "comparison": wc.comparison,
        **comparison(wc.comparison),
        "judge": arena["judge"]["model"],
        "protocol": arena["judge"]["protocol"],
        "language": wc.lang,
        "bootstrap_samples": arena["bootstrap_samples"],
        "seed": arena["seed"],
        "code": step_code("arena_winrate"),
    }


rule arena_winrate:
    input:
        judgments="results/arena/judgments/{comparison}/{lang}.parquet",
    output:
        "results/arena/winrates/{comparison}/{lang}.json",
    params:
        spec=win_rate_spec,
    resources:
        **job_resources("light"),
    log:
        "logs/arena_winrate/{comparison}/{lang}.log",
    script:
        "scripts/arena_winrate.py"
