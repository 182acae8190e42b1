"""Busy lamps (RFC 4235) through the real Kamailio presence server, from CPython.

Kamailio follows calls (dialog module) and publishes their states
(pua_dialoginfo) to its own presence server, which notifies the watchers.
The browser tier repeats the busy lamp in Chromium.
"""

from __future__ import annotations

import asyncio

import webvoice

from .test_calls_kamailio import instance, run, until


def test_watch_a_line_through_a_call_and_stop(kamailio):
    async def main():
        alice, bob, carol = (instance(kamailio, u) for u in ("alice", "bob", "carol"))
        for sip in (alice, bob, carol):
            await sip.register()
        lamps = []
        watch = alice.watch_line("bob", lamps.append)
        await until(lambda: lamps)
        # Idle; the server may still hold bob's last ended call (another test's), and says so.
        assert lamps[0].target == "sip:bob@webvoice.test" and lamps[0].state == "terminated"
        incoming = []
        bob.on_incoming_call(incoming.append)
        call = await carol.call("bob")
        await until(lambda: incoming and any(e.state == "early" for e in lamps))
        early = next(e for e in lamps if e.state == "early")
        assert early.direction == "recipient" and early.remote == "sip:carol@webvoice.test"
        incoming[0].accept()
        await until(lambda: lamps[-1].state == "confirmed")
        call.terminate()
        await until(lambda: lamps[-1].state == "terminated" and len(lamps) > 2)
        assert [e.state for e in lamps] == ["terminated", "early", "confirmed", "terminated"]
        assert watch.active
        watch.stop()
        await until(lambda: not alice._ua.subscriptions)
        assert not watch.active
        for sip in (alice, bob, carol):
            await sip.close()

    run(main())


def test_presence_published_watched_and_closed_on_sign_out(kamailio):
    async def main():
        alice, bob = instance(kamailio, "dave"), instance(kamailio, "erin")
        for sip in (alice, bob):
            await sip.register()
        seen = []
        watch = alice.watch_presence("erin", seen.append)
        await until(lambda: seen)
        assert seen[0] == webvoice.PresenceEvent("sip:erin@webvoice.test", "closed")  # nothing published yet
        await bob.publish_presence("open", "away")
        await until(lambda: seen[-1].note == "away")
        assert seen[-1].status == "open"
        await bob.publish_presence("open", "in a meeting & <busy>")
        await until(lambda: seen[-1].note == "in a meeting & <busy>")
        await bob.unregister()  # signing out withdraws the publication
        await until(lambda: seen[-1].status == "closed")
        import pytest

        with pytest.raises(ValueError, match="open"):
            await bob.publish_presence("busy")
        watch.stop()
        for sip in (alice, bob):
            await sip.close()

    run(main())


def test_voicemail_waiting_from_a_message_summary(kamailio):
    from devtools.voicemail import publish_message_summary

    async def main():
        sip = instance(kamailio, "frank")
        await sip.register()
        seen = []
        sip.watch_voicemail(seen.append)
        await until(lambda: seen)
        assert seen[0].waiting is False
        assert await asyncio.to_thread(publish_message_summary, kamailio, "frank", 2, 8, urgent_new=1) == 200
        await until(lambda: seen[-1].waiting)
        event = seen[-1]
        assert (event.new, event.old, event.urgent_new, event.urgent_old) == (2, 8, 1, 0)
        assert event.account == "sip:frank@webvoice.test" and event.counts == {"voice-message": (2, 8, 1, 0)}
        assert await asyncio.to_thread(publish_message_summary, kamailio, "frank", 0, 10) == 200
        await until(lambda: not seen[-1].waiting)
        assert (seen[-1].new, seen[-1].old) == (0, 10)
        await sip.close()

    run(main())


def test_watch_is_refreshed_in_its_dialog_and_renewed_after_a_server_restart(fresh_kamailio, monkeypatch):
    """A short grant makes the core refresh the subscription (in-dialog SUBSCRIBE,
    which Kamailio must route to its presence server); after the server is
    killed and restarted the watch subscribes again by itself and still works."""
    import webvoice._presence as presence_driver
    from devtools.ws_transport import WebsocketsTransport

    monkeypatch.setattr(presence_driver, "WATCH_EXPIRES", 4)
    fast = {"connection_recovery_min_interval": 0.2, "connection_recovery_max_interval": 1.0}
    server = fresh_kamailio

    async def main():
        alice, bob, carol = (instance(server, u, ua_config=fast) for u in ("alice", "bob", "carol"))
        for sip in (alice, bob, carol):
            await sip.register()
        lamps = []
        alice.watch_line("bob", lamps.append)
        await until(lambda: lamps)
        transport = WebsocketsTransport.instances[-3]  # alice's
        sub = alice._ua.subscriptions[0]
        first_call_id = sub.call_id

        def subscribes():
            return [d for d in transport.sent if d.startswith(b"SUBSCRIBE ")]

        # refresh at half the 4 s grant: in the dialog (To tag), answered 200
        await until(lambda: any(b";tag=" in d.split(b"\r\nTo:")[1].split(b"\r\n")[0] for d in subscribes()),
                    timeout=8)
        await asyncio.sleep(0.5)
        assert sub.state.value == "active" and sub.call_id == first_call_id
        server.kill()
        await until(lambda: not alice.is_connected())
        server.restart()
        await until(lambda: alice.is_registered() and bob.is_registered() and carol.is_registered(), timeout=15)
        await until(lambda: alice._ua.subscriptions and alice._ua.subscriptions[0].state.value == "active",
                    timeout=10)
        assert alice._ua.subscriptions[0].call_id != first_call_id  # a new subscription
        incoming = []
        bob.on_incoming_call(incoming.append)
        await carol.call("bob")
        await until(lambda: lamps[-1].state == "early", timeout=10)
        for sip in (alice, bob, carol):
            await sip.close()

    run(main(), timeout=60)
