"""Small SVG charts rendered by the app: blood pressure and heart rate over a visit, and the
PHQ-9 and GAD-7 over a course.

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

from clinic.domain.instruments import (
    REMISSION_BELOW,
    RESPONSE_DROP,
    Instrument,
    Outcome,
    band_label,
    band_of,
)
from clinic.domain.vitals import BP_FLAGS, HR_FLAGS, Flag
from clinic.web.dates import day, hm

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


# ---------------------------------------------------------------- outcome scales over a course

# Severity bands from mild green to red, in the instrument's order (minimal first).
BAND_FILLS = ("#ecfdf5", "#f7fee7", "#fefce8", "#fff7ed", "#fef2f2")
OUTCOME_COLOURS = {
    "line": "#2563eb",
    "response": "#0f766e",
    "remission": "#15803d",
    "baseline": "#475569",
    "band_label": "#64748b",
}


def raw_change(outcome: Outcome) -> float | None:
    """Return the latest score's change from the baseline in percent, unrounded (None: no
    baseline, or a baseline of 0)."""
    if not outcome.baseline or outcome.latest is None:
        return None
    return (outcome.latest - outcome.baseline) * 100 / outcome.baseline


def _whole(change: float) -> int:
    """Round a percent to a whole number, halves away from zero (-45.45 is 45, 12.5 is 13)."""
    return int(math.copysign(math.floor(abs(change) + 0.5), change))


def signed_percent(change: float | None) -> str:
    """Write a change in percent as people read it: "+10 %", "0 %", and with a real minus
    sign (U+2212), not a hyphen, below zero."""
    if change is None:
        return ""
    whole = _whole(change)
    if whole < 0:
        return f"\u2212{-whole} %"
    return f"+{whole} %" if whole > 0 else "0 %"


def change_words(outcome: Outcome) -> str:
    """Say how the latest score compares with the baseline: "45 % below the baseline of 22"."""
    if outcome.baseline is None or len(outcome.series) < 2:
        return ""
    change = raw_change(outcome)
    if change is None:
        return f"baseline {outcome.baseline}"
    whole = _whole(change)
    if whole == 0:
        return f"no change from the baseline of {outcome.baseline}"
    side = "below" if whole < 0 else "above"
    return f"{abs(whole)} % {side} the baseline of {outcome.baseline}"


def outcome_chart(
    instrument: Instrument, outcome: Outcome, tz: ZoneInfo, width: int = 640, height: int = 240
) -> Markup:
    """Return an SVG chart of an instrument's scores over a course: its severity bands shaded,
    the baseline marked, the response threshold (half the baseline) and remission (under 5)
    drawn, and the scores that reach them filled."""
    name = instrument.name
    title = f"{instrument.title} over the course"
    if not outcome.series:
        # nosec B704: fixed text and integers only, nothing from a user or the database.
        return Markup(  # noqa: S704 # nosec B704
            f'<svg class="outcome-chart outcome-chart-empty" viewBox="0 0 {width} 60" '
            f'role="img" aria-label="{title}"><text x="{width // 2}" y="34" '
            'text-anchor="middle" fill="#64748b" class="chart-empty">'
            f"No {instrument.title} recorded yet</text></svg>"
        )
    left, right, top, bottom = 34, 124, 12, 28
    plot_right = width - right
    top_score = instrument.max_score
    series = outcome.series
    first, last = series[0][0], series[-1][0]
    span = (last - first).total_seconds()
    pad = 18

    def x(at: datetime) -> float:
        if span == 0:
            return round((left + plot_right) / 2, 1)
        inner = plot_right - left - 2 * pad
        return round(left + pad + inner * (at - first).total_seconds() / span, 1)

    def y(value: float) -> float:
        return round(top + (height - top - bottom) * (top_score - value) / top_score, 1)

    summary = outcome_summary(instrument, outcome, tz)
    out = [
        f'<svg class="outcome-chart" id="outcome-chart-{name}" viewBox="0 0 {width} {height}" '
        f'role="img" aria-labelledby="outcome-{name}-title outcome-{name}-desc" '
        'xmlns="http://www.w3.org/2000/svg" font-family="system-ui, sans-serif" font-size="11">',
        f'<title id="outcome-{name}-title">{escape(title)}</title>',
        f'<desc id="outcome-{name}-desc">{escape(summary)}</desc>',
    ]
    # The severity bands, shaded, with their names in the right margin and limits on the axis.
    for index, band in enumerate(instrument.bands):
        y_top, y_bottom = y(band.high + (1 if band is not instrument.bands[-1] else 0)), y(band.low)
        # The top band is always the red one, whatever the number of bands.
        last = index == len(instrument.bands) - 1
        fill = BAND_FILLS[-1] if last else BAND_FILLS[min(index, len(BAND_FILLS) - 2)]
        out.append(
            f'<rect class="outcome-band outcome-band-{band.name}" x="{left}" y="{y_top}" '
            f'width="{plot_right - left}" height="{round(y_bottom - y_top, 1)}" fill="{fill}"/>'
            f'<text class="outcome-band-label" x="{plot_right + 6}" '
            f'y="{round((y_top + y_bottom) / 2 + 4, 1)}" fill="{OUTCOME_COLOURS["band_label"]}">'
            f"{escape(band.label)}</text>"
            f'<text class="chart-axis" x="{left - 6}" y="{y(band.low) + 4}" text-anchor="end" '
            f'fill="{COLOURS["axis"]}">{band.low}</text>'
        )
    out.append(
        f'<text class="chart-axis" x="{left - 6}" y="{y(top_score) + 4}" text-anchor="end" '
        f'fill="{COLOURS["axis"]}">{top_score}</text>'
        f'<line class="chart-baseline" x1="{left}" x2="{plot_right}" y1="{y(0)}" y2="{y(0)}" '
        f'stroke="{COLOURS["axis"]}" stroke-width="1"/>'
    )
    baseline = outcome.baseline or 0
    # The baseline, and what a response (half of it) and remission (under 5) would need.
    out.append(
        f'<line class="outcome-baseline" x1="{left}" x2="{plot_right}" y1="{y(baseline)}" '
        f'y2="{y(baseline)}" stroke="{OUTCOME_COLOURS["baseline"]}" stroke-width="1" '
        'stroke-dasharray="2 3"/>'
        f'<text class="outcome-mark-label outcome-baseline-label" x="{left + pad + 10}" '
        f'y="{y(baseline) - 4}" fill="{OUTCOME_COLOURS["baseline"]}">Baseline {baseline}</text>'
    )
    if baseline >= REMISSION_BELOW:
        # Scores are whole numbers: a response is this score or less.
        threshold = math.floor(baseline * (1 - RESPONSE_DROP))
        out.append(
            f'<line class="outcome-response-line" x1="{left}" x2="{plot_right}" '
            f'y1="{y(threshold)}" y2="{y(threshold)}" stroke="{OUTCOME_COLOURS["response"]}" '
            'stroke-width="1.5" stroke-dasharray="6 4"/>'
            f'<text class="outcome-mark-label outcome-response-label" x="{left + 4}" '
            f'y="{y(threshold) - 4}" fill="{OUTCOME_COLOURS["response"]}">'
            f"Response \u2264 {threshold}</text>"
        )
    out.append(
        f'<line class="outcome-remission-line" x1="{left}" x2="{plot_right}" '
        f'y1="{y(REMISSION_BELOW)}" y2="{y(REMISSION_BELOW)}" '
        f'stroke="{OUTCOME_COLOURS["remission"]}" stroke-width="1.5"/>'
        f'<text class="outcome-mark-label outcome-remission-label" x="{left + 4}" '
        f'y="{y(REMISSION_BELOW) + 13}" fill="{OUTCOME_COLOURS["remission"]}">'
        f"Remission &lt; {REMISSION_BELOW}</text>"
    )
    # The dates under the points (at most six labels, always the first and the last).
    step = max(1, math.ceil(len(series) / 6))
    labelled = {0, len(series) - 1} | set(range(0, len(series), step))
    for index in sorted(labelled):
        if index == len(series) - 2 and step > 1:
            continue  # too close to the last
        at = series[index][0]
        out.append(
            f'<text class="chart-axis" x="{x(at)}" y="{height - bottom + 17}" '
            f'text-anchor="middle" fill="{COLOURS["axis"]}">{day(at, tz, weekday=False)}</text>'
        )
    if len(series) > 1:
        points = " ".join(f"{x(at)},{y(score)}" for at, score in series)
        out.append(
            f'<polyline class="chart-line outcome-line" points="{points}" fill="none" '
            f'stroke="{OUTCOME_COLOURS["line"]}" stroke-width="2" stroke-linejoin="round"/>'
        )
    for index, (at, score) in enumerate(series):
        reached = point_state(baseline, score, index)
        fill = {"remission": OUTCOME_COLOURS["remission"], "response": OUTCOME_COLOURS["response"]}
        colour = fill.get(reached, "#ffffff")
        stroke = OUTCOME_COLOURS["baseline"] if reached == "baseline" else fill.get(reached)
        words = {"baseline": " · baseline", "response": " · response", "remission": " · remission"}
        tip = f"{day(at, tz)}: {score} ({band_label(name, band_of(instrument, score))})"
        out.append(
            f'<circle class="chart-point outcome-point is-{reached or "plain"}" cx="{x(at)}" '
            f'cy="{y(score)}" r="{5.5 if reached == "baseline" else 4.5}" fill="{colour}" '
            f'stroke="{stroke or OUTCOME_COLOURS["line"]}" stroke-width="2">'
            f"<title>{escape(tip + words.get(reached, ''))}</title></circle>"
        )
    at, score = series[-1]
    out.append(
        f'<text class="outcome-latest" x="{x(at)}" y="{y(score) - 10}" text-anchor="middle" '
        f'font-weight="700" fill="#0f172a">{score}</text>'
    )
    out.append("</svg>")
    # Every text in `out` is a number, a fixed string, or went through escape().
    return Markup("".join(out))  # noqa: S704 # nosec B704: numbers, fixed text, escape()d


def point_state(baseline: int, score: int, index: int) -> str:
    """Name what a score of the course reaches: the baseline itself, remission, response."""
    if index == 0:
        return "baseline"
    if score < REMISSION_BELOW:
        return "remission"
    if baseline > 0 and score <= baseline * (1 - RESPONSE_DROP):
        return "response"
    return ""


def outcome_summary(instrument: Instrument, outcome: Outcome, tz: ZoneInfo) -> str:
    """Say a course in one sentence (the chart's description, the page's text)."""
    if outcome.latest is None or not outcome.series:
        return f"No {instrument.title} recorded yet."
    count = len(outcome.series)
    first_day = day(outcome.series[0][0], tz, year=True)
    if count == 1:
        return f"One {instrument.title} so far: {outcome.latest}, the baseline, on {first_day}."
    reached = (
        "remission"
        if outcome.remission
        else "a response"
        if outcome.response
        else "no response yet"
    )
    return (
        f"{count} scores since {first_day}; the latest, {outcome.latest}, is "
        f"{change_words(outcome)}: {reached}."
    )
