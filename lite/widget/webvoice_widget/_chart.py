"""Call-quality charts as plain SVG (no matplotlib: it is not in the offline kernel).

    from IPython.display import SVG, display
    display(SVG(quality_svg(phone.samples)))

``samples`` are dicts with ``t`` (seconds), ``packets_received``,
``packets_sent``, ``packets_lost`` and ``jitter`` (seconds), as
:attr:`webvoice_widget.Phone.samples` keeps them or as a notebook gathers
them from ``await call.get_stats()``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape
from itertools import pairwise
from typing import Any

__all__ = ["line_chart", "quality_svg"]

_COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728")


def _nice_step(span: float, count: int = 4) -> float:
    """A round step (1, 2 or 5 times a power of ten) that cuts ``span`` in about ``count``."""
    raw = span / count
    power = 10 ** math.floor(math.log10(raw))
    return next(m * power for m in (1, 2, 5, 10) if m * power >= raw)


def _ticks(low: float, high: float, step: float) -> list[float]:
    first = math.ceil(low / step - 1e-9) * step
    return [first + i * step for i in range(int((high - first) / step + 1e-9) + 1)]


def _label(value: float) -> str:
    return f"{value:.0f}" if abs(value - round(value)) < 1e-9 else f"{value:g}"


def line_chart(series: dict[str, Sequence[tuple[float, float]]], *, title: str, y_label: str,
               x_label: str = "seconds", width: int = 360, height: int = 200) -> str:
    """One SVG chart (an ``<svg>`` element) of named (x, y) series."""
    left, right, top, bottom = 44, 10, 34, 34
    points = [p for values in series.values() for p in values]
    xs = [x for x, _ in points] or [0.0, 1.0]
    ys = [y for _, y in points] or [0.0, 1.0]
    x0, x1 = min(xs), max(xs)
    y0, y1 = min(0.0, min(ys)), max(ys)
    if x1 <= x0:
        x1 = x0 + 1.0
    if y1 <= y0:
        y1 = y0 + 1.0
    y_step = _nice_step(y1 - y0)
    y1 = math.ceil(y1 / y_step - 1e-9) * y_step  # the top on a tick
    x_step = _nice_step(x1 - x0, 5)
    plot_w, plot_h = width - left - right, height - top - bottom

    def sx(x: float) -> float:
        return left + (x - x0) / (x1 - x0) * plot_w

    def sy(y: float) -> float:
        return top + plot_h - (y - y0) / (y1 - y0) * plot_h

    parts = [(f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
              f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="10">'),
             (f'<text x="{width / 2}" y="14" text-anchor="middle" font-size="12" font-weight="bold">'
              f'{escape(title)}</text>'),
             f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" fill="none" stroke="#999"/>']
    for y in _ticks(y0, y1, y_step):
        parts.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{sy(y):.1f}" y2="{sy(y):.1f}" stroke="#ddd"/>'
                     f'<text x="{left - 4}" y="{sy(y) + 3:.1f}" text-anchor="end">{_label(y)}</text>')
    for x in _ticks(x0, x1, x_step):
        parts.append(f'<text x="{sx(x):.1f}" y="{top + plot_h + 12}" text-anchor="middle">{_label(x)}</text>')
    parts.append(f'<text x="{left + plot_w / 2}" y="{height - 4}" text-anchor="middle">{escape(x_label)}</text>')
    parts.append(f'<text transform="translate(10 {top + plot_h / 2}) rotate(-90)" text-anchor="middle">'
                 f'{escape(y_label)}</text>')
    for i, (name, values) in enumerate(series.items()):
        color = _COLORS[i % len(_COLORS)]
        if values:
            path = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in values)
            parts.append(f'<polyline fill="none" stroke="{color}" stroke-width="2" points="{path}"/>')
        parts.append(f'<text x="{left + i * 90}" y="{top - 6}" fill="{color}">&#9644; {escape(name)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def quality_svg(samples: Sequence[dict[str, Any]], *, width: int = 360, height: int = 200) -> str:
    """Two charts side by side: packets per second both ways, and jitter in ms."""
    rates: dict[str, list[tuple[float, float]]] = {"received/s": [], "sent/s": []}
    jitter: dict[str, list[tuple[float, float]]] = {"jitter": []}
    for before, after in pairwise(samples):
        dt = after["t"] - before["t"]
        if dt <= 0:
            continue
        rates["received/s"].append((after["t"], (after["packets_received"] - before["packets_received"]) / dt))
        rates["sent/s"].append((after["t"], (after["packets_sent"] - before["packets_sent"]) / dt))
    for sample in samples:
        jitter["jitter"].append((sample["t"], sample["jitter"] * 1000))
    left = line_chart(rates, title="RTP packets per second", y_label="packets/s", width=width, height=height)
    right = line_chart(jitter, title="Inbound jitter", y_label="ms", width=width, height=height)
    # One <svg> holding both, so IPython.display.SVG takes it whole.
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{2 * width}" height="{height}">'
            f'<g>{left}</g><g transform="translate({width} 0)">{right}</g></svg>')
