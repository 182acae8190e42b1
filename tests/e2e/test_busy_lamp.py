"""Busy lamps in Chromium through Kamailio's presence server (RFC 4235).

alice watches bob's line; carol calls bob. alice's page must see early
(ringing), confirmed and terminated, each within 1 s of the change on the
page where it happened (all pages share the machine's clock: ``Date.now()``).
Every wait is a condition with a generous bound.
"""

from __future__ import annotations

import pytest

from devtools.kamailio_server import kamailio  # noqa: F401  (fixture)
from devtools.pyrun import py

from .test_calls import make_phone

NOW = "from js import Date\n"


@pytest.fixture(scope="module")
def trio(browser, static_server, kamailio):
    pages = [make_phone(browser, static_server, kamailio, user) for user in ("alice", "bob", "carol")]
    for page in pages:
        py(page, NOW)
    yield pages
    for page in pages:
        page.context.close()


def test_alice_sees_bobs_line_ring_talk_and_hang_up(trio):
    alice, bob, carol = trio
    py(alice, """
lamps = []
watch = sip.watch_line('bob', lambda e: lamps.append([e.state, e.direction, e.remote, Date.now()]))
await wait_for(lambda: lamps)
""")
    assert py(alice, "lamps[0][0]") == "terminated"  # idle
    py(bob, "mode['answer'] = 'manual'\nincoming.clear()\nrang_at = None")
    py(bob, """
def on_incoming_timed(request):
    global rang_at
    rang_at = Date.now()
    on_incoming(request)
sip.on_incoming_call(on_incoming_timed)
""")
    py(carol, "call = await sip.call('bob', {})")
    py(bob, "await wait_for(lambda: incoming)")
    py(alice, "await wait_for(lambda: any(l[0] == 'early' for l in lamps))")
    state, direction, remote, seen_at = py(alice, "next(l for l in lamps if l[0] == 'early')")
    assert (direction, remote) == ("recipient", "sip:carol@webvoice.test")
    assert seen_at - py(bob, "rang_at") < 1000

    py(bob, "answered_at = Date.now()\nincoming[-1].accept()\nawait wait_for(incoming[-1].call.is_established)")
    py(alice, "await wait_for(lambda: lamps[-1][0] == 'confirmed')")
    assert py(alice, "lamps[-1][3]") - py(bob, "answered_at") < 1000

    py(carol, "ended_at = Date.now()\ncall.terminate()\nawait wait_for(call.is_ended)")
    py(alice, "await wait_for(lambda: lamps[-1][0] == 'terminated' and len(lamps) > 2)")
    assert py(alice, "lamps[-1][3]") - py(carol, "ended_at") < 1000
    assert [lamp[0] for lamp in py(alice, "lamps")] == ["terminated", "early", "confirmed", "terminated"]
    py(alice, "watch.stop()\nawait wait_for(lambda: not sip._ua.subscriptions)")
    assert py(alice, "watch.active") is False
