# Tanso: `make demo` runs the demo market, `make test` the fast tier of the tests (what CI runs),
# `make test-all` every test on both databases (before a release); docs/testing.md says which is which.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# The public page's chart library (npm, see package.json) and, for its browser test, Debian's
# Chromium with a Japanese font; both installed once, then left alone.
NPM_STAMP := node_modules/.package-lock.json
CHROMIUM := /usr/bin/chromium
# The gateway/engine tests start NATS servers of their own (Debian's nats-server).
NATS_SERVER := /usr/sbin/nats-server
# Every PDF embeds IPAex Gothic (Debian's fonts-ipaexfont-gothic, docs/certificates-and-claims.md);
# the tests read PDFs back with poppler's pdffonts and pdftotext (Debian's poppler-utils).
PDF_FONT := /usr/share/fonts/opentype/ipaexfont-gothic/ipaexg.ttf
PDFFONTS := /usr/bin/pdffonts
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: cluster-demo demo test test-all lint bench soak fuzz install clean web-assets engine-compiled engine-pure \
	test-engine-compiled

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "needs $(PYTHON)"; exit 1; }
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)
	$(BIN)/pybabel compile --statistics -d src/tanso/web/locale

web-assets: $(NPM_STAMP) $(CHROMIUM) $(NATS_SERVER)

$(NPM_STAMP): package.json package-lock.json
	@if command -v npm >/dev/null; then \
		npm ci --no-audit --no-fund --no-progress --loglevel=error >/dev/null && touch $(NPM_STAMP); \
	else echo "npm not found: the public page will show no charts"; fi

$(CHROMIUM):
	$(SUDO) apt-get update -qq
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-ipafont-gothic >/dev/null

$(NATS_SERVER):
	$(SUDO) apt-get update -qq
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nats-server >/dev/null

$(PDF_FONT):
	$(SUDO) apt-get update -qq
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-ipaexfont-gothic >/dev/null

$(PDFFONTS):
	$(SUDO) apt-get update -qq
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq poppler-utils >/dev/null

demo: $(STAMP) $(NPM_STAMP) $(PDF_FONT)
	$(BIN)/tanso init --demo --reset
	$(BIN)/tanso serve --simulate

# The demo market on gateways and engines (PostgreSQL and NATS: docs/deployment.md).
cluster-demo: $(STAMP) $(NPM_STAMP) $(NATS_SERVER) $(PDF_FONT)
	$(BIN)/python -m tanso.harness.cluster_demo

PYTEST := $(BIN)/pytest -n 2 --dist worksteal
# No run of 10 or more lines repeated in the product's code (migrations are history, left out).
DUPLICATES := $(BIN)/pylint --disable=all --enable=duplicate-code --min-similarity-lines=10 \
	--ignore=migrations --ignore-imports=yes --ignore-signatures=yes --score=no src/tanso

test: $(STAMP) web-assets $(PDF_FONT) $(PDFFONTS)
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy
	$(DUPLICATES)
	$(PYTEST) -m "not full"

test-all: $(STAMP) web-assets $(PDF_FONT) $(PDFFONTS)
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy
	$(DUPLICATES)
	TANSO_HYPOTHESIS_PROFILE=full $(PYTEST)

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy
	$(DUPLICATES)

# bench/orders.py drives its load with wrk (a C load generator: the client costs little CPU)
WRK := /usr/bin/wrk

$(WRK):
	$(SUDO) apt-get update -qq
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null

bench: $(STAMP) $(WRK)
	$(BIN)/pip install --quiet -e '.[bench]'
	for b in engine registry removals stats cycle sequencer orders settlement market_data load; do $(BIN)/python bench/$$b.py || exit 1; done

# the full reliability runs of docs/reliability.md (CI runs their short forms in `make test`)
soak: $(STAMP)
	$(BIN)/python bench/soak.py --backend both --kills 50

fuzz: $(STAMP)
	$(BIN)/python bench/fuzz.py --requests 10000

clean:
	rm -rf $(VENV) tanso.db tanso.db-wal tanso.db-shm src/tanso/domain/*.so src/*__mypyc*.so src/build

# The matching engine compiled with mypyc (docs/performance.md): C extensions built beside the
# .py files of book, exchange and itayose, which Python then imports instead. The pure-Python
# modules stay the default and what `make test` tests; `make engine-pure` removes the build
# (rebuild after changing those files: bench/engine.py warns of a stale build).
ENGINE_MODULES := tanso/domain/book.py tanso/domain/exchange.py tanso/domain/itayose.py

engine-compiled: $(STAMP)
	cd src && ../$(BIN)/mypyc $(ENGINE_MODULES) >/dev/null && rm -rf build
	@echo "compiled: src/tanso/domain/{book,exchange,itayose}.*.so (make engine-pure removes them)"

engine-pure:
	rm -rf src/tanso/domain/*.so src/*__mypyc*.so src/build

# the engine's tests against the compiled build, which is then removed again
test-engine-compiled: engine-compiled
	$(BIN)/python -c "import tanso.domain.exchange as e; assert e.__file__.endswith('.so'), e.__file__"
	$(BIN)/pytest -n 0 -p no:cacheprovider tests/unit/test_exchange.py tests/unit/test_replay.py \
		tests/unit/test_itayose.py tests/integration/test_exchange_service.py; \
		status=$$?; $(MAKE) --no-print-directory engine-pure; exit $$status
