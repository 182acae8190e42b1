"""``import webvoice`` in short slices of the event loop, for a page's start-up.

Importing webvoice compiles and runs some fifty modules (the grammar's regular
expressions, the configuration checks, the registration machinery): about
70-110 ms in one main-thread task on a desktop, more on a phone, and a task
over 50 ms is a long task (the page does not paint or answer input meanwhile).
:func:`import_in_steps` imports the same modules one by one and yields to the
browser whenever a slice has run :data:`SLICE_BUDGET_S` (a frame), so no task
is long. Yielding after every module instead costs a browser task per module
(~0.4 ms each, some fifty of them) for nothing: only the slice's length
matters. The call modules stay lazy (webvoice/_preload.py loads them after
the first registration, in the same slices).

It runs before the package's own ``__init__``: the boot code
(webvoice/browser/boot.mjs) puts the package's module, not yet executed, in
``sys.modules`` (so that importing this module runs nothing else), awaits
:func:`import_in_steps`, which imports :data:`STEPS` and then executes the
package's ``__init__``, whose imports are then all done. A module missing
from :data:`STEPS` is simply imported by that last step (a longer step, not an
error); tests/test_import_steps.py keeps the list complete, and in an order
where each step runs one module (a slice can only end between modules).
"""

from __future__ import annotations

import asyncio
import importlib
import sys
import time
from collections.abc import Callable
from importlib.machinery import ModuleSpec

__all__ = ["SLICE_BUDGET_S", "STEPS", "import_in_steps"]

#: How long a slice of start-up work runs before yielding to the browser: one
#: frame. A slice ends after the module that spent it, so a task lasts the
#: budget plus one module (the longest takes ~10 ms), well under 50 ms.
SLICE_BUDGET_S = 0.016

#: What ``import webvoice`` loads, in the order the modules finish executing
#: (dependencies first, so that each step runs one module; a test recomputes
#: that order and names a module out of place), plus the WebSocket transport
#: that registering needs.
STEPS = (
    "webvoice.sip.util",
    "webvoice.sip.util._lazy",
    "webvoice.sip",
    "webvoice._handlers",
    "webvoice.sip.syntax",
    "webvoice.sip.util._precompiled",
    "webvoice.sip.util._record",
    "webvoice.sip.util._regex",
    "webvoice.sip.syntax._abnf",
    "webvoice.sip.syntax._errors",
    "webvoice.sip.syntax._uri",
    "webvoice._refer_policy",
    "webvoice._targets",
    "webvoice.browser",
    "webvoice.browser._rtc_config",
    "webvoice.sip.syntax._header_values",
    "webvoice.sip.syntax._header_parsers",
    "webvoice.sip.syntax._headers",
    "webvoice.sip.util._backoff",
    "webvoice.sip.util._deadlines",
    "webvoice.sip.transaction",
    "webvoice.sip.transaction._timers",
    "webvoice._config",
    "webvoice._errors",
    "webvoice._lines",
    "webvoice._media",
    "webvoice.sip.ua",
    "webvoice.sip.auth",
    "webvoice.sip.auth._values",
    "webvoice.sip.auth._digest",
    "webvoice.sip.auth._retry",
    "webvoice.sip.auth._client",
    "webvoice.sip.syntax._message",
    "webvoice.sip.session",
    "webvoice.sip.session._interval",
    "webvoice.sip.syntax._parser",
    "webvoice.sip.transaction._events",
    "webvoice.sip.transaction._tables",
    "webvoice.sip.transaction._transaction",
    "webvoice.sip.transaction._layer",
    "webvoice.sip.ua._uas",
    "webvoice.sip.ua._config",
    "webvoice.sip.syntax._causes",
    "webvoice.sip.ua._registration",
    "webvoice.sip.ua._ua",
    "webvoice._instance_base",
    "webvoice._audio_devices",
    "webvoice._instance_calls",
    "webvoice._messaging",
    "webvoice._preload",
    "webvoice._presence",
    "webvoice._transfer",
    "webvoice._transport",
    "webvoice._connection",
    "webvoice._instance",
)

#: Imported only in the browser (they import ``js``): what registering loads.
BROWSER_STEPS = ("webvoice.browser._env", "webvoice.browser._websocket")


async def import_in_steps(spec: ModuleSpec, *, budget_s: float = SLICE_BUDGET_S,
                          clock: Callable[[], float] = time.perf_counter) -> None:
    """Import :data:`STEPS`, yielding once a slice has run ``budget_s``, then run
    the package's ``__init__`` (``sys.modules["webvoice"]`` is the module made
    from ``spec``, not yet run). On failure nothing of webvoice is left in
    ``sys.modules``: a plain ``import webvoice`` then starts over and raises
    what is wrong."""
    package = sys.modules["webvoice"]
    steps = STEPS + (BROWSER_STEPS if sys.platform == "emscripten" else ())
    try:
        loader = spec.loader
        if loader is None:
            raise ImportError(f"webvoice's module spec has no loader: {spec!r}")
        began = clock()
        for name in steps:
            if name not in sys.modules:
                importlib.import_module(name)
                if clock() - began >= budget_s:
                    await asyncio.sleep(0)
                    began = clock()
        loader.exec_module(package)
    except BaseException:
        for name in [m for m in sys.modules if m == "webvoice" or m.startswith("webvoice.")]:
            del sys.modules[name]
        raise
