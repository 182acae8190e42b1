"""The SIP a page sent and received, read off its WebSockets (pages/sip-wire.js).

Give ``make_phone(..., init_script=WIRE)``; then :func:`frames` returns the
page's SIP messages so far, parsed, each with ``direction`` ``"out"`` or
``"in"``, and :func:`wait_for_frame` waits (bounded by Playwright) until a
frame matching a JavaScript predicate ``(frame) => bool`` over ``{dir, text}``
has gone by. Tests check behaviour on the wire this way rather than reading
webvoice's private state.
"""

from __future__ import annotations

from pathlib import Path

from webvoice.sip.syntax._parser import parse_message

WIRE = Path(__file__).resolve().parent / "pages" / "sip-wire.js"


def frames(page, direction: str | None = None) -> list:
    """Parsed SIP messages the page's WebSockets carried (``direction`` "out" or "in" to filter)."""
    raw = page.evaluate("() => window.sipWire")
    return [parse_message(f["text"].encode()) for f in raw if direction is None or f["dir"] == direction]


def wait_for_frame(page, predicate_js: str, timeout_ms: int = 10_000) -> None:
    """Wait until a frame ``{dir, text}`` satisfying ``predicate_js`` has gone by."""
    page.wait_for_function(f"() => window.sipWire.some({predicate_js})", timeout=timeout_ms)
