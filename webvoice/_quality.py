"""Call quality warnings from the stats webvoice collects (beyond the JS SDK).

Twilio's Voice JS SDK warns during a call when the network degrades; no
SIP-based SDK does. :class:`QualityMonitor` reads one ``get_stats()``
summary per sample (see :mod:`webvoice.browser._stats`) and raises a warning
when a figure is past its threshold in ``RAISE_SAMPLES`` of the last
``WINDOW`` samples, and clears it only once none of the last ``WINDOW``
samples is (hysteresis: a figure hovering at the threshold does not flap).

==================  ===========================================  ==========
warning             figure                                       threshold
==================  ===========================================  ==========
high-rtt            round-trip time, ms                          > 400
high-jitter         inbound jitter, ms                           > 30
high-packet-loss    inbound packets lost since the last sample,  > 1
                    % of those expected
low-mos             MOS estimated by the E-model (ITU-T G.107,   < 3.5
                    simplified as Twilio does) from the above
==================  ===========================================  ==========

Pure Python, no clock: the caller samples.
"""

from __future__ import annotations

from collections import deque
from typing import Any

from .sip import record

__all__ = ["QualityMonitor", "QualityWarning", "THRESHOLDS", "mos", "WINDOW", "RAISE_SAMPLES"]

WINDOW = 5
RAISE_SAMPLES = 3
#: name -> (threshold, True when a figure above it is bad, False when below it is).
THRESHOLDS: dict[str, tuple[float, bool]] = {
    "high-rtt": (400.0, True),
    "high-jitter": (30.0, True),
    "high-packet-loss": (1.0, True),
    "low-mos": (3.5, False),
}


def mos(rtt_ms: float, jitter_ms: float, loss_percent: float) -> float:
    """A mean opinion score, 1 to 4.5, from the E-model's R factor (simplified)."""
    latency = rtt_ms / 2 + 2 * jitter_ms + 10
    r = 93.2 - (latency / 40 if latency < 160 else (latency - 120) / 10) - 2.5 * loss_percent
    if r <= 0:
        return 1.0
    return max(1.0, min(4.5, 1 + 0.035 * r + 0.000007 * r * (r - 60) * (100 - r)))


@record
class QualityWarning:
    """What ``warning`` and ``warning_cleared`` handlers get: the warning's
    ``name``, the last sample's ``value`` and the ``threshold``."""

    name: str
    value: float
    threshold: float


class QualityMonitor:
    """Warnings of one call (see the module doc). ``thresholds`` overrides some of
    :data:`THRESHOLDS`' values by name."""

    def __init__(self, thresholds: dict[str, float] | None = None) -> None:
        unknown = set(thresholds or {}) - set(THRESHOLDS)
        if unknown:
            raise ValueError(f"unknown quality warning(s) {sorted(unknown)}; known: {', '.join(THRESHOLDS)}")
        self.thresholds = {name: float((thresholds or {}).get(name, limit)) for name, (limit, _) in THRESHOLDS.items()}
        self.active: set[str] = set()
        self._bad: dict[str, deque[bool]] = {name: deque(maxlen=WINDOW) for name in THRESHOLDS}
        self._last: tuple[int, int] | None = None  # (packets received, packets lost) at the last sample

    def sample(self, stats: dict[str, Any]) -> list[tuple[str, QualityWarning]]:
        """One stats summary in; ("warning" | "warning_cleared", QualityWarning) out."""
        figures = self._figures(stats)
        changes = []
        for name, value in figures.items():
            threshold = self.thresholds[name]
            bad = self._bad[name]
            bad.append(value is not None and (value > threshold if THRESHOLDS[name][1] else value < threshold))
            if name not in self.active and sum(bad) >= RAISE_SAMPLES and value is not None:
                self.active.add(name)
                changes.append(("warning", QualityWarning(name, value, threshold)))
            elif name in self.active and len(bad) == WINDOW and not any(bad):
                self.active.discard(name)
                changes.append(("warning_cleared", QualityWarning(name, value if value is not None else 0.0,
                                                                  threshold)))
        return changes

    def _figures(self, stats: dict[str, Any]) -> dict[str, float | None]:
        inbound = stats.get("inbound") or {}
        rtt = stats.get("round_trip_time")
        rtt_ms = None if rtt is None else float(rtt) * 1000
        jitter = inbound.get("jitter")
        jitter_ms = None if jitter is None else float(jitter) * 1000
        received, lost = int(inbound.get("packets_received") or 0), int(inbound.get("packets_lost") or 0)
        loss = None
        if self._last is not None:
            new_received, new_lost = received - self._last[0], lost - self._last[1]
            expected = new_received + max(new_lost, 0)
            loss = 100.0 * max(new_lost, 0) / expected if expected > 0 else None
        self._last = (received, lost)
        score = None
        if rtt_ms is not None or jitter_ms is not None:
            score = mos(rtt_ms or 0.0, jitter_ms or 0.0, loss or 0.0)
        return {"high-rtt": rtt_ms, "high-jitter": jitter_ms, "high-packet-loss": loss, "low-mos": score}
