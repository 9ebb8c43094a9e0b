"""The admin pages: sites, chairs, the shift roster and users."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from clinic.extensions import db
from clinic.models import Chair, Shift, Site, User
from clinic.services.setup import SITE_FIELDS, VITAL_FIELDS, site_values
from clinic.services.sites import WEEKDAYS
from clinic.web.dates import day as day_label
from tests.conftest import PASSWORD, csrf_token


@pytest.fixture(autouse=True)
def navigation(app):
    """Stand in for navigation targets that other pages may not have built yet."""
    for rule, endpoint in (("/book", "frontdesk.book"),):
        if endpoint not in app.view_functions:
            app.add_url_rule(rule, endpoint, lambda: "")


@pytest.fixture
def admin(client, auth, clinic):
    """Sign in as the clinic's administrator."""
    auth.login(clinic.admin)
    return clinic.admin


def page(client, url: str) -> str:
    """Return the page's HTML (asserting it rendered)."""
    response = client.get(url)
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def post_form(client, url: str, data: dict, token_from: str | None = None):
    """Submit a form the way a browser would, CSRF token included."""
    token = csrf_token(page(client, token_from or url))
    return client.post(url, data={"csrf_token": token, **data})


def site_form(site: Site) -> dict:
    """Return the settings form as a browser would submit it unchanged."""
    data = {
        "name": site.name,
        "timezone": site.timezone,
        "recovery_mode": site.recovery_mode,
    }
    values = site_values(site)
    for field in (*SITE_FIELDS, *VITAL_FIELDS):
        if field in data or field in ("opening_hours", "require_practitioner_on_site"):
            continue
        data[field] = str(values[field])
    if site.require_practitioner_on_site:
        data["require_practitioner_on_site"] = "y"
    for day in WEEKDAYS:
        span = site.opening_hours.get(day)
        if span:
            data[f"{day}-opens"], data[f"{day}-closes"] = span
        else:
            data[f"{day}-closed"] = "y"
    return data


def day_column(html: str, day: date) -> str:
    """Return the HTML of one day's column of the week grid."""
    label = day_label(day)
    match = re.search(rf'aria-label="{label}">(.*?)</section>', html, re.S)
    assert match, f"no column for {label}"
    return match.group(1)


# ---------------------------------------------------------------- access


@pytest.mark.parametrize("role", ["clerk", "nurse", "practitioner"])
def test_admin_pages_are_forbidden_to_other_roles(client, auth, clinic, role):
    auth.login(getattr(clinic, role))
    site_id = clinic.site.id
    for url in (
        "/admin",
        "/admin/sites",
        "/admin/sites/new",
        f"/admin/sites/{site_id}",
        f"/admin/sites/{site_id}/chairs",
        f"/admin/sites/{site_id}/shifts",
        "/admin/users",
        f"/admin/users/{clinic.nurse.id}",
    ):
        assert client.get(url).status_code == 403, url
    token = csrf_token(page(client, "/patients"))
    response = client.post(
        f"/admin/sites/{site_id}/chairs", data={"csrf_token": token, "name": "X", "kind": "chair"}
    )
    assert response.status_code == 403
    assert db.session.scalar(select(Chair).where(Chair.name == "X")) is None


def test_admin_pages_need_a_sign_in(client, clinic):
    response = client.get("/admin")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_index_links_to_every_area(client, admin, clinic):
    html = page(client, "/admin")
    for link in (
        "/admin/sites",
        "/admin/users",
        "/admin/sites/new",
        f"/admin/sites/{clinic.site.id}/chairs",
        f"/admin/sites/{clinic.site.id}/shifts",
    ):
        assert f'href="{link}"' in html


# ---------------------------------------------------------------- site settings


