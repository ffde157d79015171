# The two commands of the README.
.PHONY: setup demo test lint

setup:
	bash envs/setup-cpu.sh

demo: setup
	.venv/bin/snakemake --cores 2
	.venv/bin/snakemake --report results/report.html

# Style first (seconds), then the tests.
lint: setup
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/snakefmt --check .

test: lint
	.venv/bin/python -m pytest -q tests
