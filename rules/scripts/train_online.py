from workflow_scripts.runtime.step import run_step
from workflow_scripts.stages.training.online_dpo import train_online_step

if __name__ == "__main__":
    run_step(snakemake, train_online_step, loads_models=True)  # noqa: F821 (injected by Snakemake)
