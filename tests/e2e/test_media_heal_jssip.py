"""Media health with JsSIP as the far end, in Chromium through Kamailio.

The relay-outage and DTLS-stall scenarios of tests/e2e/test_media_health.py,
with webvoice at one end and JsSIP 3.13 (devtools/pages/jssip-phone.js)
at the other. Both pages use relay-only ICE through coturn on loopback (the
``relay`` fixture of test_media_health): killing the relay stalls the call,
and once it is back webvoice restores audio by itself, JsSIP answering its
re-INVITE with new ICE credentials, whichever side placed the call. JsSIP
never restarts ICE itself, and ends a call whose ICE connection goes
``failed`` (RTCSession's iceconnectionstatechange handler: cause "RTP
Timeout"), so webvoice's restart has to bring media back before that.

The webvoice page is instrumented (devtools/pages/mangle-answer.js) to
spoil the answer it applies: the watchdog ends the call ("WebRTC Error" and a
BYE) and JsSIP ends it too, originator remote.
"""

from __future__ import annotations

import json

import pytest

from devtools.browser import boot_webvoice
from devtools.kamailio_server import kamailio  # noqa: F401  (fixture)
from devtools.pyrun import py
from tests.e2e.test_interop_jssip import JS_USER, PHONE, WV_USER, _page, open_jssip_phone, server  # noqa: F401
from tests.e2e.test_media_health import HEALTH, MANGLE, RECORD, relay  # noqa: F401  (fixtures)

WATCHDOG = 3  # ua_config["media_timeout"] of webvoice


class Phones:
    def __init__(self, wv, js, domain):
        self.wv, self.js, self.domain = wv, js, domain

    def jsv(self, expression: str, arg=None):
        return self.js.evaluate(f"(arg) => {expression}", arg)


@pytest.fixture(scope="module")
def phones(browser, server, kamailio, relay):  # noqa: F811
    js = _page(browser)
    open_jssip_phone(js, server)
    js.evaluate("(config) => { phone.media = {...phone.media, pcConfig: config}; }", relay.pc_config)
    js.evaluate("""(a) => { window.started = phone.start(a).then(() => "ok", (e) => String(e)); }""",
                {"user": JS_USER, "password": kamailio.users[JS_USER], "wsUrl": kamailio.ws_url,
                 "domain": kamailio.domain})
    wv = _page(browser)
    wv.add_init_script(path=str(MANGLE))
    boot_webvoice(wv, server)
    py(wv, PHONE)
    py(wv, RECORD)
    args = {"sip_login": WV_USER, "sip_password": kamailio.users[WV_USER], "ws_url": kamailio.ws_url,
            "realm": kamailio.domain, "debug": True, "ua_config": {"media_timeout": WATCHDOG},
            "call_options": {"pc_config": relay.pc_config}}
    py(wv, f"""
sip = webvoice.create_sip_instance(**json.loads({json.dumps(json.dumps(args))}))
sip.on_incoming_call(on_incoming)
await sip.register()
""")
    assert js.evaluate("() => window.started") == "ok", str(js.console)
    yield Phones(wv, js, kamailio.domain)
    for page in (wv, js):
        page.context.close()


@pytest.fixture(autouse=True)
def idle(phones):
    """Each test starts with no call on either side and leaves none behind."""
    p = phones
    p.wv.evaluate("window.webvoiceMangle = null")
    py(p.wv, "await wait_for(lambda: live() == 0, 10)\nevents.clear(); incoming.clear(); calls.clear(); health.clear()")
    p.jsv("phone.waitFor(() => phone.live() === 0, 10000, 'no live JsSIP session')")
    p.jsv("phone.reset()")
    yield
    p.wv.evaluate("window.webvoiceMangle = null")
    py(p.wv, "for c in calls:\n    c.terminate()\nawait wait_for(lambda: live() == 0, 10)")
    p.jsv("""phone.waitFor(() => phone.live() === 0, 3000).catch(() => {
        phone.sessions.forEach((s) => { if (!s.isEnded()) s.terminate(); });
        return phone.waitFor(() => phone.live() === 0, 10000, 'no live JsSIP session');
    })""")


WATCH = f"""
for name in {HEALTH!r}:
    call.on(name, health_handler(name))
"""


