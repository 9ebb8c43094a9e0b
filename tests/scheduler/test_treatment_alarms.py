"""The discharge alarms follow the visit's treatment type on a running scheduler: a Spravato
(REMS) session's discharge is due two hours after the first device, whenever the
administration ended."""

from __future__ import annotations

import time
from datetime import date, timedelta

import pytest

from clinic.domain.alarms import DISCHARGE_DUE
from clinic.extensions import db
from clinic.models import Patient, Site
from clinic.scheduler.jobs import job_id
from clinic.services import treatment_types
from clinic.services.events import record_event
from clinic.services.observations import record_observation
from clinic.types import utcnow
from tests.conftest import add_negative_screen, chicago
from tests.rems_sessions import SPRAVATO
from tests.scheduler.conftest import (
    BOOKING_DAYS,
    immediate_transactions,
    move_plan,
    notifications_of,
    wait_for,
)

READING = {"systolic": 120, "diastolic": 76, "heart_rate": 68, "spo2": 98}


@pytest.fixture
def rems_session(clinic, make_visit, make_chair):
    """Make a Spravato session in recovery: first device 2 h minus `due_in` ago, the
    administration ended `ended_after` minutes after the first device."""
    with immediate_transactions():
        site = db.session.get(Site, clinic.site.id)
        spravato = treatment_types.save_type(None, site, SPRAVATO, now=utcnow(), actor=clinic.admin)
        site.rems_certified_on = date(2026, 1, 5)
        site.rems_authorized_representative = "Dr. Rivera"
        db.session.commit()
    slots = iter(range(100))

    def make(due_in: timedelta, ended_after: int):
        slot = next(slots)
        with immediate_transactions():
            patient = clinic.new_patient()
            db.session.get(Patient, patient.id).rems_enrolled_on = date(2026, 1, 5)
            chair = make_chair(clinic.site, f"Chair {slot + 4}")
            db.session.commit()
        start = chicago(BOOKING_DAYS[slot], 9)
        visit = make_visit(
            clinic.clerk, patient, start, chair_id=chair.id, treatment_type_id=spravato.id
        )
        assert (visit.infusion_minutes, visit.observation_minutes) == (15, 120)
        first_device = utcnow() + due_in - timedelta(minutes=120)
        move_plan(visit, first_device)
        now, nurse = utcnow(), clinic.nurse
        record_event(nurse, visit.id, "check_in", now, at=first_device - timedelta(minutes=10))
        baseline = first_device - timedelta(minutes=5)
        record_observation(nurse, visit.id, READING, now, at=baseline)
        add_negative_screen(visit.id, baseline)
        record_event(nurse, visit.id, "start_infusion", now, at=first_device)
        ended = first_device + timedelta(minutes=ended_after)
        visit = record_event(nurse, visit.id, "end_infusion", now, at=ended)
        return visit, first_device

    return make


@pytest.mark.parametrize("ended_after", [8, 40], ids=["ended early", "ended late"])
def test_a_rems_sessions_due_alarm_fires_two_hours_after_the_first_device(
    rems_session, scheduler_thread, ended_after
):
    runner = scheduler_thread()
    visit, first_device = rems_session(timedelta(seconds=3), ended_after)
    due_at = first_device + timedelta(minutes=120)
    assert visit.discharge_due_at == due_at  # not the administration's end + 120 minutes

    assert wait_for(lambda: runner.scheduler.get_job(job_id(DISCHARGE_DUE, visit.id)), 6)
    time.sleep(max(0.0, (due_at - utcnow()).total_seconds() - 0.5))
    if utcnow() < due_at - timedelta(seconds=0.2):  # (a slow machine may be past it already)
        assert notifications_of(visit.id) == [], "fired before the due instant"

    fired = wait_for(lambda: notifications_of(visit.id), 10)
    assert [n.kind for n in fired] == [DISCHARGE_DUE]
    assert fired[0].due_at == due_at
    assert 0 <= (fired[0].created_at - due_at).total_seconds() < 1.0
