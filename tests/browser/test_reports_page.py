"""The reports page and the calendar feeds section, in a real browser: a practitioner picks a
site and a seeded week and reads the four reports, their charts and a CSV; a nurse makes a
calendar feed, sees its address once and revokes it (screenshots land in test-artifacts/)."""

from __future__ import annotations

import csv
import io

import pytest

from tests.browser.conftest import ARTIFACTS, sign_in
from tests.conftest import PASSWORD
from tests.reports_week import FIRST, LAST, other_site_visit, seed_week

DESKTOP = {"width": 1280, "height": 900}
TABLET = {"width": 768, "height": 1024}


@pytest.fixture
def week(make_site, make_chair, make_patient, make_user):
    """The seeded Austin week, a second site, and a practitioner who sees both."""
    seeded = seed_week(make_site, make_chair, make_patient)
    dallas = other_site_visit(make_site, make_chair, make_patient).site
    seeded.practitioner = make_user("practitioner", [dallas, seeded.site])
    return seeded


def figure(page, kind: str, label: str) -> str:
    """Return the figure a report's table shows against a label."""
    row = page.locator(f"#report-{kind} tr", has=page.locator(f"th:text-is('{label}')"))
    return row.locator("td").inner_text()


def show_week(page, week, first=FIRST, last=LAST) -> None:
    """Pick Austin and the days in the form, and show the reports."""
    page.select_option("#site_id", label=week.site.name)
    page.fill("#from", first.isoformat())
    page.fill("#to", last.isoformat())
    page.click("#report-range button[type=submit]")


def test_a_practitioner_reads_a_weeks_reports(page, week, screenshot):
    page.set_viewport_size(DESKTOP)
    sign_in(page, week.practitioner, PASSWORD)
    page.click("nav a:has-text('Reports')")
    page.wait_for_selector("#report-range")
    show_week(page, week)
    page.wait_for_url(f"**/reports?site_id={week.site.id}&from=2026-10-31&to=2026-11-06")
    assert page.locator(".desk-eyebrow").text_content() == week.site.name
    # Utilisation: one row a day; the DST Sunday has 2 chairs x 25 hours, one 165-minute visit;
    # on Monday the chairs were used 250 + 165 minutes.
    rows = page.locator("#report-utilisation tbody tr")
    assert rows.count() == 7
    assert rows.nth(1).locator("td").all_inner_texts() == [
        "Sun 1 Nov 2026",
        "3000",
        "165",
        "165",
        "6",
    ]
    assert rows.nth(2).locator("td").all_inner_texts() == [
        "Mon 2 Nov 2026",
        "1200",
        "330",
        "415",
        "35",
    ]
    assert figure(page, "attendance", "Visits planned") == "6"
    assert figure(page, "attendance", "No-shows") == "1"
    assert figure(page, "attendance", "Late cancellations") == "1"
    # Infusions of 45, 50 and 45 minutes: the 90th percentile is 45 + 0.8 x 5.
    assert figure(page, "cycle-times", "Infusion, actual (p90 min)") == "49.0"
    assert figure(page, "cycle-times", "Overrun (total min)") == "25"
    assert figure(page, "alerts", "Alerts fired") == "3"
    assert figure(page, "alerts", "Due → acknowledged (median s)") == "75.0"
    # Every report has a chart the browser lays out, named for a screen reader.
    charts = page.locator("svg.report-chart")
    assert charts.count() == 4
    for n in range(4):
        chart = charts.nth(n)
        assert chart.is_visible()
        box = chart.bounding_box()
        assert box and box["width"] > 200 and box["height"] > 40
        title = chart.locator(":scope > title").text_content()
        assert title and chart.get_attribute("aria-label") == title
    assert page.get_by_role("img", name="Visits by outcome").is_visible()
    # Every figure sits right-aligned in its cell.
    for cell in page.locator("#report-utilisation tbody td:not(:first-child)").all()[:4]:
        assert cell.evaluate("td => getComputedStyle(td).textAlign") == "right"
    screenshot("reports-desktop")
    page.set_viewport_size(TABLET)
    screenshot("reports-tablet")
    # A table no wider than the tablet's screen: nothing scrolls sideways.
    assert page.evaluate("document.documentElement.scrollWidth") <= TABLET["width"]


def test_the_csv_link_downloads_the_report(page, week):
    sign_in(page, week.practitioner, PASSWORD)
    page.goto(f"/reports?site_id={week.site.id}&from={FIRST}&to={LAST}")
    with page.expect_download() as download:
        page.click("#report-attendance a:has-text('CSV')")
    path = download.value.path()
    assert download.value.suggested_filename.startswith(
        f"report-attendance-site{week.site.id}-2026-10-31-2026-11-06"
    )
    text = path.read_text(encoding="utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["visits", "completed", "no_shows", "cancellations", "late_cancellations"]
    assert rows[1] == ["6", "3", "1", "2", "1"]


def test_a_range_that_ends_before_it_starts_is_explained(refusing_page, week):
    page = refusing_page  # the page that explains the range is answered 422
    page.set_viewport_size(DESKTOP)
    sign_in(page, week.practitioner, PASSWORD)
    page.goto("/reports")
    show_week(page, week, first=LAST, last=FIRST)
    page.wait_for_selector("#report-invalid")
    assert page.locator("#to.is-invalid").is_visible()
    assert "Must be on or after the first day." in page.inner_text("#report-range")
    assert page.locator("svg.report-chart").count() == 0
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "reports-bad-range.png"), full_page=True)


def test_a_nurse_makes_a_calendar_feed_copies_it_and_revokes_it(page, clinic, screenshot):
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.set_viewport_size(DESKTOP)
    sign_in(page, clinic.nurse, PASSWORD)
    page.goto("/account/security")
    feeds = page.locator("[data-calendar-feeds]")
    assert "No calendar feeds." in feeds.inner_text()
    feeds.locator("button:has-text('Make a feed')").click()
    address = page.locator("[data-new-feed]")
    address.wait_for()
    url = address.inner_text()
    assert url.startswith("http") and "/calendar/" in url
    page.click("button[data-copy='#new-feed-url']")
    page.wait_for_selector("button[data-copy]:has-text('Copied')")
    assert page.evaluate("navigator.clipboard.readText()") == url
    assert feeds.locator("tr[data-feed-id]", has_text="My shifts").is_visible()
    page.mouse.move(0, 0)  # no button left hovered in the pictures
    screenshot("calendar-feeds-desktop")
    page.set_viewport_size(TABLET)
    screenshot("calendar-feeds-tablet")
    # Shown once: the page again lists the feed but not its address.
    page.goto("/account/security")
    assert page.locator("[data-new-feed]").count() == 0
    assert url not in page.content()
    page.locator("[data-calendar-feeds] button:has-text('Revoke')").click()
    page.wait_for_selector("[data-calendar-feeds] .badge:has-text('Revoked')")
    assert page.locator("[data-calendar-feeds] button:has-text('Revoke')").count() == 0
