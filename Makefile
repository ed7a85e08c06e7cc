# searchkit: `make run` serves the demo, `make test` runs the suite. Both set up .venv first.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
INDEX ?= index
HOST ?= 127.0.0.1
PORT ?= 5000
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: run test seed install clean chromium screenshots bench-web

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

test: install chromium
	$(BIN)/python -m pytest -q

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
