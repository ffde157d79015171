from workflow_scripts.prompts import prompt_set_step
from workflow_scripts.step import run_step

if __name__ == "__main__":
    run_step(snakemake, prompt_set_step)  # noqa: F821 (injected by Snakemake)
