"""The patient pages: site scoping, registration, edits, clearances."""

from __future__ import annotations

from datetime import date

import pytest

from clinic.extensions import db
from clinic.models import Clearance, Patient
from tests.conftest import MONDAY, chicago, csrf_token


def page(client, url: str) -> str:
    """Return the page's HTML (asserting it rendered)."""
    response = client.get(url)
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def post_form(client, url: str, data: dict, token_from: str | None = None):
    """Submit a form the way a browser would, CSRF token included."""
    token = csrf_token(page(client, token_from or url))
    return client.post(url, data={"csrf_token": token, **data})


@pytest.fixture(autouse=True)
def navigation(app):
    """Stand in for navigation targets that other pages may not have built yet."""
    for rule, endpoint in (("/book", "frontdesk.book"),):
        if endpoint not in app.view_functions:
            app.add_url_rule(rule, endpoint, lambda: "")


@pytest.fixture
def other_site(make_site, make_patient):
    """A second clinic with a patient our users may not see."""
    site = make_site(name="Dallas")
    return site, make_patient(site, given_name="Olga", family_name="Elsewhere", mrn="DAL-1")


NEW_PATIENT = {
    "mrn": "AUS-777",
    "given_name": "Marguerite",
    "family_name": "Okafor",
    "birth_date": "1975-06-14",
    "phone": "512-555-0142",
    "email": "m.okafor@example.org",
    "weight_kg": "71.5",
    "escort_name": "Chidi Okafor",
    "escort_phone": "512-555-0199",
}


def test_list_shows_only_own_site_patients(client, auth, clinic, other_site):
    auth.login(clinic.clerk)
    html = page(client, "/patients")
    assert clinic.patient.family_name in html
    assert clinic.patient.mrn in html
    assert "Cleared until" in html
    assert "Elsewhere" not in html


