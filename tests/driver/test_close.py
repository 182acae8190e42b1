"""close() leaves no call behind: each is hung up before the connection closes
for good, and one whose hang-up gets no answer in time ends here anyway, its
microphone released (tests/integration/test_close_kamailio.py: the peers see
the ends through Kamailio)."""

from __future__ import annotations

import asyncio

import webvoice
from devtools.fake_media import FakeMediaBackend
from tests.driver.conftest import (
    FakeServer,
    drop_connection,
    established,
    make_instance,
    run,
    serving,
    transport_of,
    until,
)
from webvoice.sip import parse_message


class _DeafToCancel(FakeServer):
    """Lets a call ring and never answers its CANCEL (nor sends the 487)."""

    def _handle(self, request) -> None:
        if request.method != "CANCEL":
            super()._handle(request)


def _ends(call: webvoice.Call) -> list:
    seen = []
    call.add_handlers({name: (lambda event, name=name: seen.append((name, event.cause, event.originator)))
                       for name in ("ended", "failed")})
    return seen


async def _registered_in_a_call():
    """An instance registered and in an answered call to bob: (media, sip, server, its task, call)."""
    media = FakeMediaBackend()
    sip = make_instance(media)
    server, task = await serving(sip)
    await sip.register()
    return media, sip, server, task, await established(sip, "bob")


def test_close_hangs_up_an_answered_call_and_unregisters_after_its_bye():
    async def main():
        media, sip, server, task, call = await _registered_in_a_call()
        seen = _ends(call)
        await sip.close()
        assert call.is_ended() and seen == [("ended", "Terminated", "local")], seen
        methods = [r.method for r in server.log]
        assert methods.index("BYE") < len(methods) - 1 - methods[::-1].index("REGISTER"), methods
        assert media.open_sessions == [] and sip.get_call_lines() == []
        task.cancel()

    run(main())


def test_a_cancel_left_unanswered_ends_the_call_here_within_the_bound():
    async def main():
        media = FakeMediaBackend()
        sip = make_instance(media)
        server = _DeafToCancel(sip, invite=lambda r: None)  # rings, never answered
        task = asyncio.ensure_future(server.serve())
        await sip.connect()
        call = await sip.call("bob")
        await until(lambda: call.get_status() == "progress", "ringing")
        seen = _ends(call)
        loop = asyncio.get_running_loop()
        started = loop.time()
        await sip.close()
        waited = loop.time() - started
        assert [r.method for r in server.log].count("CANCEL") == 1
        assert call.is_ended() and seen == [("failed", "Canceled", "local")], seen
        assert media.open_sessions == [] and sip.get_call_lines() == []
        assert waited >= webvoice._instance.CLOSE_CALLS_WAIT_S  # it waited for the 487, bounded
        task.cancel()

    run(main())


def test_closing_without_a_connection_ends_the_calls_at_once():
    async def main():
        media = FakeMediaBackend()
        sip = make_instance(media)
        _, task = await serving(sip, invite=lambda r: None)
        call = await sip.call("bob")
        await until(lambda: call.get_status() == "progress", "ringing")
        drop_connection(sip)
        await sip.close()
        assert call.is_ended() and media.open_sessions == [] and sip.get_call_lines() == []
        task.cancel()

    run(main(), timeout=webvoice._instance.CLOSE_CALLS_WAIT_S + 5)


def test_close_ends_each_watch_with_an_unsubscribe_before_unregistering():
    async def main():
        sip = make_instance()
        server, task = await serving(sip)
        await sip.register()
        watches = [sip.watch_line("bob", lambda event: None), sip.watch_presence("carol", lambda event: None)]
        await until(lambda: len(server.requests("SUBSCRIBE")) == 2, "both subscriptions")
        await sip.close()
        assert not any(w.active for w in watches)
        ended = [r for r in server.requests("SUBSCRIBE") if r.header("Expires") == 0]
        assert sorted(r.header("Event") for r in ended) == ["dialog", "presence"], ended
        last_register = max(i for i, r in enumerate(server.log) if r.method == "REGISTER")
        assert all(server.log.index(r) < last_register for r in ended)
        task.cancel()

    run(main())


def test_the_page_going_away_hangs_up_stops_watches_and_unregisters_at_once():
    """pagehide (the browser transport reports it): no answer will be read, so all of
    it is sent synchronously, in the handler: the BYE, the unSUBSCRIBE, the REGISTER
    with Expires 0."""
    async def main():
        media, sip, server, task, call = await _registered_in_a_call()
        watch = sip.watch_line("carol", lambda event: None)
        await until(lambda: server.requests("SUBSCRIBE"), "the subscription")
        transport = transport_of(sip)
        before = len(transport.sent)
        transport.callbacks.on_page_hide()  # no await: what leaves, leaves in the handler
        sent = [(m.method, m.header("Expires")) for m in map(parse_message, transport.sent[before:])]
        assert call.is_ended() and not watch.active and media.open_sessions == []
        assert ("BYE", None) in sent and ("SUBSCRIBE", 0) in sent and ("REGISTER", 0) in sent, sent
        task.cancel()

    run(main())
