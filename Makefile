# webvoice build and test entry points.  CI runs `make test` (.ci/run).
#
#   make setup     install dependencies (tools/install_deps.sh), assemble
#                  build/web (tools/build_assets.py) and build the JupyterLite
#                  site build/lite (tools/build_lite.py; skipped when nothing
#                  it reads changed)
#   make assets    rebuild the webvoice wheel and build/web only
#   make lite      build/web, then the JupyterLite site (LITE_ARGS="--force")
#   make test      setup, then all test tiers (tools/run_tests.sh); any test
#                  that cannot run (no Kamailio, Chromium, Firefox, assets...)
#                  fails the run; WEBVOICE_ALLOW_SKIP=1 asks for a partial run
#   make test-lint | test-cpython | test-pyodide | test-e2e | test-firefox
#                  one tier, after setup (lint: ruff and mypy, see pyproject.toml)
#   make bench     setup, then webvoice against JsSIP side by side (python -m bench.run;
#                  BENCH_ARGS="--quick" or "--only parse"), results in
#                  build/bench/results.json
#   make clean     remove build/ (downloads cache included)
#   make demo      setup, then serve the demo softphone with its own SIP server
#                  (python -m demo.serve; e.g. DEMO_ARGS="--port 8080")

PYTHON := .venv/bin/python

.PHONY: setup deps assets lite test test-lint test-cpython test-pyodide test-e2e test-firefox bench clean

setup: deps
	$(PYTHON) tools/build_assets.py
	$(PYTHON) tools/build_lite.py

deps:
	bash tools/install_deps.sh

assets:
	$(PYTHON) tools/build_assets.py

lite: assets
	$(PYTHON) tools/build_lite.py $(LITE_ARGS)

test: setup
	bash tools/run_tests.sh

test-lint test-cpython test-pyodide test-e2e test-firefox: setup
	bash tools/run_tests.sh $(@:test-%=%)

bench: setup
	$(PYTHON) -m bench.run $(BENCH_ARGS)

clean:
	rm -rf build

.PHONY: demo
demo: setup
	$(PYTHON) -m demo.serve $(DEMO_ARGS)
