"""Every event carries an event; a handler's errors are reported, never swallowed.

Through the real Kamailio from CPython (fake media): each connection event and
each call event calls its handlers with exactly one argument, a small record
of the documented type; handlers written with no parameter work too; and a
handler that raises reaches the event loop's exception handler (by default,
stderr: the page's console in a browser) naming the event, while the
registration or the call goes on.
"""

from __future__ import annotations

import asyncio

import pytest

import webvoice
from devtools.fake_transport import FakeTransport
from tests.integration.test_calls_kamailio import instance, run, until
from webvoice._handlers import call_handler

CONNECTION_TYPES = {
    "connecting": webvoice.ConnectingEvent,
    "connected": webvoice.ConnectedEvent,
    "registered": webvoice.RegisteredEvent,
    "registration_expiring": webvoice.ExpiringEvent,
    "registration_failed": webvoice.RegistrationFailedEvent,
    "unregistered": webvoice.UnregisteredEvent,
    "disconnected": webvoice.DisconnectedEvent,
}


class Arguments:
    """Handlers that record the arguments they get, both one-argument and no-argument ones."""

    def __init__(self):
        self.calls: list[tuple[str, tuple]] = []
        self.bare: list[str] = []

    def one(self, names):
        return {name: (lambda n: lambda *args: self.calls.append((n, args)))(name) for name in names}

    def none(self, names):
        return {name: (lambda n: lambda: self.bare.append(n))(name) for name in names}

    def names(self):
        return [n for n, _ in self.calls]


def test_every_connection_event_passes_one_record(kamailio):
    async def main():
        sip = instance(kamailio, "alice", ua_config={"register_expires": 60})
        got = Arguments()
        sip.on_connection_event(got.one(CONNECTION_TYPES))
        sip.on_connection_event(got.none(CONNECTION_TYPES))
        await sip.register()
        await sip.unregister()
        await sip.close()
        await until(lambda: "disconnected" in got.names())
        bad = webvoice.create_sip_instance(
            sip_login="bob", sip_password="wrong", ws_url=kamailio.ws_url, realm=kamailio.domain,
            transport_factory=sip._transport_factory)
        bad.on_connection_event(got.one(CONNECTION_TYPES))
        bad.on_connection_event(got.none(CONNECTION_TYPES))
        with pytest.raises(webvoice.RegistrationError):
            await bad.register()
        await bad.close()
        return got

    got = run(main())
    names = got.names()
    for name in ("connecting", "connected", "registered", "unregistered", "disconnected", "registration_failed"):
        assert name in names, (name, names)
    for name, args in got.calls:
        assert len(args) == 1 and type(args[0]) is CONNECTION_TYPES[name], (name, args)
    assert sorted(got.bare) == sorted(names)  # the no-argument handlers ran just as often
    connecting = [args[0] for name, args in got.calls if name == "connecting"]
    assert connecting[0].ws_url == kamailio.ws_url and connecting[0].reconnecting is False
    failed = [args[0] for name, args in got.calls if name == "registration_failed"][0]
    assert failed.status_code in (401, 403) and failed.cause


CALL_TYPES = {
    "connecting": "CallConnectingEvent", "progress": "ProgressEvent", "confirmed": "ConfirmedEvent",
    "ended": "EndEvent", "failed": "EndEvent", "muted": "MuteEvent", "unmuted": "MuteEvent",
    "held": "HoldEvent", "unheld": "HoldEvent", "new_dtmf": "DtmfEvent", "sdp": "SdpEvent",
    "refer": "ReferRequest", "replaces": "ReplacesEvent", "icecandidate": "IceCandidateEvent",
}


def test_every_call_event_passes_one_record(kamailio):
    async def main():
        a, b = instance(kamailio, "carol"), instance(kamailio, "dave")
        await a.register()
        await b.register()
        ga, gb = Arguments(), Arguments()
        b.on_incoming_call(lambda request: request.accept({**gb.one(CALL_TYPES)}))
        call = await a.call("dave", ga.one(CALL_TYPES))
        call.add_handlers(ga.none(CALL_TYPES))
        await until(call.is_established)
        call.mute()
        call.unmute()
        assert await call.hold() and await call.unhold()
        await call.send_dtmf("1", transport_type="INFO")
        await until(lambda: "new_dtmf" in gb.names())
        with pytest.raises(webvoice.TransferError):  # dave's refer handler is silent: declined
            await call.refer("sip:erin@webvoice.test")
        call.terminate()
        await until(lambda: "ended" in gb.names())
        failed = await a.call("nosuchuser", ga.one(CALL_TYPES))
        await until(failed.is_ended)
        for sip in (a, b):
            await sip.close()
        return ga, gb

    ga, gb = run(main())
    for got, expected in ((ga, {"connecting", "progress", "confirmed", "sdp", "muted", "unmuted", "held", "unheld",
                                "ended", "failed"}),
                          (gb, {"confirmed", "sdp", "held", "unheld", "new_dtmf", "refer", "ended"})):
        assert expected <= set(got.names()), (expected - set(got.names()))
        for name, args in got.calls:
            assert len(args) == 1 and type(args[0]).__name__ == CALL_TYPES[name], (name, args)
    assert set(ga.bare) >= {"confirmed", "held", "ended"}  # added after "connecting" fired
    progress = [args[0] for name, args in ga.calls if name == "progress"][0]
    assert progress.originator == "remote" and 180 <= progress.status_code < 200
    sdp = [args[0] for name, args in ga.calls if name == "sdp"]
    assert {(e.originator, e.type) for e in sdp} >= {("local", "offer"), ("remote", "answer")}


