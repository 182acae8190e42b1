"""Early media from a reliable 183 (RFC 3262), heard before the answer: two Chromium pages through Kamailio.

Alice calls bob, whose page lets the call ring, then starts early media
(``incoming.progress()``): bob's webvoice sends a reliable 183 with its SDP
answer (Alice's INVITE offers 100rel), Alice's webvoice PRACKs it through
Kamailio and Bob answers the PRACK 200. Alice then hears Bob (real WebRTC
audio: Chromium's fake microphone) while the call is still unanswered; the
ringback tone is off. Bob accepts, the call is confirmed and audio still flows.
Both pages log their SIP traffic (``debug=True``) so the test sees the PRACK.
"""

from __future__ import annotations

import pytest

from devtools.kamailio_server import kamailio  # noqa: F401  (fixture)
from devtools.pyrun import py
from tests.e2e.test_calls import make_phone

SIP_LOG = """
import logging
sip_log = []

class _Keep(logging.Handler):
    def emit(self, record):
        sip_log.append(record.getMessage())

logging.getLogger("webvoice").addHandler(_Keep())

def sent(start):
    return [m.split(":\\n", 1)[1] for m in sip_log if m.startswith("sending") and m.split(":\\n", 1)[1].startswith(start)]

def received(start):
    return [m.split(":\\n", 1)[1] for m in sip_log if m.startswith("received") and m.split(":\\n", 1)[1].startswith(start)]
"""


@pytest.fixture(scope="module")
def phones(browser, static_server, kamailio):  # noqa: F811
    caller = make_phone(browser, static_server, kamailio, "alice", prelude=SIP_LOG, debug=True)
    callee = make_phone(browser, static_server, kamailio, "bob", prelude=SIP_LOG, debug=True)
    py(callee, "mode['answer'] = 'ring'")
    caller.mouse.click(5, 5)  # a person's click: the page may play sound
    yield caller, callee
    for page in (caller, callee):
        page.context.close()


def test_early_media_of_a_reliable_183_is_heard_before_the_answer(phones):
    caller, callee = phones
    py(callee, "incoming.clear()")
    py(caller, "call = await sip.call('bob')\nawait wait_for(lambda: call.get_status() == 'progress')")
    py(callee, "await wait_for(lambda: bool(incoming))\nassert await incoming[-1].progress() is True")
    py(caller, "await wait_for(lambda: any('PRACK' in m.split('CSeq:', 1)[1][:20] for m in received('SIP/2.0 200')))")
    early = py(caller, """
stats = await call.get_stats()
energy = stats["inbound"]["total_audio_energy"]
growth = await settled_growth(call, True)
stats = await call.get_stats()
{"growth": growth, "energy": stats["inbound"]["total_audio_energy"] - energy,
 "established": call.is_established(), "status": call.get_status(), "ringback": call.media.ringback_playing}
""")
    signalling = {
        "183": py(callee, "sent('SIP/2.0 183')"),
        "prack": py(caller, "sent('PRACK ')"),
        "prack_answered": py(callee, "[m for m in sent('SIP/2.0 200') if 'PRACK' in m.split('CSeq:', 1)[1][:20]]"),
        "invite_ok_before_answer": py(callee, "[m for m in sent('SIP/2.0 200') if 'INVITE' in m.split('CSeq:', 1)[1][:20]]"),
    }
    py(callee, "incoming[-1].accept()")
    py(caller, "await wait_for(call.is_established)")
    after = py(caller, "await settled_growth(call, True)")
    py(caller, "call.terminate()\nawait wait_for(call.is_ended)")
    py(callee, "await wait_for(incoming[-1].call.is_ended)")

    assert early["established"] is False and early["status"] == "progress", early
    assert early["growth"] > 20 and early["energy"] > 0, early  # heard before the answer
    assert early["ringback"] is False
    [reliable] = signalling["183"]
    assert "Require: 100rel" in reliable and "RSeq: " in reliable
    [prack] = signalling["prack"]
    rseq = reliable.split("RSeq: ", 1)[1].split("\r\n", 1)[0]
    assert f"RAck: {rseq} " in prack
    assert len(signalling["prack_answered"]) == 1
    assert signalling["invite_ok_before_answer"] == []
    assert after > 20
