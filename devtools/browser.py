"""Debian Chromium driven by Playwright (sync API), for the e2e tests.

Sync, not async: tests read top to bottom, and Playwright's sync API needs no
event loop of ours (pytest-asyncio is installed for pytest-pyodide and stays
out of the way of plain sync tests).

    with sync_playwright() as pw:
        browser = launch_chromium(pw)
        page = browser.new_page()
        console = ConsoleLog(page)          # everything the page logs
        result = boot_webvoice(page, server)
        result.timings                       # ms per stage, see BootResult

`playwright install` cannot download browsers here, so we always launch the
Debian package's binary through ``executable_path``.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field

from playwright.sync_api import Browser, ConsoleMessage, Page, Playwright

from .chromium import CHROMIUM, CHROMIUM_ARGS, FAKE_MEDIA_ARGS
from .crash_report import last_words, machine_state
from .web import StaticServer

BOOT_PAGE = "/test-pages/boot.html"


def launch_chromium(pw: Playwright, *, fake_media: bool = True,
                    extra_args: list[str] = ()) -> Browser:
    args = CHROMIUM_ARGS + (FAKE_MEDIA_ARGS if fake_media else []) + list(extra_args)
    return pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=args)


class ConsoleLog:
    """Collects a page's console messages, uncaught errors and failed requests,
    and, if its renderer process dies, what the machine says about it
    (``devtools/crash_report.py``).

    ``str(log)`` is what a failing test prints (tests/e2e/conftest.py attaches
    it to the test report).
    """

    def __init__(self, page: Page):
        self.lines: list[str] = []
        self.crashed = False
        page.on("console", self._on_console)
        page.on("pageerror", lambda err: self.lines.append(f"[pageerror] {err}"))
        page.on("requestfailed", lambda req: self.lines.append(
            f"[requestfailed] {req.method} {req.url}: {req.failure}"))
        page.on("crash", self._on_crash)

    def _on_console(self, msg: ConsoleMessage) -> None:
        self.lines.append(f"[{msg.type}] {msg.text}")

    def _on_crash(self, page: Page) -> None:
        self.crashed = True
        self.lines.append(f"[crash] the renderer process of {page.url} died; {machine_state()}")

    def __str__(self) -> str:
        if self.crashed:
            return "\n".join(self.lines + ["[crash] " + line for line in last_words()])
        return "\n".join(self.lines)


@dataclass
class BootResult:
    version: str  # webvoice.__version__ as seen inside Pyodide
    wheel: str  # the wheel file installed
    # Milliseconds per stage: page_load_ms (navigate until the boot script
    # ran), load_pyodide_ms, load_micropip_ms, install_webvoice_ms,
    # import_webvoice_ms (these four measured in the page), total_ms (all of
    # it, as seen from the test).
    timings: dict[str, float] = field(default_factory=dict)


def boot_webvoice(page: Page, server: StaticServer, *, timeout_s: float = 120,
                  path: str = BOOT_PAGE) -> BootResult:
    """Open the boot page, boot Pyodide, install webvoice (its installer, or
    micropip with ``path=BOOT_PAGE + "?install=micropip"``), import it.

    Returns once ``import webvoice`` has worked; ``window.pyodide`` is then
    the page's Pyodide for further ``page.evaluate`` calls.
    """
    t0 = time.monotonic()
    page.goto(server.url(path))
    page.wait_for_function("window.bootReady === true", timeout=timeout_s * 1000)
    page_load_ms = (time.monotonic() - t0) * 1000
    # page.evaluate() has no timeout of its own: start the boot, then wait for
    # its outcome with a bounded wait_for_function.
    page.evaluate("""() => { window.bootOutcome = undefined;
        window.bootWebvoice().then(
            (r) => { window.bootOutcome = JSON.stringify({ok: r}); },
            (e) => { window.bootOutcome = JSON.stringify({error: String(e.stack || e)}); });
    }""")
    remaining_ms = max(1.0, timeout_s * 1000 - page_load_ms)
    handle = page.wait_for_function("window.bootOutcome", timeout=remaining_ms)
    outcome = json.loads(handle.json_value())
    if "error" in outcome:
        raise RuntimeError(f"webvoice boot failed in the page:\n{outcome['error']}")
    r = outcome["ok"]
    timings = {"page_load_ms": page_load_ms, **r["timings"],
               "total_ms": (time.monotonic() - t0) * 1000}
    return BootResult(version=r["version"], wheel=r["wheel"], timings=timings)
