"""What each phone page of the Firefox tier runs first (its Pyodide's globals).

The node side (harness.mjs) reads this file and runs it in a page where
webvoice has booted, then creates ``sip`` there; the tests then run Python
snippets against these names, like cells of a notebook.  Not a module to
import: it expects ``webvoice`` to be importable (it is, in such a page).

The same shape as the e2e tier's phone (tests/e2e/test_calls.py): incoming
calls are recorded and answered according to ``mode``, call events land in
``events`` as ``[name, cause, originator, tone, status_code]``, and audio is
judged from the call's stats: packets received and the received audio
energy, over a window.
"""

import asyncio
import json  # noqa: F401  (the tests' snippets use it)

import webvoice  # noqa: F401

events, incoming, calls = [], [], []
mode = {"answer": "accept"}

CALL_EVENTS = ("progress", "confirmed", "ended", "failed", "held", "unheld", "new_dtmf", "muted", "unmuted")


def record(tag):
    def handler(event=None):
        events.append([tag, getattr(event, "cause", None), getattr(event, "originator", None),
                       getattr(event, "tone", None), getattr(event, "status_code", None)])
    return handler


def recorders():
    return {name: record(name) for name in CALL_EVENTS}


def on_incoming(request):
    incoming.append(request)
    calls.append(request.call)
    request.call.add_handlers(recorders())
    if mode["answer"] == "accept":
        request.accept()
    elif mode["answer"] == "decline":
        request.decline()


def tagged(tag):
    return [e for e in events if e[0] == tag]


async def wait_for(predicate, timeout=15.0):
    """Poll ``predicate`` (in the page; the node side bounds the whole snippet too)."""
    for _ in range(int(timeout / 0.05)):
        if predicate():
            return True
        await asyncio.sleep(0.05)
    raise AssertionError("timed out waiting in the page")


def live_call():
    """The page's one established call (a transfer replaces the Call object)."""
    calls = [sip.get_line(line.id) for line in sip.get_call_lines()]  # noqa: F821  (sip: made by the harness)
    live = [c for c in calls if c.is_established()]
    return live[0] if len(live) == 1 else None


async def inbound(call):
    s = (await call.get_stats())["inbound"]
    return {"packets": s.get("packets_received", 0), "energy": s.get("total_audio_energy", 0.0)}


async def inbound_growth(call, seconds=1.0):
    """Packets and audio energy received over ``seconds``."""
    first = await inbound(call)
    await asyncio.sleep(seconds)
    last = await inbound(call)
    return {"packets": last["packets"] - first["packets"], "energy": last["energy"] - first["energy"]}


async def until_silent(call, silence, timeout=10.0):
    """Packets and energy received over the first half-second window in which
    (almost) no packet arrives and the energy stays under ``silence``, or over
    the last window once ``timeout`` has passed: a receiver's jitter buffer goes
    on playing what it held, longer on a busy machine."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        growth = await inbound_growth(call, 0.5)
        if (growth["packets"] <= 3 and growth["energy"] < silence) or loop.time() > deadline:
            return growth


def audio_elements():
    from js import document
    return document.querySelectorAll("audio[data-webvoice-line]").length