def test_site_settings_change_persists(client, admin, clinic):
    site = clinic.site
    url = f"/admin/sites/{site.id}"
    html = page(client, url)
    assert 'value="America/Chicago"' in html and 'name="sun-closed"' in html
    data = site_form(site) | {
        "nurse_ratio": "3",
        "timezone": "America/Denver",
        "infusion_default": "50",
        "recovery_mode": "bay",
        "sat-closed": "y",
        "mon-opens": "07:30",
    }
    data.pop("require_practitioner_on_site")
    response = post_form(client, url, data)
    assert response.status_code == 302
    db.session.refresh(site)
    assert (site.nurse_ratio, site.timezone, site.infusion_default, site.recovery_mode) == (
        3,
        "America/Denver",
        50,
        "bay",
    )
    assert site.require_practitioner_on_site is False
    assert site.opening_hours["sat"] is None
    assert site.opening_hours["mon"] == ["07:30", "18:00"]
    assert site.opening_hours["tue"] == ["08:00", "18:00"]


def test_invalid_site_settings_show_messages_and_change_nothing(client, admin, clinic):
    site = clinic.site
    before = {"timezone": site.timezone, "hours": dict(site.opening_hours), "ratio": 4}
    url = f"/admin/sites/{site.id}"
    data = site_form(site) | {
        "timezone": "America/Atlantis",
        "tue-opens": "17:00",
        "tue-closes": "09:00",
        "wed-opens": "",
        "nurse_ratio": "2",
    }
    response = post_form(client, url, data)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Must be after opening." in html
    assert "Give both times, or tick closed." in html
    assert "Not an IANA time zone" in html
    db.session.refresh(site)
    assert site.timezone == before["timezone"]
    assert site.opening_hours == before["hours"]
    assert site.nurse_ratio == before["ratio"]


def test_minute_ranges_must_be_consistent(client, admin, clinic):
    url = f"/admin/sites/{clinic.site.id}"
    data = site_form(clinic.site) | {
        "infusion_min": "60",
        "infusion_default": "45",
        "observation_min": "abc",
    }
    html = post_form(client, url, data).get_data(as_text=True)
    assert "Need shortest ≤ usual ≤ longest." in html
    assert "Not a valid integer value." in html and "Between 0 and 720" not in html
    db.session.refresh(clinic.site)
    assert clinic.site.infusion_min == 45


def test_new_site_starts_from_defaults(client, admin, clinic):
    html = page(client, "/admin/sites/new")
    assert 'value="America/Chicago"' in html and 'value="120"' in html
    data = site_form(clinic.site) | {"name": "Round Rock", "timezone": "America/Chicago"}
    response = post_form(client, "/admin/sites/new", data)
    assert response.status_code == 302
    site = db.session.scalar(select(Site).where(Site.name == "Round Rock"))
    assert site is not None and response.headers["Location"].endswith(f"/sites/{site.id}/chairs")
    assert "Round Rock" in page(client, "/admin/sites")


def test_unknown_site_is_404(client, admin):
    assert client.get("/admin/sites/999").status_code == 404
    assert client.get("/admin/sites/999/chairs").status_code == 404
    assert client.get("/admin/sites/999/shifts").status_code == 404


# ---------------------------------------------------------------- chairs


def test_add_rename_and_deactivate_a_chair(client, admin, clinic):
    url = f"/admin/sites/{clinic.site.id}/chairs"
    html = page(client, url)
    assert "Chair 1" in html and "Chair 3" in html
    assert post_form(client, url, {"name": "Bay A", "kind": "recovery_bay"}).status_code == 302
    bay = db.session.scalar(select(Chair).where(Chair.name == "Bay A"))
    assert (bay.site_id, bay.kind, bay.active) == (clinic.site.id, "recovery_bay", True)

    chair = clinic.chairs[0]
    response = post_form(
        client, f"{url}/{chair.id}/rename", {"name": "Window chair"}, token_from=url
    )
    assert response.status_code == 302
    response = post_form(client, f"{url}/{chair.id}/active", {}, token_from=url)
    assert response.status_code == 302
    db.session.refresh(chair)
    assert (chair.name, chair.active) == ("Window chair", False)
    html = page(client, url)
    assert "Out of service" in html and "Activate" in html

    post_form(client, f"{url}/{chair.id}/active", {}, token_from=url)
    db.session.refresh(chair)
    assert chair.active is True


