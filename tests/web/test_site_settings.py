"""Site settings: one table of limits, read alike by the API, the admin page and the OpenAPI
document; vital-sign thresholds and the time zone are settable on both."""

from __future__ import annotations

import pytest

from clinic.extensions import db
from clinic.models import Site
from clinic.services.setup import site_values
from clinic.services.site_settings import SITE_LIMITS, TIME_ZONES
from clinic.web.api.places import SITE_MINUTES, SITE_NUMBERS, VITAL_THRESHOLDS
from tests.web.test_admin import page, post_form, site_form


def api_body(values: dict[str, int]) -> dict:
    """Return a PATCH body that sets the given settings (named as the service names them)."""
    body: dict = {}
    for name, value in values.items():
        if name in SITE_NUMBERS:
            body[name] = value
            continue
        for field, keys in (*SITE_MINUTES.items(), ("vital_thresholds", VITAL_THRESHOLDS)):
            for key, setting in keys.items():
                if setting == name:
                    body.setdefault(field, {})[key] = value
                elif isinstance(setting, dict) and name in setting.values():
                    inner = next(k for k, v in setting.items() if v == name)
                    body.setdefault(field, {}).setdefault(key, {})[inner] = value
    return body


@pytest.fixture
def admin_both(client, auth, api_as, clinic):
    """The administrator, signed in on the pages and holding an API token."""
    auth.login(clinic.admin)
    return api_as(clinic.admin)


def save_page_unchanged(client, site_id: int):
    """Submit the settings page as it shows the stored site, changing nothing."""
    site = db.session.get(Site, site_id)
    db.session.refresh(site)
    url = f"/admin/sites/{site_id}"
    return post_form(client, url, site_form(site))


def test_every_numeric_setting_is_in_the_table_and_maps_into_the_api():
    every = set(SITE_NUMBERS) | {s for keys in SITE_MINUTES.values() for s in keys.values()}
    every |= {
        s
        for value in VITAL_THRESHOLDS.values()
        for s in (value.values() if isinstance(value, dict) else [value])
    }
    assert every == set(SITE_LIMITS)
    assert set(api_body({name: 1 for name in SITE_LIMITS})) == {
        *SITE_NUMBERS,
        *SITE_MINUTES,
        "vital_thresholds",
    }


@pytest.mark.parametrize("end", ["low", "high"])
def test_what_the_api_accepts_the_page_saves_back_unchanged(client, admin_both, clinic, end):
    values = {name: getattr(limit, end) for name, limit in SITE_LIMITS.items()}
    if end == "high":  # hr_low at its highest still lies below hr_high at its highest
        assert values["hr_low"] < values["hr_high"]
    response = admin_both.patch(f"/sites/{clinic.site.id}", json=api_body(values))
    assert response.status_code == 200, response.get_json()
    response = save_page_unchanged(client, clinic.site.id)
    assert response.status_code == 302, response.get_data(as_text=True)
    site = db.session.get(Site, clinic.site.id)
    db.session.refresh(site)
    stored = site_values(site)
    assert {name: stored[name] for name in SITE_LIMITS} == values


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("turnover_minutes", 200),
        ("overdue_after_minutes", 600),
        ("infusion_max", 300),
        *((name, limit.low - 1) for name, limit in SITE_LIMITS.items()),
        *((name, limit.high + 1) for name, limit in SITE_LIMITS.items()),
    ],
)
def test_the_api_refuses_what_the_page_refuses(client, admin_both, clinic, name, value):
    before = admin_both.get(f"/sites/{clinic.site.id}").get_json()
    response = admin_both.patch(f"/sites/{clinic.site.id}", json=api_body({name: value}))
    assert response.status_code == 422, response.get_json()
    assert set(response.get_json()["fields"]) == set(api_body({name: value}))
    data = site_form(clinic.site) | {name: str(value)}
    response = post_form(client, f"/admin/sites/{clinic.site.id}", data)
    assert response.status_code == 200
    limit = SITE_LIMITS[name]
    assert f"Between {limit.low} and {limit.high}." in response.get_data(as_text=True)
    assert admin_both.get(f"/sites/{clinic.site.id}").get_json() == before


def test_the_openapi_document_reads_the_same_table(client):
    document = client.get("/api/v1/openapi.json").get_json()
    site = document["components"]["schemas"]["SiteInput"]["properties"]
    assert site["turnover_minutes"]["maximum"] == SITE_LIMITS["turnover_minutes"].high
    assert site["overdue_after_minutes"]["maximum"] == SITE_LIMITS["overdue_after_minutes"].high
    infusion = site["infusion_minutes"]["properties"]["max"]
    assert (infusion["minimum"], infusion["maximum"]) == (5, SITE_LIMITS["infusion_max"].high)
    bp_high = site["vital_thresholds"]["properties"]["bp_high"]["properties"]["systolic"]
    limit = SITE_LIMITS["bp_high_systolic"]
    assert (bp_high["minimum"], bp_high["maximum"]) == (limit.low, limit.high)
    for name in SITE_NUMBERS:
        assert (site[name]["minimum"], site[name]["maximum"]) == (
            SITE_LIMITS[name].low,
            SITE_LIMITS[name].high,
        )
    assert set(site["timezone"]["enum"]) == TIME_ZONES
    assert "vital_thresholds" in document["components"]["schemas"]["Site"]["properties"]


