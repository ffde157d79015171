from workflow_scripts.language_id import language_id_step
from workflow_scripts.step import run_step

if __name__ == "__main__":
    run_step(snakemake, language_id_step)  # noqa: F821 (injected by Snakemake)
