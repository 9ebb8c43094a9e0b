"""Moving the dates of a course in the site's local time (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo


def wall_clock(instant: datetime, tz: ZoneInfo) -> datetime:
    """Return an aware instant as a naive local wall-clock time."""
    return instant.astimezone(tz).replace(tzinfo=None)


def move_series(
    starts: list[datetime], new_first: datetime, tz: ZoneInfo, following: bool
) -> list[datetime]:
    """Return the UTC starts after moving starts[0] to new_first.

    With `following`, every later start moves by the same wall-clock difference, so a 09:00
    visit stays 09:00 local across a DST change; without, only the first one moves.
    """
    if not starts:
        return []
    delta = wall_clock(new_first, tz) - wall_clock(starts[0], tz)
    moved = [new_first.astimezone(UTC)]
    for start in starts[1:]:
        if not following:
            moved.append(start.astimezone(UTC))
            continue
        local = (wall_clock(start, tz) + delta).replace(tzinfo=tz)
        moved.append(local.astimezone(UTC))
    return moved


def repattern(new_first: datetime, count: int, weekdays: set[int], tz: ZoneInfo) -> list[datetime]:
    """Return `count` UTC starts: new_first, then the next days on the weekdays (0 = Monday)
    after it, each at new_first's local wall-clock time (kept across a DST change)."""
    if not weekdays or not weekdays <= set(range(7)):
        raise ValueError("weekdays must be a non-empty set of 0 (Monday) to 6 (Sunday)")
    local = wall_clock(new_first, tz)
    moved = [new_first.astimezone(UTC)]
    day = local
    while len(moved) < count:
        day += timedelta(days=1)
        if day.weekday() in weekdays:
            moved.append(day.replace(tzinfo=tz).astimezone(UTC))
    return moved
