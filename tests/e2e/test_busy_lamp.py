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
from devtools.sip_wire import WIRE, frames

from .test_calls import make_phone

NOW = "from js import Date\n"
#: On the page's wire: a SUBSCRIBE to the dialog package with Expires: 0, and the 200 to that very request.
UNSUBSCRIBED = r"""() => {
    const ends = window.sipWire.filter((f) => f.dir === "out" && /^SUBSCRIBE /.test(f.text)
        && /^Event: *dialog/im.test(f.text) && /^Expires: *0\s*$/im.test(f.text));
    return ends.some((end) => {
        const callId = /^Call-ID: *(\S+)/im.exec(end.text)[1];
        const cseq = new RegExp("^CSeq: *" + /^CSeq: *(\d+) SUBSCRIBE/im.exec(end.text)[1] + " SUBSCRIBE", "im");
        return window.sipWire.some((f) => f.dir === "in" && /^SIP\/2\.0 200 /.test(f.text)
            && f.text.includes(callId) && cseq.test(f.text));
    });
}"""


@pytest.fixture(scope="module")
def trio(browser, static_server, kamailio):
    pages = [make_phone(browser, static_server, kamailio, user, init_script=WIRE) for user in ("alice", "bob", "carol")]
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
    py(alice, "watch.stop()")
    assert py(alice, "watch.active") is False
    # On the wire: the watch is ended at the server (SUBSCRIBE with Expires: 0, answered 200).
    alice.wait_for_function(UNSUBSCRIBED, timeout=10_000)
    (end,) = [m for m in frames(alice, "out") if getattr(m, "method", None) == "SUBSCRIBE"
              and m.header("Expires") == 0]
    assert end.header("Event") == "dialog" and end.to.uri.user == "bob"  # in its dialog: To names bob
