"""SIP timer values (RFC 3261 17 and table 4, RFC 6026 for L and M).

webvoice speaks SIP over a reliable transport (WebSocket, RFC 7118), so there
are no retransmission timers (A, E, G) and the "wait for stray retransmissions"
timers D, I, J and K are zero: they fire at once. Times are seconds.
"""

from __future__ import annotations

from ..util._record import record

__all__ = ["TimerConfig"]


@record
class TimerConfig:
    """T1 (RTT estimate), T2 (longest retransmit interval), T4 (network lifetime)."""

    t1: float = 0.5
    t2: float = 4.0
    t4: float = 5.0

    def __post_init__(self) -> None:
        for name in ("t1", "t2", "t4"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
                raise ValueError(f"{name} must be a positive number of seconds, not {value!r}")

    @property
    def timer_b(self) -> float:
        """INVITE client: no final response (17.1.1.2)."""
        return 64 * self.t1

    @property
    def timer_f(self) -> float:
        """Non-INVITE client: no final response (17.1.2.2)."""
        return 64 * self.t1

    @property
    def timer_h(self) -> float:
        """INVITE server: no ACK for a non-2xx final response (17.2.1)."""
        return 64 * self.t1

    @property
    def timer_l(self) -> float:
        """INVITE server: Accepted state, 2xx sent (RFC 6026 7.1)."""
        return 64 * self.t1

    @property
    def timer_m(self) -> float:
        """INVITE client: Accepted state, more 2xx may come (RFC 6026 7.2)."""
        return 64 * self.t1

    # Zero over a reliable transport (RFC 3261 table 4).
    timer_d = timer_i = timer_j = timer_k = property(lambda self: 0.0)

    def duration(self, letter: str) -> float:
        """The value of timer ``letter`` ("B", "D", ...)."""
        return float(getattr(self, f"timer_{letter.lower()}"))
