"""The patient page's REMS enrolment: shown to staff, recorded by a practitioner."""

from __future__ import annotations

from datetime import date

from clinic.extensions import db
from tests.conftest import csrf_token


def page(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def test_a_practitioner_records_the_enrolment_on_the_patient_page(client, auth, clinic):
    auth.login(clinic.practitioner)
    detail = f"/patients/{clinic.patient.id}"
    html = page(client, detail)
    assert "Not enrolled" in html and 'id="rems-enrollment-form"' in html
    response = client.post(
        f"{detail}/rems-enrollment",
        data={
            "csrf_token": csrf_token(html),
            "enrolled_on": "2026-11-23",
            "rems_patient_id": " RP-1001 ",
        },
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert (clinic.patient.rems_enrolled_on, clinic.patient.rems_patient_id) == (
        date(2026, 11, 23),
        "RP-1001",
    )
    html = page(client, detail)
    assert "23 Nov 2026" in html and "RP-1001" in html and "Not enrolled" not in html


def test_a_bad_enrolment_is_shown_on_the_form_and_nothing_saved(client, auth, clinic):
    auth.login(clinic.practitioner)
    url = f"/patients/{clinic.patient.id}/rems-enrollment"
    data = {"csrf_token": csrf_token(page(client, url)), "enrolled_on": "", "rems_patient_id": ""}
    html = client.post(url, data=data).get_data(as_text=True)
    assert "Enter a date." in html and "Enter the REMS patient ID." in html
    bidi = data | {"enrolled_on": "2026-11-23", "rems_patient_id": "RP-\u202e1"}
    assert client.post(url, data=bidi).status_code == 200
    db.session.expire_all()
    assert clinic.patient.rems_enrolled_on is None


def test_only_a_practitioner_sees_and_posts_the_form(client, auth, clinic):
    for user in (clinic.clerk, clinic.nurse):
        auth.login(user)
        html = page(client, f"/patients/{clinic.patient.id}")
        assert "REMS enrolment" in html and 'id="rems-enrollment-form"' not in html
        url = f"/patients/{clinic.patient.id}/rems-enrollment"
        response = client.post(url, data={"enrolled_on": "2026-11-23", "rems_patient_id": "X"})
        assert response.status_code in (400, 403)
        assert client.get(url).status_code == 403
        auth.logout()


def test_the_enrolment_form_needs_its_csrf_token(client, auth, clinic):
    auth.login(clinic.practitioner)
    url = f"/patients/{clinic.patient.id}/rems-enrollment"
    response = client.post(url, data={"enrolled_on": "2026-11-23", "rems_patient_id": "RP-1"})
    assert response.status_code == 400
    db.session.expire_all()
    assert clinic.patient.rems_enrolled_on is None
