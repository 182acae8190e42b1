"""Media-side public names, in Chromium through Kamailio (their natural tier):
mute_with_constraints/unmute_with_constraints, renegotiate, reset_local_media,
the sdp/icecandidate/unmuted call events, and session.connection().

Audio is measured, not flags: muting silences what the other page hears
(energy), a renegotiation and a microphone reset keep audio flowing both ways.
"""

from __future__ import annotations

from devtools.kamailio_server import kamailio  # noqa: F401  (fixture)
from devtools.pyrun import py
from tests.e2e.test_calls import hang_up, make_phone

MEDIA_EVENTS = """
media_log = []
def media_record(tag):
    def handler(event=None):
        if tag == "sdp":
            media_log.append([tag, event.originator, event.type, "a=candidate:" in event.sdp])
        elif tag == "icecandidate":
            media_log.append([tag, event.candidate.startswith("candidate:")])
        else:
            media_log.append([tag, {"audio": event.audio, "video": event.video}])
    return handler

async def energy_growth(call, seconds=1.0):
    first = (await call.get_stats())["inbound"].get("total_audio_energy", 0.0)
    await asyncio.sleep(seconds)
    return (await call.get_stats())["inbound"].get("total_audio_energy", 0.0) - first

async def until_energy(call, quiet, limit, timeout=10.0):
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        grown = await energy_growth(call)
        if (grown < limit if quiet else grown > limit) or loop.time() > deadline:
            return grown
"""


def test_media_controls_and_events(browser, static_server, kamailio):
    a = make_phone(browser, static_server, kamailio, "alice")
    b = make_phone(browser, static_server, kamailio, "bob")
    try:
        for page in (a, b):
            py(page, MEDIA_EVENTS)
        py(b, "events.clear(); incoming.clear(); mode['answer'] = 'accept'")
        py(a, """
call = await sip.call('bob', {n: media_record(n) for n in ('sdp', 'icecandidate', 'muted', 'unmuted')})
await wait_for(call.is_established)
""")
        py(b, "await wait_for(lambda: incoming and incoming[-1].call.is_established())\nbcall = incoming[-1].call")
        log = py(a, "media_log")
        assert ["sdp", "local", "offer", True] in log  # the offer went out with candidates
        assert ["sdp", "remote", "answer", True] in log
        assert ["icecandidate", True] in log
        # session.connection() is the line's RTCPeerConnection
        assert py(b, "incoming[-1].event.session.connection().connectionState") == "connected"
        assert py(b, "bcall.get_connection() is incoming[-1].event.session.connection()") is True

        loud = py(b, "await until_energy(bcall, quiet=False, limit=0.01)")
        assert loud > 0.01
        assert py(a, "call.mute_with_constraints({'audio': True})") is True
        assert py(a, "call.mute_with_constraints({'audio': True})") is False  # once
        assert py(b, f"await until_energy(bcall, quiet=True, limit={loud / 100})") < loud / 100
        assert py(a, "call.is_muted().audio") is True
        assert py(a, "call.unmute_with_constraints({'audio': True})") is True
        assert py(a, "[e for e in media_log if e[0] in ('muted', 'unmuted')]") == [
            ["muted", {"audio": True, "video": False}], ["unmuted", {"audio": True, "video": False}]]
        assert py(b, "await until_energy(bcall, quiet=False, limit=0.01)") > 0.01

        # renegotiate (re-INVITE, then UPDATE with an ICE restart): answered, audio both ways
        py(a, "media_log.clear()")
        assert py(a, "await call.renegotiate()") is True
        assert py(a, "await call.renegotiate(ice_restart=True, use_update=True)") is True
        offers = [e for e in py(a, "media_log") if e[0] == "sdp" and e[1] == "local"]
        assert len(offers) == 2, offers
        assert py(a, "await settled_growth(call, flowing=True)") > 20
        assert py(b, "await settled_growth(bcall, flowing=True)") > 20

        # reset_local_media: a new microphone track, still heard
        before = py(a, "call.get_connection().getSenders()[0].track.id")
        py(a, "await call.reset_local_media()")
        after = py(a, "call.get_connection().getSenders()[0].track.id")
        assert after != before
        assert py(b, "await until_energy(bcall, quiet=False, limit=0.01)") > 0.01
        hang_up(a, b)
    finally:
        for page in (a, b):
            page.context.close()
