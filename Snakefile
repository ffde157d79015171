# CroCo: cross-lingual contrastive preference tuning on self-generations, as a Snakemake workflow.
#
#   snakemake --cores 2                         the embedded default (config.yaml), CPU, minutes
#   snakemake --configfile presets/paper.yaml   the paper's setup (replaces config.yaml, not merged)
#   snakemake -n                                dry run: what would run, and why
#   snakemake --report results/report.html      one self-contained HTML report of the results
#
# Every artifact is a file target under results/ (workflow_scripts/planning/layout.py). The step code is the
# `workflow_scripts` package, installed into the environment (envs/setup-cpu.sh, pip install -e .).
from snakemake.utils import min_version

from workflow_scripts.runtime import forkserver
from workflow_scripts.planning.cluster import warn_on_unset_slurm_settings
from workflow_scripts.planning.plan import all_targets

min_version("9.0")


# A --configfile replaces the embedded default instead of being merged into it.
if not workflow.config_settings.configfiles:

    configfile: "config.yaml"


include: "rules/common.smk"
include: "rules/models.smk"
include: "rules/prompts.smk"
include: "rules/generate.smk"
include: "rules/score.smk"
include: "rules/language_id.smk"
include: "rules/baselines.smk"
include: "rules/datasets.smk"
include: "rules/train.smk"
include: "rules/cards.smk"
include: "rules/evaluate.smk"
include: "rules/arena.smk"
include: "rules/report.smk"


rule all:
    default_target: True
    input:
        all_targets(config),


onstart:
    warn_on_unset_slurm_settings(workflow)
    forkserver.enable(workflow, config)


onsuccess:
    forkserver.disable()


onerror:
    forkserver.disable()
