# The comparison baselines' own rewards (the paper's §4.1): ICR's implicit cross-lingual reward of every sample
# (workflow_scripts/stages/icr.py) and MAPO's translation-model alignment reward of every non-English sample
# (stages/mapo.py); their pairs are built by the preference_dataset rule (datasets.smk).
from workflow_scripts.planning.layout import ALIGNMENT_REWARDS, IMPLICIT_REWARDS
from workflow_scripts.planning.specs.sampling import (
    alignment_inputs,
    alignment_spec,
    implicit_reward_inputs,
    implicit_reward_spec,
)


rule implicit_rewards:
    input:
        unpack(lambda wc: implicit_reward_inputs(config, wc.samples, wc.lang)),
    output:
        IMPLICIT_REWARDS,
    log:
        LOGS["implicit_rewards"],
    cache: CACHE
    threads: config["threads"]["training"]
    resources:
        **single_process_resources("training"),
    params:
        spec=lambda wc: implicit_reward_spec(config, wc.samples).params(),
    script:
        "scripts/implicit_rewards.py"


rule alignment_rewards:
    input:
        unpack(lambda wc: alignment_inputs(config, wc.samples, wc.lang)),
    output:
        ALIGNMENT_REWARDS,
    log:
        LOGS["alignment_rewards"],
    cache: CACHE
    threads: config["threads"]["training"]
    resources:
        **single_process_resources("training"),
    params:
        spec=lambda wc: alignment_spec(config, wc.lang).params(),
    script:
        "scripts/alignment_rewards.py"
