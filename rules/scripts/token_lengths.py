from workflow_scripts.step import run_step
from workflow_scripts.token_lengths import token_lengths_step

if __name__ == "__main__":
    run_step(snakemake, token_lengths_step, loads_models=True)  # noqa: F821 (injected by Snakemake)
