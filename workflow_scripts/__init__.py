"""CroCo workflow logic: importable, unit-testable modules behind the Snakemake rules."""
