# m-ArenaHard: prompts per language, answers per (subject, language), pairwise judgments and win rates per
# (comparison, language). Adapters answer through vLLM LoRA requests on their base model (no merged copy).
from workflow_scripts.arena import (
    answers_inputs,
    answers_spec,
    arena_prompts_spec,
    judge_inputs,
    judge_spec,
    win_rate_spec,
)
from workflow_scripts.layout import ARENA_ANSWERS, ARENA_PROMPTS, JUDGMENTS, WINRATE, parse_subject


rule arena_prompts:
    output:
        ARENA_PROMPTS,
    log:
        "logs/arena_prompts/{lang}.log",
    cache: CACHE
    resources:
        **job_resources("light"),
    params:
        spec=lambda wc: arena_prompts_spec(config, wc.lang).params(),
    script:
        "scripts/arena_prompts.py"


rule arena_answers:
    input:
        unpack(lambda wc: answers_inputs(config, wc.subject, wc.lang)),
    output:
        ARENA_ANSWERS,
    log:
        "logs/arena_answers/{subject}/{lang}.log",
    cache: CACHE
    threads: config["threads"]["engine"]
    resources:
        **engine_resources(lambda wc: parse_subject(wc.subject)[0]),
    params:
        spec=lambda wc: answers_spec(config, wc.subject).params(),
    script:
        "scripts/arena_answers.py"


rule arena_judge:
    input:
        unpack(lambda wc: judge_inputs(config, wc.comparison, wc.lang)),
    output:
        JUDGMENTS,
    log:
        "logs/arena_judge/{comparison}/{lang}.log",
    cache: CACHE
    threads: config["threads"]["engine"]
    resources:
        **engine_resources(lambda wc: config["evaluation"]["arena"]["judge"]["model"]),
    params:
        spec=lambda wc: judge_spec(config, wc.lang).params(),
    script:
        "scripts/arena_judge.py"


rule arena_winrate:
    input:
        judgments=JUDGMENTS,
    output:
        WINRATE,
    log:
        "logs/arena_winrate/{comparison}/{lang}.log",
    resources:
        **job_resources("light"),
    params:
        spec=lambda wc: win_rate_spec(config, wc.comparison, wc.lang).params(),
    script:
        "scripts/arena_winrate.py"
