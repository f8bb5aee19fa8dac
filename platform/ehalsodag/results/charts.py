"""Charts drawn on the server as accessible SVG: a title and a description inside the SVG, and the
page puts a data table next to each one. No chart JavaScript. A bar may carry an interval (the 95 %
interval of a share), drawn as a whisker: the region-by-region comparison of the national day."""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

BAR_HEIGHT = 26
GAP = 10
LABEL_WIDTH = 230
BAR_WIDTH = 360
VALUE_WIDTH = 130
FILL = "#0b5a7a"
TRACK = "#e6ebef"
INK = "#1b1f24"


@dataclass(frozen=True)
class Bar:
    """One bar: its label, its length in percent of the widest possible (0–100), and the text shown;
    optionally an interval (low, high, in the same percent) drawn as a whisker across the bar."""

    label: str
    share: float
    text: str
    interval: tuple[float, float] | None = None


def bar_chart(chart_id: str, title: str, description: str, bars: list[Bar]) -> str:
    """A horizontal bar chart as an SVG string (``role="img"`` with ``<title>`` and ``<desc>``)."""
    height = max(1, len(bars)) * (BAR_HEIGHT + GAP) + GAP
    width = LABEL_WIDTH + BAR_WIDTH + VALUE_WIDTH
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="{escape(chart_id)}" role="img" '
        f'viewBox="0 0 {width} {height}" width="100%" aria-labelledby="{escape(chart_id)}-title '
        f'{escape(chart_id)}-desc" preserveAspectRatio="xMinYMin meet">',
        f'<title id="{escape(chart_id)}-title">{escape(title)}</title>',
        f'<desc id="{escape(chart_id)}-desc">{escape(description)}</desc>',
    ]
    for index, bar in enumerate(bars):
        y = GAP + index * (BAR_HEIGHT + GAP)
        share = max(0.0, min(100.0, bar.share))
        label = bar.label if len(bar.label) <= 32 else bar.label[:31] + "…"
        parts.append(
            f'<text x="{LABEL_WIDTH - 8}" y="{y + BAR_HEIGHT * 0.7:.1f}" text-anchor="end" font-size="14" '
            f'fill="{INK}">{escape(label)}</text>'
            f'<rect x="{LABEL_WIDTH}" y="{y}" width="{BAR_WIDTH}" height="{BAR_HEIGHT}" fill="{TRACK}" rx="3"/>'
            f'<rect x="{LABEL_WIDTH}" y="{y}" width="{BAR_WIDTH * share / 100:.1f}" height="{BAR_HEIGHT}" '
            f'fill="{FILL}" rx="3"/>'
            f'<text x="{LABEL_WIDTH + BAR_WIDTH + 8}" y="{y + BAR_HEIGHT * 0.7:.1f}" font-size="14" '
            f'fill="{INK}">{escape(bar.text)}</text>'
        )
        if bar.interval is not None:
            parts.append(_whisker(y, *bar.interval))
    parts.append("</svg>")
    return "".join(parts)


def _whisker(y: float, low: float, high: float) -> str:
    """An interval across a bar: a line from ``low`` to ``high`` (percent) with end ticks."""
    x1 = LABEL_WIDTH + BAR_WIDTH * max(0.0, min(100.0, low)) / 100
    x2 = LABEL_WIDTH + BAR_WIDTH * max(0.0, min(100.0, high)) / 100
    middle, top, bottom = y + BAR_HEIGHT / 2, y + BAR_HEIGHT * 0.25, y + BAR_HEIGHT * 0.75
    lines = (f'<line x1="{x1:.1f}" y1="{middle:.1f}" x2="{x2:.1f}" y2="{middle:.1f}"/>'
             f'<line x1="{x1:.1f}" y1="{top:.1f}" x2="{x1:.1f}" y2="{bottom:.1f}"/>'
             f'<line x1="{x2:.1f}" y1="{top:.1f}" x2="{x2:.1f}" y2="{bottom:.1f}"/>')
    # a light halo under the dark line keeps it visible on the filled bar and on the empty track alike
    return (f'<g class="interval" stroke="#ffffff" stroke-width="5" stroke-linecap="round">{lines}</g>'
            f'<g class="interval" stroke="{INK}" stroke-width="2">{lines}</g>')


def line_chart(chart_id: str, title: str, description: str, points: list[tuple[str, int]]) -> str:
    """A simple column chart of a timeline (e.g. connections per minute) as SVG."""
    width, height, pad = 720, 200, 30
    top = max((value for _label, value in points), default=0) or 1
    step = (width - 2 * pad) / max(1, len(points))
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="{escape(chart_id)}" role="img" '
        f'viewBox="0 0 {width} {height}" width="100%" aria-labelledby="{escape(chart_id)}-title '
        f'{escape(chart_id)}-desc">',
        f'<title id="{escape(chart_id)}-title">{escape(title)}</title>',
        f'<desc id="{escape(chart_id)}-desc">{escape(description)}</desc>',
        f'<line x1="{pad}" y1="{height - pad}" x2="{width - pad}" y2="{height - pad}" stroke="{INK}"/>',
        f'<text x="{pad - 4}" y="{pad}" text-anchor="end" font-size="12" fill="{INK}">{top}</text>',
    ]
    for index, (_label, value) in enumerate(points):
        bar = (height - 2 * pad) * value / top
        parts.append(f'<rect x="{pad + index * step:.1f}" y="{height - pad - bar:.1f}" '
                     f'width="{max(1.0, step - 1):.1f}" height="{bar:.1f}" fill="{FILL}"/>')
    if points:
        parts.append(f'<text x="{pad}" y="{height - 8}" font-size="12" fill="{INK}">{escape(points[0][0])}</text>')
        parts.append(f'<text x="{width - pad}" y="{height - 8}" text-anchor="end" font-size="12" '
                     f'fill="{INK}">{escape(points[-1][0])}</text>')
    parts.append("</svg>")
    return "".join(parts)
