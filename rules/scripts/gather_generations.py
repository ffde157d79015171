from workflow_scripts.runtime.step import run_step
from workflow_scripts.stages.generation import gather_generations_step

if __name__ == "__main__":
    run_step(snakemake, gather_generations_step)  # noqa: F821 (injected by Snakemake)
