"""Session-wide rule for every tier: a skip or an xfail fails the run.

See tests/support/partial_run.py: only ``WEBVOICE_ALLOW_SKIP=1`` lets a run
skip.  Counted here from the reports, so a skip from a marker, a fixture,
``importorskip`` or a collection-time skip are all caught, whoever wrote it.
"""

from __future__ import annotations

import pytest

from tests.support.partial_run import ALLOW_SKIP_VAR, skips_allowed

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
