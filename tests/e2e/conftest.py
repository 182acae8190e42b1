"""Fixtures for the e2e tier: real pages in Debian Chromium via Playwright.

Run with ``make test`` (or ``.venv/bin/pytest tests/e2e -p no:pytest_pyodide
-p no:pytest_pyodide_hook`` after ``make assets``).  The static server and the
browser are per session (Chromium starts once); each test gets a fresh
browser context and page, whose console log is attached to the report of a
failing test under "browser console".
"""

from __future__ import annotations

import os

import pytest
from playwright.sync_api import sync_playwright

from devtools.browser import ConsoleLog, launch_chromium
from devtools.chromium import CHROMIUM
from devtools.crash_report import chromium_log_env
from devtools.partial_run import skip_or_fail
from devtools.web import BUILD_WEB, StaticServer


@pytest.fixture(scope="session")
def static_server():
    if not (BUILD_WEB / "wheels" / "index.json").exists():
        pytest.fail(f"{BUILD_WEB} is not assembled: run `make assets` first")
    with StaticServer() as server:
        yield server


@pytest.fixture(scope="session")
def browser():
    if not os.access(CHROMIUM, os.X_OK):
        skip_or_fail(f"Chromium not found at {CHROMIUM} (WEBVOICE_CHROMIUM; "
                     "apt-get install -y chromium)")
    # Chromium's stderr goes to build/test-logs/chromium.log, for the report
    # of a page whose renderer dies (devtools/crash_report.py).
    os.environ.update(chromium_log_env())
    with sync_playwright() as pw:
        browser = launch_chromium(pw)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, request):
    context = browser.new_context()
    page = context.new_page()
    request.node.browser_console = ConsoleLog(page)
    yield page
    context.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    console = getattr(item, "browser_console", None)
    if report.failed and console is not None and console.lines:
        report.sections.append(("browser console", str(console)))
