"""A page whose renderer dies says so in the test's report, with why.

Renderer crashes ("Target crashed") have been seen only on machines nobody
could look at afterwards; the report of such a test must carry what the
machine and Chromium said at that moment (devtools/crash_report.py).
"""

from __future__ import annotations

import time

from devtools.browser import ConsoleLog


def test_a_crashed_page_reports_the_crash_and_chromium_s_last_words(browser):
    context = browser.new_context()
    try:
        page = context.new_page()
        console = ConsoleLog(page)
        with page.expect_event("crash", timeout=10_000):
            try:
                page.goto("chrome://crash", timeout=10_000)
            except Exception as exc:  # noqa: BLE001 -- Playwright's error for a dead page
                assert "crash" in str(exc).lower() or "aborted" in str(exc).lower(), exc
        assert console.crashed
        assert "MemAvailable" in console.lines[-1] and "load average" in console.lines[-1]
        # Chromium's stderr (build/test-logs/chromium.log) names the cause; it
        # reaches the file shortly after the crash event.
        deadline = time.monotonic() + 10
        while "Intentionally crashing" not in str(console):
            assert time.monotonic() < deadline, str(console)
            time.sleep(0.1)
    finally:
        context.close()
