"""Inline SVG charts for the HTML report: pure functions returning escaped markup.

Every label and tooltip is escaped (`filters.html_text`) before it is placed in
the markup, and the result is wrapped in `Markup` so the template inserts it
as is.  The charts need no script, no font and no external resource: they
scale with their container (`viewBox`) and carry a `<title>` per bar as a
native tooltip.  The tables next to each chart hold the same figures.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from markupsafe import Markup

from licreport.outputs.filters import compact, html_text, number

WIDTH = 720
LABEL_CHARS = 26


@dataclass(frozen=True)
class Series:
    """One stacked series: its name, one value per category, and its fill colour."""

    name: str
    values: Sequence[float]
    color: str


def _fmt(x: float) -> str:
    """A coordinate with at most one decimal, no trailing zeros (stable output)."""
    text = f"{x:.1f}"
    return text[:-2] if text.endswith(".0") else text


def _short(label: str, limit: int = LABEL_CHARS) -> str:
    return label if len(label) <= limit else label[: limit - 1].rstrip() + "…"


def nice_ticks(maximum: float, count: int = 4) -> list[float]:
    """Round tick values from 0 to at least `maximum` (1-2-5 steps)."""
    if maximum <= 0:
        return [0.0, 1.0]
    raw = maximum / count
    magnitude = 10 ** math.floor(math.log10(raw))
    steps = (1, 2, 2.5, 5, 10) if magnitude >= 10 else (1, 2, 5, 10)
    step = max(1.0, next(m * magnitude for m in steps if m * magnitude >= raw))
    top = math.ceil(maximum / step) * step
    return [i * step for i in range(round(top / step) + 1)]


def _open(title: str, width: float, height: float, css_class: str) -> str:
    t = html_text(title)
    return (
        f'<svg class="chart {css_class}" viewBox="0 0 {_fmt(width)} {_fmt(height)}" '
        f'role="img" aria-label="{t}" preserveAspectRatio="xMinYMin meet">'
        f"<title>{t}</title>"
    )


def _empty(title: str, message: str, width: float) -> Markup:
    return Markup(
        _open(title, width, 60, "chart-empty")
        + f'<text x="{_fmt(width / 2)}" y="34" text-anchor="middle" class="muted">'
        + f"{html_text(message)}</text></svg>"
    )


def _legend(series: Sequence[Series], y: float) -> list[str]:
    parts: list[str] = []
    x = 0.0
    for s in series:
        parts.append(
            f'<rect x="{_fmt(x)}" y="{_fmt(y - 9)}" width="10" height="10" rx="2" '
            f'fill="{html_text(s.color)}"/>'
            f'<text x="{_fmt(x + 15)}" y="{_fmt(y)}" class="legend">{html_text(s.name)}</text>'
        )
        x += 30 + 7.2 * len(s.name)
    return parts


def stacked_bars(
    categories: Sequence[str],
    series: Sequence[Series],
    *,
    title: str,
    empty: str = "Nothing to show",
    fmt: Callable[[float], str] = number,
    width: float = WIDTH,
) -> Markup:
    """Horizontal bars, one per category, stacked by series, the total at the bar's end."""
    totals = [sum(s.values[i] for s in series) for i in range(len(categories))]
    if not categories or max(totals, default=0) <= 0:
        return _empty(title, empty, width)
    label_w, value_w, row_h, bar_h, top = min(190.0, width * 0.3), 56.0, 24.0, 15.0, 30.0
    plot_w = width - label_w - value_w
    ticks = nice_ticks(max(totals))
    scale = plot_w / ticks[-1]
    bottom = top + row_h * len(categories)
    height = bottom + 22
    parts = [_open(title, width, height, "chart-bars"), *_legend(series, 14)]
    for t in ticks:
        x = label_w + t * scale
        parts.append(
            f'<line x1="{_fmt(x)}" y1="{_fmt(top - 4)}" x2="{_fmt(x)}" y2="{_fmt(bottom)}" '
            f'class="grid"/><text x="{_fmt(x)}" y="{_fmt(bottom + 15)}" '
            f'text-anchor="middle" class="tick">{html_text(fmt(t))}</text>'
        )
    for i, category in enumerate(categories):
        y = top + i * row_h
        cy = y + row_h / 2
        named = html_text(category)
        parts.append(
            f"<g><title>{named}: {html_text(fmt(totals[i]))}</title>"
            f'<text x="{_fmt(label_w - 8)}" y="{_fmt(cy + 4)}" text-anchor="end" '
            f'class="label">{html_text(_short(category, int(label_w / 7)))}</text>'
        )
        x = label_w
        for s in series:
            v = s.values[i]
            if v <= 0:
                continue
            w = v * scale
            parts.append(
                f'<rect x="{_fmt(x)}" y="{_fmt(cy - bar_h / 2)}" width="{_fmt(max(w, 1))}" '
                f'height="{_fmt(bar_h)}" fill="{html_text(s.color)}">'
                f"<title>{named} · {html_text(s.name)}: {html_text(fmt(v))}</title></rect>"
            )
            x += w
        parts.append(
            f'<text x="{_fmt(x + 6)}" y="{_fmt(cy + 4)}" class="value">'
            f"{html_text(fmt(totals[i]))}</text></g>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def column_chart(
    labels: Sequence[str],
    values: Sequence[float],
    *,
    title: str,
    sublabels: Sequence[str] | None = None,
    tooltips: Sequence[str] | None = None,
    color: str = "#1d4e89",
    empty: str = "Nothing to show",
    fmt: Callable[[float], str] = number,
    short: Callable[[float], str] = compact,
    width: float = WIDTH,
) -> Markup:
    """Vertical columns (e.g. licences expiring per month), value on top, labels below."""
    if not labels:
        return _empty(title, empty, width)
    ticks = nice_ticks(max(values, default=0))
    left = 14.0 + 8.0 * max(len(fmt(t)) for t in ticks)
    right, top, plot_h = 8.0, 18.0, 170.0
    bottom = top + plot_h
    height = bottom + 40
    scale = plot_h / ticks[-1]
    slot = (width - left - right) / len(labels)
    bar_w = min(44.0, slot * 0.64)
    fits = all(len(fmt(v)) * 7.0 <= slot - 4 for v in values)
    value_fmt = fmt if fits else short
    parts = [_open(title, width, height, "chart-columns")]
    for t in ticks:
        y = bottom - t * scale
        parts.append(
            f'<line x1="{_fmt(left)}" y1="{_fmt(y)}" x2="{_fmt(width - right)}" y2="{_fmt(y)}" '
            f'class="grid"/><text x="{_fmt(left - 6)}" y="{_fmt(y + 4)}" text-anchor="end" '
            f'class="tick">{html_text(fmt(t))}</text>'
        )
    for i, label in enumerate(labels):
        v = values[i]
        cx = left + slot * (i + 0.5)
        h = v * scale
        tip = tooltips[i] if tooltips else f"{label}: {fmt(v)}"
        parts.append(f"<g><title>{html_text(tip)}</title>")
        if v > 0:
            parts.append(
                f'<rect x="{_fmt(cx - bar_w / 2)}" y="{_fmt(bottom - h)}" '
                f'width="{_fmt(bar_w)}" height="{_fmt(max(h, 1))}" rx="2" '
                f'fill="{html_text(color)}"/>'
            )
        parts.append(
            f'<text x="{_fmt(cx)}" y="{_fmt(bottom - h - 5)}" text-anchor="middle" '
            f'class="value">{html_text(value_fmt(v))}</text>'
            f'<text x="{_fmt(cx)}" y="{_fmt(bottom + 16)}" text-anchor="middle" '
            f'class="label">{html_text(_short(label, 10))}</text>'
        )
        if sublabels and sublabels[i]:
            parts.append(
                f'<text x="{_fmt(cx)}" y="{_fmt(bottom + 31)}" text-anchor="middle" '
                f'class="tick">{html_text(_short(sublabels[i], 10))}</text>'
            )
        parts.append("</g>")
    parts.append(
        f'<line x1="{_fmt(left)}" y1="{_fmt(bottom)}" x2="{_fmt(width - right)}" '
        f'y2="{_fmt(bottom)}" class="axis"/></svg>'
    )
    return Markup("".join(parts))
