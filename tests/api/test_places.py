"""Sites, chairs and shifts through the JSON API."""

from __future__ import annotations

from datetime import timedelta

import pytest

from clinic.extensions import db
from clinic.models import Shift, Site
from tests.conftest import MONDAY, chicago

SITE_KEYS = {
    "id",
    "name",
    "timezone",
    "opening_hours",
    "nurse_ratio",
    "require_practitioner_on_site",
    "infusion_minutes",
    "observation_minutes",
    "overdue_after_minutes",
    "turnover_minutes",
    "min_hours_between_infusions",
    "recovery_mode",
    "check_in_open_minutes",
    "no_show_after_minutes",
    "vital_thresholds",
    "default_treatment_type_id",
    "rems_certification",
    "reminders",
    "cancel_window_hours",
    "screening_before_start",
}
WEEK = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def error(response, status: int, code: str) -> dict:
    """Check an error answer's status and body, and return the body."""
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.get_json()
    assert body["error"] == code
    assert isinstance(body["message"], str) and body["message"]
    assert isinstance(body["fields"], dict)
    return body


@pytest.fixture
def elsewhere(make_site, make_chair, make_shift):
    """A second site, Dallas, with a chair, a bay and a nurse on duty."""
    site = make_site(name="Dallas")
    return {
        "site": site,
        "chair": make_chair(site, "Dallas 1"),
        "bay": make_chair(site, "Dallas bay", kind="recovery_bay"),
        "shift": make_shift(site, "nurse"),
    }


# ---------------------------------------------------------------- sites


def test_site_json_is_exactly_the_contract(api_as, clinic):
    response = api_as(clinic.clerk).get(f"/sites/{clinic.site.id}")
    assert response.status_code == 200
    site = response.get_json()
    assert set(site) == SITE_KEYS
    assert site["name"] == "Austin"
    assert site["timezone"] == "America/Chicago"
    assert site["opening_hours"]["mon"] == ["08:00", "18:00"]
    assert site["opening_hours"]["sat"] == ["09:00", "14:00"]
    assert site["opening_hours"]["sun"] is None
    assert list(site["opening_hours"]) == list(WEEK)
    assert site["infusion_minutes"] == {"min": 45, "max": 60, "default": 45}
    assert site["observation_minutes"] == {"min": 60, "default": 120}
    assert site["nurse_ratio"] == 4
    assert site["require_practitioner_on_site"] is True
    assert site["recovery_mode"] == "chair"


def test_a_user_lists_only_their_sites_and_admin_all(api_as, clinic, elsewhere):
    names = [s["name"] for s in api_as(clinic.nurse).get("/sites").get_json()]
    assert names == ["Austin"]
    names = [s["name"] for s in api_as(clinic.admin).get("/sites").get_json()]
    assert names == ["Austin", "Dallas"]


def test_another_sites_site_is_not_found(api_as, clinic, elsewhere):
    error(api_as(clinic.clerk).get(f"/sites/{elsewhere['site'].id}"), 404, "not_found")
    error(api_as(clinic.clerk).get("/sites/999999"), 404, "not_found")
    assert api_as(clinic.admin).get(f"/sites/{elsewhere['site'].id}").status_code == 200


def test_admin_creates_a_site_with_nested_settings(api_as, clinic):
    body = {
        "name": "Round Rock",
        "timezone": "America/Denver",
        "opening_hours": {"mon": ["07:30", "19:00"], "sun": ["00:00", "24:00"]},
        "nurse_ratio": 3,
        "require_practitioner_on_site": False,
        "infusion_minutes": {"min": 40, "max": 70, "default": 50},
        "observation_minutes": {"min": 90, "default": 120},
        "overdue_after_minutes": 10,
        "turnover_minutes": 20,
        "min_hours_between_infusions": 48,
        "recovery_mode": "bay",
        "check_in_open_minutes": 90,
        "no_show_after_minutes": 20,
    }
    response = api_as(clinic.admin).post("/sites", json=body)
    assert response.status_code == 201, response.get_json()
    site = response.get_json()
    assert set(site) == SITE_KEYS
    shown = {"id", "opening_hours", "vital_thresholds", "default_treatment_type_id"}
    shown |= {"rems_certification", "reminders", "cancel_window_hours", "screening_before_start"}
    assert site["rems_certification"] is None
    assert {k: v for k, v in site.items() if k not in shown} == {
        k: v for k, v in body.items() if k != "opening_hours"
    }
    # Days left out of a new site's hours are closed.
    assert site["opening_hours"] == {
        "mon": ["07:30", "19:00"],
        "tue": None,
        "wed": None,
        "thu": None,
        "fri": None,
        "sat": None,
        "sun": ["00:00", "24:00"],
    }
    stored = db.session.get(Site, site["id"])
    assert (stored.infusion_min, stored.infusion_max, stored.infusion_default) == (40, 70, 50)
    assert (stored.observation_min, stored.observation_default) == (90, 120)