def test_chair_needs_a_name(client, admin, clinic):
    url = f"/admin/sites/{clinic.site.id}/chairs"
    count = len(clinic.site.chairs)
    html = post_form(client, url, {"name": "  ", "kind": "chair"}).get_data(as_text=True)
    assert "This field is required." in html
    db.session.expire_all()
    assert len(db.session.get(Site, clinic.site.id).chairs) == count


def test_chair_of_another_site_is_404(client, admin, clinic, make_site):
    other = make_site(name="Dallas")
    url = f"/admin/sites/{other.id}/chairs/{clinic.chairs[0].id}/active"
    response = post_form(client, url, {}, token_from=f"/admin/sites/{other.id}/chairs")
    assert response.status_code == 404
    db.session.refresh(clinic.chairs[0])
    assert clinic.chairs[0].active is True


# ---------------------------------------------------------------- shifts


def test_shift_in_local_time_appears_in_the_week_grid(client, admin, clinic, make_user):
    nurse = make_user("nurse", [clinic.site])  # clinic.nurse is on duty all fortnight
    url = f"/admin/sites/{clinic.site.id}/shifts?week=2026-12-02"
    html = page(client, url)
    assert "Week of 30 Nov 2026" in html  # any day picks its Monday
    data = {
        "user_id": nurse.id,
        "role": "",
        "day": "2026-12-03",
        "starts": "09:00",
        "ends": "17:30",
    }
    response = post_form(client, url, data)
    assert response.status_code == 302
    assert "week=2026-11-30" in response.headers["Location"]
    shift = db.session.scalars(select(Shift).order_by(Shift.id.desc())).first()
    assert shift.starts_at == datetime(2026, 12, 3, 15, 0, tzinfo=UTC)  # CST = UTC-6
    assert shift.ends_at == datetime(2026, 12, 3, 23, 30, tzinfo=UTC)
    assert shift.role == "nurse"
    column = day_column(page(client, url), date(2026, 12, 3))
    assert "09:00\u201317:30" in column and nurse.name in column and "shift-nurse" in column


def test_shift_on_the_dst_week_stays_at_local_time(client, admin, clinic):
    practitioner = clinic.practitioner
    url = f"/admin/sites/{clinic.site.id}/shifts?week=2026-10-26"
    for day in ("2026-10-31", "2026-11-01"):  # Saturday on CDT, Sunday on CST
        data = {
            "user_id": practitioner.id,
            "role": "practitioner",
            "day": day,
            "starts": "09:00",
            "ends": "13:00",
        }
        assert post_form(client, url, data).status_code == 302
    saturday, sunday = db.session.scalars(select(Shift).order_by(Shift.id.desc()).limit(2)).all()[
        ::-1
    ]
    assert saturday.starts_at == datetime(2026, 10, 31, 14, 0, tzinfo=UTC)  # UTC-5
    assert sunday.starts_at == datetime(2026, 11, 1, 15, 0, tzinfo=UTC)  # UTC-6
    html = page(client, url)
    for day in (date(2026, 10, 31), date(2026, 11, 1)):
        column = day_column(html, day)
        assert "09:00\u201313:00" in column and "shift-practitioner" in column
    assert practitioner.name not in day_column(html, date(2026, 10, 30))


