"""Free slots on a 15-minute grid of site-local time."""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from itertools import accumulate
from typing import NamedTuple

from clinic.domain.booking import (
    NURSE,
    PRACTITIONER,
    Context,
    ObservationFrom,
    Occupancy,
    Placement,
    Plan,
    RecoveryMode,
    Rule,
    Violation,
    check_booking,
    visit_minutes,
)
from clinic.domain.intervals import Interval, merge

GRID_MINUTES = 15

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICRO = timedelta(microseconds=1)
_MINUTE = 60_000_000


@dataclass(frozen=True)
class Slot:
    """A bookable start in one chair."""

    chair_id: int
    infusion_start: datetime
    infusion_end: datetime
    observation_end: datetime


class Held(NamedTuple):
    """What one visit holds, in whole microseconds since the epoch: a compact Occupancy."""

    chair_id: int
    chair_start: int
    chair_end: int
    bay_id: int | None  # None: no bay held
    bay_start: int
    bay_end: int
    visit_start: int  # infusion start to observation end: counts against nurse capacity
    visit_end: int


def held(occupancy: Occupancy) -> Held:
    """Return what an occupancy holds, compactly."""
    chair, visit, bay = occupancy.chair_hold, occupancy.visit, occupancy.bay_hold
    return Held(
        occupancy.chair_id,
        _micros(chair.start),
        _micros(chair.end),
        None if bay is None else occupancy.bay_id,
        0 if bay is None else _micros(bay.start),
        0 if bay is None else _micros(bay.end),
        _micros(visit.start),
        _micros(visit.end),
    )


def find_slots(
    ctx: Context,
    chair_ids: list[int],
    first_day: date,
    days: int,
    infusion_minutes: int,
    observation_minutes: int,
    limit: int,
    observation_from: ObservationFrom = ObservationFrom.ADMINISTRATION_END,
    booked: Iterable[Held] = (),
) -> list[Slot]:
    """List bookable slots for a cleared patient with no other visits.

    Ordered by infusion start then chair id; starts lie on the 15-minute local grid of
    each day from first_day for `days` days; at most `limit` slots. The observation is
    counted as `observation_from` says (a Plan's rule). `booked` holds visits besides
    `ctx.occupancies`, given compactly.
    """
    # Same answers as check_booking per slot, but with every schedule pre-indexed so that
    # each candidate costs a few binary searches instead of a scan of the whole day.
    if limit <= 0:
        return []
    site = ctx.site
    chairs = sorted(set(chair_ids))
    infusion = infusion_minutes * _MINUTE
    visit = visit_minutes(infusion_minutes, observation_minutes, observation_from) * _MINUTE
    turnover = site.turnover_minutes * _MINUTE
    bay_mode = site.recovery_mode == RecoveryMode.BAY
    chair_hold = (infusion if bay_mode else visit) + turnover

    holds = [*map(held, ctx.occupancies), *booked]
    chair_spans: dict[int, list[tuple[int, int]]] = {chair: [] for chair in chairs}
    bay_spans: dict[int, list[tuple[int, int]]] = {bay: [] for bay in sorted(set(ctx.bay_ids))}
    for h in holds:
        if h.chair_id in chair_spans:
            chair_spans[h.chair_id].append((h.chair_start, h.chair_end))
        if h.bay_id in bay_spans:
            bay_spans[h.bay_id].append((h.bay_start, h.bay_end))
    chair_busy = {chair: _Busy(spans) for chair, spans in chair_spans.items()}
    bays = [_Busy(spans) for spans in bay_spans.values()]
    nurses = _NurseCover(ctx, holds)
    practitioners = _Cover(s.span for s in ctx.shifts if s.role == PRACTITIONER)
    now = _micros(ctx.now)

    slots: list[Slot] = []
    for start in _grid_starts(ctx, first_day, days, visit):
        if start < now or not nurses.fits(start, start + visit):
            continue
        if site.require_practitioner_on_site and not practitioners.covers(start, start + infusion):
            continue
        bay_hold = (start + infusion, start + visit + turnover)
        if bay_mode and all(bay.overlaps(*bay_hold) for bay in bays):
            continue
        for chair in chairs:
            if chair_busy[chair].overlaps(start, start + chair_hold):
                continue
            slots.append(
                Slot(
                    chair_id=chair,
                    infusion_start=_instant(start),
                    infusion_end=_instant(start + infusion),
                    observation_end=_instant(start + visit),
                )
            )
            if len(slots) >= limit:
                return slots
    return slots


