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

# Three workers, one module each at a time (tests/conftest.py), each with one core's worth of threads: most of a
# tiny DAG's time is single-threaded (imports, loading), so three share a 2-core machine better than two.
test: lint
	.venv/bin/python -m pytest -q -n 3 --durations=20 tests

# The unit tier alone (tests/unit: no Snakemake run, no model, no engine), for the edit-test loop.
test-fast: setup
	.venv/bin/python -m pytest -q -n 2 tests/unit
