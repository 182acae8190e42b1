"""A call's state is the core's: read from the call session, never kept beside it.

The peer's hold (``is_on_hold().remote``), the parties of the call and the
early media an answer repeats are what the core's
:class:`~webvoice.sip.CallSession` records; :class:`~webvoice.Call` reads them.
Against the in-memory server of tests/driver/conftest.py.
"""

from __future__ import annotations

import pytest

from devtools.fake_media import FakeMediaBackend, _sdp
from tests.driver.conftest import established, make_instance, ringing, run, serving, until
from webvoice import HoldState, Identity


def test_the_peers_hold_is_the_cores_record():
    async def main():
        sip = make_instance()
        server, task = await serving(sip)
        seen = []
        call = await established(sip, "bob", {"held": seen.append, "unheld": seen.append})
        (invite,) = server.requests("INVITE")
        assert call.is_on_hold() == HoldState(False, False)
        server.send_reinvite(invite, _sdp("sendonly", 50000, 2), cseq=2)
        await until(lambda: call.is_on_hold().remote, "bob holds")
        assert call.core.remote_held and call.is_on_hold() == HoldState(False, True)
        await until(lambda: [r for r in server.responses() if r.cseq.seq == 2 and r.status_code == 200],
                    "our answer")
        server.ack(invite, 2)
        server.send_reinvite(invite, _sdp("sendrecv", 50000, 3), cseq=3)
        await until(lambda: not call.is_on_hold().remote, "bob resumes")
        assert not call.core.remote_held
        assert [(type(e).__name__, e.originator) for e in seen] == [("HoldEvent", "remote")] * 2
        task.cancel()

    run(main())


def test_the_parties_are_the_target_until_the_core_has_the_call_then_the_cores():
    async def main():
        added = []
        sip = make_instance(ua_config={"display_name": "Alice"},
                            line_events={"on_line_added": added.append})
        server, task = await serving(sip)
        call = await established(sip, "bob")
        assert [line.target for line in added] == ["sip:bob@a.test"]  # before the INVITE went
        assert call.get_remote_identity() == Identity.of(call.core.remote_identity) == Identity("sip:bob@a.test")
        assert call.get_local_identity() == Identity("sip:alice@a.test", "Alice")
        assert call.session.local_identity == call.get_local_identity()
        incoming = await ringing(server, "parties-1", caller='"Carol" <sip:carol@a.test>')
        assert incoming.remote_identity == Identity("sip:carol@a.test", "Carol")
        assert incoming.call.get_local_identity() == Identity("sip:alice@a.test")
        task.cancel()

    run(main())


def responses_to(server, call_id: str, status: int):
    return [r for r in server.responses() if r.call_id == call_id and r.status_code == status]


@pytest.mark.parametrize("wait_for_the_183", [True, False], ids=["after-183", "during-progress"])
def test_accept_after_progress_answers_with_the_183s_media_and_sdp(wait_for_the_183):
    """The 200 repeats the 183's SDP (RFC 3264: that exchange is done), from one
    microphone, whether accept() comes after the 183 or while progress() still
    makes it; the call reads the 183 from the core's record."""
    async def main():
        media = FakeMediaBackend()
        sip = make_instance(media)
        server, task = await serving(sip)
        request = await ringing(server, "early-1", sdp=_sdp("sendrecv", 50000, 1))
        progress = request.progress()
        if wait_for_the_183:
            assert await progress is True
        with pytest.raises(RuntimeError, match="already"):
            request.progress()
        await request.accept()
        assert await progress is True
        await until(lambda: responses_to(server, "early-1", 200), "the 200")
        (early,), (ok,) = responses_to(server, "early-1", 183), responses_to(server, "early-1", 200)
        assert early.body and ok.body == early.body
        assert request.call.core.incoming.early_sdp == early.body.decode()
        assert len(media.sessions) == 1 and media.sessions[0].log == ["answer"]
        task.cancel()

    run(main())


def test_accept_after_a_failed_progress_opens_no_second_microphone():
    async def main():
        media = FakeMediaBackend(deny=True)
        sip = make_instance(media)
        server, task = await serving(sip)
        request = await ringing(server, "early-2", sdp=_sdp("sendrecv", 50000, 1))
        progress = request.progress()
        accepting = request.accept()  # while the microphone is asked for
        assert await progress is False
        await accepting
        assert request.call.get_status() == "failed" and len(media.opened) == 1
        assert request.call.core.incoming.early_sdp is None
        assert not responses_to(server, "early-2", 200) and not responses_to(server, "early-2", 183)
        task.cancel()

    run(main())


def test_mute_is_the_applications_own_state_and_fires_once_each_way():
    """The one state the core has no part in: the application's mute."""
    async def main():
        media = FakeMediaBackend()
        sip = make_instance(media)
        server, task = await serving(sip)
        seen = []
        call = await established(sip, "bob", {"muted": lambda e: seen.append("muted"),
                                               "unmuted": lambda e: seen.append("unmuted")})
        with pytest.raises(TypeError, match="constraints"):
            call.mute_with_constraints("audio")
        assert call.mute_with_constraints({"audio": False}) is False and not call.is_muted()
        assert call.mute() is True and call.mute_with_constraints() is False and media.sessions[0].muted
        assert call.unmute_with_constraints({"audio": True}) is True and call.unmute() is False
        assert seen == ["muted", "unmuted"] and not media.sessions[0].muted
        task.cancel()

    run(main())
