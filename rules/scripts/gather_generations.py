from workflow_scripts.generate import gather_generations_step
from workflow_scripts.step import run_step

if __name__ == "__main__":
    run_step(snakemake, gather_generations_step)  # noqa: F821 (injected by Snakemake)
