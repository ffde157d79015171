from workflow_scripts.runtime.step import run_step
from workflow_scripts.stages.euroeval.run import euroeval_batch_step

if __name__ == "__main__":
    run_step(snakemake, euroeval_batch_step, loads_models=True)  # noqa: F821 (injected by Snakemake)
