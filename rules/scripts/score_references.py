from workflow_scripts.reward import score_references_step
from workflow_scripts.step import run_step

if __name__ == "__main__":
    run_step(snakemake, score_references_step, loads_models=True)  # noqa: F821 (injected by Snakemake)
