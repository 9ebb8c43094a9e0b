"""Discharge through the events service (the checklist and who may discharge early),
and the printable discharge record."""

from __future__ import annotations

from datetime import timedelta

import pytest

from clinic.domain.discharge import (
    EARLY_NO_REASON,
    EARLY_NOT_PRACTITIONER,
    NO_ESCORT,
    PADSS_TOO_LOW,
    VITALS_UNSTABLE,
)
from clinic.services.discharge_record import discharge_record
from clinic.services.errors import Conflict, Invalid, NotFound
from clinic.services.events import record_event
from clinic.services.observations import record_observation
from tests.conftest import MONDAY, add_negative_screen, chicago

CHECK_IN = chicago(MONDAY, 8)
START = chicago(MONDAY, 8, 5)
END = chicago(MONDAY, 8, 50)
DUE = END + timedelta(minutes=120)  # 10:50
LATER = DUE + timedelta(minutes=5)
CHECKLIST = {"padss": 10, "escort_name": "Sam Rivera", "vitals_stable": True}
ITEMS = {"vital_signs": 2, "activity": 2, "nausea_vomiting": 1, "pain": 2, "bleeding": 2}
READING = {"systolic": 120, "diastolic": 80, "heart_rate": 72, "spo2": 98}


@pytest.fixture
def recovering(clinic, make_visit):
    """A visit booked Monday 08:00, checked in, infused 08:05-08:50: now recovering."""
    visit = make_visit(clinic.clerk, clinic.patient, CHECK_IN)
    now = chicago(MONDAY, 9)
    record_event(clinic.clerk, visit.id, "check_in", now, CHECK_IN)
    # The readings are these tests' own: the practitioner starts without a baseline.
    add_negative_screen(visit.id, CHECK_IN)
    record_event(
        clinic.practitioner, visit.id, "start_infusion", now, START, override_reason="On paper"
    )
    record_event(clinic.nurse, visit.id, "end_infusion", now, END)
    return visit


def discharge(actor, visit, at=LATER, checklist=CHECKLIST, **extra):
    """Discharge at `at`, recorded at the same instant."""
    return record_event(actor, visit.id, "discharge", at, at, checklist=checklist, **extra)


def refusal(actor, visit, **kwargs) -> str:
    """Return the message of a refused discharge."""
    with pytest.raises(Conflict) as refused:
        discharge(actor, visit, **kwargs)
    return refused.value.message


@pytest.mark.parametrize(
    ("checklist", "field"),
    [
        ("done", "checklist"),
        ({"escort_name": "Sam", "vitals_stable": True}, "checklist.padss"),
        ({"padss": 9.5, "escort_name": "Sam", "vitals_stable": True}, "checklist.padss"),
        ({"padss": -1, "escort_name": "Sam", "vitals_stable": True}, "checklist.padss"),
        ({"padss": 10, "escort_name": None, "vitals_stable": True}, "checklist.escort_name"),
        ({"padss": 10, "escort_name": "Sam"}, "checklist.vitals_stable"),
        ({"padss": 10, "escort_name": "Sam", "vitals_stable": 1}, "checklist.vitals_stable"),
        (CHECKLIST | {"escort_phone": 5125550100}, "checklist.escort_phone"),
        (CHECKLIST | {"escort_phone": "5" * 41}, "checklist.escort_phone"),
        (CHECKLIST | {"padss_items": [2, 2, 2, 2, 2]}, "checklist.padss_items"),
        (CHECKLIST | {"padss_items": ITEMS | {"pain": 3}}, "checklist.padss_items.pain"),
        (CHECKLIST | {"padss_items": {"pain": 2}}, "checklist.padss_items.activity"),
        (CHECKLIST | {"padss_items": ITEMS | {"mood": 2}}, "checklist.padss_items.mood"),
        # The items add up to 9, the total says 10.
        (CHECKLIST | {"padss_items": ITEMS}, "checklist.padss"),
    ],
)
def test_a_missing_or_ill_typed_checklist_field_is_invalid(clinic, recovering, checklist, field):
    with pytest.raises(Invalid) as invalid:
        discharge(clinic.nurse, recovering, checklist=checklist)
    assert field in invalid.value.fields
    assert recovering.status == "recovering"


