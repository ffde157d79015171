from workflow_scripts.runtime.step import run_step
from workflow_scripts.stages.prompts.prompt_set import prompt_set_step

if __name__ == "__main__":
    run_step(snakemake, prompt_set_step)  # noqa: F821 (injected by Snakemake)
