# The two commands of the README.
.PHONY: setup demo test

setup:
	bash envs/setup-cpu.sh

demo: setup
	.venv/bin/snakemake --cores 2

test: setup
	.venv/bin/python -m pytest -q tests
