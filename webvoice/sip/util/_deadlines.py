"""The earliest of some deadlines: what every part's ``get_timer()`` answers.

The UA asks every part for its next deadline after each message in or out
(the driver re-arms its one timer from the answer), and a call asks each of
its parts in turn, so with several calls up this runs a few hundred times per
call set-up. A plain loop: no list built, no generator, none of ``min()``'s
generic machinery, which in Pyodide's WebAssembly cost several times the
comparisons themselves.
"""

from __future__ import annotations

__all__ = ["earliest"]


def earliest(*times: float | None) -> float | None:
    """The smallest of ``times`` that is not None; None if all are."""
    best = None
    for t in times:
        if t is not None and (best is None or t < best):
            best = t
    return best
