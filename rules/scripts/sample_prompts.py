from workflow_scripts.sample_prompts import sample_prompts_step
from workflow_scripts.step import run_step

if __name__ == "__main__":
    run_step(snakemake, sample_prompts_step)  # noqa: F821 (injected by Snakemake)
