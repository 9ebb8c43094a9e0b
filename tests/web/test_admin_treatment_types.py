"""The site's treatment types on the admin pages: listed, added and changed."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from clinic.extensions import db
from clinic.models import TreatmentType
from tests.web.test_admin import page, post_form, site_form

SPRAVATO = {
    "name": "Spravato 56/84 mg",
    "kind": "esketamine",
    "administration_min": "10",
    "administration_default": "15",
    "administration_max": "15",
    "observation_min": "120",
    "observation_default": "120",
    "observation_from": "administration_start",
    "predose_systolic_max": "140",
    "predose_diastolic_max": "90",
    "rems": "y",
    "active": "y",
}


@pytest.fixture
def admin(auth, clinic):
    """Sign in as the clinic's administrator."""
    auth.login(clinic.admin)
    return clinic.admin


def _types_url(clinic) -> str:
    return f"/admin/sites/{clinic.site.id}/treatment-types"


def test_the_site_page_lists_its_types_with_the_default_marked(client, admin, clinic):
    html = page(client, _types_url(clinic))
    assert "IV ketamine" in html and "Default" in html
    assert "60 min (usually 45)" in html
    assert "Treatment types" in page(client, f"/admin/sites/{clinic.site.id}")


def test_an_admin_adds_a_type(client, admin, clinic):
    response = post_form(client, _types_url(clinic), SPRAVATO)
    assert response.status_code == 302
    added = db.session.scalar(select(TreatmentType).where(TreatmentType.name == SPRAVATO["name"]))
    assert (added.site_id, added.kind, added.rems, added.observation_from) == (
        clinic.site.id,
        "esketamine",
        True,
        "administration_start",
    )
    assert (added.predose_systolic_max, added.predose_diastolic_max) == (140, 90)
    html = page(client, _types_url(clinic))
    assert "Spravato 56/84 mg is saved." in html and "REMS" in html


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"administration_default": "20"}, "Needs min ≤ default ≤ max."),
        ({"observation_default": "60"}, "Needs min ≤ default."),
        ({"observation_from": "administration_end"}, "counts the observation from the first"),
        ({"predose_diastolic_max": ""}, "Give both limits, or neither."),
        ({"administration_min": "0"}, "A whole number between 1 and 1440."),
        ({"name": "  "}, "This field is required."),
    ],
)
def test_bad_settings_show_a_message_and_save_nothing(client, admin, clinic, changes, message):
    response = post_form(client, _types_url(clinic), SPRAVATO | changes)
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    assert db.session.scalar(select(TreatmentType).where(TreatmentType.rems)) is None


def test_an_admin_edits_a_type(client, admin, clinic):
    type_id = clinic.site.default_treatment_type_id
    url = f"{_types_url(clinic)}/{type_id}"
    assert 'value="IV ketamine"' in page(client, url)
    form = SPRAVATO | {"name": "IV ketamine 0.5 mg/kg", "kind": "iv_ketamine", "rems": ""}
    form |= {"administration_min": "40", "administration_default": "40", "administration_max": "60"}
    form |= {"observation_from": "administration_end", "predose_systolic_max": ""}
    form |= {"predose_diastolic_max": "", "observation_min": "60"}
    del form["rems"]
    assert post_form(client, url, form).status_code == 302
    edited = db.session.get(TreatmentType, type_id)
    db.session.refresh(edited)
    assert (edited.name, edited.administration_min, edited.rems) == (
        "IV ketamine 0.5 mg/kg",
        40,
        False,
    )
    assert edited.predose_systolic_max is None


def test_the_default_type_cannot_be_deactivated(client, admin, clinic):
    url = f"{_types_url(clinic)}/{clinic.site.default_treatment_type_id}"
    form = SPRAVATO | {"kind": "iv_ketamine", "administration_min": "45"}
    form |= {"administration_default": "45", "administration_max": "60", "observation_min": "60"}
    del form["active"], form["rems"]
    html = post_form(client, url, form).get_data(as_text=True)
    assert "The site&#39;s default type stays active." in html


def test_another_sites_type_is_404(client, admin, clinic, make_site):
    other = make_site(name="Dallas")
    url = f"/admin/sites/{other.id}/treatment-types/{clinic.site.default_treatment_type_id}"
    assert client.get(url).status_code == 404
    assert client.get(f"/admin/sites/{clinic.site.id}/treatment-types/999999").status_code == 404


def test_without_the_csrf_token_nothing_is_saved(client, admin, clinic):
    response = client.post(_types_url(clinic), data=SPRAVATO)
    assert response.status_code == 400
    assert db.session.scalar(select(TreatmentType).where(TreatmentType.rems)) is None


def test_other_roles_are_forbidden(client, auth, clinic):
    auth.login(clinic.nurse)
    assert client.get(_types_url(clinic)).status_code == 403


def test_the_site_settings_record_and_refuse_a_half_rems_certification(client, admin, clinic):
    site = clinic.site
    url = f"/admin/sites/{site.id}"
    assert "Spravato REMS certification" in page(client, url)
    certified = site_form(site) | {
        "rems_certified_on": "2026-10-01",
        "rems_authorized_representative": "Dr. Reyes",
    }
    assert post_form(client, url, certified).status_code == 302
    db.session.refresh(site)
    assert (site.rems_certified_on, site.rems_authorized_representative) == (
        date(2026, 10, 1),
        "Dr. Reyes",
    )
    half = site_form(site) | {
        "rems_certified_on": "2026-10-01",
        "rems_authorized_representative": "",
    }
    html = post_form(client, url, half).get_data(as_text=True)
    assert "Give the date and the authorized representative, or neither." in html
    db.session.refresh(site)
    assert site.rems_authorized_representative == "Dr. Reyes"
