from workflow_scripts.merge import merge_step
from workflow_scripts.step import run_step

if __name__ == "__main__":
    run_step(snakemake, merge_step)  # noqa: F821 (injected by Snakemake)
