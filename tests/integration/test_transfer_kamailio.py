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
        a, b, c = await three(kamailio, "alice", "bob", "carol")
        b_calls, c_calls = auto_answer(b), auto_answer(c, rc := Recorder())
        to_b = await a.call("bob")
        await until(to_b.is_established)
        to_c = await a.call("carol")
        await until(to_c.is_established)
        await a.transfer_call(to_b.get_line_id(), to_c.get_line_id())
        # B called C with Replaces; C took the new call in place of A's, without
        # asking the application again (it learns through the "replaces" event)
        await until(lambda: rc.get("replaces") and rc.get("replaces")[0]["new_call"].is_established())
        replacing = rc.get("replaces")[0]["new_call"]
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
        a, b, c = await three(kamailio, "dave", "erin", "frank")
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


def test_refer_to_a_foreign_domain_needs_consent(kamailio):
    async def main():
        a, b = await three(kamailio, "grace", "heidi")
        auto_answer(b)
        call = await a.call("heidi")
        await until(call.is_established)
        with pytest.raises(webvoice.TransferError) as info:
            await call.refer("sip:someone@elsewhere.example")
        assert info.value.status_code == 403 and call.is_established()
        # with the application's consent it is followed (and fails there: 403 from the proxy)
        b_call = [c for c in b._lines.calls()][0]
        asked = []
        b_call.on("refer", lambda request: (asked.append(request.refer_to.uri), request.accept()))
        with pytest.raises(webvoice.TransferError):
            await call.refer("sip:someone@elsewhere.example")
        assert asked == ["sip:someone@elsewhere.example"]
        call.terminate()
        for sip in (a, b):
            await sip.close()

    run(main())
