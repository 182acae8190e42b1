"""The live call-quality panel: packet loss, jitter and round-trip time.

Once a second the softphone hands :meth:`QualityPanel.show` the figures of
``await call.get_stats()``; the panel keeps the last minute of each line and
draws three small charts on ``<canvas>`` elements, from Python, through the
DOM's 2D context. Packet loss is computed per second from the counters
(lost / (received + lost) since the previous sample), not over the whole call,
so a burst of loss shows up as a spike.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import js

WINDOW = 60  # samples, one a second
MIN_SPAN = 20  # samples across the chart's width while there are fewer

MUTED = "#8a93a6"
GRID = "#edf0f5"


def loss_percent(before: dict | None, after: dict) -> float | None:
    """Per cent of the packets expected between two samples that never came."""
    if before is None:
        return None
    received = after["inbound"].get("packets_received", 0) - before["inbound"].get("packets_received", 0)
    lost = after["inbound"].get("packets_lost", 0) - before["inbound"].get("packets_lost", 0)
    lost = max(lost, 0)  # packetsLost may go down when late packets arrive
    expected = received + lost
    return None if expected <= 0 else 100.0 * lost / expected


def milliseconds(seconds: float | None) -> float | None:
    return None if seconds is None else seconds * 1000.0


@dataclass
class LineHistory:
    """The last minute of one line's figures."""

    previous: dict | None = None
    loss: deque = field(default_factory=lambda: deque(maxlen=WINDOW))
    jitter: deque = field(default_factory=lambda: deque(maxlen=WINDOW))
    rtt: deque = field(default_factory=lambda: deque(maxlen=WINDOW))

    def add(self, stats: dict) -> None:
        self.loss.append(loss_percent(self.previous, stats))
        self.jitter.append(milliseconds(stats["inbound"].get("jitter")) if stats["inbound"] else None)
        self.rtt.append(milliseconds(stats.get("round_trip_time")))
        self.previous = stats


class Chart:
    """A sparkline of the last minute on a canvas: it grows from the left over
    the first MIN_SPAN seconds, then widens to a minute, then scrolls."""

    def __init__(self, canvas, color: str, unit: str, floor: float) -> None:
        self.canvas = canvas
        self.color = color
        self.unit = unit
        self.floor = floor  # the smallest top of the scale, so that noise stays flat

    def draw(self, values) -> None:
        context, width, height, ratio = self._prepare()
        known = [v for v in values if v is not None]
        top = max([self.floor] + [v * 1.25 for v in known])
        self._grid(context, width, height, ratio, top)
        points = self._points(list(values), width, height, ratio, top)
        if points:
            self._area(context, points, height)
            self._line(context, points, ratio)

    def _prepare(self):
        ratio = js.window.devicePixelRatio or 1
        width = max(1, int(self.canvas.clientWidth * ratio))
        height = max(1, int(self.canvas.clientHeight * ratio))
        if self.canvas.width != width or self.canvas.height != height:
            self.canvas.width, self.canvas.height = width, height
        context = self.canvas.getContext("2d")
        context.clearRect(0, 0, width, height)
        return context, width, height, ratio

    def _grid(self, context, width, height, ratio, top) -> None:
        context.strokeStyle = GRID
        context.lineWidth = ratio
        for fraction in (0.0, 0.5, 1.0):
            y = round(2 * ratio + (height - 4 * ratio) * fraction) + 0.5
            context.beginPath()
            context.moveTo(0, y)
            context.lineTo(width, y)
            context.stroke()
        context.fillStyle = MUTED
        context.font = f"{10 * ratio}px system-ui, sans-serif"
        context.textBaseline = "top"
        context.fillText(f"{top:.0f} {self.unit}", 2 * ratio, 4 * ratio)

    def _points(self, values, width, height, ratio, top):
        """(x, y) of each known sample; None where a sample is missing (a gap)."""
        span = min(WINDOW, max(len(values), MIN_SPAN)) - 1  # the first seconds fill the width sooner
        step = width / span
        usable = height - 4 * ratio
        points = []
        for i, value in enumerate(values):
            if value is None:
                points.append(None)
                continue
            x = i * step
            y = 2 * ratio + usable * (1 - min(value, top) / top)
            points.append((x, y))
        return points if any(points) else []

    def _segments(self, points):
        segment = []
        for point in points:
            if point is None:
                if segment:
                    yield segment
                segment = []
            else:
                segment.append(point)
        if segment:
            yield segment

    def _area(self, context, points, height) -> None:
        context.fillStyle = self.color + "22"  # the line's colour, faint
        for segment in self._segments(points):
            context.beginPath()
            context.moveTo(segment[0][0], height)
            for x, y in segment:
                context.lineTo(x, y)
            context.lineTo(segment[-1][0], height)
            context.closePath()
            context.fill()

    def _line(self, context, points, ratio) -> None:
        context.strokeStyle = self.color
        context.lineWidth = 2 * ratio
        context.lineJoin = "round"
        for segment in self._segments(points):
            context.beginPath()
            context.moveTo(*segment[0])
            for x, y in segment[1:]:
                context.lineTo(x, y)
            if len(segment) == 1:  # a lone sample: a dot
                context.arc(segment[0][0], segment[0][1], 1.5 * ratio, 0, 6.3)
            context.stroke()


class QualityPanel:
    """The card "Call quality": three charts and the running figures."""

    def __init__(self, document) -> None:
        self._document = document
        self._histories: dict[str, LineHistory] = {}
        self._charts = {
            "loss": Chart(document.getElementById("chart-loss"), "#dc2626", "%", 5.0),
            "jitter": Chart(document.getElementById("chart-jitter"), "#d97706", "ms", 20.0),
            "rtt": Chart(document.getElementById("chart-rtt"), "#2563eb", "ms", 50.0),
        }
        self.idle()

    def show(self, line_id: str, title: str, stats: dict) -> None:
        """Add a second of ``line_id``'s figures and draw its last minute."""
        history = self._histories.setdefault(line_id, LineHistory())
        history.add(stats)
        self._text("q-title", title)
        self._text("q-loss", _format(history.loss[-1], "%", 1))
        self._text("q-jitter", _format(history.jitter[-1], "ms", 1))
        self._text("q-rtt", _format(history.rtt[-1], "ms", 0))
        self._text("q-rx", str(stats["inbound"].get("packets_received", 0)))
        self._text("q-tx", str(stats["outbound"].get("packets_sent", 0)))
        codec = stats.get("codec") or "–"
        self._text("q-codec", codec.split("/")[-1])
        self._level(stats["inbound"].get("audio_level"))
        self._charts["loss"].draw(history.loss)
        self._charts["jitter"].draw(history.jitter)
        self._charts["rtt"].draw(history.rtt)

    def idle(self) -> None:
        """No call to show: empty charts, dashes."""
        self._text("q-title", "· no call")
        for name in ("q-loss", "q-jitter", "q-rtt", "q-codec"):
            self._text(name, "–")
        for name in ("q-rx", "q-tx"):
            self._text(name, "0")
        self._level(None)
        for chart in self._charts.values():
            chart.draw([])

    def forget(self, line_id: str) -> None:
        self._histories.pop(line_id, None)

    def _text(self, element_id: str, text: str) -> None:
        self._document.getElementById(element_id).textContent = text

    def _level(self, level: float | None) -> None:
        # audioLevel is linear; its square root looks more like what one hears.
        width = 0 if not level else min(100, round(100 * level ** 0.5))
        self._document.getElementById("q-level").style.width = f"{width}%"


def _format(value: float | None, unit: str, digits: int) -> str:
    return "–" if value is None else f"{value:.{digits}f} {unit}"
