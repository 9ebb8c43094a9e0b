"""Free slots on a 15-minute grid of site-local time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from clinic.domain.booking import Context, Placement, Plan, Violation

GRID_MINUTES = 15


@dataclass(frozen=True)
class Slot:
    """A bookable start in one chair."""

    chair_id: int
    infusion_start: datetime
    infusion_end: datetime
    observation_end: datetime


def find_slots(
    ctx: Context,
    chair_ids: list[int],
    first_day: date,
    days: int,
    infusion_minutes: int,
    observation_minutes: int,
    limit: int,
) -> list[Slot]:
    """List bookable slots for a cleared patient with no other visits.

    Ordered by infusion start then chair id; starts lie on the 15-minute local grid of
    each day from first_day for `days` days; at most `limit` slots.
    """
    raise NotImplementedError


def place_in_any_chair(
    plan: Plan, ctx: Context, chair_ids: list[int]
) -> tuple[Placement | None, list[Violation]]:
    """Place the plan in the first chair (by id) that passes every rule.

    When no chair passes, return the violations of the chair with the fewest of them.
    `plan.chair_id` is ignored.
    """
    raise NotImplementedError
