"""Runs while Snakemake plans (the Snakefile and rules/*.smk import it): where artifacts live (layout), what to
build (plan), the config checks beyond the schema (config_checks), what identifies a model (models), and each
job's spec and inputs (specs/). Jobs never import this package: what it decides reaches a step through the job's
paths and its spec (runtime/fingerprint.py refuses a step that imports it)."""
