"""Induction courses: a series of visits checked together and booked all at once."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from clinic.database import lock_site_for_writing
from clinic.domain.availability import Slot
from clinic.domain.booking import Violation
from clinic.extensions import db
from clinic.models import User, Visit
from clinic.services import access, audit
from clinic.services.booking import Request, evaluate, place, slots
from clinic.services.errors import Conflict, Invalid

MAX_COURSE_LENGTH = 12
ALTERNATIVES_PER_DATE = 4


@dataclass
class CourseDate:
    """One date of a course: its request, and either a placement or what is wrong."""

    request: Request
    visit_id: int | None = None
    chair_id: int | None = None
    violations: list[Violation] = field(default_factory=list)
    alternatives: list[Slot] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Tell whether this date can be booked as asked."""
        return not self.violations


def course_starts(
    first_day: date, at: time, weekdays: set[int], count: int, tz: ZoneInfo
) -> list[datetime]:
    """Return `count` local starts at `at` on the chosen weekdays from first_day on."""
    if not weekdays or not 1 <= count <= MAX_COURSE_LENGTH:
        raise Invalid(
            "Choose at least one weekday and 1 to 12 infusions.",
            {"weekdays": ["Required."], "count": [f"1 to {MAX_COURSE_LENGTH}."]},
        )
    starts: list[datetime] = []
    day = first_day
    while len(starts) < count:
        if day.weekday() in weekdays:
            starts.append(datetime.combine(day, at, tzinfo=tz))
        day += timedelta(days=1)
    return starts


def check_course(actor: User, requests: list[Request], now: datetime) -> list[CourseDate]:
    """Check every date of a course as if booked in order; write nothing."""
    return _run(actor, requests, now, commit=False)


def book_course(actor: User, requests: list[Request], now: datetime) -> list[Visit]:
    """Book every date of a course, or none of them if any date breaks a rule."""
    results = _run(actor, requests, now, commit=True)
    if any(not r.ok for r in results):
        audit.record_now(
            actor,
            "visit.book",
            now,
            patient_id=requests[0].patient_id,
            outcome="refused",
            detail={"rules": sorted({str(v.rule) for r in results for v in r.violations})},
        )
        raise Conflict("Some dates can no longer be booked; check the course again.")
    return [db.session.get(Visit, r.visit_id) for r in results]


def _run(actor: User, requests: list[Request], now: datetime, commit: bool) -> list[CourseDate]:
    access.require(actor, "book")
    if not requests:
        raise Invalid("Choose at least one date.", {"dates": ["Required."]})
    patient = access.get_patient(actor, requests[0].patient_id)
    site_id = requests[0].site_id or patient.site_id
    access.get_site(actor, site_id)
    lock_site_for_writing(site_id)
    series_id = str(uuid.uuid4())
    results: list[CourseDate] = []
    for req in requests:
        visit, violations = place(actor, req, now, series_id)
        if visit is None:
            results.append(CourseDate(req, violations=violations))
        else:
            results.append(CourseDate(req, visit_id=visit.id, chair_id=visit.chair_id))
    if commit and all(r.ok for r in results):
        for result in results:
            audit.record(
                actor,
                "visit.book",
                now,
                patient_id=patient.id,
                object_type="visit",
                object_id=result.visit_id,
                detail={"series_id": series_id, "chair_id": result.chair_id},
            )
        db.session.commit()
        return results
    # Alternatives are computed with the good dates of the course still in the session,
    # so a suggestion never clashes with another date of the same course.
    for result in results:
        if not result.ok:
            result.alternatives = _alternatives(actor, result.request, now)
    db.session.rollback()
    return results


def _alternatives(actor: User, req: Request, now: datetime) -> list[Slot]:
    """Suggest free starts on the same local day that pass the patient's rules too."""
    site = access.get_site(actor, req.site_id or access.get_patient(actor, req.patient_id).site_id)
    day = req.infusion_start.astimezone(ZoneInfo(site.timezone)).date()
    found: list[Slot] = []
    for slot in slots(
        actor, site.id, day, 1, req.infusion_minutes, req.observation_minutes, 200, now
    ):
        if any(s.infusion_start == slot.infusion_start for s in found):
            continue
        candidate = Request(
            patient_id=req.patient_id,
            infusion_start=slot.infusion_start,
            site_id=site.id,
            chair_id=slot.chair_id,
            infusion_minutes=req.infusion_minutes,
            observation_minutes=req.observation_minutes,
        )
        if evaluate(actor, candidate, now)[2] is not None:
            found.append(slot)
        if len(found) >= ALTERNATIVES_PER_DATE:
            break
    return found