def test_a_new_site_takes_defaults_for_what_is_left_out(api_as, clinic):
    response = api_as(clinic.admin).post("/sites", json={"name": "Bastrop"})
    assert response.status_code == 201
    site = response.get_json()
    assert site["timezone"] == "America/Chicago"
    assert site["infusion_minutes"] == {"min": 45, "max": 60, "default": 45}
    assert site["opening_hours"]["tue"] == ["08:00", "18:00"]
    assert site["opening_hours"]["sun"] is None


def test_patch_changes_only_what_it_names(api_as, clinic):
    api = api_as(clinic.admin)
    before = api.get(f"/sites/{clinic.site.id}").get_json()
    response = api.patch(
        f"/sites/{clinic.site.id}",
        json={"infusion_minutes": {"max": 75}, "opening_hours": {"sun": ["10:00", "14:00"]}},
    )
    assert response.status_code == 200, response.get_json()
    after = response.get_json()
    assert after["infusion_minutes"] == {"min": 45, "max": 75, "default": 45}
    assert after["opening_hours"] == before["opening_hours"] | {"sun": ["10:00", "14:00"]}
    unchanged = SITE_KEYS - {"infusion_minutes", "opening_hours"}
    assert {k: after[k] for k in unchanged} == {k: before[k] for k in unchanged}
    assert api.get(f"/sites/{clinic.site.id}").get_json() == after


def test_patch_scalar_settings(api_as, clinic):
    response = api_as(clinic.admin).patch(
        f"/sites/{clinic.site.id}",
        json={"nurse_ratio": 2, "recovery_mode": "bay", "name": "Austin North"},
    )
    assert response.status_code == 200
    site = response.get_json()
    assert (site["nurse_ratio"], site["recovery_mode"], site["name"]) == (2, "bay", "Austin North")
    assert db.session.get(Site, clinic.site.id).nurse_ratio == 2


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"nurse_ratio": 0}, "nurse_ratio"),
        ({"nurse_ratio": 21}, "nurse_ratio"),
        ({"nurse_ratio": "4"}, "nurse_ratio"),
        ({"nurse_ratio": 4.5}, "nurse_ratio"),
        ({"nurse_ratio": True}, "nurse_ratio"),
        ({"nurse_ratio": 10**30}, "nurse_ratio"),
        ({"nurse_ratio": None}, "nurse_ratio"),
        ({"name": None}, "name"),
        ({"name": ""}, "name"),
        ({"name": "x" * 121}, "name"),
        ({"timezone": "Mars/Olympus_Mons"}, "timezone"),
        ({"timezone": "../../etc/passwd"}, "timezone"),
        ({"timezone": 5}, "timezone"),
        ({"recovery_mode": "couch"}, "recovery_mode"),
        ({"require_practitioner_on_site": "yes"}, "require_practitioner_on_site"),
        ({"turnover_minutes": -1}, "turnover_minutes"),
        ({"infusion_minutes": {"max": 0}}, "infusion_minutes"),
        ({"infusion_minutes": {"max": "60"}}, "infusion_minutes"),
        ({"infusion_minutes": {"maximum": 60}}, "infusion_minutes"),
        ({"infusion_minutes": 60}, "infusion_minutes"),
        ({"infusion_minutes": {"min": 70}}, "infusion_minutes"),
        ({"observation_minutes": {"min": 150}}, "observation_minutes"),
        ({"observation_minutes": {"max": 150}}, "observation_minutes"),
        ({"opening_hours": {"mon": ["8:00", "18:00"]}}, "opening_hours"),
        ({"opening_hours": {"mon": ["08:00", "25:00"]}}, "opening_hours"),
        ({"opening_hours": {"mon": ["08:00", "24:30"]}}, "opening_hours"),
        ({"opening_hours": {"mon": ["18:00", "08:00"]}}, "opening_hours"),
        ({"opening_hours": {"mon": ["08:00", "08:00"]}}, "opening_hours"),
        ({"opening_hours": {"mon": ["08:00"]}}, "opening_hours"),
        ({"opening_hours": {"mon": ["08:00", "12:00", "18:00"]}}, "opening_hours"),
        ({"opening_hours": {"mon": [8, 18]}}, "opening_hours"),
        ({"opening_hours": {"mon": "08:00-18:00"}}, "opening_hours"),
        ({"opening_hours": {"monday": ["08:00", "18:00"]}}, "opening_hours"),
        ({"opening_hours": ["08:00", "18:00"]}, "opening_hours"),
        ({"opening_hours": None}, "opening_hours"),
    ],
)
def test_bad_site_settings_are_422_with_the_field(api_as, clinic, body, field):
    before = api_as(clinic.admin).get(f"/sites/{clinic.site.id}").get_json()
    response = api_as(clinic.admin).patch(f"/sites/{clinic.site.id}", json=body)
    assert field in error(response, 422, "invalid")["fields"]
    assert api_as(clinic.admin).get(f"/sites/{clinic.site.id}").get_json() == before


