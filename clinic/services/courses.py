"""Induction courses: a series of visits checked together and booked all at once."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from clinic.database import lock_site_for_writing
from clinic.domain.availability import Slot
from clinic.domain.booking import Violation
from clinic.extensions import db
from clinic.models import User, Visit
from clinic.services import access, audit, patient_messages
from clinic.services.alternatives import suggest
from clinic.services.booking import Request, place
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


def check_course(
    actor: User, requests: list[Request], now: datetime, weekdays: set[int] | None = None
) -> tuple[list[CourseDate], list[Slot]]:
    """Check every date of a course as if booked in order; write nothing.

    With the course's weekdays, a clash also brings slots for a date after the last one: the
    same weekdays at the same local time (or the closest free time to it).
    """
    return _run(actor, requests, now, commit=False, weekdays=weekdays)


def book_course(actor: User, requests: list[Request], now: datetime) -> list[Visit]:
    """Book every date of a course, or none of them if any date breaks a rule."""
    results, _ = _run(actor, requests, now, commit=True)
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
    return [db.session.get_one(Visit, r.visit_id) for r in results]


def _run(
    actor: User,
    requests: list[Request],
    now: datetime,
    commit: bool,
    weekdays: set[int] | None = None,
) -> tuple[list[CourseDate], list[Slot]]:
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
        # One "booked" message for the course (its first date); reminders before every date.
        for index, result in enumerate(results):
            booked = db.session.get(Visit, result.visit_id)
            assert booked is not None
            patient_messages.visit_changed(booked, "book" if index == 0 else "course", now)
        db.session.commit()
        return results, []
    # Alternatives are computed with the good dates of the course still in the session,
    # so a suggestion never clashes with another date of the same course.
    extra: list[Slot] = []
    for result in results:
        if not result.ok:
            result.alternatives = suggest(
                actor, result.request, now, max_starts=ALTERNATIVES_PER_DATE
            )
    if weekdays and any(not r.ok for r in results):
        extra = _after_the_last(actor, requests, now, weekdays)
    db.session.rollback()
    return results, extra


def _after_the_last(
    actor: User, requests: list[Request], now: datetime, weekdays: set[int]
) -> list[Slot]:
    """Suggest slots for one more date: the course's next weekday after its last date at the
    same time, or the free times closest to it (never on or before the last date)."""
    last = max(requests, key=lambda r: r.infusion_start)
    site = access.get_site(
        actor, last.site_id or access.get_patient(actor, last.patient_id).site_id
    )
    tz = ZoneInfo(site.timezone)
    local_last = last.infusion_start.astimezone(tz)
    day_after = local_last.date() + timedelta(days=1)
    next_start = course_starts(day_after, local_last.time(), weekdays, 1, tz)[0]
    asked = replace(last, infusion_start=next_start)
    return suggest(
        actor,
        asked,
        now,
        max_starts=ALTERNATIVES_PER_DATE,
        after_day=local_last.date(),
        include_asked=True,
    )
