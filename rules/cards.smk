# Hugging Face cards (README.md with YAML metadata) of every training dataset and adapter: what each was made
# from and how, validated by huggingface_hub's card classes. `python -m workflow_scripts.publish` pushes them.
from workflow_scripts.planning.layout import (
    ADAPTER,
    ADAPTER_CARD,
    ADAPTER_DATASET_RE,
    DATASET,
    DATASET_CARD,
    DATASET_STATS,
)
from workflow_scripts.planning.specs.cards import adapter_card_spec, dataset_card_spec


rule dataset_card:
    input:
        data=DATASET,
        stats=DATASET_STATS,
    output:
        card=DATASET_CARD,
    log:
        "logs/cards/datasets/{source}/{scope}/{dataset}.log",
    localrule: True
    params:
        spec=lambda wc: dataset_card_spec(config, wc.source, wc.scope, wc.dataset).params(),
    script:
        "scripts/card.py"


rule adapter_card:
    input:
        adapter=ADAPTER,
    output:
        card=ADAPTER_CARD,
    log:
        "logs/cards/adapters/{policy}/{source}/{scope}/{dataset}.log",
    wildcard_constraints:
        dataset=ADAPTER_DATASET_RE,
    localrule: True
    params:
        spec=lambda wc: adapter_card_spec(config, wc.policy, wc.source, wc.scope, wc.dataset).params(),
    script:
        "scripts/card.py"
