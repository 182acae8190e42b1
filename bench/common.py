"""What every benchmark module shares: one Chromium, one static server, one
Kamailio, and helpers to open the two stacks' pages and call into them.

Every figure is measured in the same run, the same browser and against the
same Kamailio for webvoice and JsSIP, so the ratios compare like with like.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench.jssip_bundle import OUT_DIR as BUILD_BENCH
from devtools.browser import ConsoleLog, boot_webvoice, launch_chromium
from devtools.pyrun import py
from devtools.watchdog import Watchdog, waiting_for
from devtools.web import DEFAULT_MOUNTS, StaticServer

REPO = Path(__file__).resolve().parents[1]

PAGES = REPO / "bench" / "pages"
MOUNTS = {**DEFAULT_MOUNTS, "/bench/": PAGES, "/bench-build/": BUILD_BENCH}
WEBVOICE_PAGE = "/bench/webvoice.html"
JSSIP_PAGE = "/bench/jssip.html"
JSSIP_BUNDLE_URL = "/bench-build/jssip.js"

# On top of the test flags (headless, fake microphone): exact heap figures for
# performance.memory, and no throttling of pages that are not in front (the
# bench keeps several pages open at once; they must all run at full speed).
BENCH_ARGS = [
    "--enable-precise-memory-info",
    "--disable-background-timer-throttling",
    "--disable-renderer-backgrounding",
    "--disable-backgrounding-occluded-windows",
]

# Accounts of the Kamailio configuration, split between the phases so that no
# binding of one phase is around in another.
#: A Chromium trace's top-level task events (their ``tdur`` is the task's thread time).
TRACE_TASKS = ("ThreadControllerImpl::RunTask", "RunTask")

USERS = {
    "webvoice": {"startup": "erin", "caller": "alice", "callee": "bob"},
    "jssip": {"startup": "frank", "caller": "carol", "callee": "dave"},
}

_EVAL = """async ([source, arg, ms]) => {
    const fn = (0, eval)(source);
    let timer;
    const timeout = new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms); });
    try { return await Promise.race([fn(arg), timeout]); } finally { clearTimeout(timer); }
}"""


def js(page, source: str, arg=None, *, timeout: float = 30.0):
    """Run the JavaScript function ``source`` (an expression) with ``arg`` in the
    page, await it, and return its JSON-able result; bounded by ``timeout`` in
    the page, and from outside it by the step's watchdog (page.evaluate has no
    timeout of its own)."""
    with waiting_for(f"JavaScript in a {page.url.rsplit('/', 1)[-1]} page: {source[:100]}"):
        return page.evaluate(_EVAL, [source, arg, int(timeout * 1000)])


def pycall(page, expression: str, *, timeout: float = 30.0):
    """Evaluate a Python expression (``await`` allowed) in the page's Pyodide."""
    return py(page, expression, timeout=timeout)


def median(values):
    return statistics.median(values) if values else None


# The outer bound on every step (devtools/watchdog.py): each log() line
# starts a step, which must end (the next log() line, or stop_watchdog())
# within STEP_BOUND_S seconds, or the run ends saying what it waited for.
# In-page timeouts alone cannot bound a page whose main thread is stuck.
STEP_BOUND_S = float(os.environ.get("BENCH_STEP_BOUND_S", "900"))
_watchdog: Watchdog | None = None


def start_watchdog(extra) -> None:
    """Bound every step from now on; ``extra()`` adds text to a hang's message."""
    global _watchdog
    _watchdog = Watchdog(extra=extra)
    _watchdog.step("starting", STEP_BOUND_S)


def stop_watchdog() -> None:
    if _watchdog is not None:
        _watchdog.stop()


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)
    if _watchdog is not None:
        _watchdog.step(message, STEP_BOUND_S)


@dataclass
class StackPage:
    """A page of one stack: its Playwright page and context, its console."""

    stack: str  # "webvoice" or "jssip"
    page: object
    context: object
    console: ConsoleLog
    info: dict = field(default_factory=dict)

    def long_tasks(self, start: float, end: float, *, started_within: bool = False) -> dict:
        """Long tasks overlapping [start, end] (epoch ms); with ``started_within``
        only those that began in it (for a window that opens inside a task)."""
        return self.page.evaluate("([a, b, s]) => window.benchLongTasksIn(a, b, s)",
                                  [start, end, started_within])

    def close(self) -> None:
        self.context.close()


