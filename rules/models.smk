# Base models: GGUF files materialized as Hugging Face model directories.
from workflow_scripts.models import gguf_path


def base_model_spec(name):
    path = gguf_path(config["models"][name], name, Path.cwd())
    return {"gguf": str(path), "gguf_sha256": file_sha256(path), "code": step_code("base_model")}


rule base_model:
    output:
        model=directory("results/models/{model}"),
    params:
        spec=lambda wc: base_model_spec(wc.model),
    resources:
        **job_resources("light"),
    log:
        "logs/base_model/{model}.log",
    cache: True
    threads: config["threads"]["engine"]
    script:
        "scripts/base_model.py"