def test_an_override_reason_that_is_not_text_is_invalid(clinic, recovering):
    with pytest.raises(Invalid) as invalid:
        discharge(
            clinic.practitioner, recovering, at=DUE - timedelta(minutes=30), override_reason=1
        )
    assert "override_reason" in invalid.value.fields


def test_every_refusal_of_the_checklist_is_reported(clinic, recovering):
    bad = {"padss": 8, "escort_name": "  ", "vitals_stable": False}
    message = refusal(clinic.nurse, recovering, checklist=bad)
    assert PADSS_TOO_LOW in message and NO_ESCORT in message and VITALS_UNSTABLE in message


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"padss": 8}, PADSS_TOO_LOW),
        ({"escort_name": ""}, NO_ESCORT),
        ({"vitals_stable": False}, VITALS_UNSTABLE),
    ],
)
def test_each_refusal_alone(clinic, recovering, change, reason):
    assert refusal(clinic.nurse, recovering, checklist=CHECKLIST | change) == reason


def test_padss_nine_is_enough(clinic, recovering):
    visit = discharge(clinic.nurse, recovering, checklist=CHECKLIST | {"padss": 9})
    assert visit.status == "discharged"


def test_before_due_a_nurse_may_not_discharge_even_with_a_reason(clinic, recovering):
    early = DUE - timedelta(seconds=1)
    message = refusal(clinic.nurse, recovering, at=early, override_reason="Ride is here")
    assert message == EARLY_NOT_PRACTITIONER


def test_before_due_a_practitioner_needs_a_reason(clinic, recovering):
    early = DUE - timedelta(minutes=20)
    assert refusal(clinic.practitioner, recovering, at=early) == EARLY_NO_REASON
    assert (
        refusal(clinic.practitioner, recovering, at=early, override_reason=" ") == EARLY_NO_REASON
    )
    visit = discharge(clinic.practitioner, recovering, at=early, override_reason=" Reviewed ")
    assert visit.status == "discharged" and visit.discharged_at == early
    assert visit.events[-1].data["override_reason"] == "Reviewed"


def test_at_due_a_nurse_discharges_and_the_checklist_is_kept(clinic, recovering):
    # The items add up to 2 + 2 + 1 + 2 + 2 = 9.
    checklist = CHECKLIST | {"padss": 9, "escort_phone": " 512-555-0100 ", "padss_items": ITEMS}
    visit = discharge(clinic.nurse, recovering, at=DUE, checklist=checklist)
    assert visit.status == "discharged"
    kept = visit.events[-1].data
    assert kept == {
        "checklist": {
            "padss": 9,
            "escort_name": "Sam Rivera",
            "vitals_stable": True,
            "escort_phone": "512-555-0100",
            "padss_items": ITEMS,
        }
    }


# ---------------------------------------------------------------- the record


