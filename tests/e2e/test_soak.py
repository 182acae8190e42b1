"""Many calls, messages and watches leave nothing behind: an agent's phone
stays open for hours.

Two pages call each other a dozen times through Kamailio (half of the calls
held and resumed, with DTMF and mute on the way), then each page takes a
census and compares it with one taken after two warm-up calls (first-use
imports and caches):

* Python: the objects the collector tracks, by type, for webvoice's own
  types, Pyodide's proxies (a proxy never destroyed keeps its Python side and
  everything it reaches alive) and asyncio's tasks, futures and handles;
* the browser: peer connections not closed, `<audio>` elements, AudioContexts
  made, timers still pending (devtools/pages/object-census.js counts them).

The same for a dozen rounds of a message each way and a busy lamp and a
presence watch started and stopped.

A leak of one object a call grows its count by at least the number of calls;
the test allows less than half that, so a count that moves by a few (a cache
filling, a timer in flight) does not fail it, and a per-call leak always does.
"""

from __future__ import annotations

import time

import pytest

from devtools.kamailio_server import kamailio  # noqa: F401  (fixture)
from devtools.pyrun import py
from devtools.web import REPO
from tests.e2e.test_calls import established, hang_up, make_phone

CENSUS_JS = REPO / "devtools" / "pages" / "object-census.js"
CALLS = 12  # after the warm-up
WARM_UP = 2
# An INVITE server transaction that sent a 2xx stays 64*T1 to absorb the
# INVITE's retransmissions (RFC 6026 Timer L, on any transport), holding its
# dialog: what the last calls leave must be gone after that (bounded wait).
# The phones run with T1 = 0.1 s (ua_config's "t1"; 0.5 s by default), so that
# wait is 6.4 s instead of 32: T1 sets how long the protocol's timers keep
# things, not what a call makes, which is what this counts.
T1_S = 0.1
SETTLE_S = 64 * T1_S + 13.0
CUMULATIVE = ("peerConnections", "audioContexts")  # counts of all ever made, not of live ones

CENSUS = """
import collections, gc
_CENSUS_MODULES = ("webvoice", "pyodide", "asyncio", "_asyncio")
def census():
    gc.collect()
    counts = collections.Counter()
    for o in gc.get_objects():
        kind = type(o)
        module = kind.__module__ or ""
        if module.startswith(_CENSUS_MODULES):
            counts[f"{module}.{kind.__qualname__}"] += 1
    return dict(counts)
def forget_calls():
    # The harness's own references (events, the call objects it keeps).
    global call, bcall
    events.clear(); incoming.clear(); calls.clear()
    call = bcall = None
"""


@pytest.fixture(scope="module")
def soak_phones(browser, static_server, kamailio):
    a, b = (make_phone(browser, static_server, kamailio, user, init_script=CENSUS_JS, prelude=CENSUS,
                       ua_config={"t1": T1_S})
            for user in ("erin", "frank"))
    yield a, b
    for page in (a, b):
        page.context.close()


def _one_call(a, b, n: int) -> None:
    established(a, b, target="frank")
    if n % 2:
        assert py(a, "await call.hold()") is True
        py(b, "await wait_for(lambda: bcall.is_on_hold().remote)")
        assert py(a, "await call.unhold()") is True
        py(b, "await wait_for(lambda: not bcall.is_on_hold().remote)")
        py(a, 'await call.send_dtmf("12", transport_type="INFO", duration=100, inter_tone_gap=70)')
        py(b, "call_ = bcall; call_.mute(); call_.unmute(); call_ = None")
    hang_up(a, b)
    for page in (a, b):
        py(page, "forget_calls()")


def _census(page) -> dict:
    return {"py": py(page, "census()"), "js": page.evaluate("window.webvoiceCensus()")}


def _grown(before: dict, after: dict) -> dict:
    """What grew by half the calls or more: a leak of one a call."""
    out = {}
    for side in ("py", "js"):
        for name, count in after[side].items():
            if side == "js" and (name in CUMULATIVE or not isinstance(count, int)):
                continue
            if count - before[side].get(name, 0) >= CALLS / 2:
                out[f"{side}:{name}"] = (before[side].get(name, 0), count)
    return out


def _soak(pages: dict, one_round) -> tuple[dict, dict]:
    """``one_round(n)`` WARM_UP times, a census, CALLS times, and the census once
    nothing more is freed (bounded: SETTLE_S); fails on what grew by a leak's
    count. Returns both censuses."""
    for n in range(WARM_UP):
        one_round(n)
    before = {name: _census(page) for name, page in pages.items()}
    for n in range(CALLS):
        one_round(n)
    deadline = time.monotonic() + SETTLE_S
    while True:  # the last transactions and timers end on their own: wait (bounded)
        after = {name: _census(page) for name, page in pages.items()}
        grown = {name: _grown(before[name], after[name]) for name in after}
        if not any(grown.values()) or time.monotonic() > deadline:
            break
        time.sleep(2.0)
    assert not any(grown.values()), (grown, {name: c["js"]["timersPendingDelays"] for name, c in after.items()})
    return before, after


def test_many_calls_leave_nothing_behind(soak_phones):
    a, b = soak_phones
    before, after = _soak({"caller": a, "callee": b}, lambda n: _one_call(a, b, n))
    for name, census in after.items():
        js = census["js"]
        assert js["peerConnections"] >= CALLS, (name, js)  # the census saw the calls
        assert js["peerConnectionsOpen"] == 0, (name, js)
        assert js["audioElements"] == 0, (name, js)
        assert js["audioContexts"] <= before[name]["js"]["audioContexts"] + 1, (name, js)
    for page in (a, b):  # and the phones still work
        assert py(page, "sip.is_registered()") is True


def _one_round(a, b, n: int) -> None:
    assert py(a, f"await sip.send_message('frank', 'hello {n}')") == 200
    assert py(b, f"await sip.send_message('erin', 'hi {n}')") == 200
    for page, text in ((b, f"hello {n}"), (a, f"hi {n}")):
        py(page, f"await wait_for(lambda: {text!r} in received)\nreceived.clear()")
    py(a, """
seen = []
lamp = sip.watch_line('frank', seen.append)
presence = sip.watch_presence('frank', seen.append)
await wait_for(lambda: len(seen) >= 2)
lamp.stop()
presence.stop()
assert not lamp.active and not presence.active
lamp = presence = seen = None
""")


def test_many_messages_and_watches_leave_nothing_behind(soak_phones):
    a, b = soak_phones
    for page in (a, b):
        py(page, "received = []\nsip.on_message(lambda message: received.append(message.body))")
    _soak({"erin": a, "frank": b}, lambda n: _one_round(a, b, n))
