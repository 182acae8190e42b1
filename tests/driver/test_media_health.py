"""Media health (beyond the JS SDK): the media state table, the call events it
raises, and the watchdog that ends a call whose media never connects."""

from __future__ import annotations

import asyncio

import pytest

from devtools.fake_media import FakeMediaBackend
from tests.driver.conftest import drop_connection, established, make_instance, run, serving, transport_of, until
from webvoice._media_health import MediaHealth, stall_cause

# (browser states in order) -> (call events raised, final media state)
TABLE = [
    ([("connecting", "checking"), ("connected", "connected")], ["media_connected"], "connected"),
    ([("connected", "connected"), ("disconnected", "disconnected"), ("connected", "connected")],
     ["media_connected", "media_interrupted", "media_recovered"], "connected"),
    ([("connected", "connected"), ("failed", "failed")], ["media_connected", "media_interrupted"], "interrupted"),
    ([("connecting", "connected"), ("failed", "connected")], ["media_failed"], "failed"),
    ([("failed", "failed"), ("connected", "connected")], ["media_failed"], "failed"),
    ([("connecting", "checking"), ("connecting", "checking")], [], "new"),
]


@pytest.mark.parametrize("states,events,final", TABLE)
def test_the_media_state_table(states, events, final):
    health = MediaHealth()
    raised = [change[0] for change in (health.update(*s) for s in states) if change is not None]
    assert raised == events
    assert health.state == final


def test_the_cause_says_what_stalled():
    assert stall_cause("connecting", "checking") == "ICE"
    assert stall_cause("failed", "failed") == "ICE"
    assert stall_cause("connecting", "connected") == "DTLS"
    assert stall_cause("failed", "completed") == "DTLS"
    health = MediaHealth()
    health.update("connecting", "connected")
    name, event = health.give_up("watchdog")
    assert (name, event.cause, event.state, event.reason) == ("media_failed", "DTLS", "failed", "watchdog")
    assert health.give_up("again") is None  # once


def _recorder(names):
    events = []
    return events, {name: (lambda e, n=name: events.append((n, e))) for name in names}


def test_connected_media_raises_media_connected_and_shows_in_stats_and_lines():
    async def main():
        sip = make_instance(FakeMediaBackend())
        server, task = await serving(sip)
        events, handlers = _recorder(["media_connected", "media_failed"])
        call = await sip.call("bob", events=handlers)
        await until(lambda: call.get_media_state() == "connected", "media connected")
        assert [n for n, _ in events] == ["media_connected"]
        stats = await call.get_stats()
        assert stats["media"] == {"state": "connected", "connection": "connected", "ice": "connected"}
        assert sip.get_call_lines()[0].media_state == "connected"
        call.terminate()
        task.cancel()

    run(main())


def test_interrupted_and_recovered_media_raise_their_events_in_order():
    async def main():
        media = FakeMediaBackend()
        sip = make_instance(media, ua_config={"media_timeout": 0.2})
        server, task = await serving(sip)
        events, handlers = _recorder(["media_connected", "media_interrupted", "media_recovered", "media_failed"])
        call = await sip.call("bob", events=handlers)
        await until(lambda: call.get_media_state() == "connected", "media connected")
        session = media.sessions[0]
        session.report("disconnected", "disconnected")
        assert call.get_media_state() == "interrupted"
        assert sip.get_call_lines()[0].media_state == "interrupted"
        session.report("connected", "connected")
        assert [n for n, _ in events] == ["media_connected", "media_interrupted", "media_recovered"]
        assert events[1][1].cause == "ICE"
        assert call.is_established()
        call.terminate()
        task.cancel()

    run(main())


def test_the_watchdog_ends_a_call_whose_media_never_connects_with_webrtc_error():
    async def main():
        media = FakeMediaBackend(connects=False)
        sip = make_instance(media, ua_config={"media_timeout": 0.3})
        server, task = await serving(sip)
        events, handlers = _recorder(["media_failed", "ended", "failed"])
        call = await established(sip, "bob", events=handlers)
        media.sessions[0].report("connecting", "connected")  # ICE up, DTLS never completes
        await until(call.is_ended, "the watchdog ends the call")
        assert [n for n, _ in events] == ["media_failed", "ended"]
        failed, ended = events[0][1], events[1][1]
        assert (failed.cause, failed.state) == ("DTLS", "failed")
        assert (ended.cause, ended.originator) == ("WebRTC Error", "local")
        await until(lambda: server.requests("BYE"), "BYE sent")
        task.cancel()

    run(main())


def test_the_watchdog_can_keep_the_call_up():
    async def main():
        media = FakeMediaBackend(connects=False)
        sip = make_instance(media, ua_config={"media_timeout": 0.05, "media_failure_ends_call": False})
        server, task = await serving(sip)
        events, handlers = _recorder(["media_failed", "ended"])
        call = await sip.call("bob", events=handlers)
        await until(lambda: events, "the watchdog fires")
        assert events[0][1].cause == "ICE"
        assert call.is_established() and call.get_media_state() == "failed"
        assert not server.requests("BYE")
        call.terminate()
        task.cancel()

    run(main())


