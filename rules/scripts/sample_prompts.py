from workflow_scripts.runtime.step import run_step
from workflow_scripts.stages.prompts.sample import sample_prompts_step

if __name__ == "__main__":
    run_step(snakemake, sample_prompts_step)  # noqa: F821 (injected by Snakemake)