def test_the_discharge_record(clinic, recovering):
    visit_id = recovering.id
    record_observation(clinic.nurse, visit_id, READING, chicago(MONDAY, 9), at=START)
    peak = READING | {"systolic": 150, "dissociation": 3, "nausea": 1}
    record_observation(clinic.nurse, visit_id, peak, chicago(MONDAY, 9), at=chicago(MONDAY, 8, 45))
    record_event(
        clinic.nurse,
        visit_id,
        "extend_observation",
        chicago(MONDAY, 9, 30),
        minutes=15,
        reason="Still dizzy",
    )
    later = READING | {"systolic": 124, "dizziness": 2}
    record_observation(clinic.practitioner, visit_id, later, chicago(MONDAY, 11), note="Walking")
    out = DUE + timedelta(minutes=20)  # 11:10, after the extended due time of 11:05
    discharge(clinic.nurse, recovering, at=out, checklist=CHECKLIST | {"escort_phone": "555"})

    record = discharge_record(clinic.clerk, visit_id, chicago(MONDAY, 12))
    assert record.complete and record.patient == clinic.patient
    assert record.chair == record.recovery_chair == recovering.chair.name
    assert [
        (p.name, p.started_at, p.ended_at, p.minutes, p.planned_minutes) for p in record.phases
    ] == [
        ("waiting", CHECK_IN, START, 5, None),
        ("infusion", START, END, 45, 45),
        ("recovery", END, out, 140, 135),
    ]
    assert [e.type for e in record.events][-5:] == [
        "check_in",
        "start_infusion",
        "end_infusion",
        "extend_observation",
        "discharge",
    ]
    assert [e.by for e in record.events][-2:] == [clinic.nurse.name, clinic.nurse.name]
    # Check-in at 08:00 was recorded at 09:00: a late entry. The discharge was not.
    check_in = next(e for e in record.events if e.type == "check_in")
    assert check_in.late and check_in.by == clinic.clerk.name and check_in.by_role == "front_desk"
    assert not record.events[-1].late
    assert [r.observation.systolic for r in record.readings] == [120, 150, 124]
    assert [r.late for r in record.readings] == [True, True, False]
    assert [r.by for r in record.readings][-1] == clinic.practitioner.name
    assert record.readings[1].observation.flags == ["bp_above_baseline"]
    assert record.readings[-1].observation.note == "Walking"
    assert record.worst_side_effects == {"dissociation": 3, "nausea": 1, "dizziness": 2}
    assert [(x.minutes, x.reason, x.by) for x in record.extensions] == [
        (15, "Still dizzy", clinic.nurse.name)
    ]
    assert record.extension_minutes == 15
    assert record.checklist == CHECKLIST | {"escort_phone": "555"}
    assert record.override_reason is None
    assert record.discharged_by == clinic.nurse.name
    assert record.vitals_stable is True  # 124/80 against 120/80
    assert record.monitoring_minutes == 185  # 08:05 to 11:10


def test_the_record_of_an_early_discharge_names_the_override(clinic, recovering):
    early = DUE - timedelta(minutes=30)
    discharge(clinic.practitioner, recovering, at=early, override_reason="Reviewed, stable")
    record = discharge_record(clinic.nurse, recovering.id, chicago(MONDAY, 12))
    assert record.override_reason == "Reviewed, stable"
    assert record.discharged_by == clinic.practitioner.name
    assert record.vitals_stable is False  # no reading was taken
    assert record.monitoring_minutes == int((early - START).total_seconds() // 60)


def test_the_record_of_a_visit_still_in_care_runs_to_now(clinic, recovering):
    record = discharge_record(clinic.nurse, recovering.id, chicago(MONDAY, 9, 30))
    assert not record.complete and record.checklist is None and record.discharged_by is None
    assert record.phases[-1].name == "recovery" and record.phases[-1].ended_at is None
    assert record.phases[-1].minutes == 40
    assert record.monitoring_minutes == 85
    assert record.worst_side_effects == {"dissociation": None, "nausea": None, "dizziness": None}


def test_the_record_of_a_cancelled_visit_closes_at_the_cancellation(clinic, make_visit):
    visit = make_visit(clinic.clerk, clinic.patient, chicago(MONDAY, 10))
    record_event(clinic.clerk, visit.id, "check_in", chicago(MONDAY, 9, 50))
    record_event(clinic.clerk, visit.id, "cancel", chicago(MONDAY, 10, 5), reason="Unwell")
    record = discharge_record(clinic.nurse, visit.id, chicago(MONDAY, 12))
    assert [(p.name, p.minutes) for p in record.phases] == [("waiting", 15)]
    assert record.monitoring_minutes is None and not record.complete


def test_the_record_of_another_sites_visit_is_not_found(recovering, make_site, make_user):
    with pytest.raises(NotFound):
        discharge_record(make_user("nurse", [make_site(name="Dallas")]), recovering.id, LATER)
