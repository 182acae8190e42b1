"""Media health in Chromium through Kamailio (beyond the JS SDK): a call whose
media cannot connect says why and ends itself.

The caller's page is instrumented before webvoice boots
(tests/support/pages/mangle-answer.js): it spoils the answer the browser
applies, so SIP completes normally while media cannot: a DTLS fingerprint that
cannot match (DTLS fails once ICE connects), or a wrong ICE password (ICE
never connects: only the watchdog notices).
"""

from __future__ import annotations

import pytest

from tests.e2e.test_calls import make_phone
from tests.support.kamailio_server import kamailio  # noqa: F401  (fixture)
from tests.support.pyrun import py
from tests.support.web import REPO

MANGLE = REPO / "tests" / "support" / "pages" / "mangle-answer.js"
WATCHDOG = 3  # ua_config["media_timeout"] of the caller

HEALTH = ("media_connected", "media_interrupted", "media_recovered", "media_failed")
RECORD = """
import time
health = []
def health_handler(tag):
    def handler(event):
        health.append([tag, event.cause, event.state, event.connection, event.ice, time.monotonic()])
    return handler
"""


@pytest.fixture(scope="module")
def phones(browser, static_server, kamailio):
    caller = make_phone(browser, static_server, kamailio, "carol", init_script=MANGLE,
                        ua_config={"media_timeout": WATCHDOG})
    callee = make_phone(browser, static_server, kamailio, "dave")
    for page in (caller, callee):
        py(page, RECORD)
    yield caller, callee
    for page in (caller, callee):
        page.context.close()


def call(caller, callee):
    py(callee, "events.clear(); incoming.clear(); health.clear(); mode['answer'] = 'accept'")
    py(caller, f"""
events.clear(); health.clear()
handlers = {{name: record(name) for name in CALL_EVENTS}}
handlers.update({{name: health_handler(name) for name in {HEALTH!r}}})
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
    py(caller, "call.terminate()\nawait wait_for(call.is_ended)")
    py(callee, "await wait_for(bcall.is_ended)")


@pytest.mark.parametrize("mangle,cause", [("fingerprint", "DTLS"), ("ice-pwd", "ICE")])
def test_media_that_cannot_connect_fails_with_its_cause_and_the_call_ends_on_both_sides(phones, mangle, cause):
    caller, callee = phones
    caller.evaluate(f"window.webvoiceMangle = {mangle!r}")
    try:
        call(caller, callee)
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
