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
from clinic.domain.booking import Context, Plan, Rule, check_booking, local_day

DAYS_AROUND = 7  # how many days either side of the asked day to look at
# Rules that depend on the start alone, never on the chair: one refusal rules out the start.
_START_RULES = {Rule.PATIENT_OVERLAP, Rule.TOO_SOON_AFTER_LAST_INFUSION, Rule.NOT_CLEARED}
_MAX_CHECKS = 600  # full rule checks per search, so a hopeless search stays quick

# (tier, distance, earlier, other chair, chair id); distance and earlier are pairs (days,
# minutes) in the last tier, which only ever compares with itself.
Closeness = tuple[int, int | tuple[int, int], bool | tuple[bool, bool], bool, int]


def closeness(slot: Slot, asked: Plan, tz: ZoneInfo) -> Closeness:
    """Return a sort key: the smaller, the closer the slot is to the asked plan."""
    want = asked.infusion_start.astimezone(tz)
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
    return sorted(slots, key=lambda slot: closeness(slot, asked, tz))


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
    days = (last_day - first_day).days + 1
    candidates = find_slots(
        ctx,
        chair_ids,
        first_day,
        days,
        asked.infusion_minutes,
        asked.observation_minutes,
        limit=10**6,
        observation_from=asked.observation_from,
    )
    found: list[Slot] = []
    starts: set[datetime] = set()
    ruled_out: set[datetime] = set()
    checks = 0
    for slot in rank(candidates, asked, tz):
        start = slot.infusion_start
        asked_slot = start == asked.infusion_start and slot.chair_id == asked.chair_id
        if start in ruled_out or (asked_slot and not include_asked):
            continue
        if start not in starts and len(starts) >= max_starts:
            # The key orders every chair of one start together, so the list is complete.
            break
        if checks >= _MAX_CHECKS:
            break
        checks += 1
        plan = replace(asked, chair_id=slot.chair_id, infusion_start=start)
        placement, violations = check_booking(plan, ctx)
        if placement is None:
            if any(v.rule in _START_RULES for v in violations):
                ruled_out.add(start)
            continue
        starts.add(start)
        found.append(slot)
    return found
