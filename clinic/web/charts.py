"""A small SVG chart of blood pressure and heart rate over a visit, rendered by the app.

A pure function from readings to SVG markup: no inline style attributes (the CSP forbids
them), only SVG presentation attributes and class names; every text is escaped.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from markupsafe import Markup, escape

from clinic.domain.vitals import BP_FLAGS, HR_FLAGS, Flag
from clinic.web.dates import hm

# Read from the one declaration (clinic.domain.vitals.Flag); kept for the views that pass it on.
FLAG_LABELS = {flag.value: flag.label for flag in Flag}
COLOURS = {
    "systolic": "#2563eb",
    "diastolic": "#60a5fa",
    "heart_rate": "#db2777",
    "flagged": "#dc2626",
    "grid": "#e2e8f0",
    "axis": "#64748b",
    "infusion": "#ede9fe",
    "due": "#0d9488",
    "band": "#dbeafe",
}
LABEL_CHAR_WIDTH = 6.6  # a generous average advance of an 11 px system-ui character
TICK_CHOICES = (10, 15, 30, 60, 120)  # minutes between x-axis labels
MAX_TICKS = 8


class ReadingLike(Protocol):
    """What the chart reads from an observation."""

    at: datetime
    systolic: int
    diastolic: int
    heart_rate: int
    flags: list[str]


@dataclass(frozen=True)
class Frame:
    """The plotting area and its scales."""

    width: int
    height: int
    left: int
    right: int
    top: int
    bottom: int
    start: datetime
    end: datetime
    low: int
    high: int

    def x(self, at: datetime) -> float:
        """Return the x coordinate of an instant."""
        span = (self.end - self.start).total_seconds() or 1
        inner = self.width - self.left - self.right
        return round(self.left + inner * (at - self.start).total_seconds() / span, 1)

    def y(self, value: float) -> float:
        """Return the y coordinate of a value (mmHg or beats per minute)."""
        inner = self.height - self.top - self.bottom
        return round(self.top + inner * (self.high - value) / (self.high - self.low), 1)


def flag_text(flags: Iterable[str]) -> str:
    """Return flags as the staff read them ("BP high, HR low")."""
    return ", ".join(Flag.label_of(flag) for flag in flags)


def _floor(at: datetime, minutes: int, tz: ZoneInfo) -> datetime:
    local = at.astimezone(tz)
    minute_of_day = local.hour * 60 + local.minute
    floored = minute_of_day - minute_of_day % minutes
    floor = local.replace(hour=floored // 60, minute=floored % 60, second=0, microsecond=0)
    # Back to UTC, so that differences are elapsed time even across a DST change.
    return floor.astimezone(UTC)


def _ticks(start: datetime, end: datetime, tz: ZoneInfo) -> list[datetime]:
    """Return round local times between start and end, at most MAX_TICKS of them."""
    span = (end - start).total_seconds() / 60
    step = next((m for m in TICK_CHOICES if span / m <= MAX_TICKS), TICK_CHOICES[-1])
    tick = _floor(start, step, tz)
    found = []
    while tick <= end:
        if tick >= start:
            found.append(tick)
        tick += timedelta(minutes=step)
    return found


def _frame(
    readings: Sequence[ReadingLike],
    tz: ZoneInfo,
    marks: list[datetime],
    width: int,
    height: int,
) -> Frame:
    instants = [r.at for r in readings] + marks
    start, end = min(instants), max(instants)
    if end - start < timedelta(minutes=30):
        end = start + timedelta(minutes=30)
    start = _floor(start, 5, tz)
    end = _floor(end + timedelta(minutes=4, seconds=59), 5, tz)
    values = [v for r in readings for v in (r.systolic, r.diastolic, r.heart_rate)]
    low = min(40, 20 * math.floor((min(values) - 5) / 20))
    high = max(160, 20 * math.ceil((max(values) + 5) / 20))
    return Frame(width, height, 44, 14, 14, 30, start, end, low, high)


def _label_width(text: str) -> float:
    return round(len(text) * LABEL_CHAR_WIDTH, 1)


def _due_label_place(
    x: float, width: float, f: Frame, taken: tuple[float, float] | None
) -> tuple[float, str, int]:
    """Place the "discharge due" label beside its line where it fits and hides no other label:
    left of the line, else right of it, else one line lower (short visits)."""
    y = f.top + 12
    candidates = [(x - 4 - width, x - 4, "end"), (x + 4, x + 4 + width, "start")]
    for left, right, anchor in candidates:
        inside = left >= f.left and right <= f.width - f.right
        clear = taken is None or right <= taken[0] or left >= taken[1]
        if inside and clear:
            return (right if anchor == "end" else left), anchor, y
    left, right, anchor = next(
        (c for c in candidates if c[0] >= f.left and c[1] <= f.width - f.right), candidates[0]
    )
    return (right if anchor == "end" else left), anchor, y + 14


def _point(cx: float, cy: float, colour: str, flagged: bool, series: str, title: str) -> str:
    fill = COLOURS["flagged"] if flagged else "#ffffff"
    stroke = COLOURS["flagged"] if flagged else colour
    radius = 4.5 if flagged else 3.5
    css = f"chart-point chart-point-{series}" + (" is-flagged" if flagged else "")
    return (
        f'<circle class="{css}" cx="{cx}" cy="{cy}" r="{radius}" fill="{fill}" '
        f'stroke="{stroke}" stroke-width="2"><title>{escape(title)}</title></circle>'
    )


def vitals_chart(
    readings: Sequence[ReadingLike],
    tz: ZoneInfo,
    infusion: tuple[datetime | None, datetime | None] = (None, None),
    discharge_due_at: datetime | None = None,
    now: datetime | None = None,
    width: int = 640,
    height: int = 240,
    band: str = "Infusion",
) -> Markup:
    """Return an SVG chart of systolic and diastolic BP and heart rate, flagged points red.

    The x axis is labelled in the site's local time; the administration is shaded (labelled
    `band`, the treatment's word for it) and the discharge due instant marked. Without
    readings it says so.
    """
    label = "Blood pressure and heart rate over the visit"
    if not readings:
        # nosec B704: fixed text and integers only, nothing from a user or the database.
        return Markup(  # noqa: S704 # nosec B704
            f'<svg class="vitals-chart vitals-chart-empty" viewBox="0 0 {width} 60" '
            f'role="img" aria-label="{label}"><text x="{width // 2}" y="34" '
            'text-anchor="middle" fill="#64748b" class="chart-empty">'
            "No readings yet</text></svg>"
        )
    ordered = sorted(readings, key=lambda r: r.at)
    started, ended = infusion
    marks = [m for m in (started, ended, discharge_due_at) if m is not None]
    if started is not None and ended is None and now is not None:
        marks.append(now)
    f = _frame(ordered, tz, marks, width, height)
    bottom = height - f.bottom
    out = [
        f'<svg class="vitals-chart" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{label}" xmlns="http://www.w3.org/2000/svg" '
        'font-family="system-ui, sans-serif" font-size="11">',
        f"<title>{label}</title>",
    ]
    # The infusion, shaded from its start to its end (or to now while it runs).
    infusion_label: tuple[float, float] | None = None
    if started is not None:
        until = ended or now or f.end
        x0, x1 = f.x(max(started, f.start)), f.x(min(until, f.end))
        out.append(
            f'<rect class="chart-infusion" x="{x0}" y="{f.top}" width="{max(0, x1 - x0)}" '
            f'height="{bottom - f.top}" fill="{COLOURS["infusion"]}"/>'
            f'<text class="chart-band-label" x="{x0 + 4}" y="{f.top + 12}" '
            f'fill="#6d28d9">{escape(band)}</text>'
        )
        infusion_label = (x0 + 4, x0 + 4 + _label_width(band))
    # Horizontal grid and the value axis.
    for value in range(f.low, f.high + 1, 20):
        y = f.y(value)
        out.append(
            f'<line class="chart-grid" x1="{f.left}" x2="{width - f.right}" y1="{y}" y2="{y}" '
            f'stroke="{COLOURS["grid"]}" stroke-width="1"/>'
            f'<text class="chart-axis" x="{f.left - 6}" y="{y + 4}" text-anchor="end" '
            f'fill="{COLOURS["axis"]}">{value}</text>'
        )
    # The time axis, in the site's local time.
    for tick in _ticks(f.start, f.end, tz):
        x = f.x(tick)
        out.append(
            f'<line class="chart-tick" x1="{x}" x2="{x}" y1="{bottom}" y2="{bottom + 4}" '
            f'stroke="{COLOURS["axis"]}"/>'
            f'<text class="chart-axis" x="{x}" y="{bottom + 17}" text-anchor="middle" '
            f'fill="{COLOURS["axis"]}">{hm(tick, tz)}</text>'
        )
    out.append(
        f'<line class="chart-baseline" x1="{f.left}" x2="{width - f.right}" y1="{bottom}" '
        f'y2="{bottom}" stroke="{COLOURS["axis"]}" stroke-width="1"/>'
    )
    if discharge_due_at is not None and f.start <= discharge_due_at <= f.end:
        x = f.x(discharge_due_at)
        text = f"Discharge due {hm(discharge_due_at, tz)}"
        tx, anchor, ty = _due_label_place(x, _label_width(text), f, infusion_label)
        out.append(
            f'<line class="chart-due" x1="{x}" x2="{x}" y1="{f.top}" y2="{bottom}" '
            f'stroke="{COLOURS["due"]}" stroke-width="1.5" stroke-dasharray="4 3"/>'
            f'<text class="chart-band-label" x="{tx}" y="{ty}" text-anchor="{anchor}" '
            f'fill="{COLOURS["due"]}">{text}</text>'
        )
    # The band between diastolic and systolic, then each series' line and points.
    if len(ordered) > 1:
        upper = [f"{f.x(r.at)},{f.y(r.systolic)}" for r in ordered]
        lower = [f"{f.x(r.at)},{f.y(r.diastolic)}" for r in reversed(ordered)]
        out.append(
            f'<polygon class="chart-bp-band" points="{" ".join(upper + lower)}" '
            f'fill="{COLOURS["band"]}" fill-opacity="0.55"/>'
        )
    series = (
        ("systolic", "Systolic", "", BP_FLAGS),
        ("diastolic", "Diastolic", "", BP_FLAGS),
        ("heart_rate", "Heart rate", "5 4", HR_FLAGS),
    )
    for name, _, dash, _ in series:
        if len(ordered) > 1:
            points = " ".join(f"{f.x(r.at)},{f.y(getattr(r, name))}" for r in ordered)
            dashes = f' stroke-dasharray="{dash}"' if dash else ""
            out.append(
                f'<polyline class="chart-line chart-line-{name}" points="{points}" fill="none" '
                f'stroke="{COLOURS[name]}" stroke-width="2" stroke-linejoin="round"{dashes}/>'
            )
    for reading in ordered:
        when = hm(reading.at, tz)
        flags = list(reading.flags or [])
        summary = f"{when} · BP {reading.systolic}/{reading.diastolic} · HR {reading.heart_rate}"
        if flags:
            summary += f" · {flag_text(flags)}"
        for name, _, _, watched in series:
            out.append(
                _point(
                    f.x(reading.at),
                    f.y(getattr(reading, name)),
                    COLOURS[name],
                    bool(watched.intersection(flags)),
                    name,
                    summary,
                )
            )
    out.append("</svg>")
    # Every text in `out` is a number, a fixed string, or went through escape().
    return Markup("".join(out))  # noqa: S704 # nosec B704: numbers, fixed text, escape()d
