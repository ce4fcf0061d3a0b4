# inboxlink — two commands on a fresh Debian machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)

.PHONY: run test lint unit system-deps postgres bench soak fuzz clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@rm -f $(VENV)/.installed-* && touch $@

## Run the service on http://127.0.0.1:8025 with the embedded default (SQLite in ./.inboxlink).
run: $(STAMP)
	$(BIN)/inboxlink db upgrade
	$(BIN)/inboxlink serve --no-migrate

## Install what the tests need (Debian packages, PostgreSQL), lint, type-check, run every test.
test: $(STAMP) system-deps postgres lint
	$(BIN)/pytest -p no:cacheprovider -q -rfE

lint: $(STAMP)
	$(BIN)/ruff check src tests bench scripts
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/pytest -q tests/unit

system-deps:
	@bash scripts/install-system-deps.sh

postgres:
	@bash scripts/ensure-postgres.sh

bench: $(STAMP) system-deps postgres
	$(BIN)/python -m bench.run

## Long fault runs (figures printed): kill -9 50 times in a row and the load test for 60 s,
## then the whole fault suite three times over. INBOXLINK_KILLS / INBOXLINK_LOAD_SECONDS tune it.
soak: $(STAMP) system-deps postgres
	INBOXLINK_KILLS=$${INBOXLINK_KILLS:-50} INBOXLINK_LOAD_SECONDS=$${INBOXLINK_LOAD_SECONDS:-60} \
	  $(BIN)/pytest -p no:cacheprovider -q -s tests/reliability/test_kill_loop.py tests/reliability/test_load.py
	for run in $$(seq 3); do $(BIN)/pytest -p no:cacheprovider -q -s tests/reliability tests/integration/test_crash_recovery.py || exit 1; done

## The parsing layer fuzzed 1,000,000 times (atheris, coverage-guided), then the JSON API
## with many examples per operation. Figures are printed as [figures] lines.
FUZZ_RUNS ?= 1000000
fuzz: $(STAMP)
	$(BIN)/python -m tests.security.fuzz_parsers $(FUZZ_RUNS)
	INBOXLINK_FUZZ_EXAMPLES=500 $(BIN)/pytest -p no:cacheprovider -q -s tests/security/test_api_fuzz.py

clean:
	rm -rf $(VENV) .inboxlink .mypy_cache .ruff_cache test-output