class Env:
    """Chromium + static server + Kamailio for one benchmark run."""

    def __init__(self, playwright, kamailio) -> None:
        self.kamailio = kamailio
        self.server = StaticServer(MOUNTS).start()
        self.browser = launch_chromium(playwright, extra_args=BENCH_ARGS)
        self._pages: list[StackPage] = []
        self.bench_source = (PAGES / "webvoice_bench.py").read_text()

    @property
    def chromium_version(self) -> str:
        return self.browser.version

    def close(self) -> None:
        for p in self._pages:
            try:
                p.close()
            except Exception:  # noqa: BLE001 - closing at the end, best effort
                pass
        self.browser.close()
        self.server.stop()

    def _new_page(self, stack: str) -> StackPage:
        context = self.browser.new_context()
        page = context.new_page()
        sp = StackPage(stack, page, context, ConsoleLog(page))
        self._pages.append(sp)
        return sp

    def open_webvoice(self, *, install: str = "installer") -> StackPage:
        """A page with Pyodide booted and webvoice installed and imported, the
        bench helpers loaded. ``install``: "installer" (webvoice/install.mjs),
        "micropip" or "loadpackage" (pyodide.loadPackage)."""
        sp = self._new_page("webvoice")
        path = f"{WEBVOICE_PAGE}?install={install}"
        boot = boot_webvoice(sp.page, self.server, path=path)
        sp.info = {"version": boot.version, "timings": boot.timings,
                   "windows": sp.page.evaluate("window.benchBootWindows")}
        py(sp.page, self.bench_source)
        return sp

    def open_jssip(self) -> StackPage:
        """A page with JsSIP loaded (the load timed in the page)."""
        sp = self._new_page("jssip")
        sp.page.goto(self.server.url(JSSIP_PAGE))
        sp.page.wait_for_function("window.benchReady === true", timeout=30000)
        load = js(sp.page, "(src) => window.benchLoadJsSIP(src)", JSSIP_BUNDLE_URL)
        sp.info = {"version": load["version"], "load": load}
        return sp

    # --- UAs ------------------------------------------------------------------------
    def start_ua(self, sp: StackPage, user: str) -> dict:
        """Register ``user`` from the page; returns the epoch window {t0, t1}."""
        k = self.kamailio
        args = {"user": user, "password": k.users[user], "wsUrl": k.ws_url, "domain": k.domain}
        if sp.stack == "jssip":
            return js(sp.page, "(a) => window.benchStartUA(a)", args)
        return pycall(sp.page, f"await start_ua(**{_py_kwargs(args)})")

    def stop_ua(self, sp: StackPage) -> None:
        if sp.stack == "jssip":
            js(sp.page, "() => window.benchStopUA()", timeout=10)
        else:
            pycall(sp.page, "await stop_ua()", timeout=10)

    def call(self, sp: StackPage, user: str, *, timeout: float = 30.0) -> dict:
        target = f"sip:{user}@{self.kamailio.domain}"
        if sp.stack == "jssip":
            return js(sp.page, "(a) => window.benchCall(a)", {"target": target}, timeout=timeout)
        # As JsSIP's: one evaluate awaiting a promise (webvoice_bench.py says why).
        return js(sp.page, "(a) => new Promise((resolve, reject) => window.benchWebvoiceCall(a.target, resolve, reject))",
                  {"target": target}, timeout=timeout)

    def live_calls(self, sp: StackPage) -> int:
        if sp.stack == "jssip":
            return js(sp.page, "() => window.benchLiveCalls()", timeout=10)
        return js(sp.page, "() => window.benchWebvoiceLiveCalls()", timeout=10)

    def hang_up(self, sp: StackPage) -> None:
        if sp.stack == "jssip":
            js(sp.page, "() => window.benchHangUp()", timeout=10)
        else:
            pycall(sp.page, "hang_up()")

    def wait_idle(self, *pages: StackPage, timeout: float = 15.0) -> None:
        """Until no page has a call left (BYE and its answer done on both ends)."""
        deadline = time.monotonic() + timeout
        with waiting_for(f"no call left in the {', '.join(sp.stack for sp in pages)} pages "
                         f"({timeout:.0f} s)"):
            self._wait_idle(pages, deadline, timeout)

    def _wait_idle(self, pages, deadline: float, timeout: float) -> None:
        while True:
            live = {sp.stack + str(i): self.live_calls(sp) for i, sp in enumerate(pages)}
            if not any(live.values()):
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"calls still up after {timeout} s: {live}")
            time.sleep(0.05)


def _py_kwargs(args: dict) -> str:
    return "{" + ", ".join(f"{k!r}: {v!r}" for k, v in {
        "user": args["user"], "password": args["password"],
        "ws_url": args["wsUrl"], "domain": args["domain"]}.items()) + "}"


def dump(obj) -> str:
    return json.dumps(obj, indent=2, sort_keys=False)
