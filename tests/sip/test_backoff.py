import pytest

from webvoice.sip.util._backoff import Backoff, ReconnectPolicy


def test_delays_grow_exponentially_within_bounds():
    backoff = Backoff(ReconnectPolicy(min_delay=1, max_delay=8, factor=2, max_per_minute=60), random=lambda: 1.0)
    now = 0.0
    delays = []
    for _ in range(6):
        backoff.attempt(now)
        delay = backoff.next_delay(now)
        delays.append(delay)
        now += delay
    assert delays == [1, 2, 4, 8, 8, 8]


def test_jitter_stays_in_the_upper_half():
    backoff = Backoff(ReconnectPolicy(min_delay=2, max_delay=30), random=lambda: 0.0)
    backoff.failures = 3  # ceiling 16
    assert backoff.next_delay(0.0) == 8.0


def test_a_stable_connection_starts_over():
    backoff = Backoff(ReconnectPolicy(max_per_minute=60), random=lambda: 1.0)
    for _ in range(4):
        backoff.next_delay(0.0)
    backoff.connected(50.0)
    assert backoff.next_delay(100.0) == 1.0


def test_a_connection_dropped_at_once_does_not_reset_the_schedule():
    backoff = Backoff(ReconnectPolicy(max_per_minute=60), random=lambda: 1.0)
    now, delays = 0.0, []
    for _ in range(4):
        backoff.connected(now)          # accepted...
        delay = backoff.next_delay(now + 0.01)  # ...and dropped at once
        delays.append(delay)
        now += delay
    assert delays == [1, 2, 4, 8]


def test_never_more_than_the_cap_per_minute():
    policy = ReconnectPolicy(min_delay=0.1, max_delay=0.1, max_per_minute=5)
    backoff = Backoff(policy, random=lambda: 1.0)
    now, starts = 0.0, []
    while now < 180.0:
        backoff.attempt(now)
        starts.append(now)
        now += backoff.next_delay(now)
    for t in starts:
        assert len([s for s in starts if t <= s < t + 60.0]) <= 5
    assert len(starts) >= 14  # and it keeps trying at the capped rate


@pytest.mark.parametrize(
    "kwargs",
    [dict(min_delay=0), dict(min_delay=5, max_delay=1), dict(factor=0.5), dict(max_per_minute=0)],
)
def test_bad_policy(kwargs):
    with pytest.raises(ValueError):
        ReconnectPolicy(**kwargs)
