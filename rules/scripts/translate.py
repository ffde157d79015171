from workflow_scripts.runtime.step import run_step
from workflow_scripts.stages.prompts.translate import translate_step

if __name__ == "__main__":
    run_step(snakemake, translate_step, loads_models=True)  # noqa: F821 (injected by Snakemake)
