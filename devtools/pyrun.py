"""Run Python inside a page's Pyodide from a test, and get its result back.

``py(page, code)`` runs ``code`` with ``runPythonAsync`` (top-level ``await``
allowed) in the page's one Pyodide, so globals persist between calls like
cells of a notebook. The last expression's value comes back through JSON.
A Python exception in the page becomes a ``PagePythonError`` here, with the
page's traceback in its message.
"""

from __future__ import annotations

import itertools
import json
import os
import textwrap

from playwright.sync_api import Page
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from .watchdog import waiting_for


class PagePythonError(AssertionError):
    pass


# The run is started by the first poll of a bounded ``wait_for_function`` and
# its outcome is what the predicate returns once settled: page.evaluate() has
# no timeout of its own, and an in-page setTimeout cannot fire when the page's
# main thread is stuck, so the bound that always holds is Playwright's (kept
# by the driver, outside the page), a little longer than the in-page one.
_POLL = """([code, timeoutMs, id]) => {
    const runs = (window.__pyRuns ??= {});
    if (!(id in runs)) {
        runs[id] = null;
        let timer;  // cleared once settled: a page's pending timers stay its own (tests/e2e/test_soak.py)
        const settle = (text) => { if (runs[id] === null) { runs[id] = text; clearTimeout(timer); } };
        window.pyodide.runPythonAsync(code).then(
            (value) => { const v = (value && value.toJs) ? value.toJs({dict_converter: Object.fromEntries}) : value;
                         if (value && value.destroy) value.destroy();
                         // A Python callable (say, an unsubscribe function) is not data: null.
                         settle(JSON.stringify({ok: v === undefined || typeof v === "function" ? null : v})); },
            (error) => settle(JSON.stringify({error: String(error.message || error)})));
        timer = setTimeout(() => settle(JSON.stringify({error: `timed out after ${timeoutMs} ms`})), timeoutMs);
    }
    const text = runs[id];
    if (text !== null) delete runs[id];
    return text;
}"""

_OUTER_MARGIN_S = 15.0
_ids = itertools.count()


def py(page: Page, code: str, *, timeout: float = 30.0):
    """Run ``code`` in the page; return its last expression (JSON-able) or raise.

    Bounded twice: in the page (``timeout``: the Python is abandoned with a
    "timed out" error) and from outside it (Playwright, ``timeout`` plus a
    margin: when the page's thread is stuck, a ``PagePythonError`` says what
    it was running).
    """
    code = textwrap.dedent(code)
    run_id = f"{os.getpid()}-{next(_ids)}"
    first_line = next((line for line in code.splitlines() if line.strip()), "")[:120]
    with waiting_for(f"Python in the page ({timeout:.0f} s): {first_line}"):
        try:
            handle = page.wait_for_function(_POLL, arg=[code, int(timeout * 1000), run_id],
                                            polling=20, timeout=(timeout + _OUTER_MARGIN_S) * 1000)
        except PlaywrightTimeoutError:
            raise PagePythonError(
                f"the page did not answer within {timeout + _OUTER_MARGIN_S:.0f} s (its main "
                f"thread is stuck, or it crashed) while running:\n{code}") from None
        outcome = json.loads(handle.json_value())
    if "error" in outcome:
        raise PagePythonError(f"Python in the page failed:\n{outcome['error']}")
    return outcome["ok"]
