"""Interoperability: webvoice (Pyodide) and JsSIP 3.13 calling each other through Kamailio.

One Chromium, two pages for the whole module: grace runs webvoice
(devtools/pages/boot.html), heidi runs JsSIP on the benchmarks' JsSIP page
(bench/pages/jssip.html: the esbuild bundle of bench/jssip_bundle.py, driven
by devtools/pages/jssip-phone.js). Both
auto-answer. Each scenario runs in both directions (webvoice calls JsSIP, JsSIP
calls webvoice) and leaves no call behind for the next one:

* call and answer, audio both ways, hang-up from either side (the causes each
  stack reports);
* DTMF by SIP INFO both ways (application/dtmf-relay), tones in order;
* hold and unhold from either side, by re-INVITE and by UPDATE (a=sendonly):
  the other end reports it with originator "remote" and nobody hears anything.

A failing test's report carries both pages' SIP traces since the test
started, interleaved by time, and Kamailio's log lines over the same span
(tests/e2e/conftest.py attaches ``item.browser_console``).
"""

from __future__ import annotations

import json
import time

import pytest

from bench.common import JSSIP_BUNDLE_URL, JSSIP_PAGE, MOUNTS
from bench.jssip_bundle import ensure_bundle
from devtools.browser import ConsoleLog, boot_webvoice
from devtools.kamailio_server import kamailio  # noqa: F401  (fixture)
from devtools.pyrun import py
from devtools.web import BUILD_WEB, StaticServer

WV_USER, JS_USER = "grace", "heidi"  # no other e2e module registers these two
#: The softphone driven through window.phone, added to the one JsSIP page
#: (JSSIP_PAGE: bench/pages/jssip.html, which the benchmarks load too).
PHONE_SCRIPT = "/test-pages/jssip-phone.js"
# Inbound totalAudioEnergy gained over one second: Chromium's fake microphone
# gives about 0.2 at either end; silence (a disabled track) 1e-9 to 1e-6.
AUDIBLE, SILENCE = 0.01, 1e-4

PHONE = """
import asyncio, json, logging, time, webvoice
import js

events, incoming, calls = [], [], []
mode = {"answer": "accept"}

class _Trace(logging.Handler):
    # debug=True logs each SIP message on logger "webvoice": keep them in
    # window.sipTrace (epoch ms, text), read by the test without Pyodide.
    def emit(self, record):
        js.window.sipTrace.push(js.JSON.parse(json.dumps([time.time() * 1000, record.getMessage()])))

js.window.sipTrace = js.Array.new()
logging.getLogger("webvoice").addHandler(_Trace())

def record(tag):
    def handler(event=None):
        events.append([tag, getattr(event, "cause", None), getattr(event, "originator", None),
                       getattr(event, "tone", None), getattr(event, "status_code", None),
                       getattr(event, "duration", None)])
    return handler

CALL_EVENTS = ("progress", "confirmed", "ended", "failed", "held", "unheld", "new_dtmf")

def on_incoming(request):
    incoming.append(request)
    calls.append(request.call)
    request.call.add_handlers({name: record(name) for name in CALL_EVENTS})
    if mode["answer"] == "accept":
        request.accept()

async def wait_for(predicate, timeout=10.0):
    for _ in range(int(timeout / 0.02)):
        if predicate():
            return True
        await asyncio.sleep(0.02)
    raise AssertionError("timed out waiting in the page")

def tagged(tag):
    return [e for e in events if e[0] == tag]

async def inbound():
    s = (await call.get_stats())["inbound"]
    return {"packets": s.get("packets_received", 0), "energy": s.get("total_audio_energy", 0.0)}

async def inbound_growth(seconds=1.0):
    first = await inbound()
    await asyncio.sleep(seconds)
    last = await inbound()
    return {"packets": last["packets"] - first["packets"], "energy": last["energy"] - first["energy"]}

def live():
    return sum(1 for c in calls if not c.is_ended()) + len(sip.get_call_lines())
"""


# --- the two phones -------------------------------------------------------------------------------


