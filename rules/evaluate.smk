# EuroEval: one job per subject evaluates all its languages (one EuroEval import, one model load); an
# adapter is merged into its base model inside that job (EuroEval cannot take a local adapter). Under
# `evaluation.euroeval.batch: scope` one job evaluates a batch of subjects (a base model; one policy's adapters
# of one scope; one curve run's checkpoints) in one EuroEval import, and a local rule takes each subject's
# result out of the batch's file: fewer jobs, but a change to one adapter evaluates its siblings again.
from workflow_scripts.planning.specs.evaluation import (
    euroeval_batch_inputs,
    euroeval_batch_subjects,
    euroeval_inputs,
    euroeval_spec,
)
from workflow_scripts.planning.layout import EUROEVAL, EUROEVAL_BATCH, euroeval_batch
from workflow_scripts.planning.plan import euroeval_batched

if euroeval_batched(config):

    rule euroeval_batch:
        input:
            unpack(lambda wc: euroeval_batch_inputs(config, wc.batch)),
        output:
            EUROEVAL_BATCH,
        log:
            LOGS["euroeval_batch"],
        cache: CACHE
        threads: config["evaluation"]["euroeval"]["threads"]
        resources:
            **job_resources("euroeval"),
        params:
            specs=lambda wc: [euroeval_spec(config, subject).params() for subject in euroeval_batch_subjects(config, wc.batch)],
        script:
            "scripts/euroeval_batch.py"

    rule euroeval:
        input:
            lambda wc: EUROEVAL_BATCH.format(batch=euroeval_batch(wc.subject)),
        output:
            EUROEVAL,
        log:
            LOGS["euroeval"],
        localrule: True
        script:
            "scripts/euroeval_subject.py"

else:

    rule euroeval:
        input:
            unpack(lambda wc: euroeval_inputs(config, wc.subject)),
        output:
            EUROEVAL,
        log:
            LOGS["euroeval"],
        cache: CACHE
        threads: config["evaluation"]["euroeval"]["threads"]
        resources:
            **job_resources("euroeval"),
        params:
            spec=lambda wc: euroeval_spec(config, wc.subject).params(),
        script:
            "scripts/euroeval.py"
