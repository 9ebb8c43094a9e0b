"""A seeded week for the reports, Sat 31 Oct - Fri 6 Nov 2026 in Austin, with DST ending on
Sunday 1 November (a 25-hour day), a no-show, a late cancellation and an overrun.

Rows are written straight to the database: the reports only read, and these are past
visits no booking rule would let a test book "now". Every figure the tests expect is
worked out by hand in tests/api/test_reports.py.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from types import SimpleNamespace

from clinic.extensions import db
from clinic.models import Notification, Visit, VisitEvent
from tests.conftest import chicago

FIRST, LAST = date(2026, 10, 31), date(2026, 11, 6)
SUNDAY, MONDAY, TUESDAY = date(2026, 11, 1), date(2026, 11, 2), date(2026, 11, 3)
WEDNESDAY, THURSDAY = date(2026, 11, 4), date(2026, 11, 5)
HOURS = {
    "mon": ["08:00", "18:00"],
    "tue": ["08:00", "18:00"],
    "wed": ["08:00", "18:00"],
    "thu": ["08:00", "18:00"],
    "fri": ["08:00", "18:00"],
    "sat": ["09:00", "14:00"],
    "sun": ["00:00", "24:00"],  # open round the clock: the DST Sunday has 25 hours
}


def add_visit(site, chair, patient, start: datetime, status: str, **actual) -> Visit:
    """Write a 45-minute infusion with 120 minutes of observation, planned at `start`."""
    end = start + timedelta(minutes=45)
    visit = Visit(
        patient_id=patient.id,
        site_id=site.id,
        chair_id=chair.id,
        treatment_type_id=site.default_treatment_type_id,
        status=status,
        infusion_start=start,
        infusion_end=end,
        observation_end=end + timedelta(minutes=120),
        infusion_minutes=45,
        observation_minutes=120,
        chair_released_at=end + timedelta(minutes=135),
        **actual,
    )
    db.session.add(visit)
    db.session.flush()
    return visit


def cancel(visit: Visit, at: datetime) -> None:
    """Record the visit's cancellation at an instant."""
    db.session.add(VisitEvent(visit_id=visit.id, type="cancel", at=at, recorded_at=at, data={}))


def alarm(visit: Visit, kind: str, due_at: datetime, acknowledged_at=None) -> None:
    """Record an alert that fired."""
    db.session.add(
        Notification(
            kind=kind,
            visit_id=visit.id,
            site_id=visit.site_id,
            due_at=due_at,
            created_at=due_at,
            acknowledged_at=acknowledged_at,
        )
    )


def seed_week(make_site, make_chair, make_patient) -> SimpleNamespace:
    """Build the week: Austin with two chairs in service (plus one retired and a bay)."""
    site = make_site(name="Austin reports", opening_hours=HOURS)
    a, b = make_chair(site, "A"), make_chair(site, "B")
    make_chair(site, "Retired", active=False)
    bay = make_chair(site, "Bay", kind="recovery_bay")
    patient = make_patient(site)
    # Sunday 00:30 CDT: the observation ends 165 minutes later at 02:15 CST (clocks went back).
    dst = add_visit(site, a, patient, chicago(SUNDAY, 0, 30), "discharged")
    dst.checked_in_at = dst.infusion_started_at = dst.infusion_start
    dst.infusion_ended_at = dst.infusion_end
    dst.discharged_at = dst.observation_end
    # Monday 09:00: checked in before opening, 50-minute infusion, left 25 minutes late.
    overrun = add_visit(
        site,
        a,
        patient,
        chicago(MONDAY, 9),
        "discharged",
        checked_in_at=chicago(MONDAY, 7, 50),
        infusion_started_at=chicago(MONDAY, 9, 5),
        infusion_ended_at=chicago(MONDAY, 9, 55),
        discharged_at=chicago(MONDAY, 12, 10),
    )
    add_visit(
        site,
        b,
        make_patient(site),
        chicago(MONDAY, 10),
        "discharged",
        checked_in_at=chicago(MONDAY, 9, 55),
        infusion_started_at=chicago(MONDAY, 10),
        infusion_ended_at=chicago(MONDAY, 10, 45),
        discharged_at=chicago(MONDAY, 12, 40),
    )
    add_visit(site, a, patient, chicago(TUESDAY, 9), "no_show")
    late = add_visit(site, a, patient, chicago(WEDNESDAY, 9), "cancelled")
    cancel(late, chicago(TUESDAY, 15))  # 18 hours before: inside the 24-hour window
    early = add_visit(site, b, patient, chicago(THURSDAY, 14), "cancelled")
    cancel(early, chicago(MONDAY, 10))  # three days before
    # Outside the range: the Friday before and the Saturday after.
    add_visit(site, a, patient, chicago(date(2026, 10, 30), 9), "no_show")
    add_visit(site, a, patient, chicago(date(2026, 11, 7), 9), "no_show")
    alarm(overrun, "discharge_due", chicago(MONDAY, 11, 55), chicago(MONDAY, 11, 57))
    alarm(overrun, "discharge_overdue", chicago(MONDAY, 12, 10))
    alarm(dst, "discharge_due", dst.observation_end, dst.observation_end + timedelta(seconds=30))
    alarm(dst, "screen_positive", dst.infusion_start)  # not a discharge alert
    db.session.commit()
    return SimpleNamespace(site=site, chairs=[a, b], bay=bay, patient=patient)


def other_site_visit(make_site, make_chair, make_patient) -> Visit:
    """Write a discharged visit on the week's Monday at another site (never counted)."""
    site = make_site(name="Dallas")
    chair = make_chair(site, "D1")
    start = chicago(MONDAY, 9)
    visit = add_visit(
        site,
        chair,
        make_patient(site),
        start,
        "discharged",
        checked_in_at=start,
        infusion_started_at=start,
        infusion_ended_at=start + timedelta(minutes=45),
        discharged_at=start + timedelta(minutes=165),
    )
    alarm(visit, "discharge_due", visit.observation_end, visit.observation_end)
    db.session.commit()
    return visit
