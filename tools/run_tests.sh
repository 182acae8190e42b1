#!/usr/bin/env bash
# Run the test tiers, each in its own process:
#   cpython  everything under tests/ but the browser tiers (tests/sip, ...)
#   pyodide  tests/pyodide: run_in_pyodide tests, pytest-pyodide + chromedriver
#   e2e      tests/e2e: pages in Chromium driven by Playwright
#   firefox  tests/firefox: webvoice in Firefox ESR (and Chromium) driven by
#            puppeteer-core, under node's test runner (not pytest)
# Usage: tools/run_tests.sh [TIER...]   (default: all four, in that order)
# Extra pytest arguments: PYTEST_ARGS="-k boot -x" tools/run_tests.sh e2e
# (for the firefox tier they go to node: PYTEST_ARGS="--test-name-pattern=DTMF")
#
# Separate processes because pytest-pyodide's plugin (options, collection
# hooks) is only wanted for its tier; the others disable it.  Every tier runs
# even if an earlier one failed; the exit status is non-zero if any failed.
# Expects `make setup` (tools/install_deps.sh + tools/build_assets.py) done.
set -uo pipefail
cd "$(dirname "$0")/.."

logs=build/test-logs
mkdir -p "$logs"
no_pyodide_plugin=(-p no:pytest_pyodide -p no:pytest_pyodide_hook)
read -r -a extra <<<"${PYTEST_ARGS:-}"

tier_args() {
  runner=(.venv/bin/python -m pytest)
  case $1 in
    cpython) args=(tests --ignore=tests/pyodide --ignore=tests/e2e "${no_pyodide_plugin[@]}") ;;
    pyodide) args=(tests/pyodide --runner selenium --rt chrome --dist-dir build/web/pyodide) ;;
    e2e) args=(tests/e2e "${no_pyodide_plugin[@]}") ;;
    firefox) runner=(node)
      args=(--test --test-reporter=spec --test-concurrency=1 --test-timeout=600000 tests/firefox/) ;;
    *) echo "unknown tier: $1 (cpython, pyodide, e2e, firefox)" >&2; return 1 ;;
  esac
}

tiers=("$@")
((${#tiers[@]})) || tiers=(cpython pyodide e2e firefox)
failed=()
for tier in "${tiers[@]}"; do
  tier_args "$tier" || exit 2
  echo "=== tier $tier: ${runner[*]} ${args[*]} ${extra[*]}"
  "${runner[@]}" "${args[@]}" "${extra[@]}" 2>&1 | tee "$logs/$tier.log"
  rc=${PIPESTATUS[0]}
  # Exit 5 is "no tests collected": fine for the CPython tier while tests/sip
  # is still empty, a failure for the browser tiers (they must prove the
  # tooling).
  if [ "$rc" -ne 0 ] && ! { [ "$tier" = cpython ] && [ "$rc" -eq 5 ]; }; then
    failed+=("$tier")
  fi
  echo "$tier $rc" >"$logs/$tier.rc"
done

echo
echo "=== summary (logs in $logs/)"
for tier in "${tiers[@]}"; do
  echo "[$tier] exit $(cut -d' ' -f2 "$logs/$tier.rc")"
  grep -E ' in [0-9.]+s( \([0-9:]+\))?( =+)?$' "$logs/$tier.log" | tail -n 1
  # node's test runner: its "ℹ pass N" / "ℹ fail N" as one plain line
  awk '/^ℹ pass [0-9]+$/ {p = $3} /^ℹ fail [0-9]+$/ {f = $3}
       END {if (p != "") printf "%s: %d passed, %d failed\n", tier, p, f}' tier="$tier" "$logs/$tier.log"
done
if ((${#failed[@]})); then
  echo "FAILED tiers: ${failed[*]}"
  exit 1
fi
