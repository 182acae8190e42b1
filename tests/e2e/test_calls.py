"""Calls between two Chromium pages, each running webvoice in Pyodide, through Kamailio.

The acceptance of the calls issue: audio flows both ways, hold (re-INVITE and
UPDATE) stops it and unhold restores it, DTMF by INFO arrives in order and by
RFC 4733 goes out as telephone-events, failures carry the JS SDK's causes, and
hanging up leaves nothing behind so that the next call works.
"""

from __future__ import annotations

import json

import pytest

from devtools.browser import ConsoleLog, boot_webvoice
from devtools.chromium import CHROMIUM, CHROMIUM_ARGS
from devtools.kamailio_server import kamailio  # noqa: F401  (fixture)
from devtools.pyrun import py

PHONE = """
import asyncio, json, webvoice
events, incoming, calls = [], [], []
mode = {"answer": "accept"}

def record(tag):
    def handler(event=None):
        cause = getattr(event, "cause", None)
        originator = getattr(event, "originator", None)
        tone = getattr(event, "tone", None)
        events.append([tag, cause, originator, tone, getattr(event, "status_code", None)])
    return handler

CALL_EVENTS = ("progress", "confirmed", "ended", "failed", "held", "unheld", "new_dtmf", "muted", "unmuted")

def on_incoming(request):
    incoming.append(request)
    calls.append(request.call)
    request.call.add_handlers({name: record(name) for name in CALL_EVENTS})
    if mode["answer"] == "accept":
        request.accept()
    elif mode["answer"] == "decline":
        request.decline()

async def wait_for(predicate, timeout=10.0):
    for _ in range(int(timeout / 0.05)):
        if predicate():
            return True
        await asyncio.sleep(0.05)
    raise AssertionError("timed out waiting in the page")

async def inbound_growth(call, seconds=1.0):
    first = (await call.get_stats())["inbound"].get("packets_received", 0)
    await asyncio.sleep(seconds)
    return (await call.get_stats())["inbound"].get("packets_received", 0) - first

# Inbound packets over one second, once audio is what is expected: flowing
# (> 20, fake audio sends 50 a second) or stopped (<= 3). Packets in flight or
# a renegotiation still going are waited out on a condition, not a fixed
# sleep; after `timeout` the last count comes back and the caller's assertion
# says what it saw.
async def settled_growth(call, flowing, timeout=10.0):
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        growth = await inbound_growth(call)
        if (growth > 20 if flowing else growth <= 3) or loop.time() > deadline:
            return growth

def audio_state():
    from js import document
    elements = document.querySelectorAll("audio[data-webvoice-line]")
    return {"audio_elements": elements.length}
"""


def make_phone(browser, server, sip_server, user, *, init_script=None, prelude="", py_options="", **options):
    """A page with webvoice registered as ``user``; ``options`` go to create_sip_instance;
    ``init_script``: a file the page runs before anything else (instrumentation);
    ``prelude``: Python run in the page before the instance is made, and
    ``py_options``: keyword arguments written in Python (callables such as
    ``line_events=...``, which JSON cannot carry)."""
    context = browser.new_context()
    page = context.new_page()
    if init_script is not None:
        page.add_init_script(path=str(init_script))
    page.console = ConsoleLog(page)
    boot_webvoice(page, server)
    py(page, PHONE + ("\n" + prelude if prelude else ""))
    args = {"sip_login": user, "sip_password": sip_server.users[user], "ws_url": sip_server.ws_url,
            "realm": sip_server.domain, **options}
    py(page, f"""
sip = webvoice.create_sip_instance(**json.loads({json.dumps(json.dumps(args))}){", " + py_options if py_options else ""})
sip.on_incoming_call(on_incoming)
await sip.register()
""")
    return page


@pytest.fixture(scope="module")
def phones(browser, static_server, kamailio):
    a = make_phone(browser, static_server, kamailio, "alice")
    b = make_phone(browser, static_server, kamailio, "bob")
    yield a, b
    for page in (a, b):
        page.context.close()


def place(a, target="bob"):
    py(a, f"""
events.clear()
call = await sip.call({target!r}, {{name: record(name) for name in CALL_EVENTS}})
calls.append(call)
""")


def established(a, b, target="bob"):
    py(b, "events.clear(); incoming.clear(); mode['answer'] = 'accept'")
    place(a, target)
    py(a, "await wait_for(call.is_established)")
    py(b, "await wait_for(lambda: incoming and incoming[-1].call.is_established())\nbcall = incoming[-1].call")


def hang_up(a, b):
    py(a, "call.terminate()\nawait wait_for(call.is_ended)")
    py(b, "await wait_for(bcall.is_ended)")


def test_call_connects_and_audio_flows_both_ways(phones):
    a, b = phones
    established(a, b)
    assert [e[0] for e in py(a, "events")][:2] == ["progress", "confirmed"]
    assert "confirmed" in [e[0] for e in py(b, "events")]
    assert py(b, "incoming[-1].event.session.remote_identity.uri") == "sip:alice@webvoice.test"
    growth_a = py(a, "await inbound_growth(call)")
    growth_b = py(b, "await inbound_growth(bcall)")
    assert growth_a > 20 and growth_b > 20, (growth_a, growth_b)
    stats = py(a, "await call.get_stats()")
    assert {"inbound", "outbound", "round_trip_time"} <= set(stats)
    assert stats["outbound"]["packets_sent"] > 0 and stats["inbound"]["bytes_received"] > 0
    hang_up(a, b)


