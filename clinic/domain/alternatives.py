"""Alternatives to a refused booking, ordered by closeness to what was asked.

First the same time in another chair, then the nearest times the same day (later before
earlier at the same distance: 10:15, 09:45, 10:30, ...), then the same time on the nearest
days, then any other time on the nearest days. Every alternative passes every rule,
the patient's included.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from clinic.domain.availability import Slot, find_slots
from clinic.domain.booking import Context, Plan, local_day, patient_allows

DAYS_AROUND = 7  # how many days either side of the asked day to look at
_MAX_CHECKS = 600  # slots checked per search, so a hopeless search stays quick

# (tier, distance, earlier, other chair, chair id); distance and earlier are pairs (days,
# minutes) in the last tier, which only ever compares with itself.
Closeness = tuple[int, int | tuple[int, int], bool | tuple[bool, bool], bool, int]


def closeness(slot: Slot, asked: Plan, tz: ZoneInfo) -> Closeness:
    """Return a sort key: the smaller, the closer the slot is to the asked plan."""
    return _closeness(slot, asked, asked.infusion_start.astimezone(tz), tz)


def _closeness(slot: Slot, asked: Plan, want: datetime, tz: ZoneInfo) -> Closeness:
    """Return `closeness` with the asked start already in local time."""
    got = slot.infusion_start.astimezone(tz)
    days = (got.date() - want.date()).days
    # Wall-clock minutes, so "the same time" survives a DST change between the days.
    minutes = (got.hour * 60 + got.minute) - (want.hour * 60 + want.minute)
    distance: int | tuple[int, int]
    earlier: bool | tuple[bool, bool]
    if days == 0 and minutes == 0:
        tier, distance, earlier = 0, 0, False
    elif days == 0:
        tier, distance, earlier = 1, abs(minutes), minutes < 0
    elif minutes == 0:
        tier, distance, earlier = 2, abs(days), days < 0
    else:
        tier, distance, earlier = 3, (abs(days), abs(minutes)), (days < 0, minutes < 0)
    other_chair = slot.chair_id != asked.chair_id
    return (tier, distance, earlier, other_chair, slot.chair_id)


def rank(slots: list[Slot], asked: Plan, tz: ZoneInfo) -> list[Slot]:
    """Order slots by closeness to the asked plan."""
    want = asked.infusion_start.astimezone(tz)
    return sorted(slots, key=lambda slot: _closeness(slot, asked, want, tz))


def nearest_alternatives(
    asked: Plan,
    ctx: Context,
    chair_ids: list[int],
    max_starts: int,
    days_around: int = DAYS_AROUND,
    after_day: date | None = None,
    include_asked: bool = False,
) -> list[Slot]:
    """Return bookable slots closest to the asked plan, every free chair for each start.

    At most `max_starts` distinct starts; the asked slot itself is offered only with
    `include_asked`. With `after_day`, only slots on later site-local days count (a date
    after a course's last).
    """
    tz = ctx.site.timezone
    asked_day = local_day(asked.infusion_start, tz)
    first_day = asked_day - timedelta(days=days_around)
    if after_day is not None:
        first_day = max(first_day, after_day + timedelta(days=1))
    last_day = asked_day + timedelta(days=days_around)
    if first_day > last_day or max_starts <= 0:
        return []
    candidates = find_slots(
        ctx,
        chair_ids,
        first_day,
        (last_day - first_day).days + 1,
        asked.infusion_minutes,
        asked.observation_minutes,
        limit=10**6,
        observation_from=asked.observation_from,
    )
    near: list[Slot] = []
    other: list[Slot] = []
    for slot in candidates:
        (near if local_day(slot.infusion_start, tz) == asked_day else other).append(slot)
    # Every slot of the asked day ranks before every slot of another day (tiers 0 and 1),
    # so the other days are ranked only when the asked day offers too few starts.
    search = _Search(asked, ctx, max_starts, include_asked)
    if not search.take(rank(near, asked, tz)):
        search.take(rank(other, asked, tz))
    return search.found


class _Search:
    """The slots kept so far, walking candidates from the closest outward."""

    def __init__(self, asked: Plan, ctx: Context, max_starts: int, include_asked: bool) -> None:
        self.asked = asked
        self.ctx = ctx
        self.max_starts = max_starts
        self.include_asked = include_asked
        self.found: list[Slot] = []
        self.starts: set[datetime] = set()
        self.ruled_out: set[datetime] = set()
        self.checks = 0  # rule checks, counted per slot, as `_MAX_CHECKS` bounds them

    def take(self, ranked: list[Slot]) -> bool:
        """Keep the ranked slots that pass every rule; tell whether the search is over.

        The slots already pass the site's rules (`find_slots` answers as `check_booking`
        does for them); what is left are the patient's rules, which hold or fail for a
        start whatever the chair, so each start is checked once.
        """
        for slot in ranked:
            start = slot.infusion_start
            asked_slot = start == self.asked.infusion_start and slot.chair_id == self.asked.chair_id
            if start in self.ruled_out or (asked_slot and not self.include_asked):
                continue
            if start not in self.starts and len(self.starts) >= self.max_starts:
                # The key orders every chair of one start together, so the list is complete.
                return True
            if self.checks >= _MAX_CHECKS:
                return True
            self.checks += 1
            if start not in self.starts and self.ctx.check_patient:
                plan = replace(self.asked, chair_id=slot.chair_id, infusion_start=start)
                if not patient_allows(plan, self.ctx):
                    self.ruled_out.add(start)
                    continue
            self.starts.add(start)
            self.found.append(slot)
        return False
