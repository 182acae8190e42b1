"""Media health in Chromium through Kamailio (beyond the JS SDK): a call whose
media cannot connect says why and ends itself; a call whose network breaks
comes back by itself; a call on hold, which carries no audio, is not taken
for a stalled one.

Both pages use relay-only ICE through a coturn TURN relay on loopback (the
``relay`` fixture), so the test can break the media path: killing the relay
stalls the call's packets, starting it again lets an ICE restart bring them
back.

The caller's page is instrumented before webvoice boots
(devtools/pages/mangle-answer.js): it spoils the answer the browser
applies, so SIP completes normally while media cannot: a DTLS fingerprint that
cannot match (DTLS fails once ICE connects), or a wrong ICE password (ICE
never connects: only the watchdog notices).
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time

import pytest

from devtools.kamailio_server import kamailio  # noqa: F401  (fixture)
from devtools.partial_run import skip_or_fail
from devtools.pyrun import py
from devtools.web import REPO
from tests.e2e.test_calls import make_phone

MANGLE = REPO / "devtools" / "pages" / "mangle-answer.js"
WATCHDOG = 3  # ua_config["media_timeout"] of the caller
# ua_config["media_stall_timeout"] of the caller: it notices a dead relay this soon,
# well before Chromium's own ~10 s; the callee trusts Chromium alone (0).
STALL = 2

HEALTH = ("media_connected", "media_interrupted", "media_recovered", "media_failed")
RECORD = """
import logging, time
class Warnings(logging.Handler):
    def emit(self, record):
        warnings.append(record.getMessage())
warnings = []  # webvoice's log lines of WARNING and above
logging.getLogger("webvoice").addHandler(Warnings(logging.WARNING))
health = []
offers = []  # the caller's offers: [time, has candidates]
def health_handler(tag):
    def handler(event):
        health.append([tag, event.cause, event.state, event.connection, event.ice, time.monotonic()])
    return handler
def on_sdp(event):
    if (event.originator, event.type) == ("local", "offer"):
        offers.append([time.monotonic(), "\\na=candidate:" in event.sdp])
"""


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        udp.bind(("127.0.0.1", 0))
        return udp.getsockname()[1]


class Relay:
    """coturn on loopback (long-term credentials u:p), which a test can stop and start again."""

    def __init__(self) -> None:
        self.binary = shutil.which("turnserver")
        self.port = _free_port()
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [self.binary, "-n", "--listening-ip=127.0.0.1", "--relay-ip=127.0.0.1", "--allow-loopback-peers",
             "--lt-cred-mech", "--user=u:p", "--realm=webvoice.test", "--no-tls", "--no-dtls", "--no-cli",
             f"--listening-port={self.port}", "--log-file=stdout"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(100):  # listening: it answers a STUN binding request (bounded: 10 s)
            if self._answers():
                return
            time.sleep(0.1)
        raise AssertionError(f"turnserver did not start on port {self.port}")

    def _answers(self) -> bool:
        request = b"\x00\x01\x00\x00\x21\x12\xa4\x42" + b"webvoice-tst"
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.settimeout(0.2)
            udp.sendto(request, ("127.0.0.1", self.port))
            try:
                return udp.recv(2048)[:2] == b"\x01\x01"
            except OSError:
                return False

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=10)
            self.process = None

    @property
    def pc_config(self) -> dict:
        return {"iceTransportPolicy": "relay", "iceServers": [
            {"urls": f"turn:127.0.0.1:{self.port}?transport=udp", "username": "u", "credential": "p"}]}


@pytest.fixture(scope="module")
def relay():
    if shutil.which("turnserver") is None:
        skip_or_fail("coturn's turnserver is not installed (tools/install_deps.sh installs it)")
    server = Relay()
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def phones(browser, static_server, kamailio, relay):
    options = {"call_options": {"pc_config": relay.pc_config}}
    caller = make_phone(browser, static_server, kamailio, "carol", init_script=MANGLE,
                        ua_config={"media_timeout": WATCHDOG, "media_stall_timeout": STALL}, **options)
    callee = make_phone(browser, static_server, kamailio, "dave", ua_config={"media_stall_timeout": 0}, **options)
    for page in (caller, callee):
        py(page, RECORD)
    yield caller, callee
    for page in (caller, callee):
        page.context.close()


def call(caller, callee):
    py(callee, "events.clear(); incoming.clear(); health.clear(); mode['answer'] = 'accept'")
    py(caller, f"""
