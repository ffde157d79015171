# The two commands of the README.
.PHONY: setup demo test

setup:
	bash envs/setup-cpu.sh

demo: setup
	.venv/bin/snakemake --cores 2
	.venv/bin/snakemake --report results/report.html

test: setup
	.venv/bin/python -m pytest -q tests
