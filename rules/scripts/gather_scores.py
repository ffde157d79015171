from workflow_scripts.reward import gather_scores_step
from workflow_scripts.step import run_step

if __name__ == "__main__":
    run_step(snakemake, gather_scores_step)  # noqa: F821 (injected by Snakemake)