def test_a_handler_that_raises_is_reported_with_its_event_and_changes_nothing(kamailio):
    async def main():
        reported = []
        asyncio.get_running_loop().set_exception_handler(lambda loop, context: reported.append(context))
        a, b = instance(kamailio, "erin"), instance(kamailio, "frank")

        def broken(event):
            raise ZeroDivisionError("the application's bug")

        async def broken_later(event):
            await asyncio.sleep(0)
            raise KeyError("later")

        a.on_connection_event({"registered": broken, "connected": broken_later})
        registered = await a.register()
        assert a.is_registered() and registered.expires > 0
        await until(lambda: len(reported) == 2)
        messages = sorted(context["message"] for context in reported)
        assert "'connected' connection handler raised KeyError" in messages[0]
        assert "'registered' connection handler raised ZeroDivisionError: the application's bug" in messages[1]
        assert all(isinstance(context["exception"], (ZeroDivisionError, KeyError)) for context in reported)
        reported.clear()
        b.on_incoming_call(lambda request: (request.accept(), 1 / 0))
        await b.register()
        call = await a.call("frank", {"progress": broken, "confirmed": broken})
        await until(call.is_established)  # the call went on
        assert call.get_status() == "confirmed"
        assert any("incoming-call handler raised ZeroDivisionError" in c["message"] for c in reported)
        assert any("'confirmed' handler of the call on line" in c["message"] for c in reported)
        assert any("'progress' handler" in c["message"] for c in reported)
        call.terminate()
        await until(lambda: b.get_call_lines() == [])
        for sip in (a, b):
            await sip.close()

    run(main())


def test_handler_arity_and_errors_outside_a_loop(capsys):
    got = []
    call_handler(lambda: got.append("none"), "event", what="x")
    call_handler(lambda event: got.append(event), "event", what="x")
    call_handler(lambda *args: got.append(args), "event", what="x")
    call_handler(lambda event=None, *, flag=1: got.append(event), "event", what="x")
    assert got == ["none", "event", ("event",), "event"]

    def inner_type_error(event):
        raise TypeError("inside the handler")

    call_handler(inner_type_error, "event", what="the 'x' handler")  # not retried without its argument
    err = capsys.readouterr().err
    assert "webvoice: the 'x' handler raised TypeError: inside the handler" in err and "Traceback" in err


def test_unknown_events_and_bad_handlers_are_refused():
    sip = webvoice.create_sip_instance(sip_login="a", sip_password="p", realm="a.test", transport_factory=FakeTransport)
    with pytest.raises(ValueError, match="unknown connection event 'registred'"):
        sip.on_connection_event({"registred": print})
    with pytest.raises(TypeError):
        sip.on_connection_event({"registered": "not callable"})


def test_line_handlers_see_a_consistent_state(kamailio):
    """on_line_removed may ask for the current line (the demo redraws its list there):
    the removed line is no longer current, and nothing raises."""
    async def main():
        reported, seen = [], []
        asyncio.get_running_loop().set_exception_handler(lambda loop, context: reported.append(context))
        holder = {}
        a = instance(kamailio, "grace", line_events={
            "on_line_removed": lambda line_id: seen.append(
                (line_id, holder["sip"].get_current_line(), [l.id for l in holder["sip"].get_call_lines()])),
            "on_active_line_changed": lambda line_id: seen.append(("active", line_id)),
        })
        holder["sip"] = a
        b = instance(kamailio, "heidi")
        await a.register()
        await b.register()
        b.on_incoming_call(lambda request: request.accept())
        call = await a.call("heidi")
        await until(call.is_established)
        call.terminate()
        await until(lambda: a.get_call_lines() == [])
        for sip in (a, b):
            await sip.close()
        return reported, seen, call.get_line_id()

    reported, seen, line_id = run(main())
    assert not reported, reported
    assert seen == [("active", line_id), (line_id, None, []), ("active", None)]
