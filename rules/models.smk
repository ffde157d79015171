# Base models: GGUF files materialized as Hugging Face model directories.
from workflow_scripts.models import gguf_path


rule base_model:
    output:
        model=directory("results/models/{model}"),
    params:
        spec=lambda wc: {
            "gguf": str(gguf_path(config["models"][wc.model], wc.model, Path.cwd())),
            "gguf_sha256": file_sha256(gguf_path(config["models"][wc.model], wc.model, Path.cwd())),
            "code": step_code("base_model"),
        },
    log:
        "logs/base_model/{model}.log",
    cache: True
    threads: config["threads"]["engine"]
    script:
        "scripts/base_model.py"
