# Two commands for a fresh machine: `make demo` and `make test`. Both create .venv and install first.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_DB ?= kasuhara.duckdb
# Bytecode is cached under .venv/cache, never in the checkout, even where the machine sets
# PYTHONDONTWRITEBYTECODE (as this project's machines do): without a cache every command compiles
# the package's sources again, ~0.2 s of each (the demo's 20 commands: 23.5 -> 21.5 s).
BYTECODE := PYTHONPYCACHEPREFIX=$(CURDIR)/$(VENV)/cache/pycache PYTHONDONTWRITEBYTECODE=

.PHONY: install browser java demo lint test bench clean notebook

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

demo: install
	$(BYTECODE) bash scripts/demo.sh $(DEMO_DB)

# JupyterLab on the analysts' notebook, reading the demo's database unless KASUHARA_DB names another.
notebook: install
	@$(BIN)/python -c "import jupyterlab" 2>/dev/null || $(BIN)/python -m pip install --quiet -e '.[notebook]'
	KASUHARA_DB="$${KASUHARA_DB:-$(CURDIR)/$(DEMO_DB)}" $(BIN)/jupyter lab notebooks/analyst.ipynb \
		$$([ "$$(id -u)" = 0 ] && echo --allow-root)

# The report test renders the page in headless Chromium with a Japanese font, both Debian packages.
browser:
	@if command -v chromium >/dev/null 2>&1 && fc-list :lang=ja 2>/dev/null | grep -q .; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-ipafont-gothic >/dev/null; \
	else echo "note: Chromium or a Japanese font is missing and cannot be installed here (not root): the browser test will say it skipped"; fi

# The Spark judge's tests start Spark, which needs Java 17 or later: Debian's default-jre-headless.
java:
	@if command -v java >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq default-jre-headless >/dev/null; \
	else echo "note: Java is missing and cannot be installed here (not root): the Spark tests will say they skipped"; fi

# Lint, format and types first (seconds), then every test.
lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# Tests write nothing into the checkout: bytecode and tool caches go to .venv/cache. The test files
# run in parallel, one process per core.
test: install browser java lint
	$(BYTECODE) HYPOTHESIS_STORAGE_DIRECTORY=$(CURDIR)/$(VENV)/cache/hypothesis \
		$(BIN)/python -m pytest -q -n auto --dist loadfile

# All benchmarks (about 80 minutes on 2 cores, most of it the 10M-record year): ingest and judge
# stages alone, the scale benchmark (bench/results.md), the floor of its ratio targets (after the
# ingest bench, whose CDR file it reads), then the Spark judge beside DuckDB's.
# `make -C bench scale-1m` takes 5 minutes.
bench: install java
	$(BIN)/python bench/ingest_bench.py
	$(BIN)/python bench/judge_bench.py
	$(BIN)/python bench/scale_bench.py --sizes 1000000,10000000 --repeat 3
	$(BIN)/python bench/floor_bench.py --sizes 1000000,10000000 --repeat 3
	$(BIN)/python bench/spark_bench.py --sizes 1000000,10000000x1 --repeat 3

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache .hypothesis
