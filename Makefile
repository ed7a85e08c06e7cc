# searchkit: `make run` serves the demo, `make test` runs the suite. Both set up .venv first.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
INDEX ?= index
HOST ?= 127.0.0.1
PORT ?= 5000
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: run test seed install clean docs bench-extract bench bench-quick chromium screenshots bench-web bench-load bench-archive

# Running needs only the runtime dependencies (install_requires); the test extra (pytest,
# playwright, hypothesis, tantivy: most of a 400 MB .venv) comes with `make test` / `make install`.
$(BIN)/searchkit: setup.cfg pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.test-extra: $(BIN)/searchkit
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

install: $(VENV)/.test-extra

# Import the bundled demo corpus when the index has no articles yet.
seed: $(BIN)/searchkit
	@if $(BIN)/searchkit --index $(INDEX) stats --format json >/dev/null 2>&1 && \
	    [ "$$($(BIN)/searchkit --index $(INDEX) stats --format json | $(BIN)/python -c 'import json,sys; print(json.load(sys.stdin)["articles"])')" != 0 ]; then \
	    echo "index $(INDEX) already has articles: not importing seeds/"; \
	else \
	    $(BIN)/searchkit --index $(INDEX) import seeds/; \
	fi

# `searchkit serve` says where it serves once the port is open (a busy port is one line, exit 1).
run: seed
	$(BIN)/searchkit --index $(INDEX) serve --host $(HOST) --port $(PORT)

test: install chromium
	$(BIN)/python -m pytest -q

# docs/cli.md from --help, and every console example's output in README.md and docs/ from a real
# run (tests/test_docs.py checks both; read the diff before committing it).
docs: install
	SEARCHKIT_DOCS_UPDATE=1 $(BIN)/python -m pytest -q tests/test_docs.py

# Relevance on ../shared/data/cranfield and ../shared/data/cacm: searchkit vs bm25s, in one run, depth 1000
# (bench-only extra `relevance`).
.PHONY: bench-relevance
bench-relevance: install
	$(BIN)/pip install --quiet -e '.[test,relevance]'
	$(BIN)/python bench/relevance/run.py

# The same, then each ranking change taken out in turn (the ablation table of docs/query-language.md).
.PHONY: bench-relevance-ablation
bench-relevance-ablation: install
	$(BIN)/pip install --quiet -e '.[test,relevance]'
	$(BIN)/python bench/relevance/run.py --ablate

# Article extraction quality on real pages (gold text rebuilt from bench/extract/gold_spec.json),
# searchkit against trafilatura alone in the same run; writes bench/results/extract.json.
# Then the rate: pages/s of the import's extraction pool on every core against trafilatura's
# extract() on one core, same pages, same run (bench/extract_rate.py, results/extract_rate.json).
bench-extract: install
	$(BIN)/python bench/extract/make_gold.py
	$(BIN)/python bench/extract/run.py --ablation
	$(BIN)/python bench/extract_rate.py

# Benchmarks against SQLite FTS5, tantivy and raw Whoosh (peers pinned in bench/requirements.txt,
# installed into bench/.venv so the test suite never needs them). See README "Performance".
BENCH_VENV := bench/.venv
BENCH_SIZES ?= sample,10000,30000,100000,1000000
# Indexes are built in BENCH_WORK and generated corpora cached in BENCH_WORK/corpora (by size and
# seed): point several checkouts at one directory (make bench BENCH_WORK=/work/bench-work) and
# each size is generated once (1M articles: a few minutes, 1.1 GB gzip + 2.4 GB of import parts).
BENCH_WORK ?= bench/work
# Extra flags for bench.run, e.g. BENCH_ARGS=--resume to finish a run that stopped part-way
# (the sizes already measured are kept; the table says which figures were reused).
BENCH_ARGS ?=

