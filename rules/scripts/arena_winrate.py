from workflow_scripts.runtime.step import run_step
from workflow_scripts.stages.arena.win_rates import win_rate_step

if __name__ == "__main__":
    run_step(snakemake, win_rate_step)  # noqa: F821 (injected by Snakemake)
