from workflow_scripts.runtime.step import run_step
from workflow_scripts.stages.euroeval.run import euroeval_subject_step

if __name__ == "__main__":
    run_step(snakemake, euroeval_subject_step)  # noqa: F821 (injected by Snakemake)
