from workflow_scripts.runtime.step import run_step
from workflow_scripts.stages.models import resolve_step

if __name__ == "__main__":
    run_step(snakemake, resolve_step)  # noqa: F821 (injected by Snakemake)
