"""Server-side SVG charts for the staff console.

The SVG is plain markup in the page: no script, no inline style attribute
(colours and sizes come from classes in static/css/staff_console.css), so it
works under a strict Content-Security-Policy. Each chart carries a <title> and
a <desc> (read by screen readers, with role="img"), and the page shows the
same numbers as a table next to it. Every label is escaped.
"""

from collections.abc import Sequence
from dataclasses import dataclass

from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

WIDTH = 640
HEIGHT = 260
LEFT, RIGHT, TOP, BOTTOM = 48, 12, 16, 44


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[int]
    css_class: str  # e.g. "series-1": the colour comes from the stylesheet


def _c(value: float) -> str:
    """A coordinate with one decimal (format_html turns its arguments into strings first)."""
    return f"{value:.1f}"


def nice_step(maximum: int, ticks: int = 4) -> int:
    """A round step (1, 2, 5 × 10^n) so that about `ticks` steps cover `maximum`."""
    if maximum <= ticks:
        return 1
    raw = maximum / ticks
    magnitude = 10 ** (len(str(int(raw))) - 1)
    for factor in (1, 2, 5, 10):
        if factor * magnitude >= raw:
            return factor * magnitude
    return 10 * magnitude


def svg_chart(
    *,
    chart_id: str,
    title: str,
    desc: str,
    categories: Sequence[str],
    bars: Sequence[Series] = (),
    lines: Sequence[Series] = (),
) -> SafeString:
    """Grouped bars and/or lines over the same categories, with a y axis starting at 0 and a legend."""
    n = max(len(categories), 1)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    top = max([0, *(v for s in (*bars, *lines) for v in s.values)])
    step = nice_step(top)
    y_max = max(step * -(-top // step), step)

    def y(value: int) -> float:
        return TOP + plot_h - plot_h * max(value, 0) / y_max

    slot = plot_w / n
    parts: list[str] = []
    # Grid and y axis labels.
    for tick in range(0, y_max + 1, step):
        parts.append(
            format_html(
                '<line class="chart-grid" x1="{}" x2="{}" y1="{}" y2="{}"/>'
                '<text class="chart-tick" x="{}" y="{}" text-anchor="end">{}</text>',
                LEFT,
                WIDTH - RIGHT,
                _c(y(tick)),
                _c(y(tick)),
                LEFT - 6,
                _c(y(tick) + 4),
                tick,
            )
        )
    # Bars: one group per category, one bar per series.
    if bars:
        bar_w = slot * 0.7 / len(bars)
        for i in range(len(categories)):
            for b, series in enumerate(bars):
                value = series.values[i]
                x = LEFT + slot * i + slot * 0.15 + bar_w * b
                parts.append(
                    format_html(
                        '<rect class="chart-bar {}" x="{}" y="{}" width="{}" height="{}">'
                        "<title>{}: {} {}</title></rect>",
                        series.css_class,
                        _c(x),
                        _c(y(value)),
                        _c(bar_w),
                        _c(TOP + plot_h - y(value)),
                        categories[i],
                        value,
                        series.name.lower(),
                    )
                )
    # Lines with a dot on each point.
    for series in lines:
        points = [(LEFT + slot * i + slot / 2, y(v)) for i, v in enumerate(series.values)]
        parts.append(
            format_html(
                '<polyline class="chart-line {}" points="{}"/>',
                series.css_class,
                " ".join(f"{px:.1f},{py:.1f}" for px, py in points),
            )
        )
        for (px, py), value, label in zip(points, series.values, categories, strict=True):
            parts.append(
                format_html(
                    '<circle class="chart-dot {}" cx="{}" cy="{}" r="3"><title>{}: {} {}</title></circle>',
                    series.css_class,
                    _c(px),
                    _c(py),
                    label,
                    value,
                    series.name.lower(),
                )
            )
    # Category labels under the axis (every other one when crowded).
    every = 1 if n <= 8 else 2
    for i, label in enumerate(categories):
        if i % every and i != n - 1:
            continue
        parts.append(
            format_html(
                '<text class="chart-label" x="{}" y="{}" text-anchor="middle">{}</text>',
                _c(LEFT + slot * i + slot / 2),
                TOP + plot_h + 16,
                label,
            )
        )
    parts.append(
        format_html(
            '<line class="chart-axis" x1="{}" x2="{}" y1="{}" y2="{}"/>',
            LEFT,
            WIDTH - RIGHT,
            TOP + plot_h,
            TOP + plot_h,
        )
    )
    # Legend.
    x = LEFT
    for series in (*bars, *lines):
        parts.append(
            format_html(
                '<rect class="chart-key {}" x="{}" y="{}" width="10" height="10"/>'
                '<text class="chart-legend" x="{}" y="{}">{}</text>',
                series.css_class,
                x,
                HEIGHT - 14,
                x + 14,
                HEIGHT - 5,
                series.name,
            )
        )
        x += 24 + 7 * len(series.name)
    return format_html(
        '<svg class="chart" id="{id}" viewBox="0 0 {w} {h}" role="img" aria-labelledby="{id}-title {id}-desc" '
        'xmlns="http://www.w3.org/2000/svg"><title id="{id}-title">{title}</title>'
        '<desc id="{id}-desc">{desc}</desc>{body}</svg>',
        id=chart_id,
        w=WIDTH,
        h=HEIGHT,
        title=title,
        desc=desc,
        body=mark_safe("".join(parts)),  # each part was built with format_html
    )


def describe(values: Sequence[int], categories: Sequence[str], unit: str) -> str:
    """A one-sentence text alternative: 'Under 1 week: 3 units; 1–2 weeks: 0 units; …'."""
    return "; ".join(f"{c}: {v} {unit}" for c, v in zip(categories, values, strict=True)) + "."
