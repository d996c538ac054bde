# recon: `make demo` installs everything and runs the main job on the bundled sample;
# `make test` runs the test suite. `make help` lists every target.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SPARK_STAMP := $(VENV)/.installed-spark
DEMO_HOME ?= .demo
# The sample covers 2026-09..10; pinning the clock keeps the demo valid in any year.
DEMO_NOW ?= 2026-11-21T12:00:00Z

export TZ := UTC
export PYTHONDONTWRITEBYTECODE := 1

.DEFAULT_GOAL := help
.PHONY: help install install-spark demo test test-thorough check format lock sample golden notebook bench bench-http bench-lake bench-spark bench-history clean

help: ## Show this help
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[36m%-10s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

install: $(STAMP) ## Create .venv and install recon with its pinned dependencies

$(STAMP): requirements.lock pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
		|| { echo "recon needs Python 3.11 or newer (found: $$($(PYTHON) --version))"; exit 2; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --require-hashes -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	@touch $@

install-spark: $(SPARK_STAMP) ## Add the Spark engine (pyspark, pinned) to .venv; it needs Java 17+

$(SPARK_STAMP): $(STAMP) requirements-spark.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --require-hashes -r requirements-spark.lock
	@touch $@

demo: install ## Install, then run October 2026 on the bundled sample: ingest, reports, reconcile
	rm -rf $(DEMO_HOME)
	@echo "== the monthly batch: ingest data/sample, build every report type for 2026-10,"
	@echo "== reconcile each against the vendor's files in data/vendor (exit 1 = discrepancies found)"
	RECON_NOW=$(DEMO_NOW) $(BIN)/recon --home $(DEMO_HOME) run --month 2026-10 --logs data/sample \
		--vendor-dir data/vendor --prices data/prices.csv --tolerance 0.000001; test $$? -le 1
	@echo "== point-in-time reports as of the end of October"
	@for type in CUSTOMER USER; do \
		RECON_NOW=$(DEMO_NOW) $(BIN)/recon --home $(DEMO_HOME) report create --type $$type \
			--category POINT_IN_TIME --as-of 2026-11-01T00:00:00Z --json > /dev/null || exit $$?; \
	done
	RECON_NOW=$(DEMO_NOW) $(BIN)/recon --home $(DEMO_HOME) report list
	@echo "== tie-out: every level sums to the same quantity per package"
	RECON_NOW=$(DEMO_NOW) $(BIN)/recon --home $(DEMO_HOME) sql \
		"PIVOT (SELECT service_name, type, quantity FROM report_lines WHERE category = 'RECONCILIATION') \
		 ON type IN ('PARTNER', 'CUSTOMER', 'LOCATION', 'USER') USING sum(quantity) ORDER BY service_name"
	@echo "== why do we say 30.116076 for this add-on in October when the vendor says 3.702616?"
	RECON_NOW=$(DEMO_NOW) $(BIN)/recon --home $(DEMO_HOME) explain --customer org-customer-000118 \
		--user user-00002409 --package ATTENDANT_CONSOLE --start 2026-10-01 --end 2026-10-31
	@echo "== report CSVs: $(DEMO_HOME)/reports/   discrepancies: $(DEMO_HOME)/reconciliations/"
	@echo "== query the store: $(BIN)/recon --home $(DEMO_HOME) sql \"SELECT * FROM discrepancies LIMIT 10\""

test: install install-spark ## Run the test suite (unit, property, golden, CLI, Spark in local mode)
	$(BIN)/python -m pytest

test-thorough: install install-spark ## The suite with many more examples, 100 kills per crash test, bigger logs
	HYPOTHESIS_PROFILE=thorough RECON_KILLS=100 RECON_MEMORY_ROWS=200000 $(BIN)/python -m pytest

check: install ## Lint, format check and type check
	$(BIN)/ruff check recon tests benchmarks notebooks
	$(BIN)/ruff format --check recon tests benchmarks notebooks
	$(BIN)/mypy

format: install ## Apply ruff's fixes and formatting
	$(BIN)/ruff check --fix recon tests benchmarks notebooks
	$(BIN)/ruff format recon tests benchmarks notebooks

lock: install ## Re-pin requirements.lock from pyproject.toml (needs the package registry)
	$(BIN)/python -m pip install --quiet uv
	$(BIN)/uv pip compile pyproject.toml --extra dev --generate-hashes --python-version 3.11 \
		--no-header -o requirements.lock
	$(BIN)/uv pip compile pyproject.toml --extra dev --extra spark --generate-hashes \
		--python-version 3.11 --no-header -c requirements.lock -o requirements-spark.lock

sample: install ## Regenerate data/sample and its vendor reports in data/vendor (deterministic)
	rm -rf data/sample
	rm -rf data/vendor
	$(BIN)/recon generate data/sample --start 2026-09-01 --end 2026-10-31 --subjects 3000 --seed 7 \
		--vendor-month 2026-10 --vendor-dir data/vendor

bench: install ## The month at 100k, 1M, 10M subjects vs its floors and a naive script; then history and HTTP
	$(BIN)/python -m benchmarks.run $(if $(SCALES),--scales $(SCALES))
	$(MAKE) bench-history
	$(MAKE) bench-http

HTTP_SECONDS ?= 30
bench-http: install ## Load `recon serve` on loopback: 32 clients, HTTP_SECONDS (30) s; p50/p99, no 5xx
	$(BIN)/python -m benchmarks.http_load --seconds $(HTTP_SECONDS)

bench-lake: install ## Ingest ~120M events month by month, then run October over that lake
	$(BIN)/python -m benchmarks.lake

bench-spark: install install-spark ## Time --engine spark (local[1], local[2]) against embedded at 1M subjects
	$(BIN)/python -m benchmarks.spark

bench-history: install ## Month 24 vs month 2 of a 24-month lake (50k subjects): snapshots keep it flat
	$(BIN)/python -m benchmarks.history

golden: install ## Regenerate tests/e2e/golden/ on purpose (review the diff before committing)
	RECON_UPDATE_GOLDEN=1 $(BIN)/python -m pytest tests/e2e/test_golden.py

notebook: install ## Execute both notebooks on the sample: HTML in build/notebooks, charts in notebooks/images
	$(BIN)/python notebooks/execute.py --html-dir build/notebooks --figures-dir notebooks/images

clean: ## Remove the environment, caches and the demo home
	rm -rf $(VENV) $(DEMO_HOME) .pytest_cache .mypy_cache .ruff_cache .hypothesis build dist
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