def test_invalid_shift_is_explained_and_not_saved(client, admin, clinic):
    url = f"/admin/sites/{clinic.site.id}/shifts?week=2026-03-02"
    count = len(db.session.scalars(select(Shift)).all())
    base = {"user_id": clinic.nurse.id, "role": "", "day": "2026-03-03"}
    html = post_form(client, url, base | {"starts": "17:00", "ends": "09:00"}).get_data(
        as_text=True
    )
    assert "Must be after the start, on the same day." in html
    # 02:30 does not exist in Chicago on 8 March 2026.
    data = base | {"day": "2026-03-08", "starts": "02:30", "ends": "10:00"}
    html = post_form(client, url, data).get_data(as_text=True)
    assert "The clocks skip this time" in html
    html = post_form(client, url, base | {"user_id": "999", "starts": "09:00", "ends": "10:00"})
    assert "Not a valid choice" in html.get_data(as_text=True)
    data = base | {"day": "9999-12-31", "starts": "09:00", "ends": "23:30"}
    html = post_form(client, url, data).get_data(as_text=True)
    assert "Pick a day between 2000 and 2100." in html
    assert len(db.session.scalars(select(Shift)).all()) == count


def test_overlapping_shift_of_one_person_is_refused_with_a_message(
    client, admin, clinic, make_user
):
    nurse = make_user("nurse", [clinic.site], name="Noor Haddad")
    url = f"/admin/sites/{clinic.site.id}/shifts?week=2026-12-14"
    base = {"user_id": nurse.id, "role": "", "day": "2026-12-15"}
    assert post_form(client, url, base | {"starts": "08:00", "ends": "14:00"}).status_code == 302
    response = post_form(client, url, base | {"starts": "12:00", "ends": "18:00"})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Noor Haddad is already on shift here Tue 15 Dec 08:00\u201314:00" in html
    assert 'id="starts"' in html and "is-invalid" in html
    assert len(db.session.scalars(select(Shift).where(Shift.user_id == nurse.id)).all()) == 1
    # Back to back is fine (half-open), and so is another person at the same hours.
    assert post_form(client, url, base | {"starts": "14:00", "ends": "18:00"}).status_code == 302
    other = make_user("nurse", [clinic.site])
    data = base | {"user_id": other.id, "starts": "12:00", "ends": "18:00"}
    assert post_form(client, url, data).status_code == 302
    # The day's cover counts people, not rows.
    column = day_column(page(client, url), date(2026, 12, 15))
    assert "2 nurses" in column


def test_delete_shift(client, admin, clinic, make_shift):
    from tests.conftest import chicago

    shift = make_shift(
        clinic.site, "nurse", chicago(date(2026, 12, 8), 8), chicago(date(2026, 12, 8), 12)
    )
    url = f"/admin/sites/{clinic.site.id}/shifts?week=2026-12-07"
    assert "08:00\u201312:00" in day_column(page(client, url), date(2026, 12, 8))
    response = post_form(
        client, f"/admin/sites/{clinic.site.id}/shifts/{shift.id}/delete", {}, token_from=url
    )
    assert response.status_code == 302
    assert "week=2026-12-07" in response.headers["Location"]
    assert db.session.get(Shift, shift.id) is None
    assert "08:00\u201312:00" not in day_column(page(client, url), date(2026, 12, 8))


@pytest.mark.parametrize("week", ["not-a-date", "9999-12-31", "0001-01-01"])
def test_bad_week_falls_back_to_this_week(client, admin, clinic, week):
    html = page(client, f"/admin/sites/{clinic.site.id}/shifts?week={week}")
    assert "Week of 30 Nov 2026" in html
    assert "That week could not be read" in html


# ---------------------------------------------------------------- users


def test_create_user_with_role_and_sites(client, admin, clinic, auth, make_site):
    other = make_site(name="Dallas")
    data = {
        "email": "Ana.Lopez@Clinic.test",
        "name": "Ana Lopez",
        "role": "nurse",
        "site_ids": [clinic.site.id, other.id],
        "active": "y",
        "password": "a long enough password",
    }
    response = post_form(client, "/admin/users/new", data)
    assert response.status_code == 302
    user = db.session.scalar(select(User).where(User.email == "ana.lopez@clinic.test"))
    assert (user.role, user.site_ids, user.active) == ("nurse", [clinic.site.id, other.id], True)
    assert "Ana Lopez" in page(client, "/admin/users")
    auth.logout()
    assert auth.login(user, "a long enough password").status_code == 302


