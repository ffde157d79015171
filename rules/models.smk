# Base models: GGUF files materialized as Hugging Face model directories.
from workflow_scripts.planning.layout import MODEL_DIR, MODEL_REVISION
from workflow_scripts.planning.specs.models import base_model_spec, revision_spec


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


rule resolve_model:
    output:
        MODEL_REVISION,
    log:
        "logs/resolve_model/{model}.log",
    resources:
        **job_resources("light"),
    params:
        # resolved when planning: the commit is in the provenance of every step that loads the model
        spec=lambda wc: revision_spec(config, wc.model).params(),
    script:
        "scripts/resolve_model.py"