def test_creating_a_site_without_a_name_is_422(api_as, clinic):
    response = api_as(clinic.admin).post("/sites", json={"nurse_ratio": 3})
    assert "name" in error(response, 422, "invalid")["fields"]


def test_every_bad_site_field_is_reported_at_once(api_as, clinic):
    response = api_as(clinic.admin).post(
        "/sites", json={"nurse_ratio": 0, "timezone": "Nowhere", "recovery_mode": "x"}
    )
    fields = error(response, 422, "invalid")["fields"]
    assert {"name", "nurse_ratio", "timezone", "recovery_mode"} <= set(fields)


def test_open_all_day_is_allowed(api_as, clinic):
    response = api_as(clinic.admin).patch(
        f"/sites/{clinic.site.id}", json={"opening_hours": {"sun": ["00:00", "24:00"]}}
    )
    assert response.status_code == 200
    assert response.get_json()["opening_hours"]["sun"] == ["00:00", "24:00"]


def test_patch_of_an_unknown_site_is_404(api_as, clinic):
    error(api_as(clinic.admin).patch("/sites/999999", json={"nurse_ratio": 3}), 404, "not_found")
    error(api_as(clinic.admin).get(f"/sites/{2**40}"), 404, "not_found")


# ---------------------------------------------------------------- chairs


def test_chairs_of_a_site(api_as, clinic, elsewhere):
    response = api_as(clinic.nurse).get(f"/chairs?site_id={clinic.site.id}")
    assert response.status_code == 200
    chairs = response.get_json()
    assert [c["name"] for c in chairs] == ["Chair 1", "Chair 2", "Chair 3"]
    assert chairs[0] == {
        "id": clinic.chairs[0].id,
        "site_id": clinic.site.id,
        "name": "Chair 1",
        "kind": "chair",
        "active": True,
    }


def test_chairs_without_a_site_are_those_of_my_sites(api_as, clinic, elsewhere):
    mine = {c["id"] for c in api_as(clinic.clerk).get("/chairs").get_json()}
    assert mine == {chair.id for chair in clinic.chairs}
    every = {c["id"] for c in api_as(clinic.admin).get("/chairs").get_json()}
    assert every == mine | {elsewhere["chair"].id, elsewhere["bay"].id}


def test_chairs_of_another_site_are_404(api_as, clinic, elsewhere):
    error(api_as(clinic.clerk).get(f"/chairs?site_id={elsewhere['site'].id}"), 404, "not_found")


@pytest.mark.parametrize("value", ["abc", "0", "-3", "1.5", "9" * 3000])
def test_a_bad_site_id_query_is_422(api_as, clinic, value):
    response = api_as(clinic.clerk).get(f"/chairs?site_id={value}")
    assert "site_id" in error(response, 422, "invalid")["fields"]


