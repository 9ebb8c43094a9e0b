"""The nurse's dose dialog, the start dialog's pre-dose refusal and override, the doses on the
printed record, and the mg/kg order on the clearance form."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from decimal import Decimal
from html import unescape

import pytest
from sqlalchemy import select

from clinic.extensions import db
from clinic.models import Clearance, Dose, Visit
from tests.conftest import NOW, add_negative_screen, csrf_token
from tests.services.visit_rows import put_reading, put_visit

HTMX = {"HX-Request": "true"}
DOSE = {"drug": "Ketamine", "dose_mg": "40", "lot": "KT-2291", "route": "IV"}


@pytest.fixture
def seated(clinic, make_patient, make_clearance):
    """An 80 kg patient ordered 0.5 mg/kg, checked in for a visit starting now."""
    patient = make_patient(clinic.site, weight_kg=80.0, given_name="Avery", family_name="Quinn")
    make_clearance(patient, practitioner=clinic.practitioner, mg_per_kg=Decimal("0.5"))
    return put_visit(clinic.site, clinic.chairs[0], patient, "checked_in", NOW)


def token(client) -> str:
    return csrf_token(client.get("/recovery").get_data(as_text=True))


def post(client, path: str, data: dict | None = None):
    """Post a dialog's form as htmx does."""
    return client.post(path, data={"csrf_token": token(client), **(data or {})}, headers=HTMX)


def message_of(response) -> str:
    match = re.search(r"data-dialog-message>([^<]*)<", response.get_data(as_text=True))
    assert match, "no message slot in the answer"
    return unescape(match.group(1))


def saved(response) -> str:
    return json.loads(response.headers["HX-Trigger"])["nursing:saved"]


# ---------------------------------------------------------------- the start dialog


def test_the_start_dialog_says_a_baseline_is_missing_and_refuses_the_nurse(
    client, auth, clinic, seated
):
    auth.login(clinic.nurse)
    path = f"/recovery/visits/{seated.id}/start-infusion"
    html = client.get(path, headers=HTMX).get_data(as_text=True)
    assert "data-predose" in html and "No vital signs in the 30 minutes" in unescape(html)
    assert "data-override" not in html  # a nurse has no override to give
    refused = post(client, path, {"override_reason": "In a hurry"})
    assert refused.status_code == 409
    assert "take a baseline reading first" in message_of(refused)
    assert "Only a practitioner may override" in message_of(refused)
    db.session.refresh(seated)
    assert seated.status == "checked_in"


def test_after_a_reading_the_start_dialog_is_plain(client, auth, clinic, seated):
    put_reading(seated, NOW - timedelta(minutes=5))
    add_negative_screen(seated.id, NOW - timedelta(minutes=5))  # the day's screener
    auth.login(clinic.nurse)
    path = f"/recovery/visits/{seated.id}/start-infusion"
    assert "data-predose" not in client.get(path, headers=HTMX).get_data(as_text=True)
    assert post(client, path).status_code == 200


def test_a_practitioner_overrides_with_a_reason(client, auth, clinic, seated):
    add_negative_screen(seated.id, NOW - timedelta(minutes=5))  # no override lifts screening
    auth.login(clinic.practitioner)
    path = f"/recovery/visits/{seated.id}/start-infusion"
    html = client.get(path, headers=HTMX).get_data(as_text=True)
    assert "data-override" in html and "practitioner&#39;s override" in html
    no_reason = post(client, path)
    assert no_reason.status_code == 409 and "Give an override reason" in message_of(no_reason)
    assert "data-override" in no_reason.get_data(as_text=True)
    response = post(client, path, {"override_reason": "Monitor down; manual BP 118/76"})
    assert response.status_code == 200 and "Infusion started" in saved(response)
    db.session.refresh(seated)
    assert seated.status == "infusing"
    started = seated.events[-1]
    assert started.data == {
        "override_reason": "Monitor down; manual BP 118/76",
        "overridden": ["predose_vitals_missing"],
    }
    record = client.get(f"/visits/{seated.id}/record").get_data(as_text=True)
    assert "pre-dose checks overridden by a practitioner: Monitor down" in unescape(record)


# ---------------------------------------------------------------- the dose dialog


def test_the_card_offers_a_dose_while_in_care(client, auth, clinic, seated):
    auth.login(clinic.nurse)
    html = client.get("/recovery").get_data(as_text=True)
    assert f'id="act-dose-{seated.id}"' in html and 'id="dialog-dose"' in html


def test_the_dose_dialog_shows_the_expected_dose_prefilled(client, auth, clinic, seated):
    auth.login(clinic.nurse)
    html = client.get(f"/recovery/visits/{seated.id}/dose", headers=HTMX).get_data(as_text=True)
    assert "0.5 mg/kg \u00d7 80 kg = 40 mg" in unescape(html)
    assert 'value="Ketamine"' in html
    assert re.search(r'<option selected value="IV">|<option value="IV" selected>', html)
    assert "data-dose-confirm" not in html


