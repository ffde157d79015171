from workflow_scripts.generate import generate_step
from workflow_scripts.step import run_step

if __name__ == "__main__":
    run_step(snakemake, generate_step, loads_models=True)  # noqa: F821 (injected by Snakemake)
