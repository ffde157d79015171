from workflow_scripts.runtime.step import run_step
from workflow_scripts.stages.pairs import dataset_step

if __name__ == "__main__":
    run_step(snakemake, dataset_step)  # noqa: F821 (injected by Snakemake)
