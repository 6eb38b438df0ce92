# Fab Commons — one entry point for everything. Each target installs what it needs.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOME_DIR ?= $(CURDIR)/.fabnode-home

.PHONY: install run node test lint typecheck pytest vectors bench fuzz wheel clean vendor-three i18n

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	@# libp2p pulls in trio-typing, whose trio-stubs describe an old trio and would
	@# shadow the types trio ships itself (py.typed); mypy must see trio's own.
	rm -rf $(VENV)/lib/python*/site-packages/trio-stubs
	touch $(STAMP)

# The js-libp2p peer for the interop test, pinned by its package-lock.
INTEROP := tests/interop/node_modules/.package-lock.json
$(INTEROP): tests/interop/package-lock.json
	cd tests/interop && npm ci --no-audit --no-fund --loglevel=error

# Hypercore, the reference bench.network's catch-up is compared with in the same run
# (bench/hypercore_catchup.py), pinned by its package-lock.
HYPERCORE := bench/hypercore/node_modules/.package-lock.json
$(HYPERCORE): bench/hypercore/package-lock.json
	cd bench/hypercore && npm ci --no-audit --no-fund --loglevel=error

install: $(STAMP) $(INTEROP)

## make run: a seeded three-lab federation on loopback; prints the dashboard URL (Ctrl-C stops)
## (make run ARGS="--home DIR" keeps the three homes in DIR)
run: $(STAMP)
	$(BIN)/fabnode demo $(ARGS)

## make node: one node on loopback in HOME_DIR (creates its identity on first run)
node: $(STAMP)
	@test -f $(HOME_DIR)/identity.json || $(BIN)/fabnode --home $(HOME_DIR) init
	$(BIN)/fabnode --home $(HOME_DIR) run

## make wheel: the package to install on a lab's machine, dist/fabcommons-VERSION-py3-none-any.whl
## (README "Install on a lab's machine"); build/ is removed first so no stale module slips in
wheel: $(STAMP)
	rm -rf build dist
	$(BIN)/pip wheel --no-deps --quiet -w dist .
	@ls dist/*.whl

## make vendor-three: copy the three.js pinned in tools/three/package-lock.json into
## node/api/web/vendor/three (the design page's 3D viewer; committed, shipped in the wheel)
vendor-three:
	bash tools/three/vendor.sh

## make i18n: the message catalogs (README "Languages"): extract every _(), gettext(),
## ngettext() and N_() of node/ (babel.cfg) into node/i18n/fabnode.pot, update each
## node/i18n/locale/LANG/LC_MESSAGES/fabnode.po, compile the .mo files the node reads
## (committed and shipped in the wheel), then the page's JSON catalogs
## (tools/i18n/extract_web.py); `make i18n ADD=pt` starts the .po of a new language
I18N := node/i18n
i18n: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg --no-location --sort-output \
		--project "Fab Commons" --version "" --copyright-holder "Fab Commons contributors" \
		--msgid-bugs-address "" -o $(I18N)/fabnode.pot.new node
	@# a new template only when a message changed, not its creation date alone
	@if diff -q -I '^"POT-Creation-Date' $(I18N)/fabnode.pot $(I18N)/fabnode.pot.new >/dev/null 2>&1; \
		then rm $(I18N)/fabnode.pot.new; else mv $(I18N)/fabnode.pot.new $(I18N)/fabnode.pot; fi
	@if [ -n "$(ADD)" ]; then \
		$(BIN)/pybabel init -i $(I18N)/fabnode.pot -d $(I18N)/locale -D fabnode -l $(ADD); fi
	$(BIN)/pybabel update -i $(I18N)/fabnode.pot -d $(I18N)/locale -D fabnode \
		--ignore-obsolete --ignore-pot-creation-date
	$(BIN)/pybabel compile --statistics -d $(I18N)/locale -D fabnode
	@if [ -f tools/i18n/extract_web.py ]; then \
		$(BIN)/python -c 'import sys; sys.path.insert(0, "tools/i18n"); import extract_web; extract_web.main()'; fi

## make test: every check — lint, format, types, tests
test: lint typecheck pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP) $(INTEROP) $(HYPERCORE)
	$(BIN)/pytest -q --durations=30

## make vectors: regenerate specs/vectors deterministically
vectors: $(STAMP)
	$(BIN)/python specs/generate_vectors.py

## make fuzz: every fuzz target under atheris, FUZZ_SECONDS each (specs/0012 §3);
## crashing inputs land in .fuzz-artifacts/
FUZZ_SECONDS ?= 120
fuzz: $(STAMP)
	$(BIN)/python -m tests.fuzz.run all --seconds $(FUZZ_SECONDS)

## make sim SEED=1 NODES=100: one seeded simulation of a federation (specs/0013)
SEED ?= 1
NODES ?= 100
.PHONY: sim sim-scale
sim: $(STAMP)
	$(BIN)/python -m bench.sim --seed $(SEED) --nodes $(NODES)

## make sim-scale: the same scenario at 100, 1,000 and 5,000 nodes, as a table
## (SIM_ARGS="--identities 10000 --sizes 1000 --compare": every node also holds 10,000
## logs from the start, each size run with the full head exchange and reconciled)
SIM_ARGS ?=
sim-scale: $(STAMP)
	$(BIN)/python -m bench.sim --scale --seed $(SEED) $(SIM_ARGS)

## make bench: every benchmark, one table at the end (bench/table.py)
bench: $(STAMP) $(HYPERCORE)
	$(BIN)/python -m bench.table

## make bench-nat: labs behind NAT in network namespaces (bench/nat.py; root, iproute2,
## nftables, else it says why and skips): time to first sync, relayed against direct
## throughput, DCUtR's hole punches (make bench-nat ARGS=--quick: a shorter run)
.PHONY: bench-nat
bench-nat: $(STAMP)
	$(BIN)/python -m bench.nat $(ARGS)

clean:
	rm -rf $(VENV) build dist *.egg-info .mypy_cache .pytest_cache .ruff_cache .hypothesis .fuzz-artifacts
