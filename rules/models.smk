# Base models: GGUF files materialized as Hugging Face model directories.
from workflow_scripts.layout import MODEL_DIR
from workflow_scripts.materialize import base_model_spec


rule base_model:
    output:
        model=directory(MODEL_DIR),
    log:
        "logs/base_model/{model}.log",
    cache: CACHE
    threads: config["threads"]["engine"]
    resources:
        **job_resources("light"),
    params:
        spec=lambda wc: base_model_spec(config, wc.model).params(),
    script:
        "scripts/base_model.py"
