"""Line events, line switching, transfer outcomes and the call status, in the driver tier.

The instance against the in-memory server (tests/driver/conftest.py): what an
application sees of its lines (each event once, in order), what
``switch_line`` does to the calls, how a blind transfer ends (the NOTIFY's
status), and the status strings a call goes through, read from the core.
"""

from __future__ import annotations

import asyncio

import pytest

import webvoice
from tests.driver.conftest import established, make_instance, run, serving, until


def recorder():
    seen = []
    handlers = {
        "on_line_added": lambda line: seen.append(("added", line.id)),
        "on_line_changed": lambda line: seen.append(("changed", line.id)),
        "on_line_removed": lambda line_id: seen.append(("removed", line_id)),
        "on_active_line_changed": lambda line_id: seen.append(("active", line_id)),
    }
    return seen, handlers


def test_line_events_come_once_per_change_and_in_order():
    async def main():
        seen, handlers = recorder()
        sip = make_instance(line_events=handlers)
        server, task = await serving(sip)
        call = await established(sip, "bob")
        call.terminate()
        await until(call.is_ended, "bye")
        assert seen[:2] == [("added", "1"), ("active", "1")]
        assert seen[-2:] == [("removed", "1"), ("active", None)]
        middle = seen[2:-2]
        assert middle and set(middle) == {("changed", "1")}  # progress, confirmed, media...
        assert seen.count(("added", "1")) == seen.count(("removed", "1")) == 1
        task.cancel()

    run(main())


def test_a_second_call_holds_the_first_and_switching_swaps_them():
    async def main():
        seen, handlers = recorder()
        sip = make_instance(line_events=handlers)
        server, task = await serving(sip)
        first = await established(sip, "bob")
        second = await established(sip, "carol")
        assert first.is_on_hold().local and not second.is_on_hold().local
        assert sip.get_current_line().id == "2"
        await sip.switch_line("1")
        assert sip.get_current_line().id == "1"
        assert not first.is_on_hold().local and second.is_on_hold().local
        assert seen.count(("active", "1")) == 2 and seen.count(("active", "2")) == 1
        await sip.switch_line("1")  # already active: nothing happens
        assert seen.count(("active", "1")) == 2
        with pytest.raises(webvoice.LineNotFoundError):
            await sip.switch_line("7")
        second.terminate()
        await until(second.is_ended, "bye")
        with pytest.raises(webvoice.LineNotFoundError):
            await sip.switch_line("2")
        task.cancel()

    run(main())


def _invite_to(server, user):
    return next(r for r in server.requests("INVITE") if user in str(r.uri) and r.to.params.get("tag") is None)


async def blind_transfer_notified(status: int, reason: str):
    """bob answers line 1, we transfer him blind to carol, and the NOTIFY says her
    call reached ``status``: (the instance, the server, the call, the transfer's task)."""
    sip = make_instance()
    server, _ = await serving(sip)
    call = await established(sip, "bob")
    transfer = asyncio.ensure_future(sip.blind_transfer("1", "carol"))
    await until(lambda: server.requests("REFER"), "the REFER")
    (refer,) = server.requests("REFER")
    assert str(refer.header("Refer-To").uri) == "sip:carol@a.test"
    server.send_notify(_invite_to(server, "bob"), status, reason)
    return sip, server, call, transfer


def test_a_blind_transfer_that_succeeds_ends_the_line():
    async def main():
        sip, server, call, transfer = await blind_transfer_notified(200, "OK")
        await transfer
        await until(call.is_ended, "the line ends after a successful transfer")
        await until(lambda: server.requests("BYE"), "the BYE")
        assert sip.get_call_lines() == []

    run(main())


def test_a_blind_transfer_that_fails_raises_with_the_status_and_keeps_the_line():
    async def main():
        sip, server, call, transfer = await blind_transfer_notified(486, "Busy Here")
        with pytest.raises(webvoice.TransferError) as failed:
            await transfer
        assert failed.value.status_code == 486
        assert call.is_established() and [line.id for line in sip.get_call_lines()] == ["1"]
        assert not server.requests("BYE")

    run(main())


def test_a_transfer_of_a_call_not_established_fails_before_anything_is_sent():
    async def main():
        sip = make_instance()
        server, task = await serving(sip, invite=lambda r: None)  # rings, never answered
        call = await sip.call("bob")
        await until(lambda: call.get_status() == "progress", "ringing")
        with pytest.raises(RuntimeError, match="not an established call"):
            await sip.blind_transfer("1", "carol")
        with pytest.raises(TypeError, match="transfer target"):
            call.refer(42)
        assert not server.requests("REFER")
        call.terminate()
        await until(call.is_ended, "cancelled")
        task.cancel()

    run(main())


async def call_recording_status(sip, *names):
    """Call bob; the handlers of ``names`` record (event, the call's status then)."""
    statuses = []
    call = await sip.call("bob", {name: (lambda e, n=name: statuses.append((n, call.get_status())))
                                  for name in names})
    return call, statuses


def test_the_status_follows_the_core_through_a_call():
    async def main():
        sip = make_instance()
        answer = {"now": False}
        server, task = await serving(sip, invite=lambda r: 200 if answer["now"] else None)
        call, statuses = await call_recording_status(sip, "progress", "confirmed", "ended")
        assert call.get_status() in ("connecting", "progress")
        await until(lambda: call.get_status() == "progress", "180 Ringing")
        call.terminate()  # CANCEL: the unanswered call fails
        await until(call.is_ended, "487")
        assert call.get_status() == "failed"
        answer["now"] = True
        call, statuses = await call_recording_status(sip, "confirmed", "ended")
        await until(call.is_established, "answered")
        assert call.get_status() == "confirmed"
        call.terminate()
        await until(call.is_ended, "bye")
        assert call.get_status() == "ended"
        assert statuses == [("confirmed", "confirmed"), ("ended", "ended")]
        task.cancel()

    run(main())


def test_the_transport_callbacks_are_not_part_of_the_instance():
    sip = make_instance()
    for name in ("on_open", "on_data", "on_close"):
        assert not hasattr(sip, name), name
    public = {name for name in dir(sip) if name.startswith("on_")}
    assert public == {"on_connection_event", "on_incoming_call", "on_message", "on_device_change"}  # subscriptions only
