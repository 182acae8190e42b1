"""Quality warnings on recorded stats sequences: raised at 3 of 5 samples past a
threshold, cleared only after 5 good ones (hysteresis)."""

from __future__ import annotations

import pytest

from webvoice._quality import QualityMonitor, mos


def stats(rtt=0.05, jitter=0.005, received=0, lost=0):
    return {"inbound": {"packets_received": received, "packets_lost": lost, "jitter": jitter},
            "outbound": {"packets_sent": received}, "round_trip_time": rtt}


def run_sequence(samples, **thresholds):
    monitor = QualityMonitor(thresholds or None)
    return [[(kind, w.name) for kind, w in monitor.sample(s)] for s in samples]


@pytest.mark.parametrize("bad,name", [
    ({"rtt": 0.5}, "high-rtt"),
    ({"jitter": 0.05}, "high-jitter"),
    ({"lost_each": 5}, "high-packet-loss"),
])
def test_each_threshold_raises_at_three_of_five_and_clears_after_five_good(bad, name):
    samples, received, lost = [], 0, 0
    plan = ["good", "bad", "good", "bad", "bad", "good", "good", "good", "good", "good", "good"]
    for step in plan:
        received += 50
        if step == "bad":
            lost += bad.get("lost_each", 0)
            samples.append(stats(rtt=bad.get("rtt", 0.05), jitter=bad.get("jitter", 0.005), received=received, lost=lost))
        else:
            samples.append(stats(received=received, lost=lost))
    changes = run_sequence(samples)
    flat = [(i, c) for i, step in enumerate(changes) for c in step if c[1] == name]
    assert flat[0] == (4, ("warning", name))  # the third bad sample of the last five
    assert flat[1] == (9, ("warning_cleared", name))  # five good samples after the last bad one
    assert len(flat) == 2


def test_a_figure_hovering_at_the_threshold_does_not_flap():
    plan = [0.5, 0.5, 0.5, 0.1, 0.5, 0.1, 0.5, 0.1, 0.1, 0.1, 0.1, 0.1]
    changes = run_sequence([stats(rtt=r) for r in plan])
    rtt = [(i, c[0]) for i, step in enumerate(changes) for c in step if c[1] == "high-rtt"]
    assert rtt == [(2, "warning"), (11, "warning_cleared")]


def test_low_mos_from_the_e_model():
    assert mos(20, 2, 0) > 4.3
    assert mos(800, 50, 10) < 2.5
    assert mos(10_000, 1000, 100) == 1.0
    changes = run_sequence([stats(rtt=0.8, jitter=0.1) for _ in range(3)])
    assert ("warning", "low-mos") in changes[2]


def test_thresholds_are_configurable_and_checked():
    assert run_sequence([stats(rtt=0.2)] * 3, **{"high-rtt": 150})[2] == [("warning", "high-rtt")]
    with pytest.raises(ValueError, match="high-rtd"):
        QualityMonitor({"high-rtd": 1})


def test_no_figures_no_warnings():
    assert run_sequence([{"inbound": {}, "outbound": {}, "round_trip_time": None}] * 6) == [[]] * 6


def test_a_call_raises_and_clears_quality_warnings_when_asked(monkeypatch):
    import webvoice._media_recovery as calls
    from devtools.fake_media import FakeMediaBackend
    from tests.driver.conftest import make_instance, run, serving, until
    monkeypatch.setattr(calls, "QUALITY_INTERVAL", 0.01)

    async def main():
        media = FakeMediaBackend()
        sip = make_instance(media, ua_config={"quality_warnings": {"high-rtt": 300}})
        server, task = await serving(sip)
        events = []
        call = await sip.call("bob", events={"warning": lambda w: events.append(("warning", w)),
                                             "warning_cleared": lambda w: events.append(("cleared", w))})
        await until(lambda: call.get_media_state() == "connected", "media connected")
        media.sessions[0].stats = stats(rtt=0.35)
        await until(lambda: events, "the warning")
        assert events[0][0] == "warning" and events[0][1].name == "high-rtt" and events[0][1].threshold == 300
        media.sessions[0].stats = stats(rtt=0.05)
        await until(lambda: len(events) == 2, "cleared")
        assert events[1][0] == "cleared" and events[1][1].name == "high-rtt"
        call.terminate()
        task.cancel()

    run(main())


@pytest.mark.parametrize("option,error", [("yes", TypeError), ({"high-rtd": 1}, ValueError),
                                          ({"high-rtt": -1}, ValueError)])
def test_bad_quality_options_fail_at_once(option, error):
    from tests.driver.conftest import make_instance
    with pytest.raises(error):
        make_instance(ua_config={"quality_warnings": option})


# --- constant audio input level (a dead or silently muted microphone) ------------------------------------------

def mic(energy, seconds, level=None):
    """A stats summary whose outbound media-source totals are ``energy`` and ``seconds``."""
    return {"inbound": {}, "outbound": {"audio_level": level, "total_audio_energy": energy,
                                        "total_samples_duration": seconds}, "round_trip_time": None}


def microphone(levels, start=0.0):
    """Stats summaries one second apart for a microphone at these RMS levels (energy is level**2 * seconds)."""
    energy, out = start, [mic(start, 0.0)]
    for i, level in enumerate(levels, 1):
        energy += level * level
        out.append(mic(energy, float(i)))
    return out


