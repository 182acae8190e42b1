"""Run Python inside a page's Pyodide from a test, and get its result back.

``py(page, code)`` runs ``code`` with ``runPythonAsync`` (top-level ``await``
allowed) in the page's one Pyodide, so globals persist between calls like
cells of a notebook. The last expression's value comes back through JSON.
A Python exception in the page becomes a ``PagePythonError`` here, with the
page's traceback in its message.
"""

from __future__ import annotations

import json
import textwrap

from playwright.sync_api import Page


class PagePythonError(AssertionError):
    pass


_RUN = """async ([code, timeoutMs]) => {
    const run = window.pyodide.runPythonAsync(code).then(
        (value) => { const v = (value && value.toJs) ? value.toJs({dict_converter: Object.fromEntries}) : value;
                     if (value && value.destroy) value.destroy();
                     // A Python callable (say, an unsubscribe function) is not data: null.
                     return JSON.stringify({ok: v === undefined || typeof v === "function" ? null : v}); },
        (error) => JSON.stringify({error: String(error.message || error)}));
    const timeout = new Promise((resolve) => setTimeout(
        () => resolve(JSON.stringify({error: `timed out after ${timeoutMs} ms`})), timeoutMs));
    return await Promise.race([run, timeout]);
}"""


def py(page: Page, code: str, *, timeout: float = 30.0):
    """Run ``code`` in the page; return its last expression (JSON-able) or raise."""
    outcome = json.loads(page.evaluate(_RUN, [textwrap.dedent(code), int(timeout * 1000)]))
    if "error" in outcome:
        raise PagePythonError(f"Python in the page failed:\n{outcome['error']}")
    return outcome["ok"]