def test_search_is_posted_and_scoped(client, auth, clinic, make_patient, other_site):
    wanted = make_patient(clinic.site, given_name="Ingrid", family_name="Zamora", mrn="AUS-555")
    auth.login(clinic.clerk)
    response = post_form(client, "/patients", {"q": "zam"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert f"/patients/{wanted.id}" in html
    assert clinic.patient.family_name not in html

    # A search for the other site's patient finds nothing, and says so.
    html = post_form(client, "/patients", {"q": "Elsewhere"}).get_data(as_text=True)
    assert "No patient matches" in html
    assert f"/patients/{other_site[1].id}" not in html


def test_admin_sees_every_site(client, auth, clinic, other_site):
    auth.login(clinic.admin)
    html = page(client, "/patients")
    assert "Elsewhere" in html and clinic.patient.family_name in html
    assert "New patient" not in html  # admins administer, they do not register patients


def test_empty_list_has_a_helpful_message(client, auth, make_site, make_user):
    clerk = make_user("front_desk", [make_site()])
    auth.login(clerk)
    html = page(client, "/patients")
    assert "No patients yet" in html
    assert "Register the first patient" in html


def test_clerk_registers_a_patient(client, auth, clinic):
    auth.login(clinic.clerk)
    response = post_form(client, "/patients/new", NEW_PATIENT)
    assert response.status_code == 302
    patient = db.session.query(Patient).filter_by(mrn="AUS-777").one()
    assert (patient.site_id, patient.birth_date, patient.weight_kg) == (
        clinic.site.id,
        date(1975, 6, 14),
        71.5,
    )
    assert patient.escort_name == "Chidi Okafor"
    assert response.headers["Location"].endswith(f"/patients/{patient.id}")
    html = page(client, response.headers["Location"])
    assert "Marguerite Okafor" in html and "Chidi Okafor" in html and "Not cleared" in html


def test_user_of_several_sites_picks_the_home_site(client, auth, clinic, other_site, make_user):
    clerk = make_user("front_desk", [clinic.site, other_site[0]])
    auth.login(clerk)
    html = page(client, "/patients/new")
    assert 'name="site_id"' in html
    response = post_form(client, "/patients/new", NEW_PATIENT | {"site_id": other_site[0].id})
    assert response.status_code == 302
    assert db.session.query(Patient).filter_by(mrn="AUS-777").one().site_id == other_site[0].id


def test_single_site_user_has_no_site_select(client, auth, clinic):
    auth.login(clinic.clerk)
    assert 'name="site_id"' not in page(client, "/patients/new")


def test_duplicate_mrn_is_explained_on_the_form(client, auth, clinic):
    auth.login(clinic.clerk)
    count = db.session.query(Patient).count()
    response = post_form(client, "/patients/new", NEW_PATIENT | {"mrn": clinic.patient.mrn})
    assert response.status_code == 200
    assert "Another patient already has this MRN." in response.get_data(as_text=True)
    assert db.session.query(Patient).count() == count


def test_invalid_fields_are_shown_and_nothing_saved(client, auth, clinic):
    auth.login(clinic.clerk)
    count = db.session.query(Patient).count()
    bad = NEW_PATIENT | {"given_name": "", "birth_date": "2090-01-01", "weight_kg": "3"}
    html = post_form(client, "/patients/new", bad).get_data(as_text=True)
    assert "This field is required." in html
    assert "The birth date is not plausible." in html
    assert "Between 20 and 400 kg." in html
    html = post_form(client, "/patients/new", NEW_PATIENT | {"weight_kg": "nan"}).get_data(
        as_text=True
    )
    assert "Between 20 and 400 kg." in html
    assert db.session.query(Patient).count() == count


def test_edit_changes_details(client, auth, clinic):
    auth.login(clinic.clerk)
    patient = clinic.patient
    url = f"/patients/{patient.id}/edit"
    assert patient.mrn in page(client, url)  # the form is filled in
    data = NEW_PATIENT | {"mrn": patient.mrn, "escort_name": "New Escort", "phone": ""}
    assert post_form(client, url, data).status_code == 302
    db.session.refresh(patient)
    assert patient.escort_name == "New Escort"
    assert patient.phone is None
    assert patient.family_name == "Okafor"


def test_edit_to_a_taken_mrn_changes_nothing(client, auth, clinic, make_patient):
    other = make_patient(clinic.site, mrn="TAKEN-1")
    auth.login(clinic.clerk)
    url = f"/patients/{clinic.patient.id}/edit"
    data = NEW_PATIENT | {"mrn": "taken-1"}
    response = post_form(client, url, data)
    assert "Another patient already has this MRN." in response.get_data(as_text=True)
    db.session.refresh(clinic.patient)
    assert clinic.patient.family_name != "Okafor"
    assert other.mrn == "TAKEN-1"


def test_nurse_may_not_register_or_edit(client, auth, clinic):
    auth.login(clinic.nurse)
    assert client.get("/patients/new").status_code == 403
    assert client.get(f"/patients/{clinic.patient.id}/edit").status_code == 403
    token = csrf_token(page(client, "/patients"))
    response = client.post("/patients/new", data={"csrf_token": token, **NEW_PATIENT})
    assert response.status_code == 403
    assert db.session.query(Patient).filter_by(mrn="AUS-777").first() is None
    assert "New patient" not in page(client, "/patients")


def test_other_site_patient_is_404(client, auth, clinic, other_site):
    auth.login(clinic.practitioner)
    patient_id = other_site[1].id
    assert client.get(f"/patients/{patient_id}").status_code == 404
    assert client.get(f"/patients/{patient_id}/edit").status_code == 404
    assert client.get(f"/patients/{patient_id}/clearances/new").status_code == 404
    assert client.get("/patients/999999").status_code == 404


def test_detail_shows_visits_and_actions(client, auth, clinic, make_visit):
    visit = make_visit(clinic.clerk, clinic.patient, chicago(MONDAY, 9))
    auth.login(clinic.clerk)
    html = page(client, f"/patients/{clinic.patient.id}")
    assert f'href="/visits/{visit.id}"' in html
    assert "Mon 30 Nov 2026 09:00" in html  # site-local time, not UTC
    assert f"/book?patient_id={clinic.patient.id}" in html
    assert "Record clearance" not in html  # clerks do not clear patients
    assert "Edit" in html


def test_practitioner_records_a_clearance(client, auth, clinic):
    auth.login(clinic.practitioner)
    url = f"/patients/{clinic.patient.id}/clearances/new"
    html = page(client, url)
    assert 'value="2026-11-30"' in html and 'value="2027-05-30"' in html  # today, +6 months
    # The page frame names the action in the title, the breadcrumb and the heading.
    assert "<title>Record clearance" in html and '<h1 class="h3 mb-1">Record clearance</h1>' in html
    assert 'aria-current="page">Record clearance</li>' in html
    response = post_form(
        client,
        url,
        {
            "evaluated_on": "2026-11-30",
            "valid_until": "2027-05-30",
            "consent_signed": "y",
            "contraindications": ["uncontrolled_hypertension", "pregnancy"],
            "other": "Glaucoma",
            "notes": "BP 170/105 today; recheck in two weeks.",
        },
    )
    assert response.status_code == 302
    clearance = db.session.query(Clearance).order_by(Clearance.id.desc()).first()
    assert clearance.practitioner_id == clinic.practitioner.id
    assert clearance.cleared is False and clearance.consent_signed is True
    assert clearance.contraindications == [
        "uncontrolled_hypertension",
        "pregnancy",
        "other: Glaucoma",
    ]
    html = page(client, f"/patients/{clinic.patient.id}")
    assert "Uncontrolled hypertension" in html and "Other: Glaucoma" in html
    assert "recheck in two weeks" in html
    # Newest first: today's evaluation comes before last week's.
    assert html.index("evaluated 30 Nov 2026") < html.index("evaluated 23 Nov 2026")


def test_clearance_that_ends_before_it_starts_is_refused(client, auth, clinic):
    auth.login(clinic.practitioner)
    count = db.session.query(Clearance).count()
    url = f"/patients/{clinic.patient.id}/clearances/new"
    data = {"evaluated_on": "2026-11-30", "valid_until": "2026-11-01", "cleared": "y"}
    html = post_form(client, url, data).get_data(as_text=True)
    assert "Must be on or after the evaluation date." in html
    assert db.session.query(Clearance).count() == count


def test_front_desk_and_nurse_may_not_record_clearances(client, auth, clinic):
    for user in (clinic.clerk, clinic.nurse):
        auth.login(user)
        assert client.get(f"/patients/{clinic.patient.id}/clearances/new").status_code == 403
        auth.logout()


def test_expired_and_missing_clearances_are_badged(
    client, auth, clinic, make_patient, make_clearance
):
    expired = make_patient(clinic.site, family_name="Expiredson")
    make_clearance(expired, evaluated_on=date(2026, 1, 5), valid_until=date(2026, 7, 5))
    make_patient(clinic.site, family_name="Newcomer")
    auth.login(clinic.clerk)
    html = page(client, "/patients")
    assert "Expired 5 Jul 2026" in html
    assert "Not cleared" in html


def test_post_without_csrf_is_refused(client, auth, clinic):
    auth.login(clinic.clerk)
    response = client.post("/patients/new", data=NEW_PATIENT)
    assert response.status_code == 400
    assert db.session.query(Patient).filter_by(mrn="AUS-777").first() is None
    assert client.post("/patients", data={"q": "Rivera"}).status_code == 400