events.clear(); health.clear(); offers.clear()
handlers = {{name: record(name) for name in CALL_EVENTS}}
handlers.update({{name: health_handler(name) for name in {HEALTH!r}}}, sdp=on_sdp)
call = await sip.call("dave", handlers)
await wait_for(lambda: call.is_established() or call.is_ended())
answered = time.monotonic()
""")
    py(callee, f"""
await wait_for(lambda: incoming)
bcall = incoming[-1].call
for name in {HEALTH!r}:
    bcall.on(name, health_handler(name))
""")


def test_healthy_call_reports_media_connected_in_events_stats_and_lines(phones):
    caller, callee = phones
    caller.evaluate("window.webvoiceMangle = null")
    call(caller, callee)
    py(caller, "await wait_for(lambda: health)")
    assert [h[0] for h in py(caller, "health")] == ["media_connected"]
    py(callee, "await wait_for(lambda: bcall.get_media_state() == 'connected')")
    stats = py(caller, "await call.get_stats()")
    assert stats["media"] == {"state": "connected", "connection": "connected", "ice": "connected"}
    assert py(caller, "sip.get_call_lines()[0].media_state") == "connected"
    # The stall watch's cheap probe (getSynchronizationSources): its mark moves while
    # audio arrives, and then the watch's samples need no stats report.
    first = py(caller, "await call.media.arrival_mark()")
    py(caller, "await asyncio.sleep(0.5)")
    assert py(caller, "await call.media.arrival_mark()") > first
    py(caller, "await asyncio.sleep(2)")  # the watch's first sample (its baseline) is a full one
    caller.evaluate("""() => {
      window.statsReports = 0;
      const getStats = RTCPeerConnection.prototype.getStats;
      RTCPeerConnection.prototype.getStats = function (...args) {
        window.statsReports++;
        return getStats.apply(this, args);
      };
    }""")
    py(caller, "await asyncio.sleep(5)")  # two samples at least (STALL_INTERVAL: 2 s)
    assert caller.evaluate("window.statsReports") == 0
    py(caller, "call.terminate()\nawait wait_for(call.is_ended)")
    py(callee, "await wait_for(bcall.is_ended)")


@pytest.mark.parametrize("mangle,cause", [("fingerprint", "DTLS"), ("ice-pwd", "ICE")])
def test_media_that_cannot_connect_fails_with_its_cause_and_the_call_ends_on_both_sides(phones, mangle, cause):
    caller, callee = phones
    caller.evaluate(f"window.webvoiceMangle = {mangle!r}")
    try:
        call(caller, callee)
        if mangle == "ice-pwd":  # established, media not: DTMF says what is wrong
            dtmf_error = py(caller, """
try:
    await call.send_dtmf("1")
    dtmf_error = None
except Exception as exc:
    dtmf_error = [type(exc).__name__, str(exc)]
