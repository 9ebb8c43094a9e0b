"""The REMS 7-day tracker through the API: marking a form submitted, listing sessions by
status at controlled instants around the due day (API.md, "Treatment types and REMS")."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from clinic.extensions import db
from clinic.models import AuditEvent, Notification, RemsSubmission
from tests.api.conftest import assert_error, iso, zulu
from tests.conftest import CHICAGO, NOW
from tests.rems_sessions import rems_type, session

# Discharged Monday 23 November 2026, 16:00 in Austin: due on Monday 30 November (NOW's day),
# overdue from Tuesday 1 December 00:00 CST.
DISCHARGED = datetime(2026, 11, 23, 16, 0, tzinfo=CHICAGO).astimezone(UTC)
DUE_ON = date(2026, 11, 30)
OVERDUE_FROM = datetime(2026, 12, 1, 0, 0, tzinfo=CHICAGO).astimezone(UTC)
FORM = {"method": "fax", "confirmation": "RX-20261130-7", "submitted_at": iso(NOW)}


@pytest.fixture
def rems(clinic):
    """The clinic's REMS type, a plain type, and a factory of sessions at its first chair."""
    spravato = rems_type(clinic.site)
    plain = rems_type(clinic.site, rems=False)

    def make(discharged_at=DISCHARGED, status="discharged", treatment_type=None, patient=None):
        return session(
            patient or clinic.new_patient(),
            clinic.chairs[0],
            treatment_type or spravato,
            discharged_at,
            status,
        )

    make.spravato, make.plain = spravato, plain
    return make


def post(api_as, user, visit_id, body=FORM):
    return api_as(user).post(f"/visits/{visit_id}/rems-submission", json=body)


def listed(api_as, user, site_id, status=None):
    query = {"site_id": site_id, "status": status}
    params = "&".join(f"{k}={v}" for k, v in query.items() if v is not None)
    response = api_as(user).get(f"/rems/submissions?{params}")
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


# ---------------------------------------------------------------- marking a form submitted


def test_a_nurse_marks_a_form_submitted_and_its_reminder_resolves(api_as, clinic, rems):
    visit = rems()
    reminder = Notification(
        kind="rems_form_due",
        visit_id=visit.id,
        site_id=clinic.site.id,
        due_at=datetime(2026, 11, 29, 0, 0, tzinfo=CHICAGO).astimezone(UTC),
        created_at=NOW - timedelta(days=1),
    )
    db.session.add(reminder)
    db.session.commit()

    response = post(api_as, clinic.nurse, visit.id)

    assert response.status_code == 201, response.get_data(as_text=True)
    body = response.get_json()
    assert {k: body[k] for k in ("visit_id", "due_on", "status")} == {
        "visit_id": visit.id,
        "due_on": "2026-11-30",
        "status": "submitted",
    }
    assert body["method"] == "fax" and body["confirmation"] == "RX-20261130-7"
    assert body["submitted_at"] == zulu(NOW) and body["discharged_at"] == zulu(DISCHARGED)
    row = db.session.scalar(select(RemsSubmission).where(RemsSubmission.visit_id == visit.id))
    assert (row.method, row.recorded_by_id) == ("fax", clinic.nurse.id)
    db.session.refresh(reminder)
    assert reminder.resolved_reason == "submitted" and reminder.resolved_at is not None
    audit = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "rems.submission"))
    assert audit.patient_id == visit.patient_id and audit.detail == {"method": "fax"}
    assert "RX-20261130-7" not in str(audit.detail)


def test_every_staff_role_of_the_site_may_mark_a_form_no_one_of_another_site(
    api_as, clinic, rems, make_site, make_user
):
    for user in (clinic.clerk, clinic.practitioner, clinic.admin):
        body = FORM | {"method": "online", "submitted_at": "2026-11-30T06:30:00-06:00"}
        response = post(api_as, user, rems().id, body)
        assert response.status_code == 201, response.get_data(as_text=True)
        assert response.get_json()["submitted_at"] == "2026-11-30T12:30:00Z"
    stranger = make_user("nurse", [make_site(name="Dallas")])
    visit = rems()
    assert_error(post(api_as, stranger, visit.id), 404, "not_found")
    assert_error(post(api_as, clinic.nurse, 999_999), 404, "not_found")
    found = select(RemsSubmission).where(RemsSubmission.visit_id == visit.id)
    assert db.session.scalar(found) is None


def test_a_visit_with_no_form_to_send_is_refused_not_rems_session(api_as, clinic, rems):
    plain = rems(treatment_type=rems.plain)
    recovering = rems(status="recovering")
    booked = rems(status="booked")
    for visit in (plain, recovering, booked):
        body = assert_error(post(api_as, clinic.nurse, visit.id), 409, "conflict")
        assert [r["rule"] for r in body["reasons"]] == ["not_rems_session"]
    assert db.session.scalar(select(RemsSubmission)) is None


def test_a_form_is_marked_submitted_once(api_as, clinic, rems):
    visit = rems()
    assert post(api_as, clinic.nurse, visit.id).status_code == 201
    again = FORM | {"confirmation": "ANOTHER-1"}
    body = assert_error(post(api_as, clinic.admin, visit.id, again), 409, "conflict")
    assert [r["rule"] for r in body["reasons"]] == ["already_submitted"]
    rows = db.session.scalars(select(RemsSubmission)).all()
    assert [(r.confirmation, r.recorded_by_id) for r in rows] == [
        ("RX-20261130-7", clinic.nurse.id)
    ]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"method": "email"}, "method"),
        ({"method": None}, "method"),
        ({"confirmation": ""}, "confirmation"),
        ({"confirmation": "   "}, "confirmation"),
        ({"confirmation": "x" * 61}, "confirmation"),
        ({"confirmation": "RX\n1"}, "confirmation"),
        ({"submitted_at": "2026-11-30T07:00:00"}, "submitted_at"),  # no offset
        ({"submitted_at": "yesterday"}, "submitted_at"),
        ({"submitted_at": iso(NOW + timedelta(hours=1))}, "submitted_at"),  # future
        ({"submitted_at": iso(DISCHARGED - timedelta(minutes=1))}, "submitted_at"),
    ],
)
def test_bad_values_are_422_naming_the_field(api_as, clinic, rems, change, field):
    visit = rems()
    body = assert_error(post(api_as, clinic.nurse, visit.id, FORM | change), 422, "invalid")
    assert field in body["fields"]
    assert db.session.scalar(select(RemsSubmission)) is None


