# customerlens: `make demo` and `make test` set everything up on a fresh machine.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: setup demo test test-fast check bench bench-scale bench-api bench-spark clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,spark]'
	@rm -f $(VENV)/.installed-*
	@touch $(STAMP)

setup: $(STAMP)

demo: setup
	$(BIN)/customerlens demo --out demo

test: setup
	$(BIN)/python -m pytest

test-fast: setup
	$(BIN)/python -m pytest -m "not slow"

check: setup
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy

bench: setup
	$(BIN)/python benchmarks/bench_ingest.py
	cd benchmarks && ../$(BIN)/python bench_resolve.py
	cd benchmarks && ../$(BIN)/python bench_hybrid.py
	cd benchmarks && ../$(BIN)/python bench_value.py
	cd benchmarks && ../$(BIN)/python bench_run.py --people 100000

bench-scale: setup
	cd benchmarks && ../$(BIN)/python bench_resolve_scale.py --people 1000000
	cd benchmarks && ../$(BIN)/python bench_run.py --people 1000000 --no-pandas

bench-api: setup
	$(BIN)/python benchmarks/bench_api.py --people 1000000

bench-spark: setup
	CUSTOMERLENS_SPARK_DRIVER_MEMORY=$${CUSTOMERLENS_SPARK_DRIVER_MEMORY:-8g} \
		$(BIN)/python benchmarks/bench_spark.py --people 1000000

clean:
	rm -rf demo .pytest_cache .mypy_cache .ruff_cache
