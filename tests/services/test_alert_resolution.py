"""Alerts that no longer apply resolve themselves: in the same transaction as the change that
ends their condition (extension, discharge, cancellation), and by the scheduler's safety net
for what changed another way. A resolved alert leaves the open alerts, acknowledged or not."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from clinic.domain.alarms import DISCHARGE_DUE, DISCHARGE_OVERDUE
from clinic.extensions import db
from clinic.models import Notification, Site, Visit
from clinic.scheduler.runner import Reconciler, make_scheduler
from clinic.services import notifications
from clinic.services.events import record_event
from clinic.services.observations import record_observation
from tests.conftest import MONDAY, add_baseline, chicago

CHECK_IN = chicago(MONDAY, 8)
END = chicago(MONDAY, 8, 50)
DUE = END + timedelta(minutes=60)  # 09:50
OVERDUE = DUE + timedelta(minutes=15)
CHECKLIST = {"padss": 10, "escort_name": "Sam Rivera", "vitals_stable": True}
READING = {"systolic": 120, "diastolic": 80, "heart_rate": 72, "spo2": 98}


@pytest.fixture
def recovering(clinic, make_visit):
    """A visit booked Monday 08:00, infused 08:05-08:50, observed 60 minutes: due 09:50."""
    visit = make_visit(clinic.clerk, clinic.patient, CHECK_IN, observation_minutes=60)
    now = chicago(MONDAY, 9)
    record_event(clinic.clerk, visit.id, "check_in", now, CHECK_IN)
    add_baseline(visit.id, chicago(MONDAY, 8, 2))
    record_event(clinic.nurse, visit.id, "start_infusion", now, chicago(MONDAY, 8, 5))
    record_event(clinic.nurse, visit.id, "end_infusion", now, END)
    assert visit.discharge_due_at == DUE
    return visit


def fired(visit: Visit, *kinds: str, at=OVERDUE + timedelta(seconds=1)) -> list[Notification]:
    """Fire the visit's alarms of these kinds at an instant; return the notifications."""
    for kind in kinds:
        notifications.fire([visit.id], kind, now=at)
    return list(
        db.session.scalars(
            select(Notification).where(Notification.visit_id == visit.id).order_by(Notification.id)
        )
    )


def fresh(notification: Notification) -> Notification:
    """Reread a notification from the database."""
    db.session.expire_all()
    return db.session.get(Notification, notification.id)


def test_an_extension_past_the_due_instant_resolves_both_alerts_with_it(clinic, recovering):
    due, overdue = fired(recovering, DISCHARGE_DUE, DISCHARGE_OVERDUE)
    assert len(notifications.open_alerts(clinic.nurse)) == 2
    at = OVERDUE + timedelta(minutes=2)

    record_event(clinic.nurse, recovering.id, "extend_observation", at, minutes=30, reason="Dizzy")

    for notification in (fresh(due), fresh(overdue)):
        assert notification.resolved_at == at
        assert notification.resolved_reason == "extended"
        assert notification.acknowledged_at is None
    assert notifications.open_alerts(clinic.nurse) == []
    assert notifications.list_notifications(clinic.nurse, unacknowledged=True) == []
    # Still listed without the filter, with when and why.
    assert len(notifications.list_notifications(clinic.nurse)) == 2


def test_an_extension_that_leaves_the_patient_due_brings_a_new_alert_for_the_new_instant(
    clinic, recovering
):
    [due] = fired(recovering, DISCHARGE_DUE)
    at = DUE + timedelta(minutes=10)
    record_event(clinic.nurse, recovering.id, "extend_observation", at, minutes=5, reason="Pale")

    assert fresh(due).resolved_reason == "extended"
    [new_id] = notifications.fire([recovering.id], DISCHARGE_DUE, now=at)
    [alert] = notifications.open_alerts(clinic.nurse)
    assert alert.id == new_id and alert.due_at == DUE + timedelta(minutes=5)


def test_a_discharge_resolves_the_alerts_even_acknowledged_ones(clinic, recovering):
    due, overdue = fired(recovering, DISCHARGE_DUE, DISCHARGE_OVERDUE)
    notifications.acknowledge(clinic.nurse, due.id, now=OVERDUE + timedelta(minutes=1))
    at = OVERDUE + timedelta(minutes=3)

    record_event(clinic.nurse, recovering.id, "discharge", at, at, checklist=CHECKLIST)

    assert (fresh(due).resolved_at, fresh(due).resolved_reason) == (at, "discharged")
    assert fresh(due).acknowledged_by_id == clinic.nurse.id
    assert (fresh(overdue).resolved_at, fresh(overdue).resolved_reason) == (at, "discharged")
    assert notifications.open_alerts(clinic.nurse) == []


def test_what_does_not_end_the_condition_resolves_nothing(clinic, recovering, make_visit):
    [due] = fired(recovering, DISCHARGE_DUE)
    at = DUE + timedelta(minutes=4)
    record_observation(clinic.nurse, recovering.id, READING, at)
    other = make_visit(clinic.clerk, clinic.new_patient(), chicago(MONDAY, 10))
    record_event(clinic.clerk, other.id, "cancel", at, reason="Unwell")

    assert fresh(due).resolved_at is None
    assert [a.id for a in notifications.open_alerts(clinic.nurse)] == [due.id]


def test_a_cancellation_resolves_a_left_over_alert_of_its_visit(clinic, make_visit):
    # Alarms fire only in recovery; a stale one (from a row edited by hand) still goes.
    visit = make_visit(clinic.clerk, clinic.patient, CHECK_IN)
    stale = Notification(
        kind=DISCHARGE_DUE, visit_id=visit.id, site_id=visit.site_id, due_at=DUE, created_at=DUE
    )
    db.session.add(stale)
    db.session.commit()
    at = chicago(MONDAY, 7, 30)

    record_event(clinic.clerk, visit.id, "cancel", at, reason="Ride fell through")

    assert (fresh(stale).resolved_at, fresh(stale).resolved_reason) == (at, "cancelled")


def test_the_safety_net_resolves_what_changed_outside_the_services(clinic, recovering):
    due, overdue = fired(recovering, DISCHARGE_DUE, DISCHARGE_OVERDUE)
    now = OVERDUE + timedelta(minutes=5)
    assert notifications.resolve_stale(now) == 0

    # An admin lengthens the site's overdue setting: the overdue alarm moves, the due one stays.
    db.session.get(Site, clinic.site.id).overdue_after_minutes = 30
    db.session.commit()
    assert notifications.resolve_stale(now) == 1
    assert (fresh(overdue).resolved_at, fresh(overdue).resolved_reason) == (now, "rescheduled")
    assert fresh(due).resolved_at is None

    # A visit cancelled by hand, outside the events service.
    db.session.get(Visit, recovering.id).status = "no_show"
    db.session.commit()
    assert notifications.resolve_stale(now + timedelta(seconds=1)) == 1
    assert fresh(due).resolved_reason == "no_show"
    # Resolved once: the first when and why stay.
    assert notifications.resolve_stale(now + timedelta(minutes=1)) == 0
    assert fresh(overdue).resolved_at == now


def test_the_scheduler_reconcile_runs_the_safety_net(app, clinic, recovering):
    [due] = fired(recovering, DISCHARGE_DUE)
    db.session.get(Visit, recovering.id).status = "discharged"
    db.session.commit()

    Reconciler(app, make_scheduler(), on_fired=lambda: None).run(full=True)

    assert fresh(due).resolved_reason == "discharged"
