"""Server-side SVG charts for the desk: column charts (stacked or grouped) and horizontal bars.

Pure functions from numbers to markup: no database, no JavaScript, no CDN. Every
chart is an ``<svg role="img">`` labelled by its ``<title>`` and ``<desc>``, with
axis labels, a legend and a ``<title>`` tooltip on each bar. Text and grid lines
take their colours from the admin's CSS variables (see ``static/desk/dashboard.css``),
so the charts follow the admin's light and dark themes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

FONT_SIZE = 12
LEGEND_SWATCH = 10


@dataclass(frozen=True)
class Series:
    """One coloured series of a column chart: a value per category."""

    key: str
    label: str
    color: str
    values: Sequence[int]

    @property
    def total(self) -> int:
        return sum(self.values)


@dataclass(frozen=True)
class Bar:
    """One row of a horizontal bar chart."""

    label: str
    value: int
    color: str


def nice_ticks(maximum: float, *, count: int = 4) -> list[int]:
    """Round integer ticks from 0 up to at least ``maximum``, about ``count`` steps."""
    if maximum <= 0:
        return [0, 1]
    raw = maximum / count
    magnitude = 10 ** math.floor(math.log10(raw)) if raw >= 1 else 1
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    step = max(1, int(step))
    top = math.ceil(maximum / step) * step
    return list(range(0, top + 1, step))


def label_indexes(count: int, *, max_labels: int = 10) -> list[int]:
    """Which category labels to print on the x axis: evenly spaced, the last one always."""
    if count <= 0:
        return []
    every = max(1, math.ceil(count / max_labels))
    return sorted(range(count - 1, -1, -every))


def _fmt(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _legend(series: Sequence[Series], *, x: float, y: float) -> list[str]:
    parts: list[str] = []
    for item in series:
        parts.append(
            format_html(
                '<g class="desk-legend-item"><rect x="{}" y="{}" width="{}" height="{}" '
                'rx="2" fill="{}"/><text x="{}" y="{}">{} ({})</text></g>',
                _fmt(x),
                _fmt(y - LEGEND_SWATCH + 1),
                LEGEND_SWATCH,
                LEGEND_SWATCH,
                item.color,
                _fmt(x + LEGEND_SWATCH + 5),
                _fmt(y),
                item.label,
                item.total,
            )
        )
        x += LEGEND_SWATCH + 5 + (len(item.label) + len(str(item.total)) + 3) * 6.6 + 16
    return parts


def _open(chart_id: str, title: str, desc: str, width: int, height: int) -> str:
    return format_html(
        '<svg class="desk-chart" role="img" viewBox="0 0 {w} {h}" width="{w}" height="{h}" '
        'preserveAspectRatio="xMinYMin meet" aria-labelledby="{id}-title {id}-desc" '
        'xmlns="http://www.w3.org/2000/svg" font-size="{fs}">'
        '<title id="{id}-title">{title}</title><desc id="{id}-desc">{desc}</desc>',
        w=width,
        h=height,
        id=chart_id,
        fs=FONT_SIZE,
        title=title,
        desc=desc,
    )


def column_chart(
    *,
    chart_id: str,
    title: str,
    desc: str,
    categories: Sequence[str],
    series: Sequence[Series],
    y_label: str,
    x_label: str,
    stacked: bool = True,
    width: int = 720,
    height: int = 260,
    max_labels: int = 10,
) -> SafeString:
    """Columns per category (days, typically), series stacked or side by side."""
    for item in series:
        if len(item.values) != len(categories):
            raise ValueError(
                f"series {item.key!r} has {len(item.values)} values, expected {len(categories)}"
            )
    left, right, top, bottom = 52.0, 12.0, 34.0, 46.0
    plot_w, plot_h = width - left - right, height - top - bottom
    count = len(categories)
    if stacked:
        peaks = [sum(s.values[i] for s in series) for i in range(count)]
    else:
        peaks = [max((s.values[i] for s in series), default=0) for i in range(count)]
    ticks = nice_ticks(max(peaks, default=0))
    scale = plot_h / ticks[-1]
    base = top + plot_h
    parts = [_open(chart_id, title, desc, width, height)]
    parts += _legend(series, x=left, y=16)
    grid = ['<g class="desk-gridlines">']
    for tick in ticks:
        y = base - tick * scale
        grid.append(
            format_html(
                '<line x1="{}" x2="{}" y1="{y}" y2="{y}"/>'
                '<text class="desk-tick" x="{}" y="{}" text-anchor="end">{}</text>',
                _fmt(left),
                _fmt(left + plot_w),
                _fmt(left - 8),
                _fmt(y + 4),
                tick,
                y=_fmt(y),
            )
        )
    grid.append("</g>")
    parts += grid
    band = plot_w / max(count, 1)
    bars = ['<g class="desk-bars">']
    for index, category in enumerate(categories):
        x0 = left + index * band
        if stacked:
            bar_w = max(band * 0.72, 1.0)
            x = x0 + (band - bar_w) / 2
            y = base
            for item in series:
                value = item.values[index]
                if not value:
                    continue
                h = value * scale
                y -= h
                bars.append(
                    _rect(x, y, bar_w, h, item.color, f"{category} · {item.label}: {value}")
                )
        else:
            group_w = band * 0.8
            bar_w = max(group_w / max(len(series), 1), 1.0)
            for position, item in enumerate(series):
                value = item.values[index]
                if not value:
                    continue
                h = value * scale
                x = x0 + (band - group_w) / 2 + position * bar_w
                bars.append(
                    _rect(x, base - h, bar_w, h, item.color, f"{category} · {item.label}: {value}")
                )
    bars.append("</g>")
    parts += bars
    axis = [
        format_html(
            '<line class="desk-axis" x1="{}" x2="{}" y1="{y}" y2="{y}"/>',
            _fmt(left),
            _fmt(left + plot_w),
            y=_fmt(base),
        )
    ]
    for index in label_indexes(count, max_labels=max_labels):
        axis.append(
            format_html(
                '<text class="desk-tick" x="{}" y="{}" text-anchor="middle">{}</text>',
                _fmt(left + (index + 0.5) * band),
                _fmt(base + 16),
                categories[index],
            )
        )
    axis.append(
        format_html(
            '<text class="desk-axis-label" x="{}" y="{}" text-anchor="middle">{}</text>',
            _fmt(left + plot_w / 2),
            _fmt(height - 6),
            x_label,
        )
    )
    axis.append(
        format_html(
            '<text class="desk-axis-label" transform="rotate(-90)" x="{}" y="14" '
            'text-anchor="middle">{}</text>',
            _fmt(-(top + plot_h / 2)),
            y_label,
        )
    )
    parts += axis
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every piece went through format_html


def _rect(x: float, y: float, w: float, h: float, color: str, tip: str) -> str:
    return format_html(
        '<rect x="{}" y="{}" width="{}" height="{}" fill="{}"><title>{}</title></rect>',
        _fmt(x),
        _fmt(y),
        _fmt(w),
        _fmt(h),
        color,
        tip,
    )


def hbar_chart(
    *,
    chart_id: str,
    title: str,
    desc: str,
    bars: Sequence[Bar],
    x_label: str,
    width: int = 420,
    row_height: int = 40,
    label_width: int = 128,
) -> SafeString:
    """One horizontal bar per row, its value printed at the bar's end."""
    top, bottom, right = 8.0, 30.0, 44.0
    height = int(top + row_height * len(bars) + bottom)
    plot_w = width - label_width - right
    peak = max((bar.value for bar in bars), default=0) or 1
    parts = [_open(chart_id, title, desc, width, height)]
    parts.append('<g class="desk-bars">')
    for index, bar in enumerate(bars):
        y = top + index * row_height
        bar_h = row_height * 0.56
        bar_y = y + (row_height - bar_h) / 2
        bar_w = plot_w * bar.value / peak
        parts.append(
            format_html(
                '<text class="desk-row-label" x="{}" y="{}" text-anchor="end">{}</text>'
                '<rect class="desk-track" x="{}" y="{}" width="{}" height="{}" rx="4"/>',
                label_width - 10,
                _fmt(bar_y + bar_h / 2 + 4),
                bar.label,
                label_width,
                _fmt(bar_y),
                _fmt(plot_w),
                _fmt(bar_h),
            )
        )
        if bar.value:
            parts.append(
                format_html(
                    '<rect x="{}" y="{}" width="{}" height="{}" rx="4" fill="{}">'
                    "<title>{}: {}</title></rect>",
                    label_width,
                    _fmt(bar_y),
                    _fmt(max(bar_w, 4)),
                    _fmt(bar_h),
                    bar.color,
                    bar.label,
                    bar.value,
                )
            )
        parts.append(
            format_html(
                '<text class="desk-value" x="{}" y="{}">{}</text>',
                _fmt(label_width + max(bar_w, 4) + 8),
                _fmt(bar_y + bar_h / 2 + 4),
                bar.value,
            )
        )
    parts.append("</g>")
    parts.append(
        format_html(
            '<text class="desk-axis-label" x="{}" y="{}" text-anchor="middle">{}</text>',
            _fmt(label_width + plot_w / 2),
            height - 8,
            x_label,
        )
    )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every piece went through format_html