def test_admin_adds_and_changes_a_chair(api_as, clinic):
    api = api_as(clinic.admin)
    response = api.post(
        "/chairs", json={"site_id": clinic.site.id, "name": "Bay A", "kind": "recovery_bay"}
    )
    assert response.status_code == 201, response.get_json()
    chair = response.get_json()
    assert chair == {
        "id": chair["id"],
        "site_id": clinic.site.id,
        "name": "Bay A",
        "kind": "recovery_bay",
        "active": True,
    }
    response = api.patch(f"/chairs/{chair['id']}", json={"active": False, "name": "Bay B"})
    assert response.status_code == 200
    assert response.get_json() == chair | {"active": False, "name": "Bay B"}
    listed = api.get(f"/chairs?site_id={clinic.site.id}").get_json()
    assert chair | {"active": False, "name": "Bay B"} in listed


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "X", "kind": "sofa"}, "kind"),
        ({"name": ""}, "name"),
        ({"kind": "chair"}, "name"),
        ({"name": "X" * 61}, "name"),
        ({"name": "X", "active": "no"}, "active"),
        ({"name": ["X"]}, "name"),
    ],
)
def test_bad_chairs_are_422(api_as, clinic, body, field):
    response = api_as(clinic.admin).post("/chairs", json={"site_id": clinic.site.id} | body)
    assert field in error(response, 422, "invalid")["fields"]


def test_a_chair_needs_a_known_site(api_as, clinic):
    response = api_as(clinic.admin).post("/chairs", json={"name": "X"})
    assert "site_id" in error(response, 422, "invalid")["fields"]
    error(
        api_as(clinic.admin).post("/chairs", json={"name": "X", "site_id": 9999}), 404, "not_found"
    )


def test_a_chair_does_not_move_to_another_site(api_as, clinic, elsewhere):
    response = api_as(clinic.admin).patch(
        f"/chairs/{clinic.chairs[0].id}", json={"site_id": elsewhere["site"].id}
    )
    assert "site_id" in error(response, 422, "invalid")["fields"]


def test_patching_an_unknown_chair_is_404(api_as, clinic):
    error(api_as(clinic.admin).patch("/chairs/99999", json={"name": "X"}), 404, "not_found")


# ---------------------------------------------------------------- shifts


def test_shift_json_and_day_filter(api_as, clinic, make_shift):
    tuesday = MONDAY + timedelta(days=1)
    late = make_shift(
        clinic.site,
        "nurse",
        starts_at=chicago(tuesday, 18),
        ends_at=chicago(tuesday, 23, 30),  # 05:30 UTC on Wednesday, still Tuesday in Austin
        user=clinic.nurse,
    )
    response = api_as(clinic.clerk).get(
        f"/shifts?site_id={clinic.site.id}&date={(tuesday + timedelta(days=1)).isoformat()}"
    )
    assert response.status_code == 200
    assert late.id not in {s["id"] for s in response.get_json()}
    tuesday_shifts = api_as(clinic.clerk).get(
        f"/shifts?site_id={clinic.site.id}&date={tuesday.isoformat()}"
    )
    found = {s["id"]: s for s in tuesday_shifts.get_json()}
    assert found[late.id] == {
        "id": late.id,
        "site_id": clinic.site.id,
        "user_id": clinic.nurse.id,
        "role": "nurse",
        "starts_at": "2026-12-02T00:00:00Z",
        "ends_at": "2026-12-02T05:30:00Z",
    }


def test_shifts_of_a_day_without_a_site(api_as, clinic, elsewhere, make_shift):
    far = MONDAY + timedelta(days=30)
    ours = make_shift(clinic.site, starts_at=chicago(far, 8), ends_at=chicago(far, 16))
    theirs = make_shift(elsewhere["site"], starts_at=chicago(far, 8), ends_at=chicago(far, 16))
    ids = {s["id"] for s in api_as(clinic.admin).get(f"/shifts?date={far}").get_json()}
    assert ids == {ours.id, theirs.id}
    ids = {s["id"] for s in api_as(clinic.clerk).get(f"/shifts?date={far}").get_json()}
    assert ids == {ours.id}


def test_shifts_of_another_site_are_hidden(api_as, clinic, elsewhere):
    ids = {s["id"] for s in api_as(clinic.clerk).get("/shifts").get_json()}
    assert elsewhere["shift"].id not in ids
    assert ids
    error(api_as(clinic.clerk).get(f"/shifts?site_id={elsewhere['site'].id}"), 404, "not_found")


def test_a_bad_date_query_is_422(api_as, clinic):
    response = api_as(clinic.clerk).get(f"/shifts?site_id={clinic.site.id}&date=2026-13-01")
    assert "date" in error(response, 422, "invalid")["fields"]