def test_create_user_refusals(client, admin, clinic):
    count = len(db.session.scalars(select(User)).all())
    data = {
        "email": clinic.nurse.email,
        "name": "Twin",
        "role": "nurse",
        "site_ids": [clinic.site.id],
        "password": "a long enough password",
    }
    html = post_form(client, "/admin/users/new", data).get_data(as_text=True)
    assert "A user with this e-mail already exists." in html
    data |= {"email": "new@clinic.test", "password": "short", "site_ids": []}
    html = post_form(client, "/admin/users/new", data).get_data(as_text=True)
    assert "At least 12 characters." in html
    assert "Pick at least one site." in html
    assert len(db.session.scalars(select(User)).all()) == count


def test_edit_role_sites_and_active(client, admin, clinic, make_site):
    other = make_site(name="Dallas")
    user = clinic.clerk
    url = f"/admin/users/{user.id}"
    html = page(client, url)
    assert f'value="{user.email}"' in html
    data = {
        "email": user.email,
        "name": "Renamed Clerk",
        "role": "practitioner",
        "site_ids": [other.id],
    }
    assert post_form(client, url, data).status_code == 302
    db.session.refresh(user)
    assert (user.name, user.role, user.site_ids, user.active) == (
        "Renamed Clerk",
        "practitioner",
        [other.id],
        False,
    )


def test_admin_cannot_lock_themselves_out(client, admin, clinic):
    url = f"/admin/users/{admin.id}"
    data = {"email": admin.email, "name": admin.name, "role": "nurse", "active": "y"}
    data["site_ids"] = [clinic.site.id]
    html = post_form(client, url, data).get_data(as_text=True)
    assert "You cannot remove your own administrator role" in html
    db.session.refresh(admin)
    assert admin.role == "admin"


def test_reset_password(client, admin, clinic, auth):
    url = f"/admin/users/{clinic.nurse.id}"
    bad = {"password": "another long one!", "confirm": "a different one!!"}
    html = post_form(client, f"{url}/password", bad, token_from=url).get_data(as_text=True)
    assert "The two entries differ." in html
    good = {"password": "another long one!", "confirm": "another long one!"}
    assert post_form(client, f"{url}/password", good, token_from=url).status_code == 302
    auth.logout()
    assert auth.login(clinic.nurse, PASSWORD).status_code == 200  # the old one no longer works
    assert auth.login(clinic.nurse, "another long one!").status_code == 302


def test_unknown_user_is_404(client, admin):
    assert client.get("/admin/users/99999").status_code == 404


def test_post_without_csrf_is_refused(client, admin, clinic):
    site = clinic.site
    response = client.post(f"/admin/sites/{site.id}", data=site_form(site) | {"nurse_ratio": "9"})
    assert response.status_code == 400
    db.session.refresh(site)
    assert site.nurse_ratio == 4
    response = client.post(f"/admin/sites/{site.id}/chairs", data={"name": "Z", "kind": "chair"})
    assert response.status_code == 400
    assert client.post("/admin/users/new", data={"email": "x@y.z"}).status_code == 400


def test_a_site_open_until_midnight_saves_back_unchanged(client, admin, clinic):
    """24:00 shows as a close of 00:00 (a time input has no 24:00) and saves back as 24:00."""
    site = clinic.site
    site.opening_hours = {day: ["00:00", "24:00"] for day in WEEKDAYS}
    db.session.commit()
    url = f"/admin/sites/{site.id}"
    html = page(client, url)
    assert re.search(r'id="mon-closes"[^>]*value="00:00"|value="00:00"[^>]*id="mon-closes"', html)
    data = site_form(site) | {f"{day}-closes": "00:00" for day in WEEKDAYS}
    assert post_form(client, url, data).status_code == 302
    db.session.refresh(site)
    assert site.opening_hours == {day: ["00:00", "24:00"] for day in WEEKDAYS}
