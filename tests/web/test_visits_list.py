"""The visits list across days (search, pages, CSV) and the week view of the board."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from clinic.extensions import db
from clinic.models import AuditEvent
from clinic.services.events import record_event
from tests.conftest import MONDAY, NOW, chicago, csrf_token

TUESDAY = MONDAY + timedelta(days=1)
WEDNESDAY = MONDAY + timedelta(days=2)


@pytest.fixture
def signed_in(client, auth, clinic):
    auth.login(clinic.clerk)
    return client


@pytest.fixture
def week_of_visits(clinic, make_visit):
    """Four visits: Monday (two patients), Tuesday, and a later Wednesday visit cancelled."""
    other = clinic.new_patient(given_name="Avery", family_name="Okafor")
    monday = make_visit(clinic.clerk, clinic.patient, chicago(MONDAY, 9))
    monday_other = make_visit(clinic.clerk, other, chicago(MONDAY, 9), chair_id=clinic.chairs[1].id)
    tuesday = make_visit(clinic.clerk, other, chicago(TUESDAY, 13), chair_id=clinic.chairs[2].id)
    wednesday = make_visit(clinic.clerk, clinic.patient, chicago(WEDNESDAY, 10))
    record_event(clinic.clerk, wednesday.id, "cancel", NOW, reason="unwell")
    return {
        "monday": monday,
        "monday_other": monday_other,
        "tuesday": tuesday,
        "wednesday": wednesday,
        "other": other,
    }


def listed(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'href="/visits/(\d+)"', html)]


def search(client, **fields):
    token = csrf_token(client.get("/visits").get_data(as_text=True))
    data = {
        "csrf_token": token,
        "q": "",
        "status": "",
        "chair_id": "",
        "first_day": "",
        "last_day": "",
    } | fields
    return client.post("/visits", data=data)


def audit_rows() -> list[AuditEvent]:
    return list(
        db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "patient.list").order_by(AuditEvent.id)
        )
    )


def test_the_list_starts_at_today_and_is_in_the_navigation(signed_in, week_of_visits):
    html = signed_in.get("/visits").get_data(as_text=True)
    assert 'href="/visits"' in html  # the navigation
    ids = listed(html)
    v = week_of_visits
    assert ids == [v["monday"].id, v["monday_other"].id, v["tuesday"].id, v["wednesday"].id]
    assert "Okafor, Avery" in html and "Cancelled" in html


def test_search_by_patient_is_posted_and_audited_without_the_words(signed_in, week_of_visits):
    html = search(signed_in, q="okaf").get_data(as_text=True)
    v = week_of_visits
    assert listed(html) == [v["monday_other"].id, v["tuesday"].id]
    row = audit_rows()[-1]
    assert row.detail == {
        "view": "visits",
        "site_id": v["other"].site_id,
        "searched": True,
        "results": 2,
    }
    assert "okaf" not in str(row.detail).lower()


def test_filters_by_status_chair_and_dates(signed_in, clinic, week_of_visits):
    v = week_of_visits
    assert listed(search(signed_in, status="cancelled").get_data(as_text=True)) == [
        v["wednesday"].id
    ]
    chair = str(clinic.chairs[2].id)
    assert listed(search(signed_in, chair_id=chair).get_data(as_text=True)) == [v["tuesday"].id]
    ranged = search(signed_in, first_day=TUESDAY.isoformat(), last_day=TUESDAY.isoformat())
    assert listed(ranged.get_data(as_text=True)) == [v["tuesday"].id]


def test_dates_are_site_local_days(signed_in, clinic, make_visit):
    clinic.site.opening_hours = clinic.site.opening_hours | {"tue": ["08:00", "23:00"]}
    db.session.commit()
    # 19:00 in Austin on Tuesday is 01:00 UTC on Wednesday.
    late = make_visit(clinic.clerk, clinic.patient, chicago(TUESDAY, 19))
    on_tuesday = search(signed_in, first_day=TUESDAY.isoformat(), last_day=TUESDAY.isoformat())
    assert listed(on_tuesday.get_data(as_text=True)) == [late.id]
    on_wednesday = search(signed_in, first_day=WEDNESDAY.isoformat())
    assert listed(on_wednesday.get_data(as_text=True)) == []


def test_a_range_that_ends_before_it_starts_is_refused(signed_in, week_of_visits):
    response = search(signed_in, first_day=TUESDAY.isoformat(), last_day=MONDAY.isoformat())
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "Must be on or after the first day." in html
    assert listed(html) == []


def test_pages(signed_in, week_of_visits, monkeypatch):
    from clinic.web import visit_list

    monkeypatch.setattr(visit_list, "PER_PAGE", 3)
    v = week_of_visits
    first = search(signed_in).get_data(as_text=True)
    assert "page 1 of 2" in first and len(listed(first)) == 3
    second = search(signed_in, page="2").get_data(as_text=True)
    assert listed(second) == [v["wednesday"].id]


def test_the_search_words_never_reach_a_url(signed_in, week_of_visits):
    html = signed_in.get("/visits?q=Okafor&site_id=1").get_data(as_text=True)
    assert 'value="Okafor"' not in html  # a q in the URL is ignored
    assert len(listed(html)) == 4


def test_csv_export_is_formula_safe_and_audited(signed_in, clinic, make_visit):
    sneaky = clinic.new_patient(given_name="Sam", family_name="=HYPERLINK(1)", mrn="+MRN1")
    visit = make_visit(clinic.clerk, sneaky, chicago(TUESDAY, 9))
    token = csrf_token(signed_in.get("/visits").get_data(as_text=True))
    response = signed_in.post(
        "/visits.csv", data={"csrf_token": token, "q": "=hyper", "first_day": MONDAY.isoformat()}
    )
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0][:3] == ["visit_id", "date", "infusion_start"]
    assert rows[1][0] == str(visit.id)
    assert rows[1][1] == TUESDAY.isoformat() and rows[1][2] == "2026-12-01T09:00-06:00"
    assert rows[1][8] == "'=HYPERLINK(1), Sam" and rows[1][9] == "'+MRN1"
    assert len(rows) == 2
    row = audit_rows()[-1]
    assert row.detail["view"] == "visits.csv" and row.detail["results"] == 1
    assert "hyper" not in str(row.detail).lower()


def test_roles_and_sites(client, auth, clinic, make_site):
    other = make_site(name="Dallas")
    auth.login(clinic.clerk)
    assert client.get(f"/visits?site_id={other.id}").status_code == 404
    auth.logout()
    auth.login(clinic.admin)
    assert client.get("/visits").status_code == 403
    auth.logout()
    auth.login(clinic.nurse)
    assert client.get("/visits").status_code == 200


# ---------------------------------------------------------------- the week view


def week_grid(html: str) -> dict[str, list[str]]:
    """Return chair name -> each day's visit count (or "closed"), from the week table."""
    body = html[html.index("<tbody>") : html.index("</tbody>")]
    grid = {}
    for name, row in re.findall(
        r'<th scope="row">([^<]+?)\s*(?:<span.*?)?</th>(.*?)</tr>', body, re.S
    ):
        cells = re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
        grid[name.strip()] = [
            (re.search(r'week-count">(\d+)<', c) or re.search(r"(closed)", c)).group(1)
            for c in cells
        ]
    return grid