@pytest.mark.parametrize("options", [None, {"use_update": True}], ids=["reinvite", "update"])
def test_hold_stops_audio_and_unhold_restores_it(phones, options):
    a, b = phones
    established(a, b)
    hold = "call.hold()" if options is None else f"call.hold_with_options({options!r})"
    unhold = "call.unhold()" if options is None else f"call.unhold_with_options({options!r})"
    assert py(a, f"await {hold}") is True
    py(b, "await wait_for(lambda: any(e[0] == 'held' for e in events))")
    assert [e for e in py(b, "events") if e[0] == "held"][0][2] == "remote"
    assert py(b, "bcall.is_on_hold().remote") is True
    # no audio either way while held
    assert py(b, "await settled_growth(bcall, flowing=False)") <= 3
    assert py(a, "await settled_growth(call, flowing=False)") <= 3
    assert py(a, f"await {unhold}") is True
    py(b, "await wait_for(lambda: any(e[0] == 'unheld' for e in events))")
    assert py(b, "await settled_growth(bcall, flowing=True)") > 20
    assert py(a, "await settled_growth(call, flowing=True)") > 20
    hang_up(a, b)


def test_dtmf_by_info_and_by_rfc4733(phones):
    a, b = phones
    established(a, b)
    py(a, 'await call.send_dtmf("123#", transport_type="INFO", duration=100, inter_tone_gap=70)')
    py(b, "await wait_for(lambda: len([e for e in events if e[0] == 'new_dtmf']) == 4)")
    assert [e[3] for e in py(b, "events") if e[0] == "new_dtmf"] == ["1", "2", "3", "#"]
    # RFC 4733: the tones go out as telephone-event packets on the negotiated codec
    sdp = py(a, "call.get_connection().remoteDescription.sdp")
    assert "telephone-event/8000" in sdp
    tones = py(a, """
played = []
from pyodide.ffi import create_proxy
sender = call.get_connection().getSenders()[0]
listener = create_proxy(lambda event: played.append(event.tone))
sender.dtmf.addEventListener("tonechange", listener)
await call.send_dtmf("12#", duration=100, inter_tone_gap=70)
sender.dtmf.removeEventListener("tonechange", listener)
listener.destroy()
played
""")
    assert [t for t in tones if t] == ["1", "2", "#"]
    hang_up(a, b)


def test_decline_is_busy_and_cancel_is_canceled(phones):
    a, b = phones
    py(b, "events.clear(); incoming.clear(); mode['answer'] = 'decline'")
    place(a)
    py(a, "await wait_for(call.is_ended)")
    failed = [e for e in py(a, "events") if e[0] == "failed"][0]
    assert failed[1] == "Busy" and failed[4] == 486
    py(b, "events.clear(); mode['answer'] = 'manual'")
    place(a)
    py(b, "await wait_for(lambda: incoming)")
    py(a, "await wait_for(lambda: any(e[0] == 'progress' for e in events))\ncall.terminate()")
    py(b, "await wait_for(lambda: incoming[-1].call.is_ended())")
    assert [e for e in py(b, "events") if e[0] == "failed"][0][1] == "Canceled"
    py(b, "mode['answer'] = 'accept'")


def test_unregistered_and_unknown_users(phones):
    a, _ = phones
    place(a, "frank")
    py(a, "await wait_for(call.is_ended)")
    assert [e for e in py(a, "events") if e[0] == "failed"][0][1] in ("Unavailable", "Not Found")
    place(a, "nosuchuser")
    py(a, "await wait_for(call.is_ended)")
    assert [e for e in py(a, "events") if e[0] == "failed"][0][1] == "Not Found"


def test_hang_up_from_either_side_leaves_nothing_behind(phones):
    a, b = phones
    for closer in ("a", "b"):
        established(a, b)
        assert py(a, "audio_state()")["audio_elements"] == 1
        if closer == "a":
            hang_up(a, b)
        else:
            py(b, "bcall.terminate()")
            py(a, "await wait_for(call.is_ended)")
            py(b, "await wait_for(bcall.is_ended)")
            assert [e for e in py(a, "events") if e[0] == "ended"][0][1] == "Bye"
        for page in (a, b):
            assert py(page, "audio_state()")["audio_elements"] == 0
            live = py(page, """
from js import document
sum(1 for c in calls if c.media is not None and any(
    s.track and s.track.readyState == "live" for s in c.media.connection().getSenders()))
""")
            assert live == 0


def test_denied_microphone_fails_cleanly(browser, static_server, kamailio):
    # A second Chromium without the fake-UI flag, denying the permission prompt.
    denying = browser.browser_type.launch(
        executable_path=CHROMIUM, headless=True,
        args=CHROMIUM_ARGS + ["--use-fake-device-for-media-stream", "--deny-permission-prompts"])
    try:
        page = make_phone(denying, static_server, kamailio, "carol")
        place(page, "dave")
        py(page, "await wait_for(call.is_ended)")
        failed = [e for e in py(page, "events") if e[0] == "failed"]
        assert failed and failed[0][1] == "User Denied Media Access"
        assert py(page, "sip.get_call_lines()") == []
        assert py(page, "audio_state()")["audio_elements"] == 0
    finally:
        denying.close()
