"""Transfers through the real Kamailio, from CPython (fake media)."""

from __future__ import annotations

import asyncio

import pytest

import webvoice
from tests.integration.test_calls_kamailio import Recorder, instance, run, until


async def three(server, *users, **kwargs):
    sips = [instance(server, user, **kwargs) for user in users]
    for sip in sips:
        await sip.register()
    return sips


def auto_answer(sip, recorder=None, names=("ended", "confirmed", "replaces", "refer")):
    calls = []

    def on_incoming(request):
        calls.append(request.call)
        request.accept(recorder.handlers(*names) if recorder else None)

    sip.on_incoming_call(on_incoming)
    return calls


def test_attended_transfer(kamailio):
    async def main():
        a, b, c = await three(kamailio, "alice", "bob", "carol", ua_config={"refer_policy": "same-domain"})
        auto_answer(b)
        c_calls = auto_answer(c, rc := Recorder())
        to_b = await a.call("bob")
        await until(to_b.is_established)
        to_c = await a.call("carol")
        await until(to_c.is_established)
        await a.transfer_call(to_b.get_line_id(), to_c.get_line_id())
        # B called C with Replaces; C took the new call in place of A's, without
        # asking the application again (it learns through the "replaces" event)
        await until(lambda: rc.get("replaces") and rc.get("replaces")[0].new_call.is_established())
        replacing = rc.get("replaces")[0].new_call
        await until(lambda: a.get_call_lines() == [])
        assert len(c_calls) == 1 and c_calls[0].is_ended() and not replacing.is_ended()
        assert replacing.get_remote_identity().uri.startswith("sip:bob@")
        await until(lambda: len(b._lines) == 1)
        b_new = b._lines.calls()
        assert len(b_new) == 1 and b_new[0].get_remote_identity().uri.startswith("sip:carol@")
        b_new[0].terminate()
        await until(replacing.is_ended)
        for sip in (a, b, c):
            await sip.close()

    run(main())


def test_blind_transfer_and_failure(kamailio):
    async def main():
        a, b, c = await three(kamailio, "dave", "erin", "frank", ua_config={"refer_policy": "same-domain"})
        auto_answer(b)
        c_calls = auto_answer(c)
        to_b = await a.call("erin")
        await until(to_b.is_established)
        await a.blind_transfer(to_b.get_line_id(), "sip:frank@webvoice.test")
        await until(lambda: c_calls and c_calls[0].is_established())
        assert c_calls[0].get_remote_identity().uri.startswith("sip:erin@")
        assert to_b.is_ended() and a.get_call_lines() == []
        c_calls[0].terminate()
        # a blind transfer to nobody fails and leaves the line as it was
        to_b = await a.call("erin")
        await until(to_b.is_established)
        with pytest.raises(webvoice.TransferError) as info:
            await a.blind_transfer(to_b.get_line_id(), "nosuchuser")
        assert info.value.status_code == 404 and to_b.is_established()
        with pytest.raises(webvoice.LineNotFoundError):
            await a.blind_transfer("77", "frank")
        to_b.terminate()
        for sip in (a, b, c):
            await sip.close()

    run(main())


def test_refer_needs_consent(kamailio):
    """refer_policy "ask" (the default): no handler that accepts, no transfer,
    even to a user of our own domain; a handler's accept() follows it."""
    async def main():
        a, b = await three(kamailio, "grace", "heidi")
        auto_answer(b)
        call = await a.call("heidi")
        await until(call.is_established)
        b_call = b._lines.calls()[0]
        for target in ("sip:alice@webvoice.test", "sip:someone@elsewhere.example", "tel:+19005550100"):
            with pytest.raises(webvoice.TransferError) as info:
                await call.refer(target)
            assert info.value.status_code == 603 and call.is_established(), target
            assert len(b._lines) == 1  # nothing was placed
        # a handler that only looks decides nothing: still declined
        seen = []
        b_call.on("refer", lambda request: seen.append((str(request.target), request.is_number)))
        with pytest.raises(webvoice.TransferError) as info:
            await call.refer("tel:+19005550100")
        assert info.value.status_code == 603 and seen == [("tel:+19005550100", True)]
        # with the application's consent it is followed (and fails there: nobody is dave's number)
        accepted = []
        b_call.on("refer", lambda request: accepted.append(request.accept()))
        with pytest.raises(webvoice.TransferError) as info:
            await call.refer("sip:nosuchuser@webvoice.test")
        assert info.value.status_code not in (603, None) and len(accepted) == 1
        assert (await accepted[0]).get_remote_identity().uri == "sip:nosuchuser@webvoice.test"
        call.terminate()
        for sip in (a, b):
            await sip.close()

    run(main())


def test_refer_policies(kamailio):
    """"same-domain" follows SIP users of our domain and nothing that is a number;
    "never" declines before asking, and the handler cannot overrule it."""
    async def main():
        a = instance(kamailio, "grace")
        b = instance(kamailio, "heidi", ua_config={"refer_policy": "same-domain"})
        await a.register()
        await b.register()
        auto_answer(b)
        call = await a.call("heidi")
        await until(call.is_established)
        for target in ("tel:+19005550100", "sip:+19005550100@webvoice.test", "sip:1900-555@webvoice.test",
                       "sip:carol@webvoice.test;user=phone", "sip:someone@elsewhere.example"):
            with pytest.raises(webvoice.TransferError) as info:
                await call.refer(target)
            assert info.value.status_code == 603 and call.is_established(), target
        assert len(b._lines) == 1
        # a same-domain user is followed without asking (the target is not signed in: it fails there)
        with pytest.raises(webvoice.TransferError) as info:
            await call.refer("sip:nosuchuser@webvoice.test")
        assert info.value.status_code not in (603, None)
        call.terminate()
        await b.close()

        c = instance(kamailio, "heidi", ua_config={"refer_policy": "never"})
        await c.register()
        auto_answer(c)
        call = await a.call("heidi")
        await until(call.is_established)
        errors = []
        asyncio.get_running_loop().set_exception_handler(lambda loop, context: errors.append(context))
        c._lines.calls()[0].on("refer", lambda request: request.accept())
        with pytest.raises(webvoice.TransferError) as info:
            await call.refer("sip:carol@webvoice.test")
        assert info.value.status_code == 603
        assert len(errors) == 1 and "refer_policy 'never'" in errors[0]["message"], errors
        assert "'refer' handler" in errors[0]["message"]
        call.terminate()
        for sip in (a, c):
            await sip.close()

    run(main())


def test_an_async_refer_handler_may_decide_later(kamailio):
    """An ``async def`` refer handler (say, one asking the person) decides after an await."""
    async def main():
        a, b = await three(kamailio, "alice", "bob")
        auto_answer(b)
        call = await a.call("bob")
        await until(call.is_established)
        decisions = iter([False, True])

        async def ask_the_person(request):
            await asyncio.sleep(0.3)
            if next(decisions):
                request.accept()
            else:
                request.reject(486)

        b._lines.calls()[0].on("refer", ask_the_person)
        with pytest.raises(webvoice.TransferError) as info:
            await call.refer("sip:carol@webvoice.test")
        assert info.value.status_code == 486
        with pytest.raises(webvoice.TransferError) as info:  # followed; carol is not signed in
            await call.refer("sip:nosuchuser@webvoice.test")
        assert info.value.status_code not in (486, 603, None)
        call.terminate()
        for sip in (a, b):
            await sip.close()

    run(main())
