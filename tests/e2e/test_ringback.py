"""The caller hears a ringback tone while the callee rings, and it stops on answer.

Two Chromium pages through Kamailio: erin calls frank, whose page lets the
call ring (webvoice answers 180 Ringing, no SDP) until the test accepts it.
The caller's page is instrumented before webvoice boots
(devtools/pages/audio-probe.js): the test taps the tone with its own
AnalyserNode and measures what would reach the speakers, without knowing how
webvoice builds it.
"""

from __future__ import annotations

import pytest

from devtools.kamailio_server import kamailio  # noqa: F401  (fixture)
from devtools.pyrun import py
from devtools.web import REPO
from tests.e2e.test_calls import make_phone

PROBE = REPO / "devtools" / "pages" / "audio-probe.js"


def phone(browser, server, sip_server, user, **options):
    """A test_calls phone that lets incoming calls ring, its WebAudio instrumented;
    clicked once, as a person dials with a click (the page may play sound)."""
    page = make_phone(browser, server, sip_server, user, init_script=PROBE, **options)
    py(page, "mode['answer'] = 'ring'")
    page.mouse.click(5, 5)
    return page


@pytest.fixture(scope="module")
def phones(browser, static_server, kamailio):
    caller = phone(browser, static_server, kamailio, "erin")
    callee = phone(browser, static_server, kamailio, "frank")
    yield caller, callee
    for page in (caller, callee):
        page.context.close()


def _ring_and_answer(caller, callee) -> tuple[dict, dict]:
    """A call from ``caller`` rings at ``callee``, then is answered: the tone heard
    while ringing, then after the answer."""
    py(callee, "incoming.clear()")
    py(caller, """
call = await sip.call("frank")
await wait_for(lambda: call.get_status() == "progress" and call.media is not None and call.media.ringback_playing)
""")
    py(callee, "await wait_for(lambda: bool(incoming))")
    # 1 s on, 4 s off, from the start: the first second is heard at once; 6 s spans a whole cycle.
    ringing_tone = caller.evaluate("window.audioPeak(6000)")
    py(callee, "incoming[-1].accept()")
    py(caller, "await wait_for(call.is_established)\nawait wait_for(lambda: not call.media.ringback_playing)")
    # The lines share one AudioContext (webvoice/browser/_ringback.py): suspended while none rings.
    caller.wait_for_function("window.audioContexts.at(-1).state === 'suspended'", timeout=5000)
    after = caller.evaluate("window.audioPeak(500)")
    py(caller, "call.terminate()\nawait wait_for(call.is_ended)")
    return ringing_tone, after


def test_ringback_plays_while_ringing_and_stops_on_answer(phones):
    caller, callee = phones
    first = _ring_and_answer(caller, callee)
    second = _ring_and_answer(caller, callee)
    contexts = caller.evaluate("window.audioContexts.length")
    for ringing_tone, after in (first, second):
        assert ringing_tone["state"] == "running", ringing_tone
        assert ringing_tone["peak"] > 0.05, ringing_tone  # the tone's level is 0.15: an RMS of about 0.1
        assert after == {"state": "suspended", "peak": 0}
    assert contexts == 1  # the second call's tone played in the first one's context


def test_no_ringback_when_turned_off(browser, static_server, kamailio, phones):  # noqa: F811
    _, callee = phones
    quiet = phone(browser, static_server, kamailio, "grace", ua_config={"ringback": False})
    try:
        py(callee, "incoming.clear()")
        py(quiet, "call = await sip.call('frank')")
        py(callee, "await wait_for(lambda: bool(incoming))")
        py(quiet, "await wait_for(lambda: call.get_status() == 'progress')\nawait asyncio.sleep(0.5)")
        playing = py(quiet, "call.media.ringback_playing")
        contexts = quiet.evaluate("window.audioContexts.length")
        py(callee, "incoming[-1].decline()")
        py(quiet, "await wait_for(call.is_ended)")
    finally:
        quiet.context.close()
    assert playing is False and contexts == 0
