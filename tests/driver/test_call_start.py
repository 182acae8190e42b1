"""A call that fails to start leaves nothing behind: no line, no open
microphone, no line left on hold for it; a bad target, event or Refer-To is
refused before any of them is taken."""

from __future__ import annotations

import asyncio

import pytest

import webvoice
from devtools.fake_media import FakeMediaBackend
from tests.driver.conftest import established, make_instance, ringing, run, serving, transport_of, until
from webvoice._media import MediaError


def line_log():
    """A list the line events will be recorded in, and the ``line_events`` that record them."""
    events = []
    return events, {
        "on_line_added": lambda line: events.append(("added", line.id)),
        "on_line_removed": lambda line_id: events.append(("removed", line_id)),
    }


@pytest.mark.parametrize("typed", ["bob\r\nX: 1", "bob%0D%0A", "sip:bob@a.test?Subject=x", "bob@", ""])
def test_a_bad_target_takes_nothing(typed):
    async def main():
        media = FakeMediaBackend()
        sip = make_instance(media)
        server, task = await serving(sip)
        with pytest.raises(ValueError):
            await sip.call(typed)
        assert sip.get_call_lines() == [] and media.opened == [] and server.requests("INVITE") == []
        task.cancel()

    run(main())


def test_bad_events_are_refused_before_a_line_is_taken():
    async def main():
        media = FakeMediaBackend()
        sip = make_instance(media)
        server, task = await serving(sip)
        with pytest.raises(ValueError, match="on_answer"):
            await sip.call("bob", {"on_answer": print})
        with pytest.raises(TypeError):
            await sip.call("bob", {"ended": "not callable"})
        assert sip.get_call_lines() == [] and media.opened == []
        task.cancel()

    run(main())


@pytest.mark.parametrize(
    "media, cause",
    [
        (FakeMediaBackend(deny=True), "User Denied Media Access"),
        (FakeMediaBackend(fail_open=MediaError("no audio device")), "WebRTC Error"),
        (FakeMediaBackend(fail_offer=MediaError("createOffer failed")), "WebRTC Error"),
    ],
    ids=["microphone-denied", "open-fails", "offer-fails"],
)
def test_a_media_failure_at_start_frees_the_line_and_the_microphone(media, cause):
    async def main():
        lines, line_events = line_log()
        sip = make_instance(media, line_events=line_events)
        server, task = await serving(sip)
        failed = []
        call = await sip.call("bob", {"failed": failed.append})
        assert call.is_ended() and call.get_status() == "failed"
        assert [e.cause for e in failed] == [cause]
        assert sip.get_call_lines() == [] and sip.get_current_line() is None
        assert lines == [("added", "1"), ("removed", "1")]
        assert media.open_sessions == []  # the microphone is released
        assert server.requests("INVITE") == []
        task.cancel()

    run(main())


def test_a_lost_connection_at_start_fails_the_call_and_frees_everything():
    async def main():
        media = FakeMediaBackend()
        sip = make_instance(media)
        server, task = await serving(sip)
        failed = []

        async def drop_on_offer(*, ice_restart=False):  # the connection goes while the offer is made
            transport_of(sip).close()
            return "v=0\r\n"

        original = FakeMediaBackend.open_session

        async def open_and_arm(self, *args, **kwargs):
            session = await original(self, *args, **kwargs)
            session.create_offer = drop_on_offer
            return session

        media.open_session = open_and_arm.__get__(media)
        call = await sip.call("bob", {"failed": failed.append})
        assert [e.cause for e in failed] == ["Connection Error"] and call.is_ended()
        assert sip.get_call_lines() == [] and media.open_sessions == []
        task.cancel()
        await sip.close()

    run(main())


def test_an_unexpected_error_at_start_cleans_up_then_raises():
    async def main():
        media = FakeMediaBackend(fail_offer=KeyError("bug in a backend"))
        sip = make_instance(media)
        server, task = await serving(sip)
        failed = []
        with pytest.raises(KeyError):
            await sip.call("bob", {"failed": failed.append})
        assert [e.cause for e in failed] == ["Internal Error"]
        assert sip.get_call_lines() == [] and media.open_sessions == []
        task.cancel()

    run(main())


def test_a_cancelled_call_start_cleans_up():
    async def main():
        media = FakeMediaBackend()
        opened = asyncio.Event()
        original = FakeMediaBackend.open_session

        async def slow_open(self, *args, **kwargs):
            session = await original(self, *args, **kwargs)
            opened.set()
            await asyncio.sleep(3600)  # a permission prompt nobody answers
            return session

        media.open_session = slow_open.__get__(media)
        sip = make_instance(media)
        server, task = await serving(sip)
        placing = asyncio.ensure_future(sip.call("bob"))
        await opened.wait()
        assert [line.id for line in sip.get_call_lines()] == ["1"]
        placing.cancel()
        with pytest.raises(asyncio.CancelledError):
            await placing
        assert sip.get_call_lines() == []
        task.cancel()

    run(main())


def test_not_connected_raises_before_a_line_is_taken():
    async def main():
        media = FakeMediaBackend()
        sip = make_instance(media)
        from devtools.fake_transport import FakeTransport

        def refuse(self):
            asyncio.get_running_loop().call_soon(self.callbacks.on_close, 1006, "refused")

        FakeTransport_open = FakeTransport.open
        FakeTransport.open = refuse
        try:
            with pytest.raises(webvoice.NotConnectedError):
                await sip.call("bob")
        finally:
            FakeTransport.open = FakeTransport_open
        assert sip.get_call_lines() == [] and media.opened == []
        await sip.close()

    run(main())


def test_the_line_held_for_a_call_that_fails_to_start_is_resumed():
    async def main():
        media = FakeMediaBackend()
        sip = make_instance(media)
        server, task = await serving(sip)
        first = await established(sip, "bob")
        media.deny = True  # the second call's microphone is refused
        second = await sip.call("carol")
        assert second.is_ended() and second.get_status() == "failed"
        assert not first.is_on_hold().local  # held for carol, resumed when carol could not start
        assert sip.get_current_line().id == "1"
        reinvites = [r for r in server.requests("INVITE") if r.to.params.get("tag")]
        assert [("a=sendonly" in r.body.decode()) for r in reinvites] == [True, False]
        task.cancel()

    run(main())


def test_a_line_that_failed_later_is_not_resumed_by_itself():
    """Only a failed *start* resumes the held line: a call refused after ringing
    (486) leaves the held line held, as the application left it."""
    async def main():
        sip = make_instance()
        server, task = await serving(sip, invite=lambda r: 486 if "carol" in str(r.uri) else 200)
        first = await established(sip, "bob")
        second = await sip.call("carol")
        await until(second.is_ended, "carol refuses")
        assert first.is_on_hold().local
        task.cancel()

    run(main())


def test_the_line_held_to_answer_a_call_is_resumed_when_answering_fails():
    async def main():
        media = FakeMediaBackend()
        sip = make_instance(media)
        server, task = await serving(sip)
        first = await established(sip, "bob")
        incoming = await ringing(server, "incoming-2")
        media.deny = True
        await incoming.accept()
        answer = incoming.call
        assert answer.is_ended() and answer.get_status() == "failed"
        assert [line.id for line in sip.get_call_lines()] == ["1"] and sip.get_current_line().id == "1"
        assert not first.is_on_hold().local and len(media.open_sessions) == 1
        refusals = [r for r in server.transport.sent if r.startswith(b"SIP/2.0 4") and b"incoming-2" in r]
        assert refusals  # carol is told
        task.cancel()

    run(main())
