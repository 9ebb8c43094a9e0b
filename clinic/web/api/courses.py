"""Courses (API.md, "Courses, plans and the waitlist"): book, read, move, cancel, add a date."""

from __future__ import annotations

from typing import Any

from flask import g, jsonify

from clinic.domain.ids import MAX_ID
from clinic.models import Course
from clinic.services import access, alternatives, audit
from clinic.services import courses as service
from clinic.services.errors import Conflict, NotFound
from clinic.types import utcnow
from clinic.web.api import bp, refuses, writes
from clinic.web.api.errors import reason_body
from clinic.web.api.schemas import (
    CourseAddSchema,
    CourseCancelSchema,
    CourseCheckSchema,
    CourseCreateSchema,
    CourseDateSchema,
    CourseQuery,
    CourseRescheduleSchema,
    CourseSchema,
    SlotSchema,
)
from clinic.web.api.visits import MAX_ALTERNATIVES

COURSE = "/courses/<int:course_id>"


def _dates(results: list[service.CourseDate]) -> list[dict[str, Any]]:
    """Return the checked dates as the contract shows them (JSON)."""
    rows = [
        {
            "infusion_start": r.request.infusion_start,
            "ok": r.ok,
            "reasons": [reason_body(v) for v in r.violations],
            "alternatives": [
                {"chair_id": s.chair_id, "infusion_start": s.infusion_start} for s in r.alternatives
            ],
        }
        for r in results
    ]
    dumped: list[dict[str, Any]] = CourseDateSchema(many=True).dump(rows)
    return dumped


def _answer(course: Course) -> dict[str, Any]:
    visits = service.course_visits(course)
    completed, planned = service.progress(visits)
    return {
        "id": course.id,
        "patient_id": course.patient_id,
        "site_id": course.site_id,
        "visits": visits,
        "planned": planned,
        "completed": completed,
    }


def _visible(course_id: int) -> Course:
    if not 1 <= course_id <= MAX_ID:
        raise NotFound("course")
    return service.get_course(g.user, course_id)


def _booker_of(course_id: int) -> None:
    """Refuse a role that may not book, then a course the caller may not see."""
    access.require(g.user, "book")
    _visible(course_id)


def _refused(refusal: service.CourseRefused) -> Conflict:
    refusal.extra = {"dates": _dates(refusal.dates)}
    return refusal


@writes("POST", "/courses", "book", CourseCreateSchema, 201, CourseSchema)
@bp.alt_response(200, schema=CourseCheckSchema, description="A dry run: every date checked.")
@refuses(409)
def create_course(body: dict[str, Any]):
    """Check (dry_run) or book a course: every date or none."""
    now = utcnow()
    requests = service.plan_requests(
        g.user,
        body["patient_id"],
        body.get("site_id"),
        body["first_start"],
        set(body["weekdays"]),
        body["count"],
        body.get("chair_id"),
        body.get("treatment_type_id"),
    )
    if body["dry_run"]:
        results, _ = service.check_course(g.user, requests, now)
        return jsonify({"dates": _dates(results)})
    results, _ = service.check_course(g.user, requests, now)
    if any(not r.ok for r in results):
        raise _refused(service.CourseRefused("Some dates cannot be booked.", results))
    visits = service.book_course(g.user, requests, now)
    course = service.course_of(visits)
    assert course is not None
    return _answer(course), 201


@bp.route("/courses", methods=["GET"])
@bp.arguments(CourseQuery, location="query")
@bp.response(200, CourseSchema(many=True))
def list_courses(query: dict[str, Any]):
    """List a patient's courses."""
    found = service.list_courses(g.user, query["patient_id"])
    audit.viewed(g.user, query["patient_id"], "patient", query["patient_id"], now=utcnow())
    return [_answer(c) for c in found]


@bp.route(COURSE, methods=["GET"])
@bp.response(200, CourseSchema)
def get_course(course_id: int):
    """Return one course with its visits and progress."""
    course = _visible(course_id)
    audit.viewed(g.user, course.patient_id, "course", course.id, now=utcnow())
    return _answer(course)


@writes(
    "POST",
    f"{COURSE}/reschedule",
    _booker_of,
    CourseRescheduleSchema,
    200,
    CourseSchema,
    conflict=True,
)
def reschedule_course(body: dict[str, Any], course_id: int):
    """Move a visit, or it and every later one by the same local-time difference."""
    try:
        course = service.reschedule_course(
            g.user,
            course_id,
            body["from_visit_id"],
            body["scope"],
            body["infusion_start"],
            utcnow(),
            weekdays=set(body["weekdays"]) if body.get("weekdays") else None,
        )
    except service.CourseRefused as refusal:
        raise _refused(refusal) from None
    return _answer(course)


@writes(
    "POST", f"{COURSE}/cancel", _booker_of, CourseCancelSchema, 200, CourseSchema, conflict=True
)
def cancel_course(body: dict[str, Any], course_id: int):
    """Cancel a visit, or it and every later one."""
    course = service.cancel_course(
        g.user, course_id, body["from_visit_id"], body["scope"], body["reason"], utcnow()
    )
    return _answer(course)


@writes("POST", f"{COURSE}/visits", _booker_of, CourseAddSchema, 201, CourseSchema, conflict=True)
def add_course_date(body: dict[str, Any], course_id: int):
    """Book one more date in the course."""
    course = _visible(course_id)
    now = utcnow()
    try:
        service.add_date(g.user, course_id, body["infusion_start"], body.get("chair_id"), now)
    except Conflict as refusal:
        if refusal.reasons:
            req = service.Request(
                patient_id=course.patient_id,
                site_id=course.site_id,
                infusion_start=body["infusion_start"],
                chair_id=body.get("chair_id"),
            )
            found = alternatives.suggest(g.user, req, now)
            refusal.alternatives = SlotSchema(many=True).dump(found[:MAX_ALTERNATIVES])
        raise
    return _answer(service.get_course(g.user, course_id)), 201
