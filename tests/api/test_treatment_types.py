"""Treatment types through the JSON API (API.md, "Treatment types and REMS")."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from clinic.extensions import db
from clinic.models import AuditEvent, Visit
from tests.api.conftest import assert_error
from tests.conftest import MONDAY, chicago

TYPE_KEYS = {
    "id",
    "site_id",
    "name",
    "kind",
    "active",
    "administration_minutes",
    "observation_minutes",
    "observation_from",
    "rems",
    "predose_bp_max",
}
SPRAVATO = {
    "name": "Spravato 56/84 mg",
    "kind": "esketamine",
    "administration_minutes": {"min": 10, "max": 15, "default": 15},
    "observation_minutes": {"min": 120, "default": 120},
    "observation_from": "administration_start",
    "rems": True,
    "predose_bp_max": {"systolic": 140, "diastolic": 90},
}


@pytest.fixture
def spravato(api_as, clinic):
    """Add the Spravato type to the clinic's site as its admin; return the answer's body."""
    response = api_as(clinic.admin).post(
        "/treatment-types", json=SPRAVATO | {"site_id": clinic.site.id}
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()


@pytest.fixture
def dallas(make_site):
    """A second site."""
    return make_site(name="Dallas")


def test_every_site_has_its_default_iv_type_made_from_its_settings(api_as, clinic):
    site = api_as(clinic.clerk).get(f"/sites/{clinic.site.id}").get_json()
    answer = api_as(clinic.clerk).get(f"/treatment-types?site_id={clinic.site.id}")
    assert answer.status_code == 200
    [default] = answer.get_json()
    assert set(default) == TYPE_KEYS
    assert site["default_treatment_type_id"] == default["id"]
    assert default == {
        "id": default["id"],
        "site_id": clinic.site.id,
        "name": "IV ketamine",
        "kind": "iv_ketamine",
        "active": True,
        "administration_minutes": site["infusion_minutes"],
        "observation_minutes": site["observation_minutes"],
        "observation_from": "administration_end",
        "rems": False,
        "predose_bp_max": None,
    }


def test_an_admin_creates_and_changes_a_type(api_as, clinic, spravato):
    assert spravato == spravato | SPRAVATO | {"site_id": clinic.site.id, "active": True}
    changed = api_as(clinic.admin).patch(
        f"/treatment-types/{spravato['id']}",
        json={"observation_minutes": {"default": 150}, "predose_bp_max": None},
    )
    assert changed.status_code == 200, changed.get_data(as_text=True)
    body = changed.get_json()
    assert body["observation_minutes"] == {"min": 120, "default": 150}
    assert body["predose_bp_max"] is None
    assert body["administration_minutes"] == SPRAVATO["administration_minutes"]
    listed = api_as(clinic.nurse).get(f"/treatment-types?site_id={clinic.site.id}").get_json()
    assert [t["name"] for t in listed] == ["IV ketamine", "Spravato 56/84 mg"]
    trail = db.session.scalars(
        select(AuditEvent).where(AuditEvent.object_type == "treatment_type")
    ).all()
    assert [(e.action, e.object_id, e.actor_id) for e in trail] == [
        ("admin.treatment_type.create", spravato["id"], clinic.admin.id),
        ("admin.treatment_type.update", spravato["id"], clinic.admin.id),
    ]
    assert trail[1].detail["fields"] == [
        "observation_default",
        "predose_diastolic_max",
        "predose_systolic_max",
    ]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        (
            {"administration_minutes": {"min": 20, "max": 15, "default": 15}},
            "administration_minutes",
        ),
        (
            {"administration_minutes": {"min": 10, "max": 15, "default": 16}},
            "administration_minutes",
        ),
        (
            {"administration_minutes": {"min": 0, "max": 15, "default": 15}},
            "administration_minutes",
        ),
        ({"observation_minutes": {"min": 120, "default": 90}}, "observation_minutes"),
        ({"observation_minutes": {"min": -1, "default": 90}}, "observation_minutes"),
        ({"kind": "ketamine_lozenge"}, "kind"),
        ({"observation_from": "noon"}, "observation_from"),
        ({"observation_from": "administration_end"}, "observation_from"),
        ({"observation_minutes": {"min": 60, "default": 120}}, "observation_minutes"),
        ({"predose_bp_max": {"systolic": 140}}, "predose_bp_max"),
        ({"name": ""}, "name"),
    ],
)
def test_bad_settings_are_a_422_naming_the_field(api_as, clinic, changes, field):
    body = SPRAVATO | {"site_id": clinic.site.id} | changes
    response = api_as(clinic.admin).post("/treatment-types", json=body)
    assert field in assert_error(response, 422, "invalid")["fields"]


def test_a_patch_is_checked_against_the_settings_it_keeps(api_as, clinic, spravato):
    response = api_as(clinic.admin).patch(
        f"/treatment-types/{spravato['id']}", json={"administration_minutes": {"default": 20}}
    )
    assert "administration_minutes" in assert_error(response, 422, "invalid")["fields"]


def test_the_default_type_stays_active(api_as, clinic):
    type_id = clinic.site.default_treatment_type_id
    response = api_as(clinic.admin).patch(f"/treatment-types/{type_id}", json={"active": False})
    assert "active" in assert_error(response, 422, "invalid")["fields"]


def test_only_admins_write_types(api_as, clinic, spravato):
    for user in (clinic.clerk, clinic.nurse, clinic.practitioner):
        created = api_as(user).post("/treatment-types", json=SPRAVATO | {"site_id": clinic.site.id})
        assert_error(created, 403, "forbidden")
        changed = api_as(user).patch(f"/treatment-types/{spravato['id']}", json={"rems": False})
        assert_error(changed, 403, "forbidden")


def test_another_sites_types_are_a_404(api_as, clinic, dallas, make_user):
    dallas_nurse = make_user("nurse", [dallas])
    hidden = api_as(clinic.clerk).get(f"/treatment-types?site_id={dallas.id}")
    assert_error(hidden, 404, "not_found")
    assert_error(api_as(dallas_nurse).get("/treatment-types?site_id=999999"), 404, "not_found")
    missing = api_as(clinic.admin).patch("/treatment-types/999999", json={"rems": False})
    assert_error(missing, 404, "not_found")
    nowhere = api_as(clinic.admin).post("/treatment-types", json=SPRAVATO | {"site_id": 999999})
    assert_error(nowhere, 404, "not_found")


def test_without_a_token_it_is_a_401(client):
    assert client.get("/api/v1/treatment-types").status_code == 401


def test_a_type_stays_at_its_site(api_as, clinic, dallas, spravato):
    response = api_as(clinic.admin).patch(
        f"/treatment-types/{spravato['id']}", json={"site_id": dallas.id}
    )
    assert "site_id" in assert_error(response, 422, "invalid")["fields"]


# ---------------------------------------------------------------- visits


def test_a_visit_gets_the_sites_default_type_or_the_one_named(book, clinic, spravato):
    plain = book(chicago(MONDAY, 9))
    assert plain.status_code == 201, plain.get_data(as_text=True)
    assert plain.get_json()["treatment_type_id"] == clinic.site.default_treatment_type_id
    later = chicago(MONDAY + timedelta(days=2), 9)
    clinic.site.rems_certified_on = clinic.patient.rems_enrolled_on = MONDAY  # the REMS gates
    db.session.commit()
    named = book(later, treatment_type_id=spravato["id"])
    assert named.status_code == 201, named.get_data(as_text=True)
    assert named.get_json()["treatment_type_id"] == spravato["id"]
    assert db.session.get(Visit, named.get_json()["id"]).treatment_type_id == spravato["id"]


def test_booking_another_sites_or_an_inactive_type_is_a_422(api_as, book, clinic, dallas, spravato):
    dallas_type = dallas.default_treatment_type_id
    wrong_site = book(chicago(MONDAY, 9), treatment_type_id=dallas_type)
    assert "treatment_type_id" in assert_error(wrong_site, 422, "invalid")["fields"]
    api_as(clinic.admin).patch(f"/treatment-types/{spravato['id']}", json={"active": False})
    inactive = book(chicago(MONDAY, 9), treatment_type_id=spravato["id"])
    assert "treatment_type_id" in assert_error(inactive, 422, "invalid")["fields"]


# ---------------------------------------------------------------- the site's REMS certification


def test_an_admin_records_and_clears_the_sites_rems_certification(api_as, clinic):
    site = f"/sites/{clinic.site.id}"
    assert api_as(clinic.clerk).get(site).get_json()["rems_certification"] is None
    certification = {"certified_on": "2026-10-01", "authorized_representative": "Dr. Reyes"}
    set_ = api_as(clinic.admin).patch(site, json={"rems_certification": certification})
    assert set_.status_code == 200, set_.get_data(as_text=True)
    assert set_.get_json()["rems_certification"] == certification
    cleared = api_as(clinic.admin).patch(site, json={"rems_certification": None})
    assert cleared.get_json()["rems_certification"] is None
    half = api_as(clinic.admin).patch(
        site, json={"rems_certification": {"certified_on": "2026-10-01"}}
    )
    assert "rems_certification" in assert_error(half, 422, "invalid")["fields"]
    clerk = api_as(clinic.clerk).patch(site, json={"rems_certification": certification})
    assert_error(clerk, 403, "forbidden")


def test_the_site_default_type_can_be_changed_to_an_active_type_of_the_site(
    api_as, clinic, dallas, spravato
):
    site = f"/sites/{clinic.site.id}"
    moved = api_as(clinic.admin).patch(site, json={"default_treatment_type_id": spravato["id"]})
    assert moved.get_json()["default_treatment_type_id"] == spravato["id"]
    foreign = {"default_treatment_type_id": dallas.default_treatment_type_id}
    refused = api_as(clinic.admin).patch(site, json=foreign)
    assert "default_treatment_type_id" in assert_error(refused, 422, "invalid")["fields"]
