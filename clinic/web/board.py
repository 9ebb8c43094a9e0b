"""Lay a site's day out on a time grid: which columns each block and free cell covers.

The board is a CSS grid of 5-minute columns; free cells are 15 minutes (the booking grid).
Everything here is computed server-side; board.js only copies data-start/data-span into
grid-column, because the CSP forbids style attributes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from math import ceil
from zoneinfo import ZoneInfo

from clinic.domain.intervals import Interval
from clinic.domain.visits import Status
from clinic.models import Chair, Visit
from clinic.services.frontdesk import Day
from clinic.web.dates import hm

COLUMN = timedelta(minutes=5)
CELL = timedelta(minutes=15)
HIDDEN_STATUSES = (Status.CANCELLED, Status.NO_SHOW)


@dataclass(frozen=True)
class Block:
    """A visit's infusion, recovery or turnover on one row of the board."""

    visit: Visit
    kind: str  # "infusion", "recovery" or "turnover"
    start: datetime
    end: datetime
    column: int  # 1-based grid line inside the row's track
    span: int


@dataclass(frozen=True)
class FreeCell:
    """A 15-minute start in a chair that nothing holds; a link to the booking form."""

    column: int
    span: int
    time: str  # local "HH:MM"


@dataclass
class Row:
    """One chair or bay of the board."""

    chair: Chair
    blocks: list[Block] = field(default_factory=list)
    free: list[FreeCell] = field(default_factory=list)


@dataclass(frozen=True)
class HourMark:
    """A label in the board's header."""

    column: int
    span: int
    label: str


@dataclass(frozen=True)
class Board:
    """The laid-out day."""

    start: datetime
    end: datetime
    columns: int
    hour_offset: int  # columns from the grid start to the first full hour (gridlines)
    hours: list[HourMark]
    rows: list[Row]
    hidden: list[Visit]  # cancelled and no-show visits, listed under the board
    now_percent: float | None  # where "now" falls across the grid, if it is on this day


def _floor_to_cell(instant: datetime, tz: ZoneInfo) -> datetime:
    local = instant.astimezone(tz)
    local = local.replace(minute=local.minute - local.minute % 15, second=0, microsecond=0)
    return local.astimezone(UTC)


def _ceil_to_hour(instant: datetime, tz: ZoneInfo) -> datetime:
    local = instant.astimezone(tz)
    floor = local.replace(minute=0, second=0, microsecond=0).astimezone(UTC)
    return floor if floor == instant else floor + timedelta(hours=1)


def grid_span(day: Day) -> tuple[datetime, datetime] | None:
    """Return the instants the grid covers: opening hours, widened to fit every visit.

    The grid ends on a full hour, so the last hour's label has its whole hour to sit in
    instead of spilling past the board's edge."""
    shown = [v for v in day.visits if v.status not in HIDDEN_STATUSES]
    starts = [v.infusion_start for v in shown]
    ends = [max(v.chair_released_at, v.bay_released_at or v.chair_released_at) for v in shown]
    if day.hours is not None:
        starts.append(day.hours.start)
        ends.append(day.hours.end)
    if not starts:
        return None
    return _floor_to_cell(min(starts), day.tz), _ceil_to_hour(max(ends), day.tz)


def lay_out(day: Day, now: datetime, bookable: bool) -> Board | None:
    """Place every visit's blocks and the free cells; None when closed with no visits."""
    span = grid_span(day)
    if span is None:
        return None
    start, end = span
    columns = ceil((end - start) / COLUMN)

    def place(a: datetime, b: datetime) -> tuple[int, int]:
        # Both ends round to the nearest column line, so blocks that touch in time (09:52
        # infusion end, 09:52 recovery start) touch on the grid too, whatever the minute.
        first = min(columns - 1, max(0, round((a - start) / COLUMN)))
        last = min(columns, round((b - start) / COLUMN))
        return first + 1, max(1, last - first)

    rows = {chair.id: Row(chair) for chair in day.chairs + day.bays}
    hidden: list[Visit] = []
    held: dict[int, list[Interval]] = {chair_id: [] for chair_id in rows}

    def add(chair_id: int | None, visit: Visit, kind: str, a: datetime, b: datetime) -> None:
        if chair_id not in rows or b <= a:
            return
        column, width = place(a, b)
        rows[chair_id].blocks.append(Block(visit, kind, a, b, column, width))
        held[chair_id].append(Interval(a, b))

    for visit in day.visits:
        if visit.status in HIDDEN_STATUSES:
            hidden.append(visit)
            continue
        add(visit.chair_id, visit, "infusion", visit.infusion_start, visit.infusion_end)
        if visit.bay_released_at is not None:  # bay mode: recovery moves to the bay
            add(visit.chair_id, visit, "turnover", visit.infusion_end, visit.chair_released_at)
            bay = visit.recovery_chair_id
            add(bay, visit, "recovery", visit.infusion_end, visit.observation_end)
            add(bay, visit, "turnover", visit.observation_end, visit.bay_released_at)
        else:
            add(visit.chair_id, visit, "recovery", visit.infusion_end, visit.observation_end)
            add(visit.chair_id, visit, "turnover", visit.observation_end, visit.chair_released_at)

    if bookable and day.hours is not None:
        for chair in day.chairs:
            if not chair.active:
                continue
            cell = max(start, day.hours.start)
            while cell + CELL <= min(end, day.hours.end):
                cell_end = cell + CELL
                busy = any(hold.overlaps(Interval(cell, cell_end)) for hold in held[chair.id])
                if not busy and cell >= now:
                    column, width = place(cell, cell_end)
                    label = hm(cell, day.tz)
                    rows[chair.id].free.append(FreeCell(column, width, label))
                cell = cell_end

    return Board(
        start=start,
        end=end,
        columns=columns,
        hour_offset=_hour_offset(start, day.tz),
        hours=_hour_marks(start, end, columns, day.tz),
        rows=list(rows.values()),
        hidden=hidden,
        now_percent=round(100 * (now - start) / (end - start), 3) if start <= now < end else None,
    )


def _hour_offset(start: datetime, tz: ZoneInfo) -> int:
    minute = start.astimezone(tz).minute
    return 0 if minute == 0 else (60 - minute) // 5


def _hour_marks(start: datetime, end: datetime, columns: int, tz: ZoneInfo) -> list[HourMark]:
    """Label each local hour; the first label covers a partial hour when the day starts at :30."""
    marks: list[HourMark] = []
    cell = start
    while cell < end:
        local = cell.astimezone(tz)
        if local.minute == 0 or cell == start:
            column = int((cell - start) / COLUMN) + 1
            marks.append(HourMark(column, 0, hm(cell, tz)))
        cell += CELL
    sized = []
    for index, mark in enumerate(marks):
        following = marks[index + 1].column if index + 1 < len(marks) else columns + 1
        sized.append(HourMark(mark.column, following - mark.column, mark.label))
    return sized


def status_counts(visits: list[Visit]) -> dict[str, int]:
    """Count a day's visits by status, in lifecycle order."""
    counts = {status.value: 0 for status in Status}
    for visit in visits:
        counts[visit.status] = counts.get(visit.status, 0) + 1
    return {status: n for status, n in counts.items() if n}
