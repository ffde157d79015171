# Training datasets: Paired DPO and Max-R from scored samples; In-Lang / All-Lang SFT from translations.
from workflow_scripts.names import TRANSLATED
from workflow_scripts.planning.layout import DATASET, DATASET_STATS, SAMPLED_DATASET_RE
from workflow_scripts.planning.specs.training import dataset_inputs, dataset_spec


rule preference_dataset:
    input:
        unpack(lambda wc: dataset_inputs(wc.source, wc.scope, wc.dataset)),
    output:
        data=DATASET,
        stats=DATASET_STATS,
    log:
        "logs/dataset/{source}/{scope}/{dataset}.log",
    wildcard_constraints:
        source=SAMPLES_RE,
        dataset=SAMPLED_DATASET_RE,
    cache: CACHE
    priority: SAMPLING_PRIORITY
    resources:
        **job_resources("light"),
    params:
        spec=lambda wc: dataset_spec(config, wc.scope, wc.dataset).params(),
    script:
        "scripts/dataset.py"


rule translated_dataset:
    input:
        unpack(lambda wc: dataset_inputs(TRANSLATED, wc.scope, "sft")),
    output:
        data=DATASET.replace("{source}", TRANSLATED).replace("{dataset}", "sft"),
        stats=DATASET_STATS.replace("{source}", TRANSLATED).replace("{dataset}", "sft"),
    log:
        f"logs/dataset/{TRANSLATED}/{{scope}}/sft.log",
    cache: CACHE
    resources:
        **job_resources("light"),
    params:
        spec=lambda wc: dataset_spec(config, wc.scope, "sft").params(),
    script:
        "scripts/dataset.py"
