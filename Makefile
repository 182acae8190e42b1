# webvoice build and test entry points.  CI runs `make test` (.ci/run).
#
#   make setup     install dependencies (tools/install_deps.sh) and assemble
#                  build/web (tools/build_assets.py)
#   make assets    rebuild the webvoice wheel and build/web only
#   make test      setup, then all test tiers (tools/run_tests.sh)
#   make test-cpython | test-pyodide | test-e2e    one tier, after setup
#   make clean     remove build/ (downloads cache included)

PYTHON := .venv/bin/python

.PHONY: setup deps assets test test-cpython test-pyodide test-e2e clean

setup: deps
	$(PYTHON) tools/build_assets.py

deps:
	bash tools/install_deps.sh

assets:
	$(PYTHON) tools/build_assets.py

test: setup
	bash tools/run_tests.sh

test-cpython test-pyodide test-e2e: setup
	bash tools/run_tests.sh $(@:test-%=%)

clean:
	rm -rf build
