# m-ArenaHard: prompts per language; answers per subject and pairwise judgments per comparison, each with one
# engine for all languages; win rates per (comparison, language). Adapters answer through vLLM LoRA requests on
# their base model (no merged copy).
from workflow_scripts.arena import (
    answers_inputs,
    answers_spec,
    arena_prompts_spec,
    judge_inputs,
    judge_spec,
    win_rate_spec,
)
from workflow_scripts.layout import ARENA_ANSWERS, ARENA_PROMPTS, JUDGMENTS, WINRATE, parse_subject, per_language
from workflow_scripts.plan import arena_languages


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
        unpack(lambda wc: answers_inputs(config, wc.subject)),
    output:
        # one engine answers every language (a language's answers are its own batch); named, as Snakemake's
        # between-workflow cache requires of several outputs
        **per_language(ARENA_ANSWERS, arena_languages(config)),
    log:
        "logs/arena_answers/{subject}.log",
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
        unpack(lambda wc: judge_inputs(config, wc.comparison)),
    output:
        **per_language(JUDGMENTS, arena_languages(config)),
    log:
        "logs/arena_judge/{comparison}.log",
    cache: CACHE
    threads: config["threads"]["engine"]
    resources:
        **engine_resources(lambda wc: config["evaluation"]["arena"]["judge"]["model"]),
    params:
        spec=lambda wc: judge_spec(config).params(),
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
