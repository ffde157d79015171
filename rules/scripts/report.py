from workflow_scripts.report import report_step
from workflow_scripts.step import run_step

if __name__ == "__main__":
    run_step(snakemake, report_step)  # noqa: F821 (injected by Snakemake)