def test_missing_fields_are_422_and_a_non_object_body_400(api_as, clinic, rems):
    visit = rems()
    body = assert_error(post(api_as, clinic.nurse, visit.id, {}), 422, "invalid")
    assert set(body["fields"]) == {"method", "confirmation", "submitted_at"}
    response = api_as(clinic.nurse).post(
        f"/visits/{visit.id}/rems-submission", data="[]", content_type="application/json"
    )
    assert_error(response, 400, "bad_request")


# ---------------------------------------------------------------- the tracker's list


def test_a_form_is_due_through_its_due_day_and_overdue_from_the_next_local_midnight(
    api_as, clinic, rems, frozen
):
    visit = rems()
    site = clinic.site.id
    expected = {"visit_id": visit.id, "due_on": DUE_ON.isoformat()}

    frozen.move_to(OVERDUE_FROM - timedelta(seconds=30))  # Monday 23:59:30 CST (the clock ticks)
    (due,) = listed(api_as, clinic.nurse, site)
    assert {k: due[k] for k in ("visit_id", "due_on", "status")} == expected | {"status": "due"}
    assert [s["visit_id"] for s in listed(api_as, clinic.nurse, site, "due")] == [visit.id]
    assert listed(api_as, clinic.nurse, site, "overdue") == []

    frozen.move_to(OVERDUE_FROM)  # Tuesday 00:00 CST
    (overdue,) = listed(api_as, clinic.clerk, site)
    assert overdue["status"] == "overdue"
    assert listed(api_as, clinic.nurse, site, "due") == []
    assert [s["visit_id"] for s in listed(api_as, clinic.nurse, site, "overdue")] == [visit.id]

    # Submitted late, it is submitted: no longer overdue.
    late = FORM | {"submitted_at": iso(OVERDUE_FROM + timedelta(minutes=5))}
    frozen.move_to(OVERDUE_FROM + timedelta(minutes=10))
    assert post(api_as, clinic.nurse, visit.id, late).status_code == 201
    assert listed(api_as, clinic.nurse, site, "overdue") == []
    (submitted,) = listed(api_as, clinic.nurse, site, "submitted")
    assert submitted["status"] == "submitted" and submitted["method"] == "fax"


def test_the_due_day_is_the_local_discharge_date_across_the_end_of_dst(
    api_as, clinic, rems, frozen
):
    # Thursday 29 October 2026, 23:30 CDT: already 30 October in UTC. DST ends on Sunday
    # 1 November, so the form is due on Thursday 5 November and overdue from Friday
    # 6 November 00:00 CST (06:00 UTC), not 05:00 UTC as the October offset would say.
    visit = rems(discharged_at=datetime(2026, 10, 30, 4, 30, tzinfo=UTC))
    frozen.move_to(datetime(2026, 11, 6, 5, 30, tzinfo=UTC))
    (row,) = listed(api_as, clinic.nurse, clinic.site.id)
    assert (row["visit_id"], row["due_on"], row["status"]) == (visit.id, "2026-11-05", "due")
    frozen.move_to(datetime(2026, 11, 6, 6, 0, tzinfo=UTC))
    (row,) = listed(api_as, clinic.nurse, clinic.site.id)
    assert row["status"] == "overdue"


def test_the_list_is_the_sites_rems_sessions_earliest_due_first(
    api_as, clinic, rems, make_site, make_user, make_chair, make_patient
):
    later = rems(discharged_at=DISCHARGED + timedelta(days=2))
    earlier = rems(discharged_at=DISCHARGED - timedelta(days=1))
    due_today = rems()
    rems(treatment_type=rems.plain)  # not REMS: not on the tracker
    rems(status="recovering")  # not discharged yet: nothing to send
    other_site = make_site(name="Dallas")
    session(
        make_patient(other_site),
        make_chair(other_site, "Dallas 1"),
        rems_type(other_site),
        DISCHARGED,
    )
    rows = listed(api_as, clinic.admin, clinic.site.id)
    assert [r["visit_id"] for r in rows] == [earlier.id, due_today.id, later.id]
    assert [r["status"] for r in rows] == ["overdue", "due", "due"]
    assert [r["due_on"] for r in rows] == ["2026-11-29", "2026-11-30", "2026-12-02"]
    assert all(r["site_id"] == clinic.site.id for r in rows)
    # The caller's only site is the default; another site's list is not found.
    assert [r["visit_id"] for r in listed(api_as, clinic.nurse, None)] == [
        earlier.id,
        due_today.id,
        later.id,
    ]
    response = api_as(clinic.nurse).get(f"/rems/submissions?site_id={other_site.id}")
    assert_error(response, 404, "not_found")
    stranger = make_user("nurse", [other_site])
    assert len(listed(api_as, stranger, other_site.id)) == 1


def test_a_bad_status_filter_is_422(api_as, clinic, rems):
    response = api_as(clinic.nurse).get(f"/rems/submissions?site_id={clinic.site.id}&status=late")
    assert "status" in assert_error(response, 422, "invalid")["fields"]