@pytest.mark.parametrize("config,error", [
    ({"media_timeout": -1}, ValueError), ({"media_timeout": "10"}, ValueError),
    ({"media_failure_ends_call": 1}, TypeError),
])
def test_bad_media_health_options_fail_before_anything_is_sent(config, error):
    with pytest.raises(error, match="media_"):
        make_instance(ua_config=config)


@pytest.fixture
def quick_restarts(monkeypatch):
    import webvoice._media_recovery as calls
    monkeypatch.setattr(calls, "ICE_RESTART_FIRST_DELAY", {"outgoing": 0.01, "incoming": 0.01})
    monkeypatch.setattr(calls, "ICE_RESTART_MAX_DELAY", 0.04)
    monkeypatch.setattr(calls, "ICE_RESTART_SETTLE", 0.1)


def _ice_restart_offers(server):
    return [r for r in server.requests("INVITE") if r.to.params.get("tag") is not None]


def test_interrupted_media_is_restored_by_an_ice_restart_reinvite(quick_restarts):
    async def main():
        media = FakeMediaBackend()
        sip = make_instance(media)
        server, task = await serving(sip)
        events, handlers = _recorder(["media_connected", "media_interrupted", "media_recovered", "media_failed"])
        call = await sip.call("bob", events=handlers)
        await until(lambda: call.get_media_state() == "connected", "media connected")
        media.sessions[0].report("disconnected", "disconnected")  # stays down until a re-offer's answer
        await until(lambda: call.get_media_state() == "connected", "media back")
        assert [n for n, _ in events] == ["media_connected", "media_interrupted", "media_recovered"]
        assert len(_ice_restart_offers(server)) == 1
        assert call.is_established()
        call.terminate()
        task.cancel()

    run(main())


def test_ice_restarts_are_bounded_then_media_failed_ends_the_call(quick_restarts):
    async def main():
        media = FakeMediaBackend()
        sip = make_instance(media, ua_config={"ice_restart_attempts": 3})
        server, task = await serving(sip, reinvite=lambda r: 488)  # the peer refuses each re-offer
        events, handlers = _recorder(["media_interrupted", "media_recovered", "media_failed", "ended"])
        call = await sip.call("bob", events=handlers)
        await until(lambda: call.get_media_state() == "connected", "media connected")
        media.sessions[0].report("failed", "failed")
        await until(call.is_ended, "given up")
        assert [n for n, _ in events] == ["media_interrupted", "media_failed", "ended"]
        assert "3 ICE restarts" in events[1][1].reason
        assert events[2][1].cause == "WebRTC Error"
        assert len(_ice_restart_offers(server)) == 3
        task.cancel()

    run(main())


def test_no_ice_restart_when_turned_off(quick_restarts):
    async def main():
        media = FakeMediaBackend()
        sip = make_instance(media, ua_config={"ice_restart_attempts": 0})
        server, task = await serving(sip)
        call = await sip.call("bob")
        await until(lambda: call.get_media_state() == "connected", "media connected")
        media.sessions[0].report("disconnected", "disconnected")
        await asyncio.sleep(0.2)
        assert call.get_media_state() == "interrupted" and not _ice_restart_offers(server)
        call.terminate()
        task.cancel()

    run(main())


def test_a_websocket_reconnect_restarts_ice_at_once_for_interrupted_media(quick_restarts, monkeypatch):
    import webvoice._media_recovery as calls
    monkeypatch.setattr(calls, "ICE_RESTART_FIRST_DELAY", {"outgoing": 30.0, "incoming": 30.0})  # only the kick
    async def main():
        media = FakeMediaBackend()
        sip = make_instance(media, ua_config={"connection_recovery_min_interval": 0.05,
                                              "connection_recovery_max_interval": 0.05})
        server, task = await serving(sip)
        events, handlers = _recorder(["media_interrupted", "media_recovered"])
        call = await sip.call("bob", events=handlers)
        await until(lambda: call.get_media_state() == "connected", "media connected")
        media.sessions[0].report("disconnected", "disconnected")
        assert not _ice_restart_offers(server)
        drop_connection(sip)
        await until(lambda: call.get_media_state() == "connected", "restarted after the reconnect")
        assert [n for n, _ in events] == ["media_interrupted", "media_recovered"]
        assert len(_ice_restart_offers(server)) == 1
        call.terminate()
        task.cancel()

    run(main())


def test_a_websocket_reconnect_leaves_connected_media_alone(quick_restarts):
    async def main():
        media = FakeMediaBackend()
        sip = make_instance(media, ua_config={"connection_recovery_min_interval": 0.05,
                                              "connection_recovery_max_interval": 0.05})
        server, task = await serving(sip)
        call = await sip.call("bob")
        await until(lambda: call.get_media_state() == "connected", "media connected")
        transport = drop_connection(sip)
        await until(lambda: transport_of(sip) is not transport and sip.is_connected(), "reconnected")
        await until(lambda: server.requests("UPDATE"), "the target refresh")
        assert not _ice_restart_offers(server) and call.get_media_state() == "connected"
        call.terminate()
        task.cancel()

    run(main())