def input_changes(samples, expected=None, **settings):
    monitor = QualityMonitor(settings or None)
    expected = expected or [True] * len(samples)
    return [(i, kind, round(w.value, 6)) for i, (s, e) in enumerate(zip(samples, expected))
            for kind, w in monitor.sample(s, input_expected=e) if w.name == "constant-audio-input-level"]


def test_silence_raises_after_ten_samples_in_a_row_and_two_heard_samples_clear_it():
    live, dead = 0.05, 0.0
    samples = microphone([live] * 3 + [dead] * 10 + [live] + [dead] + [live] * 2)
    # samples[0] has no interval yet: its level is the instantaneous one (None here, not counted)
    assert input_changes(samples) == [(13, "warning", 0.0), (17, "warning_cleared", 0.05)]


def test_one_sound_in_the_silence_restarts_the_count():
    samples = microphone([0.0] * 9 + [0.02] + [0.0] * 9 + [0.0])
    assert input_changes(samples) == [(20, "warning", 0.0)]  # the second run of ten


def test_a_quiet_room_is_no_dead_microphone():
    # a real microphone's own noise (-60 dBFS and varying) never raises it; its threshold is configurable
    quiet = microphone([0.001, 0.0012, 0.0009] * 8)
    assert input_changes(quiet) == []
    assert input_changes(quiet, **{"constant-audio-input-level": 0.002})[0][:2] == (10, "warning")
    assert input_changes(microphone([0.0] * 4), **{"constant-audio-input-seconds": 3}) == [(3, "warning", 0.0)]


def test_muted_or_held_samples_do_not_count_and_keep_a_raised_warning():
    samples = microphone([0.0] * 30)
    expected = [True] * 5 + [False] * 10 + [True] * 16  # muted (or held) after four silent samples
    # four silent samples before the mute, none during it: ten after it raise the warning
    assert input_changes(samples, expected) == [(24, "warning", 0.0)]
    samples = microphone([0.0] * 12 + [0.0] * 5 + [0.05] * 2)
    expected = [True] * 13 + [False] * 5 + [True] * 2
    # raised at 10; muting neither clears it nor counts; heard twice after the unmute: cleared
    assert input_changes(samples, expected) == [(10, "warning", 0.0), (19, "warning_cleared", 0.05)]


def test_a_replaced_track_restarts_its_totals_and_the_instant_level_counts():
    live = [mic(10.0 + i * 0.01, 50.0 + i) for i in range(3)]  # an old source, long running
    # replaceTrack: a new source whose totals start again (smaller than the last ones)
    replaced = [mic(0.0, 0.5 + i, level=0.0) for i in range(10)]
    assert input_changes(live + replaced) == [(12, "warning", 0.0)]  # its first sample counts by audioLevel
    assert input_changes(live + [mic(0.0, 0.5, level=0.3)] + replaced[1:10]) == []  # 9 silent, no more


def test_no_microphone_figures_never_raise_it():
    assert input_changes([mic(None, None)] * 20) == []


def test_the_input_settings_are_checked():
    with pytest.raises(ValueError, match="constant-audio-input-seconds"):
        QualityMonitor({"constant-audio-input-seconds": 0})
    with pytest.raises(ValueError, match="constant-audio-input-seconds"):
        QualityMonitor({"constant-audio-input-seconds": 2.5})


def test_a_call_tells_the_monitor_when_the_app_mutes_or_holds(monkeypatch):
    """A silent microphone raises the warning only while the call is neither muted nor held."""
    import webvoice._media_recovery as calls
    from devtools.fake_media import FakeMediaBackend
    from tests.driver.conftest import make_instance, run, serving, until
    monkeypatch.setattr(calls, "QUALITY_INTERVAL", 0.01)

    async def main():
        media = FakeMediaBackend()
        sip = make_instance(media, ua_config={"quality_warnings": {"constant-audio-input-seconds": 3}})
        server, task = await serving(sip)
        events = []
        call = await sip.call("bob", events={"warning": lambda w: events.append(("warning", w.name)),
                                             "warning_cleared": lambda w: events.append(("cleared", w.name))})
        await until(lambda: call.get_media_state() == "connected", "media connected")
        session = media.sessions[0]
        samples = []
        stats_of = session.get_stats

        async def counted():
            samples.append(call.is_muted().audio or call.is_on_hold().local)
            return await stats_of()
        session.get_stats = counted
        session.stats = {"inbound": {}, "outbound": {"audio_level": 0.0}, "round_trip_time": None}
        call.mute()
        await until(lambda: sum(samples) >= 10, "ten samples while muted")
        assert events == []  # muted is not dead
        call.unmute()
        assert await call.hold()
        samples.clear()
        await until(lambda: sum(samples) >= 10, "ten samples while held")
        assert events == []
        await call.unhold()
        await until(lambda: events, "the warning once unheld")
        assert events == [("warning", "constant-audio-input-level")]
        session.stats = {"inbound": {}, "outbound": {"audio_level": 0.2}, "round_trip_time": None}
        await until(lambda: len(events) == 2, "cleared")
        assert events[1] == ("cleared", "constant-audio-input-level")
        call.terminate()
        task.cancel()

    run(main())
