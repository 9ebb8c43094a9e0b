"""Take a chair out of service by moving each of its visits to another free chair first."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from clinic.database import lock_site_for_writing
from clinic.extensions import db
from clinic.models import Chair, User, Visit
from clinic.services import access, audit, booking, setup
from clinic.services.errors import Conflict


@dataclass(frozen=True)
class Stuck:
    """A visit that cannot move, and why."""

    visit: Visit
    reasons: list[str]


class VisitsCannotMove(Conflict):
    """Some visits cannot move to another chair at their time: nothing was moved."""

    def __init__(self, stuck: list[Stuck]) -> None:
        count = len(stuck)
        super().__init__(
            f"{count} visit{'s' if count != 1 else ''} cannot move to another chair at the "
            "same time; nothing was moved.",
            extra={"visit_ids": [item.visit.id for item in stuck]},
        )
        self.stuck = stuck


def move_visits_and_retire(actor: User, chair: Chair, now: datetime) -> list[Visit]:
    """Move every visit that needs the chair to another free one at the same time, then take
    the chair out of service; all or nothing, through every booking rule.

    A chair's visits go to any free infusion chair (and bay, in bay mode); a bay's visits
    keep their infusion chair and get another bay. A visit whose patient is in care now
    cannot move. Raise VisitsCannotMove, having changed nothing, when any visit cannot.
    """
    access.require(actor, "administer")
    lock_site_for_writing(chair.site_id)
    chair = db.session.get_one(Chair, chair.id)
    site = chair.site
    visits = setup.visits_needing(chair, now)
    # Out of service first, so that the rules no longer offer it to the visits it held.
    chair.active = False
    db.session.flush()
    stuck: list[Stuck] = []
    moves: list[tuple[Visit, int, int | None]] = []
    for visit in visits:
        if visit.status != "booked":
            stuck.append(Stuck(visit, ["The patient is in care in it now."]))
            continue
        req = booking.Request(
            patient_id=visit.patient_id,
            site_id=site.id,
            infusion_start=visit.infusion_start,
            chair_id=visit.chair_id if chair.kind == "recovery_bay" else None,
            infusion_minutes=visit.infusion_minutes,
            observation_minutes=visit.observation_minutes,
        )
        _, _, placement, violations = booking.evaluate(
            actor, req, now, visit.id, visit_type_id=visit.treatment_type_id
        )
        if placement is None:
            stuck.append(Stuck(visit, [violation.message for violation in violations]))
            continue
        moves.append((visit, visit.chair_id, visit.recovery_chair_id))
        booking.apply_placement(visit, site, placement)
        db.session.flush()  # the next visit's check sees this one in its new place
    if stuck:
        db.session.rollback()
        audit.record_now(
            actor,
            "admin.chair.update",
            now,
            object_type="chair",
            object_id=chair.id,
            outcome="refused",
            detail={"site_id": site.id, "fields": ["active"], "stuck": len(stuck)},
            site_id=site.id,
        )
        raise VisitsCannotMove(stuck)
    for visit, old_chair, old_bay in moves:
        audit.record(
            actor,
            "visit.reschedule",
            now,
            patient_id=visit.patient_id,
            object_type="visit",
            object_id=visit.id,
            detail={
                "fields": [
                    f
                    for f, old, new in (
                        ("chair_id", old_chair, visit.chair_id),
                        ("recovery_chair_id", old_bay, visit.recovery_chair_id),
                    )
                    if old != new
                ],
                "chair_id": visit.chair_id,
                "from_chair_id": chair.id,
                "cause": "chair_out_of_service",
            },
            site_id=site.id,
        )
    audit.record(
        actor,
        "admin.chair.update",
        now,
        object_type="chair",
        object_id=chair.id,
        detail={"site_id": site.id, "fields": ["active"], "moved": len(moves)},
        site_id=site.id,
    )
    booking.commit_or_conflict()
    return [visit for visit, _, _ in moves]
