"""pytest-pyodide tier: test functions that run *inside* Pyodide in Chromium.

Run it as its own pytest process (``make test`` does):

    .venv/bin/pytest tests/pyodide --runner selenium --rt chrome \
        --dist-dir build/web/pyodide

--dist-dir is build/web/pyodide as assembled by tools/build_assets.py: its
pyodide-lock.json lists webvoice (so ``@run_in_pyodide(packages=["webvoice"])``
works) and the pytest/tblib wheels pytest-pyodide loads into Pyodide with
every test, all served from this machine.

How Chromium is configured here, since pytest-pyodide has no command-line
option for it:

* Flags: pytest-pyodide's SeleniumChromeRunner adds --headless and
  --no-sandbox, then whatever ``get_global_config().get_flags("chrome")``
  returns (default ``--js-flags=--expose-gc``).  We append our flags to that
  list at import of this conftest, before any browser starts.
* Binary: SeleniumChromeRunner builds ``Chrome(options=...)`` with no driver
  path, which makes selenium run Selenium Manager, which goes to the network
  (and fails, slowly, here).  SE_CHROMEDRIVER, which selenium's chromium
  Service reads, names Debian's chromedriver, so Selenium Manager is skipped;
  Debian's chromedriver finds /usr/bin/chromium itself.
* --runner playwright is not usable: pytest-pyodide launches Playwright's own
  downloaded browser (no executable_path), which cannot be installed here.

Run with other options (a bare ``pytest`` defaults to --rt node), or without
the assets (no pyodide-lock.json listing webvoice), the tests of this
directory fail with a pointer to the right command; they skip only in a
partial run asked for with ``WEBVOICE_ALLOW_SKIP=1``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from pytest_pyodide import get_global_config
from pytest_pyodide.runner import SeleniumChromeRunner

from devtools.chromium import CHROMEDRIVER, CHROMIUM_ARGS, FAKE_MEDIA_ARGS
from devtools.partial_run import skips_allowed

HERE = Path(__file__).resolve().parent
BUILD_WEB = HERE.parents[1] / "build" / "web"

os.environ.setdefault("SE_CHROMEDRIVER", CHROMEDRIVER)
os.environ.setdefault("SE_OFFLINE", "true")  # should Selenium Manager run anyway
os.environ.setdefault("SE_AVOID_STATS", "true")

# pytest-pyodide gives each script (loading Pyodide included) 20 s, which a
# shared 2-core machine under load overruns while nothing is wrong. The bound
# stays (chromedriver enforces it, outside the page), only longer.
SeleniumChromeRunner.script_timeout = 120

_config = get_global_config()
_flags = _config.get_flags("chrome")
_config.set_flags("chrome", _flags + [f for f in CHROMIUM_ARGS + FAKE_MEDIA_ARGS
                                      if f not in _flags])


def _why_not_runnable(config) -> str | None:
    runtime = getattr(config.option, "runtime", None)
    dist_dir = getattr(config.option, "dist_dir", None)
    if runtime != "chrome":
        return (f"the Pyodide tier needs --runner selenium --rt chrome (got --rt {runtime}); "
                "`bash tools/run_tests.sh pyodide` passes them")
    lock = Path(dist_dir or "/nonexistent") / "pyodide-lock.json"
    if not lock.exists():
        return f"{lock} is missing: run `make assets` (tools/build_assets.py)"
    if '"webvoice"' not in lock.read_text():
        return f"{lock} does not list webvoice: run `make assets` (tools/build_assets.py)"
    if not Path(CHROMEDRIVER).exists():
        return f"chromedriver not found at {CHROMEDRIVER} (WEBVOICE_CHROMEDRIVER)"
    return None


def pytest_collection_modifyitems(config, items):
    reason = _why_not_runnable(config)
    if reason is None:
        return
    ours = [item for item in items if HERE in Path(item.path).parents]
    if not ours:
        return
    if not skips_allowed():
        raise pytest.UsageError(
            f"{reason}\n(the Pyodide tier cannot run; set WEBVOICE_ALLOW_SKIP=1 "
            "for a partial run that skips it)")
    for item in ours:
        item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(scope="session")
def webvoice_wheel() -> dict:
    """build/web/wheels/index.json: name, version, wheel file, sha256."""
    return json.loads((BUILD_WEB / "wheels" / "index.json").read_text())
