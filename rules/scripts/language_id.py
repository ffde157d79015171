from workflow_scripts.runtime.step import run_step
from workflow_scripts.stages.language_id import language_id_step

if __name__ == "__main__":
    run_step(snakemake, language_id_step)  # noqa: F821 (injected by Snakemake)
