from workflow_scripts.runtime.step import run_step
from workflow_scripts.stages.mapo import alignment_step

if __name__ == "__main__":
    run_step(snakemake, alignment_step, loads_models=True)  # noqa: F821 (injected by Snakemake)
