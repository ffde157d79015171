from workflow_scripts.runtime.step import run_step
from workflow_scripts.stages.training.train import train_step

if __name__ == "__main__":
    run_step(snakemake, train_step, loads_models=True)  # noqa: F821 (injected by Snakemake)
