# m-ArenaHard: prompts per language; answers per subject and pairwise judgments per comparison, each with one
# engine for all languages; win rates per (comparison, language). Adapters answer through vLLM LoRA requests on
# their base model (no merged copy).
from workflow_scripts.planning.specs.evaluation import (
    answers_inputs,
    answers_spec,
    arena_prompts_spec,
    judge_inputs,
    judge_spec,
    win_rate_spec,
)
from workflow_scripts.names import parse_subject
from workflow_scripts.planning.layout import ARENA_ANSWERS, ARENA_PROMPTS, JUDGMENTS, WINRATE, names_pattern, per_language
from workflow_scripts.planning.plan import arena_comparisons, arena_languages, grouped_arena_subjects


# A subject's answers in the arena languages, and a configured comparison's judgments, come from one job for all
# of them (one engine load); any other answer (a language outside them, a subject only an experiment's
# arena_baselines compare) and every adapter comparison's judgments in a language come from one job each.
ruleorder: arena_answers > arena_answers_one


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
        LOGS["arena_answers"],
    wildcard_constraints:
        subject=names_pattern(grouped_arena_subjects(config)),
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
        LOGS["arena_judge"],
    wildcard_constraints:
        comparison=names_pattern(n for n, pair in arena_comparisons(config).items() if pair["configured"]),
    cache: CACHE
    threads: config["threads"]["engine"]
    resources:
        **engine_resources(lambda wc: config["evaluation"]["arena"]["judge"]["model"]),
    params:
        spec=lambda wc: judge_spec(config).params(),
    script:
        "scripts/arena_judge.py"


rule arena_answers_one:
    input:
        unpack(lambda wc: answers_inputs(config, wc.subject, [wc.lang])),
    output:
        ARENA_ANSWERS,
    log:
        LOGS["arena_answers_one"],
    cache: CACHE
    threads: config["threads"]["engine"]
    resources:
        **engine_resources(lambda wc: parse_subject(wc.subject)[0]),
    params:
        spec=lambda wc: answers_spec(config, wc.subject, [wc.lang]).params(),
    script:
        "scripts/arena_answers.py"


rule arena_judge_one:
    input:
        unpack(lambda wc: judge_inputs(config, wc.comparison, [wc.lang])),
    output:
        JUDGMENTS,
    log:
        LOGS["arena_judge_one"],
    wildcard_constraints:
        comparison=names_pattern(n for n, pair in arena_comparisons(config).items() if not pair["configured"]),
    cache: CACHE
    threads: config["threads"]["engine"]
    resources:
        **engine_resources(lambda wc: config["evaluation"]["arena"]["judge"]["model"]),
    params:
        spec=lambda wc: judge_spec(config, [wc.lang]).params(),
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
