"""The caller hears a ringback tone while the callee rings, and it stops on answer.

Two Chromium pages through Kamailio: erin calls frank, whose page lets the
call ring (webvoice answers 180 Ringing, no SDP) until the test accepts it.
The caller's page is instrumented before webvoice boots
(tests/support/pages/audio-probe.js): the test taps the tone with its own
AnalyserNode and measures what would reach the speakers, without knowing how
webvoice builds it.
"""

from __future__ import annotations

import json

import pytest

from tests.support.browser import ConsoleLog, boot_webvoice
from tests.support.kamailio_server import kamailio  # noqa: F401  (fixture)
from tests.support.pyrun import py
from tests.support.web import REPO

PROBE = REPO / "tests" / "support" / "pages" / "audio-probe.js"

PHONE = """
import asyncio, json, webvoice
ringing = []

async def wait_for(predicate, timeout=10.0):
    for _ in range(int(timeout / 0.05)):
        if predicate():
            return True
        await asyncio.sleep(0.05)
    raise AssertionError("timed out waiting in the page")
"""


def phone(browser, server, sip_server, user, ua_config=None):
    context = browser.new_context()
    page = context.new_page()
    page.add_init_script(path=str(PROBE))
    page.console = ConsoleLog(page)
    boot_webvoice(page, server)
    py(page, PHONE)
    args = {"sip_login": user, "sip_password": sip_server.users[user], "ws_url": sip_server.ws_url,
            "realm": sip_server.domain, "ua_config": ua_config or {}}
    py(page, f"""
sip = webvoice.create_sip_instance(**json.loads({json.dumps(json.dumps(args))}))
sip.on_incoming_call(ringing.append)
await sip.register()
""")
    page.mouse.click(5, 5)  # a person dials with a click: the page may play sound
    return page


@pytest.fixture(scope="module")
def phones(browser, static_server, kamailio):
    caller = phone(browser, static_server, kamailio, "erin")
    callee = phone(browser, static_server, kamailio, "frank")
    yield caller, callee
    for page in (caller, callee):
        page.context.close()


def test_ringback_plays_while_ringing_and_stops_on_answer(phones):
    caller, callee = phones
    py(callee, "ringing.clear()")
    py(caller, """
call = await sip.call("frank")
await wait_for(lambda: call.get_status() == "progress" and call.media is not None and call.media.ringback_playing)
""")
    py(callee, "await wait_for(lambda: bool(ringing))")
    # 1 s on, 4 s off, from the start: the first second is heard at once; 6 s spans a whole cycle.
    ringing_tone = caller.evaluate("window.audioPeak(6000)")
    py(callee, "ringing[-1].accept()")
    py(caller, "await wait_for(call.is_established)\nawait wait_for(lambda: not call.media.ringback_playing)")
    caller.wait_for_function("window.audioContexts.at(-1).state === 'closed'", timeout=5000)
    after = caller.evaluate("window.audioPeak(500)")
    contexts = caller.evaluate("window.audioContexts.length")
    py(caller, "call.terminate()\nawait wait_for(call.is_ended)")
    assert ringing_tone["state"] == "running", ringing_tone
    assert ringing_tone["peak"] > 0.05, ringing_tone  # the tone's level is 0.15: an RMS of about 0.1
    assert after == {"state": "closed", "peak": 0}
    assert contexts == 1


def test_no_ringback_when_turned_off(browser, static_server, kamailio, phones):  # noqa: F811
    _, callee = phones
    quiet = phone(browser, static_server, kamailio, "grace", ua_config={"ringback": False})
    try:
        py(callee, "ringing.clear()")
        py(quiet, "call = await sip.call('frank')")
        py(callee, "await wait_for(lambda: bool(ringing))")
        py(quiet, "await wait_for(lambda: call.get_status() == 'progress')\nawait asyncio.sleep(0.5)")
        state = py(quiet, "json.dumps([call.media.ringback_playing])")
        contexts = quiet.evaluate("window.audioContexts.length")
        py(callee, "ringing[-1].decline()")
        py(quiet, "await wait_for(call.is_ended)")
    finally:
        quiet.context.close()
    assert json.loads(state) == [False] and contexts == 0