def test_a_dose_is_recorded_and_printed(client, auth, clinic, seated):
    auth.login(clinic.nurse)
    response = post(client, f"/recovery/visits/{seated.id}/dose", DOSE | {"dose_mg": "41.5"})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert saved(response) == "Dose recorded: Ketamine 41.5 mg · Chair 1."
    dose = db.session.scalars(select(Dose)).one()
    assert (dose.dose_mg, dose.lot, dose.route, dose.recorded_by_id, dose.confirmed_by_id) == (
        Decimal("41.5"),
        "KT-2291",
        "IV",
        clinic.nurse.id,
        None,
    )
    record = client.get(f"/visits/{seated.id}/record").get_data(as_text=True)
    section = record[record.index("data-record-doses") :]
    assert "41.5 mg" in section and "KT-2291" in section and clinic.nurse.name in section


def test_a_dose_far_off_the_order_needs_the_practitioner(client, auth, clinic, seated):
    auth.login(clinic.nurse)
    path = f"/recovery/visits/{seated.id}/dose"
    refused = post(client, path, DOSE | {"dose_mg": "60", "confirm": "y"})
    assert refused.status_code == 409
    assert "more than 10 % off the ordered 40 mg" in message_of(refused)
    assert "data-dose-confirm" not in refused.get_data(as_text=True)
    auth.logout()

    auth.login(clinic.practitioner)
    asked = post(client, path, DOSE | {"dose_mg": "60"})
    assert asked.status_code == 409 and "data-dose-confirm" in asked.get_data(as_text=True)
    confirmed = post(client, path, DOSE | {"dose_mg": "60", "confirm": "y"})
    assert confirmed.status_code == 200
    dose = db.session.scalars(select(Dose)).one()
    assert dose.confirmed_by_id == clinic.practitioner.id
    record = client.get(f"/visits/{seated.id}/record").get_data(as_text=True)
    assert f"confirmed off the order by {clinic.practitioner.name}" in record


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"dose_mg": ""}, "dose_mg"),
        ({"dose_mg": "-3"}, "dose_mg"),
        ({"dose_mg": "40.125"}, "dose_mg"),
        ({"dose_mg": "nan"}, "dose_mg"),
        ({"lot": ""}, "lot"),
        ({"drug": ""}, "drug"),
        ({"route": "rectal"}, "route"),
    ],
)
def test_a_bad_dose_is_shown_again_with_its_error(client, auth, clinic, seated, change, field):
    auth.login(clinic.nurse)
    response = post(client, f"/recovery/visits/{seated.id}/dose", DOSE | change)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert re.search(rf'data-error-for="{field}">[^<]+<', html), html
    assert db.session.scalars(select(Dose)).first() is None


def test_the_front_desk_may_not_open_the_dose_dialog(client, auth, clinic, seated):
    auth.login(clinic.clerk)
    assert client.get(f"/recovery/visits/{seated.id}/dose", headers=HTMX).status_code == 403


def test_a_booked_visit_has_no_dose_action(client, auth, clinic, make_patient):
    booked = put_visit(
        clinic.site, clinic.chairs[1], make_patient(clinic.site), "booked", NOW + timedelta(hours=1)
    )
    auth.login(clinic.nurse)
    response = post(client, f"/recovery/visits/{booked.id}/dose", DOSE)
    assert response.status_code == 409 and "in care" in message_of(response)
    assert db.session.get(Visit, booked.id).status == "booked"


# ---------------------------------------------------------------- the clearance's order


def test_the_practitioner_records_the_order_and_the_patient_page_shows_it(
    client, auth, clinic, make_patient
):
    patient = make_patient(clinic.site, weight_kg=80.0)
    auth.login(clinic.practitioner)
    url = f"/patients/{patient.id}/clearances/new"
    html = client.get(url).get_data(as_text=True)
    assert "IV ketamine order (mg/kg)" in html and "Weight on record: 80 kg" in html
    form = {
        "csrf_token": csrf_token(html),
        "evaluated_on": "2026-11-30",
        "valid_until": "2027-05-30",
        "cleared": "y",
        "consent_signed": "y",
        "mg_per_kg": "0.75",
    }
    assert client.post(url, data=form).status_code == 302
    stmt = select(Clearance).where(Clearance.patient_id == patient.id)
    clearance = db.session.scalars(stmt).one()
    assert clearance.mg_per_kg == Decimal("0.750")
    page = client.get(f"/patients/{patient.id}").get_data(as_text=True)
    assert "IV ketamine order: 0.75 mg/kg \u00d7 80 kg" in unescape(page)

    bad = client.post(url, data=form | {"mg_per_kg": "3"})
    assert bad.status_code == 200 and "Between 0.05 and 2.0 mg/kg." in bad.get_data(as_text=True)
