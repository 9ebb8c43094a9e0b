"""What the audit trail records: bookings, refusals, views, clinical events, admin actions."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from clinic.extensions import db
from clinic.models import AuditEvent, Visit
from clinic.services import audit
from clinic.services.errors import Conflict
from clinic.services.events import record_event
from clinic.services.observations import record_observation
from clinic.types import utcnow
from tests.audit.conftest import audit_rows
from tests.conftest import MONDAY, NOW, add_negative_screen, chicago

TUESDAY = MONDAY + timedelta(days=1)
CHECKLIST = {"padss": 10, "escort_name": "Morgan Escortname", "vitals_stable": True}
READING = {"systolic": 120, "diastolic": 80, "heart_rate": 72, "spo2": 98}


def iso(instant) -> str:
    """Return an instant as the API takes it."""
    return instant.isoformat()


def only(action: str) -> AuditEvent:
    """Return the single audit row of an action."""
    found = audit_rows(action)
    assert len(found) == 1, [(r.action, r.outcome) for r in found]
    return found[0]


# ---------------------------------------------------------------- bookings


def test_a_booking_writes_one_row_with_actor_patient_object_and_outcome(api_as, clinic):
    response = api_as(clinic.clerk).post(
        "/visits",
        json={"patient_id": clinic.patient.id, "infusion_start": iso(chicago(TUESDAY, 9))},
    )
    assert response.status_code == 201
    row = only("visit.book")
    assert (row.actor_id, row.actor_label) == (clinic.clerk.id, clinic.clerk.email)
    assert (row.patient_id, row.object_type, row.object_id) == (
        clinic.patient.id,
        "visit",
        response.get_json()["id"],
    )
    assert row.outcome == "ok"
    assert row.ip == "127.0.0.1"
    assert NOW <= row.at < NOW + timedelta(minutes=1)
    assert row.detail == {"chair_id": response.get_json()["chair_id"]}


def test_a_refused_booking_writes_refused_with_the_rules_and_nothing_else(api_as, clinic):
    # The API token's own rows (issued, first use from an address) are not the booking's.
    not_token = AuditEvent.action.not_like("auth.token_%")
    before = db.session.scalar(select(func.count(AuditEvent.id)).where(not_token))
    response = api_as(clinic.clerk).post(
        "/visits",
        json={"patient_id": clinic.patient.id, "infusion_start": iso(chicago(TUESDAY, 17, 30))},
    )
    assert response.status_code == 409
    rules = sorted(reason["rule"] for reason in response.get_json()["reasons"])
    row = only("visit.book")
    assert row.outcome == "refused"
    assert row.detail == {"rules": rules} and "outside_opening_hours" in rules
    assert (row.actor_id, row.patient_id, row.object_id) == (
        clinic.clerk.id,
        clinic.patient.id,
        None,
    )
    assert db.session.scalar(select(func.count(Visit.id))) == 0
    assert db.session.scalar(select(func.count(AuditEvent.id)).where(not_token)) == before + 1
    assert audit.verify().ok


def test_reschedule_and_its_refusal_are_audited(api_as, clinic, make_visit):
    visit = make_visit(clinic.clerk, clinic.patient, chicago(TUESDAY, 9))
    api = api_as(clinic.clerk)
    moved = api.patch(f"/visits/{visit.id}", json={"infusion_start": iso(chicago(TUESDAY, 10))})
    assert moved.status_code == 200
    late = api.patch(f"/visits/{visit.id}", json={"infusion_start": iso(chicago(TUESDAY, 17))})
    assert late.status_code == 409
    ok, refused = audit_rows("visit.reschedule")
    assert (ok.outcome, ok.object_id, ok.detail["fields"]) == ("ok", visit.id, ["infusion_start"])
    assert refused.outcome == "refused" and refused.object_id == visit.id
    assert "outside_opening_hours" in refused.detail["rules"]


def test_a_course_audits_every_visit_it_books(client, clinic):
    from clinic.services.booking import Request
    from clinic.services.courses import book_course

    requests = [
        Request(patient_id=clinic.patient.id, infusion_start=chicago(MONDAY + timedelta(days=d), 9))
        for d in (1, 3)
    ]
    visits = book_course(clinic.clerk, requests, NOW)
    rows = audit_rows("visit.book")
    assert [r.object_id for r in rows] == [v.id for v in visits]
    assert len({r.detail["series_id"] for r in rows}) == 1


# ---------------------------------------------------------------- clinical events


def test_every_event_is_audited_and_an_early_discharge_is_an_override(clinic, make_visit):
    visit = make_visit(clinic.clerk, clinic.patient, chicago(MONDAY, 8))
    now = chicago(MONDAY, 9)
    record_event(clinic.clerk, visit.id, "check_in", now, chicago(MONDAY, 8))
    add_negative_screen(visit.id, chicago(MONDAY, 8))
    with pytest.raises(Conflict):  # no baseline reading in the 30 minutes before
        record_event(clinic.nurse, visit.id, "start_infusion", now, chicago(MONDAY, 8, 5))
    record_observation(clinic.nurse, visit.id, READING, now, at=chicago(MONDAY, 8, 2))
    record_event(clinic.nurse, visit.id, "start_infusion", now, chicago(MONDAY, 8, 5))
    record_event(clinic.nurse, visit.id, "end_infusion", now, chicago(MONDAY, 8, 50))
    with pytest.raises(Conflict):  # a nurse may not discharge before the window ends
        record_event(clinic.nurse, visit.id, "discharge", now, checklist=CHECKLIST)
    record_event(
        clinic.practitioner,
        visit.id,
        "discharge",
        now,
        checklist=CHECKLIST,
        override_reason="Reviewed, stable",
    )
    trail = [
        (r.action, r.outcome, r.actor_id)
        for r in audit_rows()
        if r.action.startswith(("visit.", "observation."))
    ]
    assert trail == [
        ("visit.book", "ok", clinic.clerk.id),
        ("visit.event.check_in", "ok", clinic.clerk.id),
        ("visit.event.start_infusion", "refused", clinic.nurse.id),
        ("observation.create", "ok", clinic.nurse.id),
        ("visit.event.start_infusion", "ok", clinic.nurse.id),
        ("visit.event.end_infusion", "ok", clinic.nurse.id),
        ("visit.discharge", "refused", clinic.nurse.id),
        ("visit.discharge_override", "ok", clinic.practitioner.id),
    ]
    override = only("visit.discharge_override")
    assert (override.patient_id, override.object_type, override.object_id) == (
        clinic.patient.id,
        "visit",
        visit.id,
    )
    assert only("observation.create").detail == {"visit_id": visit.id}
    refused = audit_rows("visit.event.start_infusion")[0]
    assert refused.detail == {"event": "start_infusion", "rules": ["predose_vitals_missing"]}
    assert audit.verify().ok


def test_a_start_without_a_baseline_is_a_practitioners_override(clinic, make_visit):
    visit = make_visit(clinic.clerk, clinic.patient, chicago(MONDAY, 8))
    now = chicago(MONDAY, 9)
    record_event(clinic.clerk, visit.id, "check_in", now, chicago(MONDAY, 8))
    add_negative_screen(visit.id, chicago(MONDAY, 8))
    record_event(
        clinic.practitioner,
        visit.id,
        "start_infusion",
        now,
        chicago(MONDAY, 8, 5),
        override_reason="Monitor failed, manual BP 118/76",
    )
    row = only("visit.predose_override")
    assert (row.outcome, row.actor_id, row.patient_id, row.object_type, row.object_id) == (
        "ok",
        clinic.practitioner.id,
        clinic.patient.id,
        "visit",
        visit.id,
    )
    assert row.detail == {"event": "start_infusion"}  # the reason stays on the event, not here
    assert audit_rows("visit.event.start_infusion") == []
    assert audit.verify().ok


def test_an_illegal_transition_is_audited_as_refused(clinic, make_visit):
    visit = make_visit(clinic.clerk, clinic.patient, chicago(TUESDAY, 9))
    with pytest.raises(Conflict):
        record_event(clinic.nurse, visit.id, "end_infusion", NOW)
    row = only("visit.event.end_infusion")
    assert row.outcome == "refused" and row.object_id == visit.id
    assert db.session.get(Visit, visit.id).status == "booked"


# ---------------------------------------------------------------- patients and views


def test_patient_create_update_and_clearance_name_fields_not_values(api_as, clinic):
    api = api_as(clinic.clerk)
    created = api.post(
        "/patients",
        json={
            "mrn": "AUD-1",
            "given_name": "Quinn",
            "family_name": "Auditname",
            "birth_date": "1985-01-02",
        },
    ).get_json()
    api.patch(f"/patients/{created['id']}", json={"phone": "512-555-0199", "given_name": "Quinn"})
    practitioner = api_as(clinic.practitioner)
    practitioner.post(
        f"/patients/{created['id']}/clearances",
        json={
            "evaluated_on": "2026-11-20",
            "valid_until": "2027-05-20",
            "cleared": True,
            "consent_signed": True,
            "notes": "Consent discussed with Quinn Auditname",
        },
    )
    create = only("patient.create")
    assert (create.patient_id, create.object_id) == (created["id"], created["id"])
    assert only("patient.update").detail == {"fields": ["phone"]}
    clearance = only("clearance.create")
    assert clearance.actor_id == clinic.practitioner.id and clearance.patient_id == created["id"]


def test_viewing_a_patient_page_writes_patient_view(client, auth, clinic):
    auth.login(clinic.nurse)
    assert client.get(f"/patients/{clinic.patient.id}").status_code == 200
    row = only("patient.view")
    assert (row.actor_id, row.patient_id, row.object_type, row.object_id) == (
        clinic.nurse.id,
        clinic.patient.id,
        "patient",
        clinic.patient.id,
    )
    assert row.ip == "127.0.0.1"


def test_viewing_a_visit_page_writes_patient_view_of_the_visit(client, auth, clinic, make_visit):
    visit = make_visit(clinic.clerk, clinic.patient, chicago(TUESDAY, 9))
    auth.login(clinic.clerk)
    assert client.get(f"/visits/{visit.id}").status_code == 200
    row = only("patient.view")
    assert (row.patient_id, row.object_type, row.object_id) == (
        clinic.patient.id,
        "visit",
        visit.id,
    )


def test_a_page_that_is_not_shown_is_not_audited_as_viewed(client, auth, clinic, make_site):
    other = make_site(name="Elsewhere")
    from clinic.models import Patient

    stranger = Patient(site_id=other.id, mrn="X-1", given_name="A", family_name="B")
    stranger.birth_date = MONDAY - timedelta(days=20 * 365)
    db.session.add(stranger)
    db.session.commit()
    auth.login(clinic.clerk)
    assert client.get(f"/patients/{stranger.id}").status_code == 404
    assert audit_rows("patient.view") == []


@pytest.mark.parametrize("path", ["/patients/{p}", "/patients/{p}/clearances", "/visits/{v}"])
def test_api_reads_of_a_patient_record_are_audited(api_as, clinic, make_visit, path):
    visit = make_visit(clinic.clerk, clinic.patient, chicago(TUESDAY, 9))
    response = api_as(clinic.nurse).get(path.format(p=clinic.patient.id, v=visit.id))
    assert response.status_code == 200
    row = only("patient.view")
    assert (row.actor_id, row.patient_id) == (clinic.nurse.id, clinic.patient.id)
    assert row.object_type == ("visit" if "visits" in path else "patient")


# ---------------------------------------------------------------- admin actions


def test_admin_api_actions_are_audited_as_the_admin(api_as, clinic):
    api = api_as(clinic.admin)
    api.patch(f"/sites/{clinic.site.id}", json={"nurse_ratio": 3})
    chair = api.post("/chairs", json={"site_id": clinic.site.id, "name": "Chair 9"}).get_json()
    api.patch(f"/chairs/{chair['id']}", json={"active": False})
    shift = api.post(
        "/shifts",
        json={
            "site_id": clinic.site.id,
            "user_id": clinic.nurse.id,
            # After the fixture's two weeks of shifts: one person is never on two at once.
            "starts_at": iso(chicago(TUESDAY + timedelta(days=14), 7)),
            "ends_at": iso(chicago(TUESDAY + timedelta(days=14), 15)),
        },
    ).get_json()
    assert api.delete(f"/shifts/{shift['id']}").status_code in (200, 204)
    expected = [
        ("admin.site.update", "site", clinic.site.id),
        ("admin.chair.create", "chair", chair["id"]),
        ("admin.chair.update", "chair", chair["id"]),
        ("admin.shift.create", "shift", shift["id"]),
        ("admin.shift.delete", "shift", shift["id"]),
    ]
    rows = [r for r in audit_rows() if r.actor_id == clinic.admin.id]
    assert [(r.action, r.object_type, r.object_id) for r in rows] == expected
    assert rows[0].detail == {"fields": ["nurse_ratio"]}
    assert rows[2].detail == {"site_id": clinic.site.id, "fields": ["active"]}
    assert {r.actor_label for r in rows} == {clinic.admin.email}


def test_admin_page_actions_are_audited(client, auth, clinic):
    from tests.conftest import csrf_token

    auth.login(clinic.admin)
    page = client.get(f"/admin/sites/{clinic.site.id}/chairs").get_data(as_text=True)
    response = client.post(
        f"/admin/sites/{clinic.site.id}/chairs",
        data={"name": "Bay 7", "kind": "recovery_bay", "csrf_token": csrf_token(page)},
    )
    assert response.status_code in (200, 302)
    row = only("admin.chair.create")
    assert (row.actor_id, row.object_type) == (clinic.admin.id, "chair")


def test_notification_ack_is_audited(clinic, make_visit):
    from clinic.models import Notification
    from clinic.services.notifications import acknowledge

    visit = make_visit(clinic.clerk, clinic.patient, chicago(TUESDAY, 9))
    notification = Notification(
        kind="discharge_due", visit_id=visit.id, site_id=clinic.site.id, due_at=NOW
    )
    db.session.add(notification)
    db.session.commit()
    acknowledge(clinic.nurse, notification.id, NOW)
    acknowledge(clinic.practitioner, notification.id, NOW)  # already acknowledged: no row
    row = only("notification.ack")
    assert (row.actor_id, row.patient_id, row.object_id) == (
        clinic.nurse.id,
        clinic.patient.id,
        notification.id,
    )


# ---------------------------------------------------------------- no PHI in the trail


def test_no_patient_name_escort_or_note_appears_in_any_audit_row(api_as, clinic, client, auth):
    secrets = ["Zebulon", "Quartermaine", "Escortina Vale", "private note about Zebulon"]
    api = api_as(clinic.clerk)
    patient = api.post(
        "/patients",
        json={
            "mrn": "PHI-1",
            "given_name": "Zebulon",
            "family_name": "Quartermaine",
            "birth_date": "1970-03-04",
            "escort_name": "Escortina Vale",
        },
    ).get_json()
    api.patch(f"/patients/{patient['id']}", json={"family_name": "Quartermaine"})
    api_as(clinic.practitioner).post(
        f"/patients/{patient['id']}/clearances",
        json={
            "evaluated_on": "2026-11-20",
            "valid_until": "2027-05-20",
            "cleared": True,
            "consent_signed": True,
            "notes": secrets[3],
        },
    )
    booked = api.post(
        "/visits",
        json={
            "patient_id": patient["id"],
            "infusion_start": iso(chicago(MONDAY, 8)),
            "notes": secrets[3],
        },
    ).get_json()
    nurse = api_as(clinic.nurse)
    for body in (
        {"type": "check_in", "at": iso(NOW)},
        None,  # the pre-dose reading
        {"type": "start_infusion"},
        {"type": "end_infusion"},
        {"type": "extend_observation", "minutes": 10, "reason": secrets[3]},
    ):
        if body is None:
            reading = nurse.post(f"/visits/{booked['id']}/observations", json=READING)
            assert reading.status_code == 201
            add_negative_screen(booked["id"], utcnow())
            continue
        assert nurse.post(f"/visits/{booked['id']}/events", json=body).status_code == 200
    nurse.post(f"/visits/{booked['id']}/observations", json=READING | {"note": secrets[3]})
    api_as(clinic.practitioner).post(
        f"/visits/{booked['id']}/events",
        json={
            "type": "discharge",
            "checklist": CHECKLIST | {"escort_name": "Escortina Vale"},
            "override_reason": secrets[3],
        },
    )
    auth.login(clinic.clerk)
    client.get(f"/patients/{patient['id']}")
    client.get(f"/visits/{booked['id']}")

    rows = audit_rows()
    actions = {r.action for r in rows}
    assert {
        "patient.create",
        "clearance.create",
        "visit.book",
        "visit.discharge_override",
    } <= actions
    assert "observation.create" in actions and "patient.view" in actions
    for row in rows:
        text = json.dumps(
            [row.actor_label, row.action, row.object_type, row.ip, row.detail]
        ).lower()
        for secret in secrets:
            for word in secret.lower().split():
                if len(word) > 5:
                    assert word not in text, (row.action, row.detail)


def test_user_admin_is_audited_without_passwords(api_as, clinic):
    api = api_as(clinic.admin)
    created = api.post(
        "/users",
        json={
            "email": "new.nurse@clinic.test",
            "name": "New Nurse",
            "role": "nurse",
            "site_ids": [clinic.site.id],
            "password": "a long enough passphrase 42",
        },
    ).get_json()
    api.patch(f"/users/{created['id']}", json={"active": False, "name": "Gone Nurse"})
    (create,) = [r for r in audit_rows("admin.user.create") if r.actor_id == clinic.admin.id]
    assert (create.actor_id, create.object_type, create.object_id) == (
        clinic.admin.id,
        "user",
        created["id"],
    )
    assert create.detail == {"role": "nurse", "site_ids": [clinic.site.id]}
    update = only("admin.user.update")
    assert update.detail == {"fields": ["active", "name"]}
    assert "passphrase" not in json.dumps([create.detail, update.detail])


def test_more_record_views_are_audited(client, auth, api_as, clinic, make_visit):
    visit = make_visit(clinic.clerk, clinic.patient, chicago(TUESDAY, 9))
    assert api_as(clinic.nurse).get(f"/visits/{visit.id}/observations").status_code == 200
    auth.login(clinic.clerk)
    assert client.get(f"/patients/{clinic.patient.id}/edit").status_code == 200
    auth.logout()
    auth.login(clinic.nurse)
    assert client.get(f"/visits/{visit.id}/record").status_code == 200
    seen = [(r.actor_id, r.object_type, r.object_id) for r in audit_rows("patient.view")]
    assert seen == [
        (clinic.nurse.id, "visit", visit.id),
        (clinic.clerk.id, "patient", clinic.patient.id),
        (clinic.nurse.id, "visit", visit.id),
    ]
    assert {r.patient_id for r in audit_rows("patient.view")} == {clinic.patient.id}
