"""Outcomes: the PHQ-9 and GAD-7 chart on the patient's page, the PHQ-9 course on the
recovery card, and the site's page of course outcomes (roles, sites, queries)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import event

from clinic.extensions import db
from clinic.models import Measure, Visit
from tests.conftest import NOW
from tests.services.visit_rows import put_visit
from tests.web import test_nursing

ward = test_nursing.ward
as_nurse = test_nursing.as_nurse

MINUS = "\u2212"
WEEK = timedelta(days=7)


def score(visit: Visit, total: int, at=NOW, instrument: str = "phq9") -> Measure:
    """Write a PHQ-9 (or GAD-7) of `total` on a visit straight to the database."""
    items = 9 if instrument == "phq9" else 7
    answers = [min(3, max(0, total - 3 * i)) for i in range(items)]
    assert sum(answers) == total
    measure = Measure(
        visit_id=visit.id,
        patient_id=visit.patient_id,
        instrument=instrument,
        answers=answers,
        score=total,
        band="x",
        flags=[],
        at=at,
        via_kiosk=False,
        created_at=at,
    )
    db.session.add(measure)
    db.session.commit()
    return measure


def course(ward, scores: list[int], status: str = "recovering", patient=None):
    """Seat a patient today and give them PHQ-9 scores a week apart, the last one today."""
    visit = ward.seat(status, patient=patient) if patient else ward.seat(status)
    for weeks_ago, total in zip(range(len(scores) - 1, -1, -1), scores, strict=True):
        score(visit, total, at=NOW - weeks_ago * WEEK)
    return visit


def card_of(client, visit_id: int) -> str:
    html = client.get("/recovery").get_data(as_text=True)
    start = html.rindex("<article", 0, html.index(f'id="visit-card-{visit_id}"'))
    return html[start : html.index("</article>", start)]


def chart_of(html: str, name: str = "phq9") -> str:
    start = html.index(f'id="outcome-chart-{name}"')
    return html[start : html.index("</svg>", start)]


# ---------------------------------------------------------------- the patient's page


def test_the_patient_page_charts_the_phq9_with_baseline_response_and_remission(
    as_nurse, ward, frozen
):
    visit = course(ward, [22, 12, 9, 4])
    html = as_nurse.get(f"/patients/{visit.patient_id}").get_data(as_text=True)
    svg = chart_of(html)
    assert 'role="img"' in html and '<title id="outcome-phq9-title">PHQ-9 over the course' in svg
    assert '<desc id="outcome-phq9-desc">4 scores since' in svg
    # The five severity bands shaded, the baseline, the response and remission thresholds.
    assert len(re.findall(r'<rect class="outcome-band ', svg)) == 5
    assert "Baseline 22" in svg and "Response \u2264 11" in svg and "Remission &lt; 5" in svg
    assert svg.count("is-baseline") == 1
    assert svg.count("is-response") == 1  # 9: half the baseline or less, not under 5
    assert svg.count("is-remission") == 1  # 4
    assert svg.count("is-plain") == 1  # 12
    # The change in words beside it, and the outcome.
    assert "82 % below the baseline of 22: remission." in html
    assert f"{MINUS}82 %" in html and "data-remission" in html
    # The text equivalent: a table of the scores.
    table = html[html.index("The PHQ-9 scores as a table") :]
    assert table.index("22 <span") < table.index("<td>12</td>") < table.index("<td>4</td>")
    assert "No GAD-7 recorded yet" in html


def test_a_response_without_remission_and_no_response_yet(as_nurse, ward, frozen):
    responder = course(ward, [22, 11])
    html = as_nurse.get(f"/patients/{responder.patient_id}").get_data(as_text=True)
    assert "50 % below the baseline of 22: a response." in html and "data-response" in html
    assert f"{MINUS}50 %" in html and "data-remission" not in html
    slow = course(ward, [20, 16], status="checked_in")
    html = as_nurse.get(f"/patients/{slow.patient_id}").get_data(as_text=True)
    assert "20 % below the baseline of 20: no response yet." in html
    assert "data-no-response" in html and "data-response" not in html


def test_the_gad7_is_charted_too(as_nurse, ward, frozen):
    visit = ward.seat("recovering")
    score(visit, 15, at=NOW - WEEK, instrument="gad7")
    score(visit, 6, at=NOW, instrument="gad7")
    html = as_nurse.get(f"/patients/{visit.patient_id}").get_data(as_text=True)
    svg = chart_of(html, "gad7")
    assert len(re.findall(r'<rect class="outcome-band ', svg)) == 4
    assert "Baseline 15" in svg and "60 % below the baseline of 15: a response." in html
    assert "No PHQ-9 recorded yet" in html


@pytest.mark.parametrize(
    ("role", "sees"), [("clerk", False), ("practitioner", True), ("admin", True)]
)
def test_only_clinical_staff_and_administrators_see_the_outcomes(
    client, auth, ward, frozen, role, sees
):
    visit = course(ward, [22, 12])
    auth.login(getattr(ward, role))
    html = client.get(f"/patients/{visit.patient_id}").get_data(as_text=True)
    assert ('id="outcome-chart-phq9"' in html) is sees
    assert ("Baseline 22" in html) is sees


# ---------------------------------------------------------------- the recovery card


def test_the_card_shows_the_phq9_course(as_nurse, ward, frozen):
    visit = course(ward, [22, 12])
    single = course(ward, [18], status="checked_in")
    none = ward.seat("infusing")
    assert f"PHQ-9 12 (baseline 22, {MINUS}45 %)" in card_of(as_nurse, visit.id)
    assert "PHQ-9 18 (baseline)" in card_of(as_nurse, single.id)
    assert "data-phq9" not in card_of(as_nurse, none.id)


def test_the_front_desk_and_the_wall_do_not_see_the_score(client, auth, ward, frozen):
    visit = course(ward, [22, 12])
    auth.login(ward.clerk)
    assert "data-phq9" not in card_of(client, visit.id)
    auth.logout()
    auth.login(ward.nurse)
    wall = client.get("/recovery?wall=1").get_data(as_text=True)
    assert "data-phq9" not in wall and "baseline 22" not in wall


@pytest.mark.parametrize("first", ["admin", "clerk"])
def test_a_kept_board_is_not_shared_between_who_sees_the_score_and_who_does_not(
    client, auth, ward, frozen, first
):
    """The poll cache keys on every permission the block shows: an administrator's answer
    (with the PHQ-9 course) never reaches the front desk in the same minute and version."""
    course(ward, [22, 12])
    feed = f"/recovery/feed?site_id={ward.site.id}"
    seen = {}
    for role in (first, "admin" if first == "clerk" else "clerk"):
        auth.login(getattr(ward, role))
        seen[role] = client.get(feed).get_data(as_text=True)
        auth.logout()
    assert "data-phq9" in seen["admin"] and f"baseline 22, {MINUS}45 %" in seen["admin"]
    assert "data-phq9" not in seen["clerk"] and "baseline 22" not in seen["clerk"]


def test_the_board_reads_screening_in_a_fixed_number_of_queries(as_nurse, ward, frozen):
    def seat_many(count: int) -> None:
        for i in range(count):
            visit = course(ward, [20, 12], status=("checked_in", "infusing", "recovering")[i % 3])
            score(visit, 0, at=NOW, instrument="cssrs_screen")

    def statements(cards: int) -> int:
        seen: list[str] = []

        def count(conn, cursor, statement, *args):
            seen.append(statement)

        db.session.expire_all()
        event.listen(db.engine, "before_cursor_execute", count)
        try:
            response = as_nurse.get(f"/recovery/feed?site_id={ward.site.id}")
        finally:
            event.remove(db.engine, "before_cursor_execute", count)
        assert response.status_code == 200
        assert response.get_data(as_text=True).count("data-phq9") == cards
        return len(seen)

    seat_many(2)
    few = statements(2)
    seat_many(4)
    assert statements(6) == few


# ---------------------------------------------------------------- the site's page


def test_the_site_page_counts_induction_responders_and_remitters(
    client, auth, ward, frozen, make_site, make_chair, make_patient
):
    early = course(ward, [22, 15])  # 1 infusion so far: in induction, no response
    responder = course(ward, [20, 10])
    remitter = course(ward, [18, 9, 3])
    for i in range(6):  # the remitter's induction is over: six infusions started
        put_visit(ward.site, ward.chairs[5], remitter.patient, "discharged", NOW - (i + 2) * WEEK)
    dallas = make_site(name="Dallas")
    elsewhere = make_patient(dallas, given_name="Dana", family_name="Elsewhere")
    other = put_visit(dallas, make_chair(dallas), elsewhere, "recovering", NOW)
    score(other, 25)
    auth.login(ward.practitioner)
    response = client.get("/outcomes")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    counts = dict(re.findall(r'data-count="(\w+)">(\d+)<', html))
    assert counts == {"patients": "3", "induction": "2", "responders": "2", "remitters": "1"}
    for visit in (early, responder, remitter):
        assert f'href="/patients/{visit.patient_id}#outcomes"' in html
    assert f"{MINUS}50 %" in html and f"{MINUS}83 %" in html and f"{MINUS}32 %" in html
    assert "Elsewhere" not in html and 'id="site_id"' not in html  # one site: no picker
    assert client.get(f"/outcomes?site_id={dallas.id}").status_code == 404
    auth.logout()
    auth.login(ward.admin)  # every site: a picker, and Dallas's own list
    html = client.get(f"/outcomes?site_id={dallas.id}").get_data(as_text=True)
    assert "Elsewhere" in html and "Byrne" not in html and "Quinn" not in html
    assert f'<option value="{dallas.id}" selected>Dallas</option>' in html


def test_the_site_page_is_for_clinical_staff_and_administrators(client, auth, ward, frozen):
    course(ward, [22, 12])
    for user, status in (
        (ward.clerk, 403),
        (ward.nurse, 200),
        (ward.practitioner, 200),
        (ward.admin, 200),
    ):
        auth.login(user)
        page = client.get(f"/outcomes?site_id={ward.site.id}")
        assert page.status_code == status, user.role
        nav = client.get("/patients").get_data(as_text=True)
        assert ('href="/outcomes"' in nav) is (status == 200)
        auth.logout()
    assert client.get("/outcomes").status_code == 302  # signed out: to the sign-in page


def test_the_site_page_says_when_there_is_nothing_yet(client, auth, ward, frozen):
    auth.login(ward.nurse)
    html = client.get("/outcomes").get_data(as_text=True)
    assert "No PHQ-9 recorded at Austin yet." in html
