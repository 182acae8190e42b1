"""Media health (beyond the JS SDK): the media state table, the call events it
raises, and the watchdog that ends a call whose media never connects."""

from __future__ import annotations

import asyncio

import pytest

from devtools.fake_media import FakeMediaBackend, _sdp
from tests.driver.conftest import drop_connection, established, make_instance, run, serving, transport_of, until
from webvoice._media_health import FlowWatch, MediaHealth, received_total, stall_cause

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
    ({"media_stall_timeout": -1}, ValueError), ({"media_stall_timeout": True}, ValueError),
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


def test_ice_restarts_that_gather_no_candidate_send_nothing_and_are_not_awaited(quick_restarts, monkeypatch):
    """The network (or the TURN server) is still down: each restart's offer has no
    candidate, so no re-INVITE goes out, and the next try does not wait for an
    answer to settle (ICE_RESTART_SETTLE, made long here, is never waited)."""
    import webvoice._media_recovery as recovery
    monkeypatch.setattr(recovery, "ICE_RESTART_SETTLE", 30.0)

    async def main():
        media = FakeMediaBackend()
        sip = make_instance(media, ua_config={"ice_restart_attempts": 3})
        server, task = await serving(sip)
        events, handlers = _recorder(["media_interrupted", "media_failed", "ended"])
        call = await sip.call("bob", events=handlers)
        await until(lambda: call.get_media_state() == "connected", "media connected")
        media.gathers = False
        media.sessions[0].report("failed", "failed")
        await until(call.is_ended, "given up")
        assert [n for n, _ in events] == ["media_interrupted", "media_failed", "ended"]
        assert media.sessions[0].log.count("restart without candidates") == 3
        assert _ice_restart_offers(server) == []
        task.cancel()

    run(main(), timeout=5.0)


def test_a_restart_that_gathers_again_heals_after_ones_that_could_not(quick_restarts, monkeypatch):
    async def main():
        media = FakeMediaBackend()
        sip = make_instance(media)
        server, task = await serving(sip)
        events, handlers = _recorder(["media_interrupted", "media_recovered", "media_failed"])
        call = await sip.call("bob", events=handlers)
        await until(lambda: call.get_media_state() == "connected", "media connected")
        media.gathers = False
        session = media.sessions[0]
        session.report("disconnected", "disconnected")
        await until(lambda: session.log.count("restart without candidates") == 2, "two restarts without candidates")
        media.gathers = True  # the network is back
        await until(lambda: call.get_media_state() == "connected", "media back")
        assert [n for n, _ in events] == ["media_interrupted", "media_recovered"]
        assert len(_ice_restart_offers(server)) == 1
        assert call.is_established()
        call.terminate()
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


# --- stalls: the browser says connected, nothing arrives ---------------------------------------------------

def test_a_stall_interrupts_and_only_arrivals_or_a_real_reconnection_end_it():
    health = MediaHealth()
    health.update("connected", "connected")
    name, event = health.stalled(8)
    assert (name, event.cause, event.state) == ("media_interrupted", "RTP", "interrupted")
    assert "nothing received for 8 s" in event.reason
    assert health.stalled(8) is None  # once
    assert health.update("connected", "connected") is None  # the browser's unchanged word proves nothing
    assert health.update(None, "completed") is None
    assert health.flowing()[0] == "media_recovered" and health.state == "connected"
    assert health.flowing() is None

    health.stalled(8)
    health.update("connected", "checking")  # an ICE restart under way...
    assert health.update("connected", "connected")[0] == "media_recovered"  # ...and ICE up again

    health.stalled(8)
    assert health.update("disconnected", "disconnected") is None  # still interrupted; the browser agrees now
    assert health.flowing() is None  # no longer a stall: the browser says when it is back
    assert health.update("connected", "connected")[0] == "media_recovered"

    health.stalled(8)
    name, event = health.give_up("restarts exhausted")
    assert (name, event.cause) == ("media_failed", "RTP")


def test_a_stall_needs_connected_media():
    health = MediaHealth()
    assert health.stalled(8) is None and health.state == "new"
    health.update("connected", "connected")
    health.update("disconnected", "disconnected")
    assert health.stalled(8) is None and health.flowing() is None and health.state == "interrupted"