# ---------------------------------------------------------------- vital-sign thresholds


def test_site_object_shows_the_thresholds_in_force(api_as, clinic):
    site = api_as(clinic.clerk).get(f"/sites/{clinic.site.id}").get_json()
    assert site["vital_thresholds"] == {
        "bp_high": {"systolic": 160, "diastolic": 100},
        "bp_critical": {"systolic": 180, "diastolic": 110},
        "hr_high": 120,
        "hr_low": 50,
        "spo2_low": 92,
        "bp_above_baseline_percent": 20,
    }


def test_patch_sets_some_thresholds_and_readings_are_flagged_by_them(
    api_as, clinic, make_visit, frozen
):
    from tests.api.test_observations import CHECK_IN, CLOCK
    from tests.conftest import MONDAY, chicago

    api = api_as(clinic.admin)
    response = api.patch(
        f"/sites/{clinic.site.id}",
        json={"vital_thresholds": {"bp_high": {"systolic": 150}, "hr_low": 55}},
    )
    assert response.status_code == 200, response.get_json()
    thresholds = response.get_json()["vital_thresholds"]
    assert thresholds["bp_high"] == {"systolic": 150, "diastolic": 100}
    assert thresholds["hr_low"] == 55 and thresholds["hr_high"] == 120
    visit = make_visit(clinic.clerk, clinic.patient, chicago(MONDAY, 8))
    frozen.move_to(CLOCK)
    nurse = api_as(clinic.nurse)
    event = {"type": "check_in", "at": CHECK_IN.isoformat()}
    assert nurse.post(f"/visits/{visit.id}/events", json=event).status_code == 200
    reading = {"systolic": 155, "diastolic": 80, "heart_rate": 52, "spo2": 97}
    response = nurse.post(f"/visits/{visit.id}/observations", json=reading)
    assert response.status_code == 201, response.get_json()
    # With the defaults (160 and 50) this reading raises no flag.
    assert response.get_json()["flags"] == ["bp_high", "hr_low"]


@pytest.mark.parametrize(
    "thresholds",
    [
        {"bp_high": {"systolic": 300}},
        {"bp_high": 150},
        {"bp_high": {"mean": 120}},
        {"bp_high": {"systolic": "150"}},
        {"hr_high": True},
        {"pulse": 100},
        {},
        {"bp_critical": {"systolic": 150}},  # below bp_high's 160
        {"hr_low": 80, "hr_high": 80},
        "strict",
    ],
)
def test_bad_thresholds_are_422(api_as, clinic, thresholds):
    api = api_as(clinic.admin)
    before = api.get(f"/sites/{clinic.site.id}").get_json()
    response = api.patch(f"/sites/{clinic.site.id}", json={"vital_thresholds": thresholds})
    assert response.status_code == 422, response.get_json()
    assert list(response.get_json()["fields"]) == ["vital_thresholds"]
    assert api.get(f"/sites/{clinic.site.id}").get_json() == before


def test_page_sets_thresholds(client, auth, clinic):
    auth.login(clinic.admin)
    url = f"/admin/sites/{clinic.site.id}"
    html = page(client, url)
    assert "Vital-sign alerts" in html and 'name="spo2_low"' in html and 'value="92"' in html
    data = site_form(clinic.site) | {"spo2_low": "90", "bp_critical_systolic": "190"}
    assert post_form(client, url, data).status_code == 302
    db.session.refresh(clinic.site)
    assert clinic.site.vital_thresholds["spo2_low"] == 90
    assert clinic.site.vital_thresholds["bp_critical"] == [190, 110]
    data = site_form(clinic.site) | {"bp_critical_diastolic": "90"}  # under bp_high's 100
    response = post_form(client, url, data)
    assert response.status_code == 200
    assert "Must be at or above the high limit." in response.get_data(as_text=True)


# ---------------------------------------------------------------- time zone


def test_page_offers_a_select_of_iana_zones(client, auth, clinic):
    auth.login(clinic.admin)
    url = f"/admin/sites/{clinic.site.id}"
    html = page(client, url)
    assert '<select class="form-select" id="timezone" name="timezone"' in html
    assert '<option selected value="America/Chicago">America/Chicago</option>' in html
    assert 'value="Asia/Kolkata"' in html and 'value="localtime"' not in html
    data = site_form(clinic.site) | {"timezone": "America/Denver"}
    assert post_form(client, url, data).status_code == 302
    db.session.refresh(clinic.site)
    assert clinic.site.timezone == "America/Denver"
    response = post_form(client, url, site_form(clinic.site) | {"timezone": "Mars/Base"})
    assert "Not an IANA time zone" in response.get_data(as_text=True)


@pytest.mark.parametrize("zone", ["Mars/Base", "localtime", "america/chicago", ""])
def test_api_refuses_an_unknown_zone(api_as, clinic, zone):
    response = api_as(clinic.admin).patch(f"/sites/{clinic.site.id}", json={"timezone": zone})
    assert response.status_code == 422
    assert "timezone" in response.get_json()["fields"]