def test_admin_puts_someone_on_duty_and_takes_them_off(api_as, clinic):
    api = api_as(clinic.admin)
    response = api.post(
        "/shifts",
        json={
            "site_id": clinic.site.id,
            "user_id": clinic.nurse.id,
            "starts_at": "2026-12-20T08:00:00-06:00",
            "ends_at": "2026-12-20T16:00:00Z",
        },
    )
    assert response.status_code == 201, response.get_json()
    shift = response.get_json()
    assert shift == {
        "id": shift["id"],
        "site_id": clinic.site.id,
        "user_id": clinic.nurse.id,
        "role": "nurse",
        "starts_at": "2026-12-20T14:00:00Z",
        "ends_at": "2026-12-20T16:00:00Z",
    }
    response = api.delete(f"/shifts/{shift['id']}")
    assert response.status_code == 204
    assert response.get_data() == b""
    assert db.session.get(Shift, shift["id"]) is None
    error(api.delete(f"/shifts/{shift['id']}"), 404, "not_found")


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"starts_at": "2026-12-20T08:00:00"}, "starts_at"),
        ({"ends_at": "2026-12-20T16:00:00"}, "ends_at"),
        ({"starts_at": "tomorrow"}, "starts_at"),
        ({"starts_at": 1766239200}, "starts_at"),
        ({"starts_at": "0001-01-01T00:00:00+05:00"}, "starts_at"),
        ({"ends_at": "2026-12-20T07:00:00-06:00"}, "ends_at"),
        ({"ends_at": "2026-12-22T08:00:00-06:00"}, "ends_at"),
        ({"role": "admin"}, "role"),
        ({"user_id": "7"}, "user_id"),
        ({"site_id": None}, "site_id"),
    ],
)
def test_bad_shifts_are_422(api_as, clinic, changes, field):
    body = {
        "site_id": clinic.site.id,
        "user_id": clinic.nurse.id,
        "starts_at": "2026-12-20T08:00:00-06:00",
        "ends_at": "2026-12-20T16:00:00-06:00",
    } | changes
    response = api_as(clinic.admin).post("/shifts", json=body)
    assert field in error(response, 422, "invalid")["fields"]


def test_an_overlapping_shift_of_the_same_person_is_422_naming_starts_at(api_as, clinic):
    api = api_as(clinic.admin)
    body = {
        "site_id": clinic.site.id,
        "user_id": clinic.nurse.id,
        "starts_at": "2026-12-20T08:00:00-06:00",
        "ends_at": "2026-12-20T16:00:00-06:00",
    }
    assert api.post("/shifts", json=body).status_code == 201
    later = body | {
        "starts_at": "2026-12-20T15:59:00-06:00",
        "ends_at": "2026-12-20T20:00:00-06:00",
    }
    fields = error(api.post("/shifts", json=later), 422, "invalid")["fields"]
    assert list(fields) == ["starts_at"]
    inside = body | {
        "starts_at": "2026-12-20T10:00:00-06:00",
        "ends_at": "2026-12-20T11:00:00-06:00",
    }
    assert "starts_at" in error(api.post("/shifts", json=inside), 422, "invalid")["fields"]
    # The clinic's nurse is already on duty through 13 December (the fixture's fortnight).
    fortnight = body | {
        "starts_at": "2026-12-01T08:00:00-06:00",
        "ends_at": "2026-12-01T12:00:00-06:00",
    }
    assert "starts_at" in error(api.post("/shifts", json=fortnight), 422, "invalid")["fields"]
    # Half-open: a shift that starts as the other ends is fine.
    after = body | {
        "starts_at": "2026-12-20T16:00:00-06:00",
        "ends_at": "2026-12-20T20:00:00-06:00",
    }
    assert api.post("/shifts", json=after).status_code == 201
    shifts = db.session.query(Shift).filter_by(user_id=clinic.nurse.id).count()
    assert shifts == 3


def test_a_shift_for_an_unknown_user_is_404(api_as, clinic):
    body = {
        "site_id": clinic.site.id,
        "user_id": 99999,
        "starts_at": "2026-12-20T08:00:00-06:00",
        "ends_at": "2026-12-20T16:00:00-06:00",
    }
    error(api_as(clinic.admin).post("/shifts", json=body), 404, "not_found")