def test_the_week_counts_visits_and_bookable_times_per_chair_and_day(
    signed_in, clinic, week_of_visits
):
    html = signed_in.get(f"/week?date={WEDNESDAY.isoformat()}").get_data(as_text=True)
    assert "Week of Mon 30 Nov" in html
    grid = week_grid(html)
    # Chair 1: Monday one visit, Wednesday's is cancelled (not counted); Sunday is closed.
    assert grid["Chair 1"] == ["1", "0", "0", "0", "0", "0", "closed"]
    assert grid["Chair 3"] == ["0", "1", "0", "0", "0", "0", "closed"]
    assert f"/?site_id={clinic.site.id}&amp;date={TUESDAY.isoformat()}" in html
    assert "closed" in html  # Sunday
    totals = re.findall(
        r'data-day="([\d-]+)">\s*<span class="week-cell[^"]*">\s*'
        r'<span class="week-count">(\d+)</span>.*?(\d+) bookable time',
        html,
        re.S,
    )
    assert [(day, int(n)) for day, n, _ in totals][:3] == [
        (MONDAY.isoformat(), 2),
        (TUESDAY.isoformat(), 1),
        (WEDNESDAY.isoformat(), 0),
    ]


def test_bookable_times_follow_the_rules(app, clinic, make_visit):
    from clinic.services.week import load_week

    quiet = load_week(clinic.clerk, clinic.site.id, TUESDAY, NOW)
    # Tuesday 08:00-18:00, 45 + 120 min: starts 08:00..15:15 = 30 in each free chair.
    assert quiet.cells[(clinic.chairs[0].id, TUESDAY)].bookable == 30
    assert quiet.totals[TUESDAY].bookable == 30
    make_visit(clinic.clerk, clinic.patient, chicago(TUESDAY, 8), chair_id=clinic.chairs[0].id)
    busy = load_week(clinic.clerk, clinic.site.id, TUESDAY, NOW)
    # 08:00 + 45 + 120 + 15 turnover: chair 1 is next free at 11:00 (starts 11:00..15:15).
    assert busy.cells[(clinic.chairs[0].id, TUESDAY)].bookable == 18
    assert busy.cells[(clinic.chairs[1].id, TUESDAY)].bookable == 30
    assert busy.totals[TUESDAY].visits == 1
    # Monday 30 Nov: nothing before now (07:00) is bookable, the rest is; Sunday is closed.
    assert busy.totals[MONDAY + timedelta(days=6)].bookable == 0


def test_previous_and_next_week(signed_in, clinic):
    html = signed_in.get("/week").get_data(as_text=True)
    before = (MONDAY - timedelta(days=7)).isoformat()
    after = (MONDAY + timedelta(days=7)).isoformat()
    assert f"/week?site_id={clinic.site.id}&amp;date={before}" in html
    assert f"/week?site_id={clinic.site.id}&amp;date={after}" in html
    assert "Week of Mon 7 Dec" in signed_in.get(f"/week?date={after}").get_data(as_text=True)


def test_a_bad_date_shows_this_week_with_a_note(signed_in):
    html = signed_in.get("/week?date=banana").get_data(as_text=True)
    assert "That is not a date" in html and "Week of Mon 30 Nov" in html
