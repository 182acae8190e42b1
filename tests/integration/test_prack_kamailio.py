"""Early media with 100rel (RFC 3262) through the real Kamailio, from CPython.

Bob lets the call ring and starts early media (``incoming.progress()``): a
reliable 183 with his SDP answer goes to Alice through Kamailio, Alice's core
PRACKs it in the early dialog, Kamailio loose-routes the PRACK to Bob, who
answers 200; Alice applies the answer as early media (a pranswer), then Bob
accepts and the 200 to the INVITE confirms the call with the same SDP.
Real signalling (driver, core, Kamailio, the websockets transport), fake media.
"""

from __future__ import annotations

import re

from devtools.fake_media import FakeMediaBackend
from tests.integration.test_calls_kamailio import instance, run, until


def _messages(transport, start: str) -> list[str]:
    return [t for t in (d.decode("utf-8", "replace") for d in transport if isinstance(d, bytes)) if t.startswith(start)]


def test_reliable_183_is_pracked_through_kamailio_then_answered(kamailio):
    async def scenario():
        media_a, media_b = FakeMediaBackend(), FakeMediaBackend()
        a = instance(kamailio, "alice", media_a)
        b = instance(kamailio, "bob", media_b)
        await a.register()
        await b.register()
        ringing = []
        b.on_incoming_call(ringing.append)
        call = await a.call("bob")
        await until(lambda: ringing and call.get_status() == "progress")
        assert await ringing[0].progress() is True
        session_a = media_a.sessions[-1]
        await until(lambda: any(kind == "pranswer" for kind, _ in session_a.remote))
        early_state = call.get_status(), call.is_established()
        bob_sent = b._transport.sent
        await until(lambda: any(re.search(r"CSeq: \d+ PRACK", m) for m in _messages(bob_sent, "SIP/2.0 200")))
        ringing[0].accept()
        await until(lambda: call.is_established() and ringing[0].call.is_established())
        alice_sent = a._transport.sent
        result = {
            "early_state": early_state,
            "183": _messages(bob_sent, "SIP/2.0 183"),
            "prack": _messages(alice_sent, "PRACK "),
            "prack_ok": [m for m in _messages(bob_sent, "SIP/2.0 200") if re.search(r"CSeq: \d+ PRACK", m)],
            "invite_ok": [m for m in _messages(bob_sent, "SIP/2.0 200") if re.search(r"CSeq: \d+ INVITE", m)],
            "remote_a": list(session_a.remote),
        }
        call.terminate()
        await until(lambda: call.is_ended() and ringing[0].call.is_ended())
        for x in (a, b):
            await x.close()
        return result

    r = run(scenario())
    assert r["early_state"] == ("progress", False)
    [early] = r["183"]
    assert "Require: 100rel" in early and (rseq := re.search(r"RSeq: (\d+)", early)) is not None
    [prack] = r["prack"]
    assert re.search(rf"RAck: {rseq.group(1)} \d+ INVITE", prack), prack
    assert len(r["prack_ok"]) == 1  # Bob got the PRACK through Kamailio and answered it
    [ok] = r["invite_ok"]
    answer = early.split("\r\n\r\n", 1)[1]
    assert ok.split("\r\n\r\n", 1)[1] == answer  # the 200 repeats the 183's SDP
    assert [kind for kind, _ in r["remote_a"]] == ["pranswer", "answer"]
    assert r["remote_a"][0][1] == answer