dtmf_error
""")
            assert dtmf_error[0] == "MediaError" and "media is not connected" in dtmf_error[1], dtmf_error
            assert "telephone-event" not in dtmf_error[1]
        # Bounded from outside: pyrun's own timeout; the page's wait is 4x the watchdog.
        py(caller, f"await wait_for(call.is_ended, timeout={4 * WATCHDOG})")
    finally:
        caller.evaluate("window.webvoiceMangle = null")
    assert caller.evaluate("window.webvoiceMangled") >= 1
    health = py(caller, "health")
    assert [h[0] for h in health] == ["media_failed"], health
    assert health[0][1] == cause and health[0][2] == "failed"
    elapsed = health[0][5] - py(caller, "answered")
    assert elapsed <= WATCHDOG + 1.5, elapsed  # the watchdog's bound is the point
    ended = [e for e in py(caller, "events") if e[0] in ("ended", "failed")]
    assert ended == [["ended", "WebRTC Error", "local", None, None]], ended
    py(callee, "await wait_for(bcall.is_ended)")
    assert [e[:3] for e in py(callee, "events") if e[0] in ("ended", "failed")] == [["ended", "Bye", "remote"]]
    assert py(caller, "sip.get_call_lines()") == []
    assert py(caller, "audio_state()")["audio_elements"] == 0


def test_a_relay_outage_is_healed_by_an_ice_restart(phones, relay):
    caller, callee = phones
    caller.evaluate("window.webvoiceMangle = null")
    call(caller, callee)
    py(caller, "await wait_for(lambda: call.get_media_state() == 'connected')")
    py(callee, "await wait_for(lambda: bcall.get_media_state() == 'connected')")
    assert py(caller, "await inbound_growth(call, 0.5)") > 5  # audio through the relay
    assert "typ relay" in py(caller, "call.get_connection().remoteDescription.sdp")
    transport = py(caller, "(await call.get_stats())['transport']")
    assert transport["bytes_received"] > 0 and transport["responses_received"] > 0, transport
    relay.stop()
    stopped = py(caller, "time.monotonic()")
    # The caller notices nothing arrives within STALL s (and a sample); the callee
    # waits for Chromium, whose consent checks go unanswered for about 10 s.
    py(caller, "await wait_for(lambda: call.get_media_state() == 'interrupted', timeout=30)", timeout=40)
    py(callee, "await wait_for(lambda: bcall.get_media_state() == 'interrupted', timeout=30)", timeout=40)
    assert py(caller, "await inbound_growth(call, 0.5)") == 0  # the audio stopped
    relay.start()
    back = py(caller, "time.monotonic()")
    py(caller, "await wait_for(lambda: call.get_media_state() == 'connected', timeout=30)", timeout=40)
    py(callee, "await wait_for(lambda: bcall.get_media_state() == 'connected', timeout=30)", timeout=40)
    health = py(caller, "health")
    assert [h[0] for h in health] == ["media_connected", "media_interrupted", "media_recovered"], health
    assert health[1][1:3] == ["RTP", "interrupted"], health  # the caller's own watch, not Chromium's
    assert health[1][5] - stopped <= STALL + 2.5, health
    assert health[2][5] - back <= 10, health  # restored within 10 s of the relay being back
    # While the relay was down the caller's restarts gathered nothing: none was offered
    # (a re-INVITE that could not connect); any it offered since carried candidates
    # (the callee's own restart may have healed the call first).
    restarts = py(caller, "offers")[1:]  # after the call's own offer
    assert [o for o in restarts if o[0] < back] == [], (restarts, back)
    assert all(o[1] for o in restarts), restarts
    # Each restart that gathered nothing is one warning, saying why it was not offered.
    warnings = py(caller, "warnings")
    futile = [w for w in warnings if "cannot re-offer" in w and "no ICE candidate gathered" in w]
    assert futile and not [w for w in warnings if w.startswith("line ")], warnings
    assert py(caller, "await inbound_growth(call, 0.5)") > 5
    callee_health = py(callee, "health")
    # (the callee's handlers come after its answer, sometimes after media_connected)
    assert [h[:2] for h in callee_health][-2:] == [["media_interrupted", "ICE"], ["media_recovered", None]], \
        callee_health  # Chromium's own word: its consent checks went unanswered
    assert call_alive(caller, callee)
    py(caller, "call.terminate()\nawait wait_for(call.is_ended)")
    py(callee, "await wait_for(bcall.is_ended)")


def call_alive(caller, callee) -> bool:
    return py(caller, "call.is_established()") and py(callee, "bcall.is_established()")


def test_a_call_held_longer_than_the_stall_timeout_is_not_a_stall(phones):
    """On hold no RTP arrives at all (webvoice takes the microphone off the
    sender). The caller's watch would call 2 s of nothing a stall; in Chromium
    consent answers and RTCP still arrive on hold, and the watch does not judge
    a held call anyway (tests/driver/test_media_health.py shows that part with
    nothing arriving). Resumed, the call is judged again and stays connected."""
    caller, callee = phones
    caller.evaluate("window.webvoiceMangle = null")
    call(caller, callee)
    py(caller, "await wait_for(lambda: call.get_media_state() == 'connected')")
    py(callee, "await wait_for(lambda: bcall.get_media_state() == 'connected')")
    py(caller, "await call.hold()")
    assert py(callee, "await settled_growth(bcall, False)") <= 3, "the held party receives no RTP"
    assert py(caller, f"await inbound_growth(call, {3 * STALL})") <= 3, "nor does the holding one"
    assert py(caller, "call.get_media_state()") == "connected"
    py(caller, "await call.unhold()")
    assert py(caller, "await settled_growth(call, True)") > 20
    py(caller, f"await asyncio.sleep({2 * STALL})")
    assert [h[0] for h in py(caller, "health")] == ["media_connected"], py(caller, "health")
    assert [h[0] for h in py(callee, "health")] in (["media_connected"], []), py(callee, "health")
    py(caller, "call.terminate()\nawait wait_for(call.is_ended)")
    py(callee, "await wait_for(bcall.is_ended)")
