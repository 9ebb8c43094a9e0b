"""Induction courses: a series of visits checked together and booked all at once."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from clinic.database import lock_site_for_writing
from clinic.domain.availability import Slot
from clinic.domain.booking import Violation
from clinic.domain.series import move_series, repattern
from clinic.extensions import db
from clinic.models import Course, User, Visit
from clinic.services import access, audit, patient_messages
from clinic.services.alternatives import suggest
from clinic.services.booking import (
    Request,
    add_history,
    apply_placement,
    book,
    booking_slot,
    commit_or_conflict,
    evaluate,
    place,
)
from clinic.services.errors import Conflict, Invalid, NotFound
from clinic.services.events import apply_event

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
        db.session.add(
            Course(series_id=series_id, patient_id=patient.id, site_id=site_id, created_at=now)
        )
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


# --- A course after booking: read it, move it, cancel the rest, add a date -----------------

ACTIVE = ("booked",)
SCOPES = ("this", "following")


class CourseRefused(Conflict):
    """A course change that breaks a rule on some date; nothing was written."""

    def __init__(self, message: str, dates: list[CourseDate]) -> None:
        super().__init__(message, [v for d in dates for v in d.violations])
        self.dates = dates


def plan_requests(
    actor: User,
    patient_id: int,
    site_id: int | None,
    first_start: datetime,
    weekdays: set[int],
    count: int,
    chair_id: int | None = None,
    treatment_type_id: int | None = None,
) -> list[Request]:
    """Return a course's requests: `count` dates on the weekdays at first_start's local time."""
    access.require(actor, "book")
    patient = access.get_patient(actor, patient_id)
    site = access.get_site(actor, site_id or patient.site_id)
    tz = ZoneInfo(site.timezone)
    local = first_start.astimezone(tz)
    starts = course_starts(local.date(), local.time().replace(tzinfo=None), weekdays, count, tz)
    return [
        Request(
            patient_id=patient.id,
            site_id=site.id,
            infusion_start=start.astimezone(UTC),
            chair_id=chair_id,
            treatment_type_id=treatment_type_id,
        )
        for start in starts
    ]


def course_of(visits: list[Visit]) -> Course | None:
    """Return the course the booked visits belong to (they share a series)."""
    if not visits or visits[0].series_id is None:
        return None
    return db.session.scalar(select(Course).where(Course.series_id == visits[0].series_id))


def course_for_visit(visit: Visit) -> Course | None:
    """Return the course a visit belongs to, if any."""
    return course_of([visit])


def get_course(actor: User, course_id: int) -> Course:
    """Return a course the actor may see (its patient's object check), or NotFound."""
    course = db.session.get(Course, course_id)
    if course is None:
        raise NotFound("course")
    access.get_patient(actor, course.patient_id)
    access.get_site(actor, course.site_id)
    return course


def list_courses(actor: User, patient_id: int) -> list[Course]:
    """Return a patient's courses, oldest first."""
    access.get_patient(actor, patient_id)
    stmt = select(Course).where(Course.patient_id == patient_id).order_by(Course.id)
    return [c for c in db.session.scalars(stmt) if access.can_see_site(actor, c.site_id)]


def course_visits(course: Course) -> list[Visit]:
    """Return every visit of a course by start."""
    stmt = select(Visit).where(Visit.series_id == course.series_id)
    return list(db.session.scalars(stmt.order_by(Visit.infusion_start, Visit.id)))


def progress(visits: list[Visit]) -> tuple[int, int]:
    """Return (completed, planned): planned counts every visit not cancelled."""
    planned = [v for v in visits if v.status != "cancelled"]
    completed = [v for v in planned if v.status in ("discharged", "completed")]
    return len(completed), len(planned)


def _chosen(course: Course, from_visit_id: int, scope: str) -> list[Visit]:
    if scope not in SCOPES:
        raise Invalid("scope is this or following.", {"scope": ["Not one of this, following."]})
    visits = course_visits(course)
    chosen = next((v for v in visits if v.id == from_visit_id), None)
    if chosen is None:
        raise Invalid(
            "That visit is not part of this course.", {"from_visit_id": ["Not in this course."]}
        )
    if chosen.status not in ACTIVE:
        raise Conflict(f"Only a booked visit can be changed; this one is {chosen.status}.")
    if scope == "this":
        return [chosen]
    return [chosen] + [
        v for v in visits if v.infusion_start > chosen.infusion_start and v.status in ACTIVE
    ]


def reschedule_course(
    actor: User,
    course_id: int,
    from_visit_id: int,
    scope: str,
    infusion_start: datetime,
    now: datetime,
    overrides: dict[int, tuple[datetime, int | None]] | None = None,
    weekdays: set[int] | None = None,
) -> Course:
    """Move a visit (and with "following" every later active one by the same local-time
    difference, or onto a new weekday pattern) under every booking rule; all or nothing;
    one "changed" message.

    `weekdays` (only with "following"): the chosen visit moves to infusion_start and the later
    ones to the next days on those weekdays at the same local time. `overrides` puts a visit
    elsewhere than the move would (an alternative the desk picked for a date that clashed):
    visit id -> (start, chair or None).
    """
    access.require(actor, "book")
    course = get_course(actor, course_id)
    if weekdays and scope != "following":
        raise Invalid(
            "A new weekday pattern moves this and the following dates.",
            {"weekdays": ["Only with scope following."]},
        )
    if weekdays is not None and not weekdays <= set(range(7)):
        raise Invalid("Weekdays are 0 (Monday) to 6 (Sunday).", {"weekdays": ["0 to 6."]})
    lock_site_for_writing(course.site_id)
    site = access.get_site(actor, course.site_id)
    moving = _chosen(course, from_visit_id, scope)
    tz = ZoneInfo(site.timezone)
    if weekdays:
        starts = repattern(infusion_start, len(moving), weekdays, tz)
    else:
        starts = move_series(
            [v.infusion_start for v in moving], infusion_start, tz, following=scope == "following"
        )
    before = {v.id: booking_slot(v) for v in moving}
    status = {v.id: v.status for v in moving}
    # The moving dates step aside first (parked as cancelled in this transaction only), so a
    # date may land on a sibling's old slot or near it; each gets its status back once placed.
    for visit in moving:
        visit.status = "cancelled"
    db.session.flush()
    placed: dict[int, CourseDate] = {}
    for visit, start in zip(moving, starts, strict=True):
        chair_id: int | None = visit.chair_id
        if overrides and visit.id in overrides:
            start, chair_id = overrides[visit.id]
        req = Request(
            patient_id=visit.patient_id,
            site_id=visit.site_id,
            infusion_start=start.astimezone(UTC),
            chair_id=chair_id,
            infusion_minutes=visit.infusion_minutes,
            observation_minutes=visit.observation_minutes,
        )
        _, _, placement, violations = evaluate(
            actor, req, now, exclude_visit_id=visit.id, visit_type_id=visit.treatment_type_id
        )
        if placement is None and req.chair_id is not None:
            # The visit's own chair is taken: any free chair will do.
            _, _, placement, other = evaluate(
                actor,
                replace(req, chair_id=None),
                now,
                exclude_visit_id=visit.id,
                visit_type_id=visit.treatment_type_id,
            )
            violations = violations if placement is None else other
        result = CourseDate(req, visit_id=visit.id, violations=violations)
        if placement is not None:
            apply_placement(visit, site, placement)
            visit.status = status[visit.id]
            db.session.flush()
            result.chair_id = visit.chair_id
        placed[visit.id] = result
    results = [placed[visit.id] for visit in moving]
    if any(not r.ok for r in results):
        for result in results:
            if not result.ok:
                result.alternatives = suggest(
                    actor,
                    result.request,
                    now,
                    exclude_visit_id=result.visit_id,
                    max_starts=ALTERNATIVES_PER_DATE,
                )
        db.session.rollback()
        audit.record_now(
            actor,
            "course.reschedule",
            now,
            patient_id=course.patient_id,
            outcome="refused",
            detail={
                "course_id": course_id,
                "rules": sorted({str(v.rule) for r in results for v in r.violations}),
            },
        )
        raise CourseRefused("Some dates cannot be moved; nothing was changed.", results)
    for index, visit in enumerate(moving):
        add_history(visit, actor, now, {"from": before[visit.id], "to": booking_slot(visit)})
        audit.record(
            actor,
            "visit.reschedule",
            now,
            patient_id=visit.patient_id,
            object_type="visit",
            object_id=visit.id,
            detail={"course_id": course.id, "scope": scope, "chair_id": visit.chair_id},
        )
        # One "changed" message for the whole move; the others only replan reminders.
        patient_messages.visit_changed(visit, "reschedule" if index == 0 else "course", now)
    audit.record(
        actor,
        "course.reschedule",
        now,
        patient_id=course.patient_id,
        object_type="course",
        object_id=course.id,
        detail={"scope": scope, "visits": len(moving), "weekdays": sorted(weekdays or ())},
    )
    commit_or_conflict()
    return course


def cancel_course(
    actor: User, course_id: int, from_visit_id: int, scope: str, reason: str, now: datetime
) -> Course:
    """Cancel a visit, or it and every later booked one, with a reason: one transaction (all
    or nothing), audited, and one "cancelled" message for the whole cancel."""
    access.require(actor, "book")
    course = get_course(actor, course_id)
    if not reason or not reason.strip():
        raise Invalid("Give a reason.", {"reason": ["Required."]})
    lock_site_for_writing(course.site_id)
    chosen = _chosen(course, from_visit_id, scope)
    detail = {"course_id": course.id, "scope": scope, "visits": len(chosen)}
    try:
        for index, visit in enumerate(chosen):
            # The first date announces the cancel; the later ones only stop their messages.
            message = "cancel" if index == 0 else "course_cancel"
            data = {"reason": reason.strip()}
            apply_event(actor, visit.id, "cancel", now, None, data, message=message)
        audit.record(
            actor,
            "course.cancel",
            now,
            patient_id=course.patient_id,
            object_type="course",
            object_id=course.id,
            detail=detail,
        )
        commit_or_conflict()
    except Conflict as refusal:
        db.session.rollback()
        rules = sorted({str(v.rule) for v in refusal.reasons})
        audit.record_now(
            actor,
            "course.cancel",
            now,
            patient_id=course.patient_id,
            outcome="refused",
            detail=detail | {"rules": rules},
        )
        raise
    return course


def add_date(
    actor: User, course_id: int, infusion_start: datetime, chair_id: int | None, now: datetime
) -> Visit:
    """Book one more date in the course under every booking rule."""
    access.require(actor, "book")
    course = get_course(actor, course_id)
    visits = course_visits(course)
    type_id = visits[-1].treatment_type_id if visits else None
    req = Request(
        patient_id=course.patient_id,
        site_id=course.site_id,
        infusion_start=infusion_start.astimezone(UTC),
        chair_id=chair_id,
        treatment_type_id=type_id,
    )
    visit, _ = book(actor, req, now, series_id=course.series_id)
    return visit
