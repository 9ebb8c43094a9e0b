"""The reports page: tables, charts and CSV links for admins and practitioners only."""

from __future__ import annotations

import csv
import io

import pytest

from tests.reports_week import FIRST, LAST, seed_week


@pytest.fixture
def week(make_site, make_chair, make_patient, make_user, auth):
    """The seeded week, with its practitioner signed in."""
    seeded = seed_week(make_site, make_chair, make_patient)
    seeded.practitioner = make_user("practitioner", [seeded.site])
    auth.login(seeded.practitioner)
    seeded.query = {"site_id": seeded.site.id, "from": FIRST.isoformat(), "to": LAST.isoformat()}
    return seeded


def test_the_page_shows_each_report_with_a_chart_and_a_csv_link(client, week):
    page = client.get("/reports", query_string=week.query)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'href="/reports"' in html  # the nav link
    for kind in ("utilisation", "attendance", "cycle-times", "alerts"):
        assert f'id="report-{kind}"' in html
        assert f"/reports/{kind}.csv?site_id={week.site.id}" in html
    assert html.count('<svg class="report-chart') == 4
    # The DST Sunday's row: 3000 open chair-minutes, 165 booked and used (6 %).
    sunday = (
        '<td><time datetime="2026-11-01">Sun 1 Nov 2026</time></td><td class="text-end">3000</td>'
    )
    assert sunday in html
    assert 'Late cancellations</th><td class="text-end">1</td>' in html
    assert 'Infusion, actual (p90 min)</th><td class="text-end">49.0</td>' in html


def test_a_first_visit_shows_the_last_four_weeks(client, week):
    page = client.get("/reports")
    assert page.status_code == 200
    assert 'value="2026-11-03"' in page.get_data(as_text=True)  # 28 days to 30 Nov


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        ("2026-11-06", "2026-10-31", "Must be on or after the first day."),
        ("2025-01-01", "2026-11-06", "A report covers at most 366 days."),
        ("yesterday", "2026-11-06", "Not a valid date value."),
        ("", "2026-11-06", "Give the first day."),
        ("9999-12-30", "9999-12-31", "Must be between 2000-01-01 and 2199-12-31."),
    ],
)
def test_bad_dates_are_explained_on_the_page(client, week, start, end, message):
    query = week.query | {"from": start, "to": end}
    page = client.get("/reports", query_string=query)
    assert page.status_code == 422
    html = page.get_data(as_text=True)
    assert message in html
    assert 'id="report-invalid"' in html
    assert client.get("/reports/attendance.csv", query_string=query).status_code == 422


def test_the_csv_export_matches_the_report(client, week):
    answer = client.get("/reports/attendance.csv", query_string=week.query)
    assert answer.status_code == 200
    assert answer.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(answer.get_data(as_text=True))))
    assert rows[0]["no_shows"] == "1" and rows[0]["late_cancellations"] == "1"
    assert client.get("/reports/payroll.csv", query_string=week.query).status_code == 404


def test_nurses_and_the_desk_are_refused_and_see_no_link(client, week, make_user, auth):
    for role in ("nurse", "front_desk"):
        auth.logout()
        auth.login(make_user(role, [week.site]))
        assert client.get("/reports", query_string=week.query).status_code == 403
        assert client.get("/reports/alerts.csv", query_string=week.query).status_code == 403
        assert 'href="/reports"' not in client.get("/").get_data(as_text=True)


def test_another_sites_reports_are_not_found(client, week, make_site):
    other = make_site(name="Houston")
    query = week.query | {"site_id": other.id}
    assert client.get("/reports", query_string=query).status_code == 404
    assert client.get("/reports/utilisation.csv", query_string=query).status_code == 404


def test_a_range_without_visits_says_so_instead_of_drawing_empty_charts(client, week):
    page = client.get(
        "/reports", query_string=week.query | {"from": "2026-10-01", "to": "2026-10-07"}
    )
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert '<svg class="report-chart' not in html
    assert "No chair time was booked or used in these days." in html
    assert "No visits were planned in these days." in html
    assert "No visit was completed in these days." in html
    assert "No discharge alert fired in these days." in html
    thursday = '<time datetime="2026-10-01">Thu 1 Oct 2026</time></td><td class="text-end">1200<'
    assert thursday in html  # the figures still show