def connect(p: Phones, direction: str) -> None:
    """A call both sides report established; ``call`` is webvoice's end, watched for media events."""
    if direction == "webvoice_calls_jssip":
        py(p.wv, f"""
handlers = {{name: record(name) for name in CALL_EVENTS}}
handlers.update({{name: health_handler(name) for name in {HEALTH!r}}})
call = await sip.call({JS_USER!r}, handlers)
calls.append(call)
await wait_for(lambda: call.is_established() or call.is_ended())
answered = time.monotonic()
""")
    else:
        p.jsv("phone.call(arg)", f"sip:{WV_USER}@{p.domain}")
        py(p.wv, "await wait_for(lambda: incoming)\ncall = incoming[-1].call\n" + WATCH +
           "await wait_for(lambda: call.is_established() or call.is_ended())\nanswered = time.monotonic()")
    p.jsv("phone.waitForEvent('confirmed')")


def js_inbound_growth(p: Phones) -> int:
    return p.jsv("phone.inboundGrowth(500)")["packets"]


@pytest.mark.parametrize("direction", ["webvoice_calls_jssip", "jssip_calls_webvoice"])
def test_a_relay_outage_is_healed_by_webvoice_with_jssip_answering_the_ice_restart(phones, relay, direction):  # noqa: F811
    p = phones
    connect(p, direction)
    py(p.wv, "await wait_for(lambda: call.get_media_state() == 'connected')")
    assert py(p.wv, "(await inbound_growth(0.5))['packets']") > 5  # audio through the relay
    assert js_inbound_growth(p) > 5
    assert "typ relay" in py(p.wv, "call.get_connection().remoteDescription.sdp")
    relay.stop()
    py(p.wv, "await wait_for(lambda: call.get_media_state() == 'interrupted', timeout=30)", timeout=40)
    assert py(p.wv, "(await inbound_growth(0.5))['packets']") == 0  # the audio stopped
    relay.start()
    back = py(p.wv, "time.monotonic()")
    py(p.wv, "await wait_for(lambda: call.get_media_state() == 'connected' or call.is_ended(), timeout=30)",
       timeout=40)
    health = py(p.wv, "health")
    assert [h[0] for h in health] == ["media_connected", "media_interrupted", "media_recovered"], (
        health, p.jsv("phone.events"))
    assert health[2][5] - back <= 10, health  # restored within 10 s of the relay being back
    assert py(p.wv, "(await inbound_growth(0.5))['packets']") > 5
    assert js_inbound_growth(p) > 5  # both ways
    assert [e["tag"] for e in p.jsv("phone.events") if e["tag"] == "reinvite"], "JsSIP saw no re-INVITE"
    assert py(p.wv, "call.is_established()") and not p.jsv("phone.current.isEnded()")
    py(p.wv, "call.terminate()\nawait wait_for(call.is_ended)")
    p.jsv("phone.waitForEvent('ended')")


@pytest.mark.parametrize("mangle,cause", [("fingerprint", "DTLS"), ("ice-pwd", "ICE")])
def test_media_that_cannot_connect_ends_the_call_with_jssip_too(phones, mangle, cause):
    p = phones
    p.wv.evaluate(f"window.webvoiceMangle = {mangle!r}")
    connect(p, "webvoice_calls_jssip")
    # Bounded from outside: pyrun's own timeout; the page's wait is 4x the watchdog.
    py(p.wv, f"await wait_for(call.is_ended, timeout={4 * WATCHDOG})")
    assert p.wv.evaluate("window.webvoiceMangled") >= 1
    health = py(p.wv, "health")
    assert [h[0] for h in health] == ["media_failed"], health
    assert health[0][1] == cause and health[0][2] == "failed"
    assert health[0][5] - py(p.wv, "answered") <= WATCHDOG + 1.5, health  # the watchdog's bound is the point
    ended = [e for e in py(p.wv, "events") if e[0] in ("ended", "failed")]
    assert [e[:3] for e in ended] == [["ended", "WebRTC Error", "local"]], ended
    ended_js = p.jsv("phone.waitForEvent('ended')")
    assert ended_js["originator"] == "remote" and ended_js["cause"] == "Terminated", ended_js  # JsSIP: the BYE
    assert p.jsv("phone.live()") == 0
    assert py(p.wv, "sip.get_call_lines()") == []