class Phones:
    """The webvoice page (``wv``), the JsSIP page (``js``) and the server between them."""

    def __init__(self, wv, js, kamailio):
        self.wv, self.js, self.kamailio = wv, js, kamailio
        self.marks = (0.0, 0)  # epoch ms and Kamailio log offset where the current test began

    # JsSIP's side: page.evaluate awaits the promise a phone.* helper returns.
    def jsv(self, expression: str, arg=None):
        return self.js.evaluate(f"(arg) => {expression}", arg)

    def mark(self) -> None:
        self.marks = (time.time() * 1000, len(self.kamailio.log_text()))

    def report(self) -> list[str]:
        """Both SIP traces since the test began, interleaved, then Kamailio's log."""
        since, offset = self.marks
        lines = []
        for label, page, expr in (("webvoice", self.wv, "window.sipTrace || []"),
                                  ("JsSIP", self.js, "window.phone ? phone.trace : []")):
            try:
                entries = page.evaluate(f"() => {expr}")
            except Exception as exc:  # noqa: BLE001 - a report must not raise
                lines.append((0, f"[{label}: no trace: {exc}]"))
                continue
            for entry in entries:
                if entry[0] >= since:
                    text = entry[-1].replace("\r\n", "\n").rstrip()
                    what = f" {entry[1]}" if len(entry) == 3 else ""
                    lines.append((entry[0], f"--- {label}{what} at {entry[0] / 1000:.3f}\n{text}"))
        lines.sort(key=lambda item: item[0])
        out = ["=== SIP traces (webvoice debug log and JsSIP's WebSocket), by time ==="]
        out += [text for _, text in lines]
        out.append("=== Kamailio log over the test ===")
        out.append(self.kamailio.log_text()[offset:].rstrip())
        for label, page in (("webvoice", self.wv), ("JsSIP", self.js)):
            console = [line for line in page.console.lines[page.console_mark:]
                       if "sending to" not in line and "received from" not in line]
            out.append(f"=== {label} page console ===")
            out += console
        return out


class _Report:
    """What conftest's report hook prints for a failing test (lazily built)."""

    def __init__(self, phones: Phones):
        self._phones = phones

    @property
    def lines(self) -> list[str]:
        return self._phones.report()

    def __str__(self) -> str:
        return "\n".join(self.lines)


@pytest.fixture(scope="module")
def server():
    ensure_bundle()
    if not (BUILD_WEB / "wheels" / "index.json").exists():
        pytest.fail(f"{BUILD_WEB} is not assembled: run `make assets` first")
    with StaticServer(MOUNTS) as srv:
        yield srv


def open_jssip_phone(page, server):
    """The JsSIP page as a softphone: JsSIP loaded (by the page's own loader),
    then jssip-phone.js, which makes window.phone."""
    page.goto(server.url(JSSIP_PAGE))
    page.wait_for_function("window.benchReady === true", timeout=10_000)
    page.evaluate("(src) => benchLoadJsSIP(src)", JSSIP_BUNDLE_URL)
    page.add_script_tag(url=server.url(PHONE_SCRIPT))
    page.wait_for_function("Boolean(window.JsSIP && window.phone)", timeout=10_000)


def _page(browser):
    context = browser.new_context()
    page = context.new_page()
    page.console = ConsoleLog(page)
    page.console_mark = 0
    return page


@pytest.fixture(scope="module")
def phones(browser, server, kamailio):
    t0 = time.monotonic()
    js = _page(browser)
    open_jssip_phone(js, server)
    # Registration runs while webvoice boots.
    js.evaluate("""(a) => { window.started = phone.start(a).then(() => "ok", (e) => String(e)); }""",
                {"user": JS_USER, "password": kamailio.users[JS_USER], "wsUrl": kamailio.ws_url,
                 "domain": kamailio.domain})
    wv = _page(browser)
    boot_webvoice(wv, server)
    py(wv, PHONE)
    args = {"sip_login": WV_USER, "sip_password": kamailio.users[WV_USER], "ws_url": kamailio.ws_url,
            "realm": kamailio.domain, "debug": True}
    py(wv, f"""
sip = webvoice.create_sip_instance(**json.loads({json.dumps(json.dumps(args))}))
sip.on_incoming_call(on_incoming)
await sip.register()
""")
    assert js.evaluate("() => window.started") == "ok", str(js.console)
    print(f"\nboth phones up in {time.monotonic() - t0:.1f} s (JsSIP {js.evaluate('() => JsSIP.version')})")
    yield Phones(wv, js, kamailio)
    for page in (wv, js):
        page.context.close()


