from workflow_scripts.runtime.step import run_step
from workflow_scripts.stages.cards import card_step

if __name__ == "__main__":
    run_step(snakemake, card_step)  # noqa: F821 (injected by Snakemake)
