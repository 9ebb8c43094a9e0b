"""Server-rendered SVG charts of the reports: utilisation per day, and figures as bars.

Pure functions to SVG markup, as clinic.web.charts: presentation attributes and classes only
(the CSP forbids inline styles), every text escaped.
"""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup, escape

from clinic.services.reports import UtilisationDay

BOOKED, USED, AXIS, GRID = "#93c5fd", "#2563eb", "#64748b", "#e2e8f0"
BAR_COLOURS = ("#2563eb", "#0d9488", "#d97706", "#dc2626", "#7c3aed", "#64748b")


def _svg(
    cls: str, label: str, width: int, height: int, body: list[str], font_size: int = 11
) -> Markup:
    """Wrap chart parts in an accessible SVG element."""
    text = escape(label)
    head = (
        f'<svg class="report-chart {cls}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{text}" xmlns="http://www.w3.org/2000/svg" '
        f'font-family="system-ui, sans-serif" font-size="{font_size}"><title>{text}</title>'
    )
    # nosec B704: every text in `body` is escaped where it is made.
    return Markup(head + "".join(body) + "</svg>")  # noqa: S704 # nosec B704


def utilisation_chart(
    days: Sequence[UtilisationDay], width: int = 720, height: int = 220
) -> Markup:
    """Return a bar per day: booked and used chair minutes as a share of the open minutes.

    The legend (booked, used) is the page's, in HTML beside the chart.
    """
    label = "Booked and used chair time, per cent of open chair time, per day"
    left, right, top, bottom = 36, 8, 10, 28
    plot_w, plot_h = width - left - right, height - top - bottom
    out: list[str] = []
    for pct in (0, 25, 50, 75, 100):
        y = top + plot_h * (1 - pct / 100)
        out.append(
            f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" stroke="{GRID}"/>'
            f'<text x="{left - 4}" y="{y + 4:.1f}" text-anchor="end" fill="{AXIS}">{pct}%</text>'
        )
    slot = plot_w / max(len(days), 1)
    bar = max(slot * 0.4, 0.5)
    step = max(1, len(days) // 10)  # at most about ten date labels
    for n, day in enumerate(days):
        x = left + n * slot + slot * 0.1
        for offset, minutes, colour, name in (
            (0, day.chair_minutes_booked, BOOKED, "booked"),
            (bar, day.chair_minutes_used, USED, "used"),
        ):
            share = min(minutes / day.chair_minutes_open, 1) if day.chair_minutes_open else 0
            h = plot_h * share
            out.append(
                f'<rect class="chart-{name}" x="{x + offset:.1f}" y="{top + plot_h - h:.1f}" '
                f'width="{bar:.1f}" height="{h:.1f}" fill="{colour}">'
                f"<title>{day.date.isoformat()} {name} {round(share * 100)}%</title></rect>"
            )
        if n % step == 0:
            out.append(
                f'<text x="{x + bar:.1f}" y="{height - 10}" text-anchor="middle" '
                f'fill="{AXIS}">{day.date.day} {day.date:%b}</text>'
            )
    return _svg("report-chart-utilisation", label, width, height, out)


def bar_chart(label: str, bars: Sequence[tuple[str, float | None]], unit: str = "") -> Markup:
    """Return horizontal bars, one per (name, value); a missing value shows a dash."""
    width, row, left = 620, 30, 230
    height = row * max(len(bars), 1) + 8
    most = max((value or 0 for _, value in bars), default=0) or 1
    out: list[str] = []
    for n, (name, value) in enumerate(bars):
        y = 4 + n * row
        w = (width - left - 70) * (value or 0) / most
        shown = "\u2013" if value is None else f"{value:g}{unit}"
        out.append(
            f'<text x="{left - 8}" y="{y + 19}" text-anchor="end" fill="#475569">'
            f"{escape(name)}</text>"
            f'<rect x="{left}" y="{y + 5}" width="{w:.1f}" height="{row - 10}" rx="2" '
            f'fill="{BAR_COLOURS[n % len(BAR_COLOURS)]}"/>'
            f'<text x="{left + w + 6:.1f}" y="{y + 19}" fill="#0f172a">{escape(shown)}</text>'
        )
    return _svg("report-chart-bars", label, width, height, out, font_size=13)