@pytest.fixture(autouse=True)
def one_call_at_a_time(phones, request):
    """Start with no call on either side; afterwards hang up whatever is left and
    wait until both sides are idle, so that a failed test does not spoil the next."""
    p = phones
    py(p.wv, "await wait_for(lambda: live() == 0, 10)\nevents.clear(); incoming.clear(); calls.clear()")
    p.jsv("phone.waitFor(() => phone.live() === 0, 10000, 'no live JsSIP session')")
    p.jsv("phone.reset()")
    for page in (p.wv, p.js):
        page.console_mark = len(page.console.lines)
    p.mark()
    request.node.browser_console = _Report(p)
    yield
    # webvoice hangs up first (not both at once: crossing BYEs are not the point
    # here); JsSIP only if its session outlived that.
    py(p.wv, "for c in calls:\n    c.terminate()\nawait wait_for(lambda: live() == 0, 10)")
    p.jsv("""phone.waitFor(() => phone.live() === 0, 3000).catch(() => {
        phone.sessions.forEach((s) => { if (!s.isEnded()) s.terminate(); });
        return phone.waitFor(() => phone.live() === 0, 10000, 'no live JsSIP session');
    })""")


# --- steps ----------------------------------------------------------------------------------------

DIRECTIONS = ["webvoice_calls_jssip", "jssip_calls_webvoice"]


def connect(p: Phones, direction: str) -> None:
    """Set up a call both sides report established; ``call`` is webvoice's end of it."""
    if direction == "webvoice_calls_jssip":
        py(p.wv, f"""
call = await sip.call({JS_USER!r}, {{name: record(name) for name in CALL_EVENTS}})
calls.append(call)
await wait_for(call.is_established)
""")
        p.jsv("phone.waitForEvent('confirmed')")
    else:
        p.jsv("phone.call(arg)", f"sip:{WV_USER}@{p.kamailio.domain}")
        p.jsv("phone.waitForEvent('confirmed')")
        py(p.wv, "await wait_for(lambda: incoming and incoming[-1].call.is_established())\n"
                 "call = incoming[-1].call")


def both_inbound_growth(p: Phones, seconds: float = 1.0) -> tuple[dict, dict]:
    """Inbound RTP growth over the same second on both sides: (webvoice, JsSIP)."""
    p.jsv("{ window.growth = phone.inboundGrowth(arg); }", int(seconds * 1000))
    wv = py(p.wv, f"await inbound_growth({seconds})")
    return wv, p.jsv("window.growth")


def settled_inbound_growth(p: Phones, done, timeout: float = 10.0) -> tuple[dict, dict]:
    """``both_inbound_growth`` once ``done(wv, js)`` holds (packets in flight
    and renegotiations waited out on a condition, not a fixed sleep); after
    ``timeout`` the last measure, for the caller's assertion to report."""
    deadline = time.monotonic() + timeout
    while True:
        wv, js = both_inbound_growth(p)
        if done(wv, js) or time.monotonic() > deadline:
            return wv, js


def _audible_both_ways(wv: dict, js: dict) -> bool:
    return wv["packets"] > 20 and js["packets"] > 20 and wv["energy"] > AUDIBLE and js["energy"] > AUDIBLE


def js_requests(p: Phones, way: str, method: str) -> int:
    """How many ``method`` requests JsSIP's WebSocket carried ``way`` ("sent" or
    "received") since the test began (retransmissions included)."""
    return p.jsv("phone.trace.filter(([t, way, text]) => t >= arg[0] && way === arg[1]"
                 " && text.startsWith(arg[2] + ' ')).length", [p.marks[0], way, method])


def js_events(p: Phones, tag: str) -> list[dict]:
    return p.jsv("phone.events.filter((e) => e.tag === arg)", tag)


def wv_events(p: Phones, tag: str) -> list[list]:
    return py(p.wv, f"tagged({tag!r})")


# --- scenarios ------------------------------------------------------------------------------------


