from workflow_scripts.runtime.step import run_step
from workflow_scripts.stages.report.step import report_step

if __name__ == "__main__":
    run_step(snakemake, report_step)  # noqa: F821 (injected by Snakemake)
