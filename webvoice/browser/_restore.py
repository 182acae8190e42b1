"""What a page restored from a memory snapshot renews (``webvoice/browser/boot.mjs``).

A snapshot freezes the state of the Python that made it: ``random``'s state
(every page would draw the same reconnect jitter), the time module's zone
(the maker's). (The import system's cached directory listings are the
other frozen thing: install.mjs's writeWheel has the finder forget its
listing, on either boot, once the wheel's files are written again.) The boot helper calls
:func:`renew` once, through the FFI: a function already in the snapshot, so
nothing is compiled in the page (compiling even a few lines of source costs
Pyodide milliseconds, on the way to the first registration).
"""

from __future__ import annotations

import random
import sys
import time

__all__ = ["renew"]


def renew(timezone: int, altzone: int, daylight: int, std_name: str, dst_name: str) -> str:
    """Renew what the snapshot froze; returns webvoice's version.

    The zone is the page's, as Emscripten's and CPython's start-up compute it
    (Pyodide has no ``time.tzset()``).
    """
    random.seed()
    time.timezone, time.altzone, time.daylight = int(timezone), int(altzone), int(daylight)
    time.tzname = (str(std_name), str(dst_name))
    version: str = sys.modules["webvoice"].__version__
    return version
