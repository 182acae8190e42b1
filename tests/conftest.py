"""Session-wide rules for every tier: a skip or an xfail fails the run; no test runs unbounded.

See devtools/partial_run.py: only ``WEBVOICE_ALLOW_SKIP=1`` lets a run
skip.  Counted here from the reports, so a skip from a marker, a fixture,
``importorskip`` or a collection-time skip are all caught, whoever wrote it.
"""

from __future__ import annotations

import os

import pytest

from devtools.partial_run import ALLOW_SKIP_VAR, skips_allowed
from devtools.watchdog import Watchdog

_unearned: list[str] = []


def _note(report) -> None:
    if getattr(report, "wasxfail", None) is not None:
        _unearned.append(f"xfail {report.nodeid}")
    elif report.skipped:
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        _unearned.append(f"skip  {report.nodeid}: {reason}")


def pytest_runtest_logreport(report):
    if report.skipped or getattr(report, "wasxfail", None) is not None:
        _note(report)


def pytest_collectreport(report):
    if report.skipped:
        _note(report)


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session, exitstatus):
    if not _unearned or skips_allowed():
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.ensure_newline()
        reporter.write_sep("=", f"{len(_unearned)} test(s) did not run: a full run may not skip",
                           red=True)
        for line in _unearned:
            reporter.write_line(line)
        reporter.write_line(f"(set {ALLOW_SKIP_VAR}=1 for a partial run that allows skips)")
    if session.exitstatus == 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


# --- an outer bound on every test (devtools/watchdog.py) ----------------------

_TEST_BOUND_S = float(os.environ.get("WEBVOICE_TEST_BOUND_S", "900"))
_watchdog: Watchdog | None = None


def _kamailio_tails(item) -> str:
    parts = []
    for name, value in (getattr(item, "funcargs", None) or {}).items():
        if hasattr(value, "log_tail") and callable(value.log_tail):
            parts.append(f"--- Kamailio log tail ({name}):\n{value.log_tail(40)}")
    console = getattr(item, "browser_console", None)
    if console is not None and getattr(console, "lines", None):
        parts.append("--- browser console tail:\n" + "\n".join(map(str, console.lines[-30:])))
    return "\n".join(parts)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    """Each test (setup, call, teardown) gets WEBVOICE_TEST_BOUND_S seconds (900 by
    default), enforced from outside the page and the test's own thread."""
    global _watchdog
    if _watchdog is None:
        holder: dict = {}
        capture = item.config.pluginmanager.getplugin("capturemanager")
        _watchdog = Watchdog(extra=lambda: _kamailio_tails(holder["item"]),
                             before=lambda: capture and capture.suspend_global_capture(in_=True))
        _watchdog.holder = holder  # type: ignore[attr-defined]
    _watchdog.holder["item"] = item  # type: ignore[attr-defined]
    _watchdog.step(f"test {item.nodeid}", _TEST_BOUND_S)
    try:
        yield
    finally:
        _watchdog.idle()
