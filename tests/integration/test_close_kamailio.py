"""close() hangs up every call first, through the real Kamailio, from CPython.

Closed with a call up, an instance used to leave it: the peer kept talking to
no one, the call stayed "established" here, and Kamailio kept the dialog
(a busy lamp showed the line in a call for hours). Now each call ends as
terminate() ends it, whatever its state, before the unregistration.
"""

from __future__ import annotations

from .test_calls_kamailio import instance, run, until


def _events(call, names=("ended", "failed")):
    seen = []
    call.add_handlers({name: (lambda event, name=name: seen.append((name, event.cause, event.originator)))
                       for name in names})
    return seen


def test_close_ends_an_established_call_with_a_bye(kamailio):
    async def main():
        alice, bob = (instance(kamailio, u) for u in ("alice", "bob"))
        for sip in (alice, bob):
            await sip.register()
        incoming = []
        bob.on_incoming_call(incoming.append)
        call = await alice.call("bob")
        await until(lambda: incoming)
        remote = _events(incoming[0].call)
        incoming[0].accept()
        await until(call.is_established)
        local = _events(call)
        await alice.close()
        assert call.is_ended() and local == [("ended", "Terminated", "local")], local
        await until(incoming[0].call.is_ended)
        assert remote == [("ended", "Bye", "remote")], remote
        assert not alice.is_registered()
        await bob.close()

    run(main())


def test_close_cancels_a_ringing_call_and_refuses_one_ringing_here(kamailio):
    async def main():
        carol, dave, erin = (instance(kamailio, u) for u in ("carol", "dave", "erin"))
        for sip in (carol, dave, erin):
            await sip.register()
        at_dave, at_carol = [], []
        dave.on_incoming_call(at_dave.append)  # neither answers: both calls ring
        carol.on_incoming_call(at_carol.append)
        outgoing = await carol.call("dave")
        incoming_call = await erin.call("carol")
        await until(lambda: at_dave and at_carol)
        dave_sees = _events(at_dave[0].call)
        erin_sees = _events(incoming_call)
        await carol.close()
        assert outgoing.is_ended() and at_carol[0].call.is_ended()
        await until(lambda: at_dave[0].call.is_ended() and incoming_call.is_ended())
        assert dave_sees == [("failed", "Canceled", "remote")], dave_sees
        assert erin_sees == [("failed", "Busy", "remote")], erin_sees
        for sip in (dave, erin):
            await sip.close()

    run(main())


def test_close_stops_every_watch(kamailio):
    async def main():
        heidi = instance(kamailio, "heidi")
        await heidi.register()
        lamps, states = [], []
        watches = [heidi.watch_line("bob", lamps.append), heidi.watch_presence("bob", states.append)]
        await until(lambda: lamps and states)
        assert all(w.active for w in watches)
        await heidi.close()
        assert not any(w.active for w in watches)

    run(main())
