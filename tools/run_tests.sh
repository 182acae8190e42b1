#!/usr/bin/env bash
# Run the test tiers, each in its own pytest process:
#   cpython  everything under tests/ but the browser tiers (tests/sip, ...)
#   pyodide  tests/pyodide: run_in_pyodide tests, pytest-pyodide + chromedriver
#   e2e      tests/e2e: pages in Chromium driven by Playwright
# Usage: tools/run_tests.sh [TIER...]   (default: all three, in that order)
# Extra pytest arguments: PYTEST_ARGS="-k boot -x" tools/run_tests.sh e2e
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
  case $1 in
    cpython) args=(tests --ignore=tests/pyodide --ignore=tests/e2e "${no_pyodide_plugin[@]}") ;;
    pyodide) args=(tests/pyodide --runner selenium --rt chrome --dist-dir build/web/pyodide) ;;
    e2e) args=(tests/e2e "${no_pyodide_plugin[@]}") ;;
    *) echo "unknown tier: $1 (cpython, pyodide, e2e)" >&2; return 1 ;;
  esac
}

tiers=("$@")
((${#tiers[@]})) || tiers=(cpython pyodide e2e)
failed=()
for tier in "${tiers[@]}"; do
  tier_args "$tier" || exit 2
  echo "=== tier $tier: pytest ${args[*]} ${extra[*]}"
  .venv/bin/python -m pytest "${args[@]}" "${extra[@]}" 2>&1 | tee "$logs/$tier.log"
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
done
if ((${#failed[@]})); then
  echo "FAILED tiers: ${failed[*]}"
  exit 1
fi
