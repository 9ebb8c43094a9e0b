"""Names, e-mail addresses and phone numbers through the pages: a message on the form."""

from __future__ import annotations

import html as markup

import pytest
from sqlalchemy import select

from clinic.extensions import db
from clinic.models import Chair, Patient, Site, User
from tests.web.test_admin import site_form
from tests.web.test_patients import NEW_PATIENT, page, post_form

BIDI = "Mar\u202eguerite"
CRLF = "Mar\r\nguerite"


@pytest.fixture(autouse=True)
def navigation(app):
    """Stand in for navigation targets that other pages may not have built yet."""
    if "frontdesk.book" not in app.view_functions:
        app.add_url_rule("/book", "frontdesk.book", lambda: "")


@pytest.mark.parametrize("bad", [BIDI, CRLF])
def test_a_patient_name_with_controls_stays_on_the_form_with_a_message(client, auth, clinic, bad):
    auth.login(clinic.clerk)
    response = post_form(client, "/patients/new", NEW_PATIENT | {"given_name": bad})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert (
        "Remove the text-direction control characters." in html
        or "Must be a single line without control characters." in html
    )
    assert 'value="Okafor"' in html  # nothing typed is lost
    assert db.session.scalar(select(Patient).where(Patient.mrn == NEW_PATIENT["mrn"])) is None


def test_a_patient_phone_is_stored_as_e164_and_a_bad_one_is_refused(client, auth, clinic):
    auth.login(clinic.clerk)
    html = post_form(
        client, "/patients/new", NEW_PATIENT | {"phone": "12", "email": "m.okafor@"}
    ).get_data(as_text=True)
    assert "Not a valid phone number" in html or "Not a phone number" in html
    assert "Not an e-mail address" in html
    assert db.session.scalar(select(Patient).where(Patient.mrn == NEW_PATIENT["mrn"])) is None

    response = post_form(client, "/patients/new", NEW_PATIENT)
    assert response.status_code == 302
    patient = db.session.scalar(select(Patient).where(Patient.mrn == NEW_PATIENT["mrn"]))
    assert (patient.phone, patient.escort_phone) == ("+15125550142", "+15125550199")


def test_site_chair_and_user_names_with_controls_are_refused_on_the_pages(client, auth, clinic):
    auth.login(clinic.admin)
    site_url = f"/admin/sites/{clinic.site.id}"
    html = post_form(client, site_url, site_form(clinic.site) | {"name": BIDI}).get_data(
        as_text=True
    )
    assert "Remove the text-direction control characters." in html

    chairs_url = f"/admin/sites/{clinic.site.id}/chairs"
    html = post_form(client, chairs_url, {"name": CRLF, "kind": "chair"}).get_data(as_text=True)
    assert "Must be a single line without control characters." in html
    chair = clinic.chairs[0]
    response = post_form(client, f"{chairs_url}/{chair.id}/rename", {"name": BIDI}, chairs_url)
    assert response.status_code == 302
    assert "Remove the text-direction control characters." in page(client, chairs_url)

    data = {
        "email": "ana@clinic",
        "name": BIDI,
        "role": "nurse",
        "site_ids": [clinic.site.id],
        "active": "y",
        "password": "a long enough password",
    }
    html = markup.unescape(post_form(client, "/admin/users/new", data).get_data(as_text=True))
    assert "Not an e-mail address" in html

    data["email"] = "ana@clinic.test"
    html = post_form(client, "/admin/users/new", data).get_data(as_text=True)
    assert "Remove the text-direction control characters." in html

    db.session.expire_all()
    assert db.session.scalar(select(User).where(User.email == "ana@clinic.test")) is None
    assert all("\u202e" not in s.name for s in db.session.scalars(select(Site)))
    assert all(c.name.isprintable() for c in db.session.scalars(select(Chair)))
