from workflow_scripts.arena import win_rate_step
from workflow_scripts.step import run_step

if __name__ == "__main__":
    run_step(snakemake, win_rate_step)  # noqa: F821 (injected by Snakemake)
