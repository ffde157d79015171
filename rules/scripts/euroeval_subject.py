from workflow_scripts.euroeval_run import write_subject_result

if __name__ == "__main__":
    write_subject_result(snakemake.input[0], snakemake.wildcards.subject, snakemake.output[0])  # noqa: F821 (injected)
