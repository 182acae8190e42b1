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
