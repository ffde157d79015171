from workflow_scripts.runtime.step import run_step
from workflow_scripts.stages.prompts.token_lengths import token_lengths_step

if __name__ == "__main__":
    run_step(snakemake, token_lengths_step, loads_models=True)  # noqa: F821 (injected by Snakemake)