def test_the_flow_watch_counts_only_judged_samples_without_growth():
    watch = FlowWatch(5)
    assert watch.sample(10, 0, judged=True) is None  # the first sample is a baseline
    assert watch.sample(11, 2, judged=True) == "flowing"
    assert watch.sample(11, 6, judged=True) is None
    assert watch.sample(11, 7, judged=True) == "stalled"  # 5 s since it last grew
    assert watch.sample(11, 9, judged=True) == "stalled"
    assert watch.sample(11, 10, judged=False) is None  # on hold: the clock restarts
    assert watch.sample(11, 14, judged=True) is None
    assert watch.sample(11, 15, judged=True) == "stalled"
    assert watch.sample(12, 16, judged=False) == "flowing"  # arrivals count even when not expected


def test_a_probe_that_moved_counts_as_growth_and_one_that_did_not_asks_for_a_sample():
    watch = FlowWatch(5)
    assert watch.sample(10, 0, judged=True) is None
    assert watch.probed(None, 1) is False  # no mark: a full sample
    assert watch.probed(100.0, 2) is False  # a first mark is a baseline
    assert watch.probed(100.0, 3) is False  # did not move: a full sample
    assert watch.probed(180.0, 4) is True  # moved: arrivals at 4
    assert watch.sample(10, 8, judged=True) is None  # 4 s since the probe saw arrivals
    assert watch.sample(10, 9, judged=True) == "stalled"
    assert watch.probed(180.0, 10) is False  # never evidence of a stall by itself
    assert watch.sample(10, 10, judged=True) == "stalled"


def test_the_received_total_adds_rtp_packets_payload_bytes_and_consent_answers():
    assert received_total({"inbound": {"packets_received": 3},
                           "transport": {"bytes_received": 100, "responses_received": 2}}) == 105
    assert received_total({"inbound": {"packets_received": 3}}) == 3
    assert received_total({"inbound": {}, "transport": {"bytes_received": None, "responses_received": None}}) == 0


@pytest.fixture
def quick_stalls(quick_restarts, monkeypatch):
    import webvoice._media_recovery as calls
    monkeypatch.setattr(calls, "STALL_INTERVAL", 0.02)
    return {"media_stall_timeout": 0.15}


def test_a_stall_the_browser_does_not_see_is_healed_by_an_ice_restart(quick_stalls):
    async def main():
        media = FakeMediaBackend()
        sip = make_instance(media, ua_config=quick_stalls)
        server, task = await serving(sip)
        events, handlers = _recorder(["media_connected", "media_interrupted", "media_recovered", "media_failed"])
        call = await sip.call("bob", events=handlers)
        await until(lambda: call.get_media_state() == "connected", "media connected")
        await asyncio.sleep(0.3)  # arrivals: no stall
        assert call.get_media_state() == "connected"
        session = media.sessions[0]
        session.arriving = False  # the relay died; the browser still says connected
        await until(lambda: call.get_media_state() == "interrupted", "the stall noticed")
        assert events[1][1].cause == "RTP"
        await until(lambda: _ice_restart_offers(server), "an ICE restart")
        assert call.get_media_state() == "interrupted"  # the answer's "connected" is not enough
        session.arriving = True
        await until(lambda: call.get_media_state() == "connected", "media back")
        assert [n for n, _ in events] == ["media_connected", "media_interrupted", "media_recovered"]
        assert (await call.get_stats())["media"]["state"] == "connected"
        call.terminate()
        task.cancel()

    run(main())


def test_a_stall_that_restarts_do_not_heal_ends_the_call(quick_stalls):
    async def main():
        media = FakeMediaBackend()
        sip = make_instance(media, ua_config={**quick_stalls, "ice_restart_attempts": 2})
        server, task = await serving(sip)
        events, handlers = _recorder(["media_interrupted", "media_recovered", "media_failed", "ended"])
        call = await sip.call("bob", events=handlers)
        await until(lambda: call.get_media_state() == "connected", "media connected")
        media.sessions[0].arriving = False
        await until(call.is_ended, "given up")
        assert [n for n, _ in events] == ["media_interrupted", "media_failed", "ended"]
        assert events[1][1].cause == "RTP" and "2 ICE restarts" in events[1][1].reason
        assert len(_ice_restart_offers(server)) == 2
        task.cancel()

    run(main())


