"""What a page restored from a memory snapshot renews (``webvoice/browser/boot.mjs``).

A snapshot freezes the state of the Python that made it: ``random``'s state
(every page would draw the same reconnect jitter), the time module's zone
(the maker's), and the import system's cached directory listings (the
wheel's files are written again after the restore). The boot helper calls
:func:`renew` once, through the FFI: a function already in the snapshot, so
nothing is compiled in the page (compiling even a few lines of source costs
Pyodide milliseconds, on the way to the first registration).
"""

from __future__ import annotations

import random
import sys
import time

__all__ = ["renew"]


def renew(site: str, timezone: int, altzone: int, daylight: int, std_name: str, dst_name: str) -> str:
    """Renew what the snapshot froze; returns webvoice's version.

    ``site``: the site-packages directory the wheel's files were written to
    ("" if none), whose finder forgets its listing; only that finder, as
    ``importlib.invalidate_caches()`` would also import importlib.metadata.
    The zone is the page's, as Emscripten's and CPython's start-up compute it
    (Pyodide has no ``time.tzset()``).
    """
    if site:
        finder = sys.path_importer_cache.get(site)
        invalidate = getattr(finder, "invalidate_caches", None)  # FileFinder's; not every finder has it
        if invalidate is not None:
            invalidate()
    random.seed()
    time.timezone, time.altzone, time.daylight = int(timezone), int(altzone), int(daylight)
    time.tzname = (str(std_name), str(dst_name))
    version: str = sys.modules["webvoice"].__version__
    return version
