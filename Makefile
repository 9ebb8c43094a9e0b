# Infusion Desk: `make run` serves the demo clinic, `make test` runs lint, mypy, bandit and every test.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt | cksum | cut -d' ' -f1)
FLASK  := $(BIN)/flask --app wsgi
PORT   ?= 5000
DEMO_NOW_DB := $(CURDIR)/instance/demo-now.db

.PHONY: run demo-now test lint typecheck audit-deps bench bench-quick bench-chain install clean

install: $(STAMP)

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	rm -f $(VENV)/.installed-*
	touch $@

run: $(STAMP)
	$(FLASK) db upgrade
	$(FLASK) seed-demo
	PORT=$(PORT) $(BIN)/python -m clinic.serve

# A fresh demo in its own database, open around the clock with patients in care right now.
demo-now: $(STAMP)
	mkdir -p instance && rm -f $(DEMO_NOW_DB)
	DATABASE_URL=sqlite:///$(DEMO_NOW_DB) $(FLASK) db upgrade
	DATABASE_URL=sqlite:///$(DEMO_NOW_DB) $(FLASK) seed-demo --now
	DATABASE_URL=sqlite:///$(DEMO_NOW_DB) PORT=$(PORT) $(BIN)/python -m clinic.serve

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# mypy --strict on clinic/domain and clinic/services (pyproject.toml, [tool.mypy]).
typecheck: $(STAMP)
	$(BIN)/mypy

# Known vulnerabilities in the dependencies: pip-audit online, else the shipped list (it says
# which on a line of its own).
audit-deps: $(STAMP)
	$(BIN)/python security/audit_deps.py

test: lint typecheck audit-deps
	$(BIN)/bandit -q -r clinic -ll
	$(BIN)/python -m pytest; status=$$?; \
	if [ $$status -eq 5 ]; then echo "pytest collected no tests: that is a failure here"; exit 1; fi; \
	exit $$status

# Benchmarks (bench/run_all.py; docs/benchmarks.md): `make bench-quick` measures the three
# ratios of issue 15 in under 5 minutes, `make bench` everything. BENCH_WRITE=docs/benchmarks.md
# puts the figures in the docs; BENCH_PORT_BASE=N makes the servers listen on N, N+1, ...
BENCH_ARGS = $(if $(QUICK),--quick) $(if $(BENCH_WRITE),--write $(BENCH_WRITE))

bench: $(STAMP)
	$(BIN)/python bench/run_all.py $(BENCH_ARGS)

bench-quick: $(STAMP)
	$(BIN)/python bench/run_all.py --quick $(if $(BENCH_WRITE),--write $(BENCH_WRITE))

bench-chain: $(STAMP)
	$(BIN)/python bench/chain.py $(if $(BENCH_WRITE),--write $(BENCH_WRITE))

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache .hypothesis
