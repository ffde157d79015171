"""The CroCo workflow's code, by when it runs:

- `planning/`: while Snakemake plans (the Snakefile and rules/*.smk import it): artifact paths, the plan of
  targets, the config checks, and the spec and inputs of every job. Jobs never import it.
- `runtime/`: what every job runs on: the step glue, the preloaded interpreter jobs fork from, atomic writes,
  table checks, chunked and sharded work, engines, code fingerprints.
- `stages/`: what the jobs compute, one package or module per stage, each with the spec class of its steps.
- `names.py`, `languages.py`, `errors.py`: the vocabulary both sides share.
"""
