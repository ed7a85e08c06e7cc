# searchkit: `make run` serves the demo, `make test` runs the suite. Both set up .venv first.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
INDEX ?= index
HOST ?= 127.0.0.1
PORT ?= 5000
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: run test seed install clean

$(BIN)/searchkit: setup.cfg pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

install: $(BIN)/searchkit

# Import the bundled demo corpus when the index has no articles yet.
seed: install
	@if $(BIN)/searchkit --index $(INDEX) stats --format json >/dev/null 2>&1 && \
	    [ "$$($(BIN)/searchkit --index $(INDEX) stats --format json | $(BIN)/python -c 'import json,sys; print(json.load(sys.stdin)["articles"])')" != 0 ]; then \
	    echo "index $(INDEX) already has articles: not importing seeds/"; \
	else \
	    $(BIN)/searchkit --index $(INDEX) import seeds/; \
	fi

run: seed
	@echo "searchkit is serving on http://$(HOST):$(PORT)/ (Ctrl-C to stop)"
	$(BIN)/searchkit --index $(INDEX) serve --host $(HOST) --port $(PORT)

test: install
	$(BIN)/python -m pytest -q

# Relevance on ../shared/data/cranfield: searchkit vs bm25s, in one run (bench-only extra `relevance`).
.PHONY: bench-relevance
bench-relevance: install
	$(BIN)/pip install --quiet -e '.[test,relevance]'
	$(BIN)/python bench/relevance/run.py

clean:
	rm -rf $(VENV) build *.egg-info