@pytest.mark.parametrize("closer", ["webvoice", "jssip"], ids=["webvoice_hangs_up", "jssip_hangs_up"])
@pytest.mark.parametrize("direction", DIRECTIONS)
def test_call_audio_and_hang_up(phones, direction, closer):
    p = phones
    connect(p, direction)
    # Who is who, as each stack sees it.
    if direction == "webvoice_calls_jssip":
        assert p.jsv("phone.current.remote_identity.uri.toString()") == f"sip:{WV_USER}@{p.kamailio.domain}"
        assert p.jsv("phone.current.direction") == "incoming"
        assert [e[0] for e in wv_events(p, "confirmed")] == ["confirmed"]
    else:
        assert py(p.wv, "incoming[-1].event.session.remote_identity.uri") == f"sip:{JS_USER}@{p.kamailio.domain}"
        assert p.jsv("phone.current.direction") == "outgoing"
    assert py(p.wv, "call.get_direction()") == ("outgoing" if direction == "webvoice_calls_jssip" else "incoming")
    # Audio both ways.
    wv, js = both_inbound_growth(p)
    assert wv["packets"] > 20 and js["packets"] > 20, (wv, js)
    assert wv["energy"] > AUDIBLE and js["energy"] > AUDIBLE, (wv, js)
    # Hang up; both ends see the call end.
    if closer == "webvoice":
        py(p.wv, "call.terminate()\nawait wait_for(call.is_ended)")
        p.jsv("phone.waitForEvent('ended')")
        local, remote = py(p.wv, "tagged('ended')"), js_events(p, "ended")
        assert len(remote) == 1 and remote[0]["originator"] == "remote" and remote[0]["cause"] == "Terminated", remote
        assert len(local) == 1 and local[0][1:3] == ["Terminated", "local"], local
    else:
        p.jsv("phone.current.terminate()")
        py(p.wv, "await wait_for(call.is_ended)")
        local, remote = js_events(p, "ended"), py(p.wv, "tagged('ended')")
        assert len(remote) == 1 and remote[0][1] == "Bye" and remote[0][2] == "remote", remote
        assert len(local) == 1 and local[0]["originator"] == "local" and local[0]["cause"] == "Terminated", local
    assert not wv_events(p, "failed") and not js_events(p, "failed")
    py(p.wv, "await wait_for(lambda: live() == 0, 5)")
    assert py(p.wv, "len(js.document.querySelectorAll('audio[data-webvoice-line]'))") == 0
    assert p.jsv("phone.live()") == 0
    assert p.jsv("document.querySelectorAll('audio[data-jssip-session]').length") == 0


@pytest.mark.parametrize("direction", DIRECTIONS)
def test_dtmf_by_info_both_ways(phones, direction):
    p = phones
    connect(p, direction)
    # webvoice -> JsSIP: four INFOs (application/dtmf-relay), newDTMF for each, in order.
    assert py(p.wv, 'await call.send_dtmf("123#", transport_type="INFO", duration=100, inter_tone_gap=70)') \
        in (None, True)
    p.jsv("phone.waitFor(() => phone.events.filter((e) => e.tag === 'newDTMF').length >= 4, 10000, '4 DTMF')")
    got = js_events(p, "newDTMF")
    assert [(e["tone"], e["originator"]) for e in got] == [(t, "remote") for t in "123#"], got
    assert {e["duration"] for e in got} == {100}, got
    assert not js_events(p, "newInfo")  # none fell through as a generic INFO
    # JsSIP -> webvoice: JsSIP's INFOs become new_dtmf events, in order, each answered 200.
    p.jsv("phone.current.sendDTMF('123#', {transportType: 'INFO', duration: 100, interToneGap: 70})")
    py(p.wv, "await wait_for(lambda: len(tagged('new_dtmf')) >= 4)")
    got = wv_events(p, "new_dtmf")
    assert [(e[3], e[2]) for e in got] == [(t, "remote") for t in "123#"], got
    assert {e[5] for e in got} == {100}, got
    p.jsv("phone.waitFor(() => phone.events.filter((e) => e.tag === 'dtmfSucceeded').length >= 4, 5000, 'INFO 200s')")
    assert [e["status"] for e in js_events(p, "dtmfSucceeded")] == [200] * 4
    assert not js_events(p, "dtmfFailed")
    assert py(p.wv, "call.is_established()") and p.jsv("phone.current.isEstablished()")


