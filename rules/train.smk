# LoRA adapters with TRL: DPO on pairs, SFT on Max-R or translated data; curve runs (checkpoints every
# training.curves.checkpoint_every steps, one run per seed) of offline and online DPO.
from workflow_scripts.planning.layout import (
    ADAPTER,
    ADAPTER_SETTINGS_RE,
    CURVE_RUN,
    ONLINE_DATASET_RE,
    SAMPLED_DATASET_RE,
    training_data,
)
from workflow_scripts.planning.specs.training import (
    curve_spec,
    online_inputs,
    online_spec,
    training_spec,
)


rule train:
    input:
        data=lambda wc: training_data(wc.source, wc.scope, wc.dataset),
        model=lambda wc: model_input(wc.policy),
    output:
        adapter=directory(ADAPTER),
    log:
        LOGS["train"],
    wildcard_constraints:
        dataset=rf"(?:{SAMPLED_DATASET_RE}|sft){ADAPTER_SETTINGS_RE}",
    cache: CACHE
    threads: config["threads"]["training"]
    resources:
        **job_resources("training"),
    params:
        spec=lambda wc: training_spec(config, wc.policy, wc.dataset).params(),
    script:
        "scripts/train.py"


rule train_curve:
    input:
        data=lambda wc: training_data(wc.source, wc.scope, wc.dataset),
        model=lambda wc: model_input(wc.policy),
    output:
        run=directory(CURVE_RUN),
    log:
        LOGS["train_curve"],
    wildcard_constraints:
        dataset=SAMPLED_DATASET_RE + ADAPTER_SETTINGS_RE,
        seed=r"\d+",
    cache: CACHE
    threads: config["threads"]["training"]
    resources:
        **job_resources("training"),
    params:
        spec=lambda wc: curve_spec(config, wc.policy, wc.dataset, int(wc.seed)).params(),
    script:
        "scripts/train_curve.py"


rule train_online:
    input:
        unpack(lambda wc: online_inputs(config, wc.policy, wc.scope, wc.dataset)),
    output:
        run=directory(CURVE_RUN),
    log:
        LOGS["train_online"],
    wildcard_constraints:
        dataset=ONLINE_DATASET_RE + ADAPTER_SETTINGS_RE,
        seed=r"\d+",
    cache: CACHE
    threads: config["threads"]["training"]
    resources:
        **single_process_resources("training"),
    params:
        spec=lambda wc: online_spec(config, wc.policy, wc.scope, wc.dataset, int(wc.seed)).params(),
    script:
        "scripts/train_online.py"
