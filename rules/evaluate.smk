# EuroEval: adapters merged into their base model, then scored per (subject, language).
from workflow_scripts.euroeval_run import euroeval_inputs, euroeval_spec
from workflow_scripts.layout import ADAPTER, EUROEVAL, MERGED
from workflow_scripts.merge import merge_spec
from workflow_scripts.plan import euroeval_languages


rule merge_adapter:
    input:
        adapter=ADAPTER,
        model=lambda wc: model_input(wc.policy),
    output:
        # Full model copies are large: kept only until the evaluations that read them are done.
        temp(directory(MERGED)),
    log:
        "logs/merge_adapter/{policy}/{source}/{scope}/{dataset}.log",
    threads: config["threads"]["training"]
    resources:
        **job_resources("euroeval"),
    params:
        spec=lambda wc: merge_spec(config, wc.policy).params(),
    script:
        "scripts/merge.py"


rule euroeval:
    input:
        unpack(lambda wc: euroeval_inputs(config, wc.subject)),
    output:
        EUROEVAL,
    log:
        "logs/euroeval/{subject}/{lang}.log",
    wildcard_constraints:
        # training languages and evaluation-only (held-out) ones
        lang="|".join(euroeval_languages(config)) or "^$",
    cache: CACHE
    threads: config["evaluation"]["euroeval"]["threads"]
    resources:
        **job_resources("euroeval"),
    params:
        spec=lambda wc: euroeval_spec(config, wc.subject, wc.lang).params(),
    script:
        "scripts/euroeval.py"
