# The identified language of every sample (fastText lid.176): the report's language section, and the
# pools of `+in_language` datasets (pairs.language_filter).
from workflow_scripts.planning.specs.sampling import language_id_spec
from workflow_scripts.planning.layout import GENERATIONS, LANGUAGE_ID


rule language_id:
    input:
        generations=GENERATIONS,
    output:
        LANGUAGE_ID,
    log:
        "logs/language_id/{samples}/{lang}.log",
    cache: CACHE
    priority: SAMPLING_PRIORITY
    threads: config["threads"]["language_id"]
    resources:
        **job_resources("light"),
    params:
        spec=lambda wc: language_id_spec(config, wc.lang).params(),
    script:
        "scripts/language_id.py"
