"""Induction courses: every date checked first, alternatives offered, all or nothing."""

from datetime import date, time, timedelta

import pytest
from sqlalchemy import func, select

from clinic.extensions import db
from clinic.models import AuditEvent, PatientMessage, Visit
from clinic.services import events
from clinic.services.booking import Request
from clinic.services.courses import (
    book_course,
    cancel_course,
    check_course,
    course_for_visit,
    course_starts,
)
from clinic.services.errors import Conflict, Invalid
from clinic.services.patients import set_consents
from tests.conftest import CHICAGO, MONDAY, NOW, chicago

MON_WED_FRI = {0, 2, 4}


def visit_count() -> int:
    return db.session.scalar(select(func.count(Visit.id)))


def course(patient, first_day=MONDAY, hour=9, weekdays=MON_WED_FRI, count=6, chair_id=None):
    starts = course_starts(first_day, time(hour), weekdays, count, CHICAGO)
    return [
        Request(patient_id=patient.id, infusion_start=start, chair_id=chair_id) for start in starts
    ]


def test_course_dates_follow_the_weekdays():
    starts = course_starts(MONDAY, time(9), MON_WED_FRI, 6, CHICAGO)
    assert [s.date() for s in starts] == [MONDAY + timedelta(days=d) for d in (0, 2, 4, 7, 9, 11)]
    assert {s.strftime("%H:%M") for s in starts} == {"09:00"}


def test_course_keeps_local_time_across_the_dst_change():
    starts = course_starts(date(2026, 10, 26), time(9), MON_WED_FRI, 6, CHICAGO)
    assert {s.astimezone(CHICAGO).hour for s in starts} == {9}
    # 09:00 CDT is 14:00 UTC; after 1 November 09:00 CST is 15:00 UTC.
    assert [s.astimezone(CHICAGO).utcoffset().total_seconds() / 3600 for s in starts] == [
        -5,
        -5,
        -5,
        -6,
        -6,
        -6,
    ]


def test_course_needs_weekdays_and_a_sane_length():
    with pytest.raises(Invalid):
        course_starts(MONDAY, time(9), set(), 6, CHICAGO)
    with pytest.raises(Invalid):
        course_starts(MONDAY, time(9), MON_WED_FRI, 13, CHICAGO)


def test_checking_a_free_course_writes_nothing(clinic):
    results, _ = check_course(clinic.clerk, course(clinic.patient), NOW)
    assert [r.ok for r in results] == [True] * 6
    assert all(r.chair_id == clinic.chairs[0].id for r in results)
    assert visit_count() == 0


def test_a_clash_is_reported_with_alternatives_on_the_same_day(clinic, make_visit):
    chair = clinic.chairs[0]
    wednesday = MONDAY + timedelta(days=2)
    make_visit(clinic.clerk, clinic.new_patient(), chicago(wednesday, 9), chair_id=chair.id)

    results, _ = check_course(clinic.clerk, course(clinic.patient, chair_id=chair.id), NOW)

    clash = results[1]
    assert not clash.ok
    assert [v.rule.value for v in clash.violations] == ["chair_busy"]
    assert clash.alternatives, "a clash must come with alternatives"
    for slot in clash.alternatives:
        assert slot.infusion_start.astimezone(CHICAGO).date() == wednesday
    assert all(r.ok for i, r in enumerate(results) if i != 1)
    assert visit_count() == 1


def test_dates_of_one_course_are_checked_against_each_other(clinic, make_site):
    clinic.site.min_hours_between_infusions = 25
    db.session.commit()
    # Monday and Tuesday at 09:00 are 24 hours apart: the second is too soon.
    results, _ = check_course(clinic.clerk, course(clinic.patient, weekdays={0, 1}, count=2), NOW)
    assert results[0].ok
    assert [v.rule.value for v in results[1].violations] == ["too_soon_after_last_infusion"]
    assert visit_count() == 0


def test_booking_a_course_books_every_date_in_one_series(clinic):
    visits = book_course(clinic.clerk, course(clinic.patient), NOW)
    assert len(visits) == 6
    assert len({v.series_id for v in visits}) == 1
    assert visits[0].series_id is not None
    assert visit_count() == 6


def test_booking_a_course_is_all_or_nothing(clinic, make_visit):
    chair = clinic.chairs[0]
    make_visit(
        clinic.clerk,
        clinic.new_patient(),
        chicago(MONDAY + timedelta(days=9), 9),
        chair_id=chair.id,
    )
    with pytest.raises(Conflict):
        book_course(clinic.clerk, course(clinic.patient, chair_id=chair.id), NOW)
    assert visit_count() == 1


def test_an_admin_may_not_book_a_course(clinic):
    from clinic.services.errors import Forbidden

    with pytest.raises(Forbidden):
        check_course(clinic.admin, course(clinic.patient), NOW)


def _email_consent(patient) -> None:
    patient.email = "dana@example.test"
    set_consents("patient", patient, {"email": True}, NOW)
    db.session.commit()


def _messages(kind: str, status: str | None = None) -> list[PatientMessage]:
    stmt = select(PatientMessage).where(PatientMessage.kind == kind)
    if status is not None:
        stmt = stmt.where(PatientMessage.status == status)
    return list(db.session.scalars(stmt))


def test_cancelling_the_rest_is_one_transaction_with_one_cancelled_message(clinic):
    _email_consent(clinic.patient)
    visits = book_course(clinic.clerk, course(clinic.patient, count=4), NOW)
    booked = course_for_visit(visits[0])
    assert booked is not None
    cancel_course(clinic.clerk, booked.id, visits[1].id, "following", "moved away", NOW)
    db.session.expire_all()
    assert [v.status for v in visits] == ["booked", "cancelled", "cancelled", "cancelled"]
    cancelled = _messages("cancelled")
    assert [m.visit_id for m in cancelled] == [visits[1].id]  # one message for the whole cancel
    # The cancelled dates keep no reminder that could still go out.
    scheduled = {m.visit_id for m in _messages("reminder", "scheduled")}
    assert scheduled <= {visits[0].id}
    actions = db.session.scalars(
        select(AuditEvent.action).where(
            AuditEvent.action.in_(("course.cancel", "visit.event.cancel"))
        )
    ).all()
    assert sorted(actions) == ["course.cancel"] + ["visit.event.cancel"] * 3


@pytest.mark.parametrize("failure", [RuntimeError("disk"), Conflict("refused", [])])
def test_a_failure_midway_through_cancelling_the_rest_writes_nothing(clinic, monkeypatch, failure):
    _email_consent(clinic.patient)
    visits = book_course(clinic.clerk, course(clinic.patient, count=4), NOW)
    booked = course_for_visit(visits[0])
    assert booked is not None
    resolve = events.notifications.resolve_for_visit
    calls: list[int] = []

    def fail_on_the_third(visit, now, why=None):
        calls.append(visit.id)
        if len(calls) == 3:
            raise failure
        return resolve(visit, now, why)

    monkeypatch.setattr(events.notifications, "resolve_for_visit", fail_on_the_third)
    with pytest.raises(type(failure)):
        cancel_course(clinic.clerk, booked.id, visits[0].id, "following", "ill", NOW)
    db.session.rollback()
    assert len(calls) == 3  # two dates were cancelled in the session before the failure
    assert [db.session.get_one(Visit, v.id).status for v in visits] == ["booked"] * 4
    assert _messages("cancelled") == []
    assert (
        db.session.scalar(
            select(func.count(AuditEvent.id)).where(
                AuditEvent.action == "visit.event.cancel", AuditEvent.outcome == "ok"
            )
        )
        == 0
    )
