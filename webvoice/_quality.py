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
constant-audio-     the microphone's level (RMS, 0..1) as the    < 0.0001
input-level         sender takes it, over the last sample        (-80 dBFS)
==================  ===========================================  ==========

The constant input level warning says the microphone is dead, unplugged or
muted where the application cannot see it (an OS or hardware mute switch, a
track replaced by silence): what it sends is digital silence, which no real
microphone produces, even in a quiet room (its own noise sits far above
-80 dBFS). It has its own hysteresis: raised after
``constant-audio-input-seconds`` (10) samples in a row below the threshold,
cleared after ``INPUT_CLEAR_SAMPLES`` (2) in a row above it. Samples taken
while the application mutes the call or the call is on hold do not count
(muted is not dead; held, the microphone is off the sender) and restart the
count; a warning already raised stays until the microphone is heard again.
The level is the RMS over the interval (``totalAudioEnergy`` and
``totalSamplesDuration`` of the sender's ``media-source`` stats), else the
instantaneous ``audioLevel``; a browser that reports neither never raises it.

Pure Python, no clock: the caller samples (once a second).
"""

from __future__ import annotations

import math
from collections import deque
from typing import Any

from .sip import record

__all__ = ["QualityMonitor", "QualityWarning", "THRESHOLDS", "SETTINGS", "mos", "WINDOW", "RAISE_SAMPLES",
           "INPUT_CLEAR_SAMPLES"]

WINDOW = 5
RAISE_SAMPLES = 3
#: name -> (threshold, True when a figure above it is bad, False when below it is).
THRESHOLDS: dict[str, tuple[float, bool]] = {
    "high-rtt": (400.0, True),
    "high-jitter": (30.0, True),
    "high-packet-loss": (1.0, True),
    "low-mos": (3.5, False),
    "constant-audio-input-level": (0.0001, False),
}
#: Settings that are no threshold: name -> default (set in the same dict as the thresholds).
SETTINGS: dict[str, float] = {
    "constant-audio-input-seconds": 10,  # samples in a row below the level before the warning
}
#: Samples in a row above the level that clear the constant input level warning.
INPUT_CLEAR_SAMPLES = 2
_INPUT = "constant-audio-input-level"
_NETWORK = tuple(name for name in THRESHOLDS if name != _INPUT)


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
    :data:`THRESHOLDS`' and :data:`SETTINGS`' values by name."""

    def __init__(self, thresholds: dict[str, float] | None = None) -> None:
        given = dict(thresholds or {})
        unknown = set(given) - set(THRESHOLDS) - set(SETTINGS)
        if unknown:
            raise ValueError(f"unknown quality warning(s) {sorted(unknown)}; known: "
                             f"{', '.join([*THRESHOLDS, *SETTINGS])}")
        self.thresholds = {name: float(given.get(name, limit)) for name, (limit, _) in THRESHOLDS.items()}
        seconds = given.get("constant-audio-input-seconds", SETTINGS["constant-audio-input-seconds"])
        if isinstance(seconds, bool) or not isinstance(seconds, int) or seconds < 1:
            raise ValueError(f"quality warning setting 'constant-audio-input-seconds' must be an integer >= 1, "
                             f"not {seconds!r}")
        self.input_seconds = seconds
        self.active: set[str] = set()
        self._bad: dict[str, deque[bool]] = {name: deque(maxlen=WINDOW) for name in _NETWORK}
        self._last: tuple[int, int] | None = None  # (packets received, packets lost) at the last sample
        self._input_totals: tuple[float, float] | None = None  # (energy, seconds) of the microphone, last sample
        self._silent = 0  # samples in a row below the input level threshold
        self._heard = 0  # samples in a row above it
        self._loudest = 0.0  # the highest level of the silent run

    def sample(self, stats: dict[str, Any], *, input_expected: bool = True) -> list[tuple[str, QualityWarning]]:
        """One stats summary in; ("warning" | "warning_cleared", QualityWarning) out.
        ``input_expected``: False while the application mutes the call or it is on hold."""
        changes = self._network(stats)
        change = self._input(self._input_level(stats), input_expected)
        if change is not None:
            changes.append(change)
        return changes

    def _input(self, level: float | None, expected: bool) -> tuple[str, QualityWarning] | None:
        threshold = self.thresholds[_INPUT]
        if level is None or not expected:
            self._silent = self._heard = 0
            return None
        if level < threshold:
            self._loudest = max(self._loudest, level) if self._silent else level
            self._silent, self._heard = self._silent + 1, 0
        else:
            self._silent, self._heard = 0, self._heard + 1
        if _INPUT not in self.active and self._silent >= self.input_seconds:
            self.active.add(_INPUT)
            return "warning", QualityWarning(_INPUT, self._loudest, threshold)
        if _INPUT in self.active and self._heard >= INPUT_CLEAR_SAMPLES:
            self.active.discard(_INPUT)
            return "warning_cleared", QualityWarning(_INPUT, level, threshold)
        return None

    def _input_level(self, stats: dict[str, Any]) -> float | None:
        """The microphone's RMS level since the last sample, else its instantaneous level."""
        outbound = stats.get("outbound") or {}
        energy, seconds = outbound.get("total_audio_energy"), outbound.get("total_samples_duration")
        last = self._input_totals
        self._input_totals = None if energy is None or seconds is None else (float(energy), float(seconds))
        if last is not None and self._input_totals is not None:
            new_energy, new_seconds = self._input_totals[0] - last[0], self._input_totals[1] - last[1]
            if new_seconds > 0 and new_energy >= 0:  # else the source was replaced: its totals restarted
                return math.sqrt(new_energy / new_seconds)
        level = outbound.get("audio_level")
        return None if level is None else float(level)

    def _network(self, stats: dict[str, Any]) -> list[tuple[str, QualityWarning]]:
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
