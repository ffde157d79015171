# CroCo: cross-lingual contrastive preference tuning on self-generations, as a Snakemake workflow.
#
#   snakemake --cores 2                         the embedded default (config.yaml), CPU, minutes
#   snakemake --configfile presets/paper.yaml   the paper's setup (replaces config.yaml, not merged)
#   snakemake -n                                dry run: what would run, and why
#
# Every artifact is a file target under results/; see workflow_scripts/plan.py for the layout.
#   snakemake --report results/report.html      one self-contained HTML report of the results
import os
import sys
from pathlib import Path

WORKFLOW_DIR = Path(workflow.basedir).resolve()
sys.path.insert(0, str(WORKFLOW_DIR))
# Step scripts import workflow_scripts; they run in their own interpreter (locally or in a SLURM job).
os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(WORKFLOW_DIR), os.environ.get("PYTHONPATH")) if p)

# A --configfile replaces the embedded default instead of being merged into it.
if not workflow.config_settings.configfiles:

    configfile: "config.yaml"


include: "rules/common.smk"
include: "rules/models.smk"
include: "rules/prompts.smk"
include: "rules/generate.smk"
include: "rules/score.smk"
include: "rules/datasets.smk"
include: "rules/train.smk"
include: "rules/evaluate.smk"
include: "rules/arena.smk"
include: "rules/report.smk"


rule all:
    default_target: True
    input:
        all_targets(config),
