# EuroEval: one job per subject evaluates all its languages (one EuroEval import, one model load); an
# adapter is merged into its base model inside that job (EuroEval cannot take a local adapter).
from workflow_scripts.euroeval_run import euroeval_inputs, euroeval_spec
from workflow_scripts.layout import EUROEVAL


rule euroeval:
    input:
        unpack(lambda wc: euroeval_inputs(config, wc.subject)),
    output:
        EUROEVAL,
    log:
        "logs/euroeval/{subject}.log",
    cache: CACHE
    threads: config["evaluation"]["euroeval"]["threads"]
    resources:
        **job_resources("euroeval"),
    params:
        spec=lambda wc: euroeval_spec(config, wc.subject).params(),
    script:
        "scripts/euroeval.py"
