from workflow_scripts.runtime.step import run_step
from workflow_scripts.stages.arena.judge import judge_step

if __name__ == "__main__":
    run_step(snakemake, judge_step, loads_models=True)  # noqa: F821 (injected by Snakemake)