@pytest.mark.parametrize("method", ["reinvite", "update"])
@pytest.mark.parametrize("direction", DIRECTIONS)
def test_hold_from_webvoice(phones, direction, method):
    p = phones
    connect(p, direction)
    options = {"use_update": method == "update"}
    assert py(p.wv, f"await call.hold_with_options({options!r})") is True
    hold = p.jsv("phone.waitForEvent('hold')")
    assert hold["originator"] == "remote", hold
    assert p.jsv("phone.current.isOnHold()") == {"local": False, "remote": True}
    assert py(p.wv, "[e[2] for e in tagged('held')]") == ["local"]
    wv, js = settled_inbound_growth(p, lambda wv, js: js["packets"] <= 3 and wv["packets"] <= 3)
    # webvoice takes its microphone off the sender: no RTP reaches JsSIP at all;
    # JsSIP answered a=recvonly, so it sends nothing either.
    assert js["packets"] <= 3 and js["energy"] < SILENCE, ("JsSIP still receives audio while webvoice holds", js)
    assert wv["packets"] <= 3, ("webvoice still receives audio while it holds", wv)
    assert py(p.wv, f"await call.unhold_with_options({options!r})") is True
    unhold = p.jsv("phone.waitForEvent('unhold')")
    assert unhold["originator"] == "remote", unhold
    assert p.jsv("phone.current.isOnHold()") == {"local": False, "remote": False}
    wv, js = settled_inbound_growth(p, _audible_both_ways)
    assert wv["packets"] > 20 and js["packets"] > 20, (wv, js)
    assert wv["energy"] > AUDIBLE and js["energy"] > AUDIBLE, (wv, js)
    assert js_requests(p, "received", "UPDATE") == (2 if method == "update" else 0)


@pytest.mark.parametrize("method", ["reinvite", "update"])
@pytest.mark.parametrize("direction", DIRECTIONS)
def test_hold_from_jssip(phones, direction, method):
    p = phones
    connect(p, direction)
    options = {"useUpdate": method == "update"}
    assert p.jsv("phone.hold(arg)", options) is True
    py(p.wv, "await wait_for(lambda: tagged('held'))")
    assert [e[2] for e in wv_events(p, "held")] == ["remote"]
    assert py(p.wv, "[call.is_on_hold().local, call.is_on_hold().remote]") == [False, True]
    assert [e["originator"] for e in js_events(p, "hold")] == ["local"]
    wv, js = settled_inbound_growth(p, lambda wv, js: js["packets"] <= 3 and wv["energy"] < SILENCE)
    assert js["packets"] <= 3, ("JsSIP still receives audio while it holds", js)
    # webvoice answered the a=sendonly offer with a=recvonly, as RFC 3264 says;
    # JsSIP keeps its transceiver sendrecv and only disables its microphone
    # track, so RTP keeps coming (~50 packets/s), but it carries silence. What
    # the held party hears is what counts: the audio energy stops growing.
    assert wv["energy"] < SILENCE, ("webvoice still hears audio while JsSIP holds it", wv)
    assert p.jsv("phone.unhold(arg)", options) is True
    py(p.wv, "await wait_for(lambda: tagged('unheld'))")
    assert [e[2] for e in wv_events(p, "unheld")] == ["remote"]
    assert py(p.wv, "[call.is_on_hold().local, call.is_on_hold().remote]") == [False, False]
    wv, js = settled_inbound_growth(p, _audible_both_ways)
    assert wv["packets"] > 20 and js["packets"] > 20, (wv, js)
    assert wv["energy"] > AUDIBLE and js["energy"] > AUDIBLE, (wv, js)
    assert js_requests(p, "sent", "UPDATE") == (2 if method == "update" else 0)


def test_messages_both_ways(phones):
    """RFC 3428 MESSAGE between JsSIP (ua.sendMessage, newMessage) and webvoice
    (send_message, on_message), through Kamailio, both ways."""
    p = phones
    p.jsv("""{ window.jsInbox = [];
              phone.ua.on('newMessage', ({originator, message, request}) => {
                if (originator === 'remote') window.jsInbox.push([request.from.uri.toString(), request.body]);
              }); }""")
    py(p.wv, "wv_inbox = []\nsip.on_message(lambda m: wv_inbox.append([m.sender, m.body, m.content_type]))")
    assert py(p.wv, f"await sip.send_message({JS_USER!r}, 'hello from webvoice ✓')") == 200
    p.jsv("phone.waitFor(() => window.jsInbox.length > 0, 10000, 'the MESSAGE at JsSIP')")
    assert p.jsv("window.jsInbox") == [[f"sip:{WV_USER}@{p.kamailio.domain}", "hello from webvoice ✓"]]
    status = p.jsv("""new Promise((resolve) => phone.ua.sendMessage(arg, 'hello from JsSIP', {eventHandlers: {
        succeeded: (e) => resolve(e.response.status_code), failed: (e) => resolve(e.cause)}}))""",
                   f"sip:{WV_USER}@{p.kamailio.domain}")
    assert status == 200
    py(p.wv, "await wait_for(lambda: wv_inbox)")
    assert py(p.wv, "wv_inbox") == [[f"sip:{JS_USER}@{p.kamailio.domain}", "hello from JsSIP", "text/plain"]]
