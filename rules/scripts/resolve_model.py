from workflow_scripts.materialize import resolve_step
from workflow_scripts.step import run_step

if __name__ == "__main__":
    run_step(snakemake, resolve_step)  # noqa: F821 (injected by Snakemake)
