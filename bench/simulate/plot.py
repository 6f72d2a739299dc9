"""The plot of a run: promised against actual, as a hand-written SVG (no plotting package needed).

Each backordered line that shipped is two dots at the same height: x is the number of days from
placing the order to the date promised (blue: the first date shown; orange: the naive date), y the
days until it shipped. Dots above the diagonal shipped late.
"""

from html import escape

from .report import LineOutcome

WIDTH, HEIGHT, MARGIN = 640, 520, 56
SERIES = (
    ("first date shown", "#1f77b4", lambda o: o.first_shown),
    ("naive date", "#ff7f0e", lambda o: o.naive),
)


def plot_svg(outcomes: list[LineOutcome], *, title: str) -> str:
    shipped = [o for o in outcomes if o.shipped is not None]
    points = [
        ((when(o) - o.placed).days, (o.shipped - o.placed).days, colour)
        for _label, colour, when in SERIES
        for o in shipped
    ]
    top = max([10] + [max(x, y) for x, y, _ in points])
    top = (top + 9) // 10 * 10
    inner_w, inner_h = WIDTH - 2 * MARGIN, HEIGHT - 2 * MARGIN

    def sx(v: float) -> float:
        return round(MARGIN + v / top * inner_w, 1)

    def sy(v: float) -> float:
        return round(HEIGHT - MARGIN - v / top * inner_h, 1)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="12">',
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="white"/>',
        f'<text x="{WIDTH / 2}" y="22" text-anchor="middle" font-size="14">{escape(title)}</text>',
    ]
    for tick in range(0, top + 1, 10):
        parts.append(
            f'<line x1="{sx(tick)}" y1="{sy(0)}" x2="{sx(tick)}" y2="{sy(top)}" stroke="#eee"/>'
            f'<line x1="{sx(0)}" y1="{sy(tick)}" x2="{sx(top)}" y2="{sy(tick)}" stroke="#eee"/>'
            f'<text x="{sx(tick)}" y="{sy(0) + 16}" text-anchor="middle">{tick}</text>'
            f'<text x="{sx(0) - 6}" y="{sy(tick) + 4}" text-anchor="end">{tick}</text>'
        )
    parts.append(
        f'<line x1="{sx(0)}" y1="{sy(0)}" x2="{sx(top)}" y2="{sy(top)}" stroke="#888" stroke-dasharray="4 3"/>'
        f'<text x="{WIDTH / 2}" y="{HEIGHT - 14}" text-anchor="middle">days from order to the date promised</text>'
        f'<text transform="translate(16 {HEIGHT / 2}) rotate(-90)" text-anchor="middle">'
        "days from order to shipment</text>"
    )
    for x, y, colour in points:
        parts.append(f'<circle cx="{sx(x)}" cy="{sy(y)}" r="2.5" fill="{colour}" fill-opacity="0.45"/>')
    for n, (label, colour, _when) in enumerate(SERIES):
        y = MARGIN + 8 + 18 * n
        parts.append(
            f'<circle cx="{MARGIN + 12}" cy="{y}" r="5" fill="{colour}"/>'
            f'<text x="{MARGIN + 24}" y="{y + 4}">{escape(label)}</text>'
        )
    parts.append(
        f'<text x="{MARGIN + 12}" y="{MARGIN + 50}" fill="#555">above the dashed line: shipped late</text>'
    )
    parts.append("</svg>")
    return "\n".join(parts) + "\n"
