from workflow_scripts.pairs import dataset_step
from workflow_scripts.step import run_step

if __name__ == "__main__":
    run_step(snakemake, dataset_step)  # noqa: F821 (injected by Snakemake)