def place_in_any_chair(
    plan: Plan, ctx: Context, chair_ids: list[int]
) -> tuple[Placement | None, list[Violation]]:
    """Place the plan in the first chair (by id) that passes every rule.

    When no chair passes, return the violations of the chair with the fewest of them.
    `plan.chair_id` is ignored.
    """
    fewest: list[Violation] | None = None
    for chair in sorted(set(chair_ids)):
        placement, violations = check_booking(replace(plan, chair_id=chair), ctx)
        if placement is not None:
            return placement, []
        if fewest is None or len(violations) < len(fewest):
            fewest = violations
    if fewest is None:
        return None, [Violation(Rule.CHAIR_BUSY, "This site has no chair to book.")]
    return None, fewest


def _grid_starts(ctx: Context, first_day: date, days: int, visit: int) -> Iterator[int]:
    """Yield each open day's grid starts whose visit ends by closing time, in order."""
    tz = ctx.site.timezone
    grid = GRID_MINUTES * _MINUTE
    for offset in range(days):
        hours = ctx.site.opening_hours.interval_on(first_day + timedelta(days=offset), tz)
        if hours is None:
            continue
        opens = hours.start.astimezone(tz)
        # Round up on the local wall clock; UTC offsets are whole quarter hours, so steps of
        # 15 real minutes then stay on the local grid, across DST changes too.
        past_grid = (opens.minute % GRID_MINUTES) * _MINUTE + opens.second * 1_000_000
        past_grid += opens.microsecond
        start = _micros(hours.start) + (grid - past_grid) % grid
        closes = _micros(hours.end)
        while start + visit <= closes:
            yield start
            start += grid


class _Busy:
    """Holds of one chair or bay, indexed to answer "does [start, end) overlap any?"."""

    def __init__(self, holds: Iterable[tuple[int, int]]) -> None:
        spans = sorted(holds)
        self.starts = [start for start, _ in spans]
        self.max_ends = list(accumulate((end for _, end in spans), max))

    def overlaps(self, start: int, end: int) -> bool:
        """Tell whether some hold shares an instant with [start, end)."""
        before_end = bisect_left(self.starts, end)
        return before_end > 0 and self.max_ends[before_end - 1] > start


class _Cover:
    """The union of some spans, to answer "is [start, end) inside it?"."""

    def __init__(self, spans: Iterable[Interval]) -> None:
        blocks = merge(spans)
        self.starts = [_micros(b.start) for b in blocks]
        self.ends = [_micros(b.end) for b in blocks]

    def covers(self, start: int, end: int) -> bool:
        """Tell whether every instant of [start, end) lies in the union."""
        if start == end:
            return True
        index = bisect_right(self.starts, start) - 1
        return index >= 0 and self.ends[index] >= end


class _NurseCover:
    """Nurses on shift and patients in the chairs (the visits held) as a step function."""

    def __init__(self, ctx: Context, holds: Iterable[Held]) -> None:
        changes: dict[int, tuple[int, int]] = {}

        def add(at: int, nurses: int, patients: int) -> None:
            old_nurses, old_patients = changes.get(at, (0, 0))
            changes[at] = (old_nurses + nurses, old_patients + patients)

        for shift in ctx.shifts:
            if shift.role == NURSE:
                add(_micros(shift.span.start), 1, 0)
                add(_micros(shift.span.end), -1, 0)
        for hold in holds:
            add(hold.visit_start, 0, 1)
            add(hold.visit_end, 0, -1)
        self.bounds = sorted(changes)
        # bad[i + 1] counts the broken segments up to [bounds[i], bounds[i + 1]);
        # bad[0] is the time before the first bound, when nobody is on shift.
        self.bad = [1]
        nurses = patients = 0
        for at in self.bounds:
            delta_nurses, delta_patients = changes[at]
            nurses += delta_nurses
            patients += delta_patients
            broken = nurses <= 0 or patients + 1 > nurses * ctx.site.nurse_ratio
            self.bad.append(self.bad[-1] + broken)

    def fits(self, start: int, end: int) -> bool:
        """Tell whether one more patient over [start, end) keeps every nurse within ratio."""
        if start == end:
            return True
        first = bisect_right(self.bounds, start)
        last = bisect_left(self.bounds, end)
        before = self.bad[first - 1] if first > 0 else 0
        return self.bad[last] - before == 0


def _micros(instant: datetime) -> int:
    """Return an aware instant as whole microseconds since the epoch."""
    return (instant - _EPOCH) // _MICRO


def _instant(micros: int) -> datetime:
    """Return the UTC instant of microseconds since the epoch."""
    return _EPOCH + timedelta(microseconds=micros)
