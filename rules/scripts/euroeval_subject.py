from workflow_scripts.euroeval_run import euroeval_subject_step
from workflow_scripts.step import run_step

if __name__ == "__main__":
    run_step(snakemake, euroeval_subject_step)  # noqa: F821 (injected by Snakemake)
