from workflow_scripts.runtime.step import run_step
from workflow_scripts.stages.scoring import gather_scores_step

if __name__ == "__main__":
    run_step(snakemake, gather_scores_step)  # noqa: F821 (injected by Snakemake)
