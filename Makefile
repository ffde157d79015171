# The two commands of the README.
.PHONY: setup demo test test-fast lint

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

# Two workers, one module (or group) each at a time (tests/conftest.py): a 2-core machine runs the tiny DAGs side by side.
test: lint
	.venv/bin/python -m pytest -q -n 2 --durations=20 tests

# The unit tier alone (tests/unit: no Snakemake run, no model, no engine), for the edit-test loop.
test-fast: setup
	.venv/bin/python -m pytest -q -n 2 tests/unit
