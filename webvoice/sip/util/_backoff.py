"""When to try the connection to the SIP server again after it was lost.

Exponential backoff with full jitter, bounded both ways, and a hard cap on
attempts per minute so that a server that accepts and drops connections at once
cannot make us hammer it. Sans-IO: the caller says when attempts happen and
asks for the next delay; randomness is injectable for tests.
"""

from __future__ import annotations

import random
from collections import deque
from typing import Callable

from ._record import record

__all__ = ["ReconnectPolicy", "Backoff"]


@record
class ReconnectPolicy:
    """Bounds of the backoff, settable through ``ua_config``.

    The n-th retry waits a random time in ``[base*factor**n/2, base*factor**n]``
    (at most ``max_delay``), and never more than ``max_per_minute`` attempts
    start within any 60 seconds.
    """

    min_delay: float = 1.0
    max_delay: float = 30.0
    factor: float = 2.0
    max_per_minute: int = 6
    #: A connection must stay up this long before its loss restarts the schedule:
    #: a server that accepts and drops at once must not reset the backoff.
    stable_after: float = 10.0

    def __post_init__(self) -> None:
        if not (0 < self.min_delay <= self.max_delay):
            raise ValueError("reconnect delays need 0 < min_delay <= max_delay")
        if self.factor < 1:
            raise ValueError("reconnect factor must be at least 1")
        if not 1 <= self.max_per_minute <= 60:
            raise ValueError("max_per_minute must be between 1 and 60")


class Backoff:
    """The retry schedule of one connection."""

    # A plain class: one per instance, nothing to gain from a generated __init__.
    __slots__ = ("policy", "random", "failures", "_attempts", "_up_since")

    def __init__(self, policy: ReconnectPolicy | None = None, random: Callable[[], float] = random.random) -> None:
        self.policy = policy if policy is not None else ReconnectPolicy()
        self.random = random
        self.failures = 0
        self._attempts: deque[float] = deque()
        self._up_since: float | None = None

    def __repr__(self) -> str:
        return f"Backoff(policy={self.policy!r}, failures={self.failures})"

    def attempt(self, now: float) -> None:
        """Record that a connection attempt starts at ``now``."""
        self._attempts.append(now)
        while self._attempts and self._attempts[0] <= now - 60.0:
            self._attempts.popleft()

    def connected(self, now: float) -> None:
        """The connection is up. If it stays up ``stable_after`` seconds, its loss
        starts the schedule over; a shorter life counts as one more failure."""
        self._up_since = now

    def next_delay(self, now: float) -> float:
        """Seconds to wait before the next attempt, after a failure or loss at ``now``."""
        policy = self.policy
        if self._up_since is not None and now - self._up_since >= policy.stable_after:
            self.failures = 0
        self._up_since = None
        ceiling = min(policy.max_delay, policy.min_delay * policy.factor**self.failures)
        self.failures += 1
        delay = ceiling / 2 + self.random() * ceiling / 2
        delay = max(policy.min_delay, delay)
        # The per-minute cap: if the window is full, wait until its oldest attempt ages out.
        recent = [t for t in self._attempts if t > now - 60.0]
        if len(recent) >= policy.max_per_minute:
            delay = max(delay, recent[-policy.max_per_minute] + 60.0 - now)
        return delay
