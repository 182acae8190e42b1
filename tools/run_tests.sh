#!/usr/bin/env bash
# Run the test tiers, each in its own process:
#   lint     ruff (a small rule set) and mypy (strict on the core and the public API), as
#            configured in pyproject.toml; seconds, so it runs first
#   cpython  everything under tests/ but the browser tiers (tests/sip, ...)
#   pyodide  tests/pyodide: run_in_pyodide tests, pytest-pyodide + chromedriver
#   e2e      tests/e2e: pages in Chromium driven by Playwright
#   firefox  tests/firefox: webvoice in Firefox ESR (and Chromium) driven by
#            puppeteer-core, under node's test runner (not pytest)
# Usage: tools/run_tests.sh [TIER...]   (default: every tier, in that order)
# Extra pytest arguments: PYTEST_ARGS="-k boot -x" tools/run_tests.sh e2e
# (for the firefox tier they go to node: PYTEST_ARGS="--test-name-pattern=DTMF")
#
# A full run proves everything or fails: a tier fails when pytest fails, when
# it collects no test (exit 5), or when any test skips or xfails (Kamailio,
# its websocket module, Chromium, chromedriver or the Pyodide assets missing;
# tests/conftest.py turns skips into a failed session and says what was
# missing).  WEBVOICE_ALLOW_SKIP=1 asks for a partial run in which tests that
# cannot run here skip instead; the summary then says the run was partial.
#
# Separate processes because pytest-pyodide's plugin (options, collection
# hooks) is only wanted for its tier; the others disable it.  Every tier runs
# even if an earlier one failed; the exit status is non-zero if any failed.
# Expects `make setup` (tools/install_deps.sh + tools/build_assets.py) done.
#
# Adding a tier: a line in tier_args (its pytest arguments) and its name in
# all_tiers.
set -uo pipefail
cd "$(dirname "$0")/.."

logs=build/test-logs
mkdir -p "$logs"
no_pyodide_plugin=(-p no:pytest_pyodide -p no:pytest_pyodide_hook)
read -r -a extra <<<"${PYTEST_ARGS:-}"
all_tiers=(lint cpython pyodide e2e firefox)

tier_args() {
  runner=(.venv/bin/python -m pytest)
  tier_extra=("${extra[@]}")
  case $1 in
    lint) runner=(bash -c '.venv/bin/ruff check webvoice tests tools bench demo devtools && .venv/bin/mypy' lint)
      args=(); tier_extra=() ;;
    cpython) args=(tests --ignore=tests/pyodide --ignore=tests/e2e --durations=15 "${no_pyodide_plugin[@]}") ;;
    pyodide) args=(tests/pyodide --runner selenium --rt chrome --dist-dir build/web/pyodide) ;;
    e2e) args=(tests/e2e --durations=15 "${no_pyodide_plugin[@]}") ;;
    firefox) runner=(node)
      # node takes its options before the test paths: the extra ones go there.
      args=(--test --test-reporter=spec --test-concurrency=1 --test-timeout=600000 "${extra[@]}" tests/firefox/)
      tier_extra=() ;;
    *) echo "unknown tier: $1 (${all_tiers[*]})" >&2; return 1 ;;
  esac
}

tiers=("$@")
((${#tiers[@]})) || tiers=("${all_tiers[@]}")
failed=()
for tier in "${tiers[@]}"; do
  tier_args "$tier" || exit 2
  echo "=== tier $tier: ${runner[*]} ${args[*]} ${tier_extra[*]}"
  "${runner[@]}" "${args[@]}" "${tier_extra[@]}" 2>&1 | tee "$logs/$tier.log"
  rc=${PIPESTATUS[0]}
  # Any non-zero exit fails the tier, 5 ("no tests collected") included: a
  # tier that ran nothing proved nothing.
  if [ "$rc" -ne 0 ]; then
    failed+=("$tier")
  fi
  echo "$tier $rc" >"$logs/$tier.rc"
done

echo
echo "=== summary (logs in $logs/)"
for tier in "${tiers[@]}"; do
  rc=$(cut -d' ' -f2 "$logs/$tier.rc")
  note=""
  [ "$rc" -eq 5 ] && note=" (no tests collected)"
  echo "[$tier] exit $rc$note"
  grep -E ' in [0-9.]+s( \([0-9:]+\))?( =+)?$' "$logs/$tier.log" | tail -n 1
  # node's test runner: its "ℹ pass N" / "ℹ fail N" / "ℹ cancelled N" as one
  # plain line (a test cancelled by a failed hook or parent counts against it)
  awk '/^ℹ pass [0-9]+$/ {p = $3} /^ℹ fail [0-9]+$/ {f = $3} /^ℹ cancelled [0-9]+$/ {c = $3}
       END {if (p != "") printf "%s: %d passed, %d failed, %d cancelled\n", tier, p, f, c}' tier="$tier" "$logs/$tier.log"
  grep -E '^(ERROR: |E?UsageError)' "$logs/$tier.log" | head -n 3
  # What failed, and why, where a reader of the summary alone sees it (CI may
  # keep only the tail of the output): pytest's short summary lines, and for
  # node each failing test with its error's first line.
  grep -E '^FAILED ' "$logs/$tier.log" | head -n 8 | cut -c1-400
  awk '/^✖ failing tests:$/ {on = 1; next}
       on && /^✖ / {print; why = 1; n++; next}
       on && why && NF {sub(/^ +/, ""); print "    " substr($0, 1, 400); why = 0}
       n >= 8 {exit}' "$logs/$tier.log"
done
if [ "${WEBVOICE_ALLOW_SKIP:-}" = 1 ]; then
  echo "PARTIAL run (WEBVOICE_ALLOW_SKIP=1): skipped tests proved nothing"
fi
if ((${#failed[@]})); then
  echo "FAILED tiers: ${failed[*]}"
  exit 1
fi
