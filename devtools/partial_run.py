"""A full test run may not skip: what is missing fails, unless a person asks for less.

A skipped test proves nothing, and a suite that turns green because Kamailio,
Chromium or the Pyodide assets are absent hides exactly the faults it exists
to find.  So a test that cannot run its real parts calls :func:`skip_or_fail`,
which fails with the reason, and ``tests/conftest.py`` turns any skip or
xfail left in a run into a failed session.

``WEBVOICE_ALLOW_SKIP=1`` is the one way to ask for a partial run (a laptop
without Kamailio, a quick look at one tier); then skips stay skips and the
summary still lists them (``-ra``).
"""

from __future__ import annotations

import os

import pytest

ALLOW_SKIP_VAR = "WEBVOICE_ALLOW_SKIP"


def skips_allowed() -> bool:
    """True when the person running the tests asked for a partial run."""
    return os.environ.get(ALLOW_SKIP_VAR) == "1"


def skip_or_fail(reason: str) -> None:
    """Fail with ``reason`` (a full run), or skip when a partial run was asked for."""
    if skips_allowed():
        pytest.skip(reason)
    pytest.fail(f"{reason}\n(cannot run; set {ALLOW_SKIP_VAR}=1 to allow a partial run "
                "that skips this)", pytrace=False)