@pytest.mark.parametrize("who", ["local", "remote"])
def test_a_held_call_is_not_a_stall_until_it_resumes(quick_stalls, who):
    async def main():
        media = FakeMediaBackend()
        sip = make_instance(media, ua_config=quick_stalls)
        server, task = await serving(sip)
        events, handlers = _recorder(["media_interrupted"])
        call = await established(sip, "bob", events=handlers)
        await until(lambda: call.get_media_state() == "connected", "media connected")
        (invite,) = server.requests("INVITE")
        if who == "local":
            await call.hold()
        else:
            server.send_reinvite(invite, _sdp("inactive", 50000, 2), cseq=2)
            await until(lambda: call.is_on_hold().remote, "bob holds")
        media.sessions[0].arriving = False  # a held call carries no RTP; some peers send no RTCP either
        await asyncio.sleep(0.5)
        assert call.get_media_state() == "connected" and not events
        if who == "local":
            await call.unhold()
        else:
            server.ack(invite, 2)
            server.send_reinvite(invite, _sdp("sendrecv", 50000, 3), cseq=3)
        await until(lambda: call.get_media_state() == "interrupted", "a stall once the call is resumed")
        assert events[0][1].cause == "RTP"
        call.terminate()
        task.cancel()

    run(main())


def test_stalls_are_not_watched_when_turned_off(quick_stalls):
    async def main():
        media = FakeMediaBackend()
        sip = make_instance(media, ua_config={"media_stall_timeout": 0})
        server, task = await serving(sip)
        call = await sip.call("bob")
        await until(lambda: call.get_media_state() == "connected", "media connected")
        media.sessions[0].arriving = False
        await asyncio.sleep(0.4)
        assert call.get_media_state() == "connected" and not _ice_restart_offers(server)
        call.terminate()
        task.cancel()

    run(main())


async def _connected_call(ua_config):
    """A call from a fake-media instance, its media connected: (backend, call, server task)."""
    media = FakeMediaBackend()
    sip = make_instance(media, ua_config=ua_config)
    _, task = await serving(sip)
    call = await established(sip, "bob")
    await until(lambda: call.get_media_state() == "connected", "media connected")
    return media, call, task


def test_a_held_call_takes_no_stats_samples_unless_quality_warnings_want_them(quick_stalls):
    async def main():
        media, call, task = await _connected_call(quick_stalls)
        await call.hold()
        session = media.sessions[0]
        await asyncio.sleep(0.1)
        taken = session.probes + session.stats_taken
        await asyncio.sleep(0.3)
        assert session.probes + session.stats_taken == taken  # every 0.02 s otherwise
        await call.unhold()
        await until(lambda: session.probes > taken + 3, "sampled again once resumed")
        call.terminate()
        task.cancel()

    run(main())


@pytest.mark.parametrize("probe", [True, False])
def test_flowing_media_is_probed_without_a_stats_report_where_the_browser_can(quick_stalls, probe):
    """Only stalls watched (the default): where the browser says when audio last
    arrived (getSynchronizationSources), a mark that moved is the whole sample;
    elsewhere each sample is a stats report."""
    async def main():
        media, call, task = await _connected_call(quick_stalls)
        session = media.sessions[0]
        session.probe = probe
        await until(lambda: session.probes > 10, "probed")
        taken = session.stats_taken
        await asyncio.sleep(0.2)  # ten samples
        if probe:
            assert session.stats_taken == taken
        else:
            assert session.stats_taken >= taken + 5
        assert call.get_media_state() == "connected"
        session.arriving = False  # the probe stops moving: full samples, and the stall
        await until(lambda: call.get_media_state() == "interrupted", "the stall noticed")
        assert session.stats_taken > taken
        call.terminate()
        task.cancel()

    run(main())


def test_quality_warnings_take_a_stats_report_every_sample(quick_stalls, monkeypatch):
    import webvoice._media_recovery as recovery
    monkeypatch.setattr(recovery, "QUALITY_INTERVAL", 0.02)

    async def main():
        media, call, task = await _connected_call({**quick_stalls, "quality_warnings": True})
        session = media.sessions[0]
        await until(lambda: session.stats_taken > 5, "sampled")
        assert session.probes == 0  # the warnings need the report anyway
        call.terminate()
        task.cancel()

    run(main())
