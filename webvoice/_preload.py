"""The call machinery, loaded in the background once the page is registered.

Registration needs the parser, transactions, digest auth and the registration
state machine; a call needs much more (call sessions, SDP, dialogs, forking,
the public :class:`~webvoice.Call`, the browser's media code). In Pyodide importing a module runs its
bytecode in WebAssembly, and the call modules would add tens of milliseconds to
every page's start-up. So they are imported lazily where used, and preloaded
here right after the first registration, in slices of the event loop no
longer than start-up's (webvoice/_import_steps.py): no turn holds the main
thread long enough to be a long task, and by the time the user dials,
nothing is left to load. A call placed or received before the
preload finished simply imports what is missing itself.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import sys
import time
from collections.abc import Callable

from ._import_steps import SLICE_BUDGET_S
from .sip import CALL_MODULES as CORE_CALL_MODULES

__all__ = ["CALL_MODULES", "preload_call_modules"]

log = logging.getLogger("webvoice")

#: In dependency order, so that each step imports one module: the core's call
#: machinery (named by webvoice.sip, which owns its layout), then the driver's.
CALL_MODULES = (
    *CORE_CALL_MODULES,
    "webvoice._media_health",
    "webvoice._call_event_records",
    "webvoice._quality",
    "webvoice._media_recovery",
    "webvoice._offer_answer",
    "webvoice._call_host",
    "webvoice._call_status",
    "webvoice._call_controls",
    "webvoice._calls",
    "webvoice._call_requests",
)


def _media_modules() -> tuple[str, ...]:
    """The browser media code the default backend will use (none outside Pyodide)."""
    if sys.platform != "emscripten":
        return ()
    from .browser._env import in_worker

    if in_worker():
        realm: tuple[str, ...] = ("webvoice.browser._agent_protocol", "webvoice.browser._remote",
                                  "webvoice.browser._bridge")
    else:
        realm = ("webvoice.browser._js_values", "webvoice.browser._direct", "webvoice.browser._media")
    return ("webvoice.browser._stats", "webvoice.browser._rtc_config", "webvoice.browser._realm",
            "webvoice.browser._ringback", "webvoice.browser._negotiation", "webvoice.browser._engine",
            "webvoice.browser._engine_backend", *realm)


def preload_call_modules(loop: asyncio.AbstractEventLoop, *, budget_s: float = SLICE_BUDGET_S,
                         clock: Callable[[], float] = time.perf_counter) -> None:
    """Import what of :data:`CALL_MODULES` is missing, in turns of ``loop`` that
    each end once they have run ``budget_s``."""
    pending = [name for name in CALL_MODULES + _media_modules() if name not in sys.modules]

    def step() -> None:
        began = clock()
        while pending:
            name = pending.pop(0)
            if name in sys.modules:
                continue
            try:
                importlib.import_module(name)
            except Exception:  # a broken install: say so; calls will raise it again
                log.exception("webvoice: could not preload %s", name)
            if clock() - began >= budget_s:
                break
        if pending:
            loop.call_soon(step)

    if pending:
        loop.call_soon(step)