$(BENCH_VENV)/.ready: bench/requirements.txt setup.cfg pyproject.toml
	test -x $(BENCH_VENV)/bin/python || $(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/pip install --quiet -e . -r bench/requirements.txt
	touch $@

# The full run (10k..1M articles; 1M takes about an hour): bench/results/*.json, the table,
# the growth table and docs/bench-latency.png. The issue-9 load test runs too when present.
# The tables and chart are printed even when a measurement failed (bench.run records it and
# exits 1 at the end), and before the load test, which can take long on a slow server;
# BENCH_LOAD_ARGS=--requests 1000 bounds it. make still fails if anything failed.
BENCH_LOAD_ARGS ?=
bench: $(BENCH_VENV)/.ready
	@status=0; \
	$(BENCH_VENV)/bin/python -m bench.run --sizes $(BENCH_SIZES) --work $(BENCH_WORK) $(BENCH_ARGS) || status=1; \
	$(BENCH_VENV)/bin/python -m bench.report --chart docs/bench-latency.png || status=1; \
	if [ -f bench/load.py ]; then $(BENCH_VENV)/bin/python -m bench.load $(BENCH_LOAD_ARGS) || status=1; fi; \
	$(BENCH_VENV)/bin/python -m bench.archive --work $(BENCH_WORK) $(ARCHIVE_ARGS) || status=1; \
	exit $$status

# Archives imported whole (issue 16): a 1M-article JSON lines .gz and a >= 1 GB WARC.gz of real
# pages, each in one command, then again (>= 10x faster, nothing changed); peak RSS of the
# process tree <= 1 GiB. ARCHIVE_ARGS="--articles 100000 --warc-mb 200" for a smaller run.
ARCHIVE_ARGS ?=
bench-archive: install
	$(BIN)/python -m bench.archive --work $(BENCH_WORK) $(ARCHIVE_ARGS)

# Under 3 minutes: the real BBC sample and 10k generated articles, every engine.
bench-quick: $(BENCH_VENV)/.ready
	$(BENCH_VENV)/bin/python -m bench.run --sizes sample,10000 --single-docs 1000 --cold-runs 5 \
	    --web-queries 50 --whoosh-max 5000 --results bench/results/quick --work $(BENCH_WORK)

# Debian's chromium for the browser tests (Playwright cannot download a browser here).
chromium:
	@test -x /usr/bin/chromium || (apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium)

# The README screenshots of the demo corpus, desktop and phone, taken in a real browser.
screenshots: install chromium
	$(BIN)/python tests/screenshots.py

# Render time of the web pages on the demo corpus (a real server; prints ms per page).
bench-web: install
	$(BIN)/python bench/web_render.py

clean:
	rm -rf $(VENV) build *.egg-info

# Loopback load test (issues 9, 20): 8 clients for 60 s against `searchkit serve` on a
# 100,000-article index while `searchkit import` writes, 10 % of the requests expensive
# (wildcards, fuzzy, long OR); prints requests/s, p50, p99, errors and timeouts, cheap and
# expensive apart. Fails unless the cheap ones have 0 errors, 0 timeouts and p99 <= 1 s.
# LOAD_ARGS="--articles 10000" for a quicker look (the base index is built once and cached).
LOAD_ARGS ?= --articles 100000 --seconds 60 --expensive 0.1 --timeout 10
bench-load: install
	$(BIN)/python -m bench.load $(LOAD_ARGS)

# Issue 19: a sharded index (4 shards) on a Dask LocalCluster of 2 workers against one index,
# same run: import rate, query p50/p99, scatter-gather round trip. 1M articles takes ~1 hour on
# 2 shared cores: CLUSTER_SIZE=100000 first. Prints a table, writes bench/results/cluster-N.json.
CLUSTER_SIZE ?= 1000000
.PHONY: bench-cluster
bench-cluster: install
	$(BIN)/python -m bench.cluster --size $(CLUSTER_SIZE) --shards 4 --workers 2 --work $(BENCH_WORK)
