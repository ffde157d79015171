# LoRA adapters with TRL: DPO on pairs, SFT on Max-R or translated data.
from workflow_scripts.layout import ADAPTER, DATASET
from workflow_scripts.train import training_spec


rule train:
    input:
        data=DATASET,
        model=lambda wc: model_input(wc.policy),
    output:
        adapter=directory(ADAPTER),
    log:
        "logs/train/{policy}/{source}/{scope}/{dataset}.log",
    cache: CACHE
    threads: config["threads"]["training"]
    resources:
        **job_resources("training"),
    params:
        spec=lambda wc: training_spec(config, wc.policy, wc.dataset).params(),
    script:
        "scripts/train.py"
