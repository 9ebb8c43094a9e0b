"""Screening from the recovery board: the nurse's dialog (C-SSRS screener, PHQ-9, GAD-7), the
card's "Screening due" and red "Suicide risk — review" flags, the start refused without a
screen, and the practitioner's review."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select

from clinic.extensions import db
from clinic.models import Measure, ScreeningReview
from clinic.services import display_links
from tests.conftest import NOW, add_negative_screen, csrf_token
from tests.web import test_nursing
from tests.web.test_nursing import HTMX, VITALS, errors_of, message_of, post, saved, token_of

# The nursing pages' fixtures: a ward of six chairs, and its nurse signed in.
ward = test_nursing.ward
as_nurse = test_nursing.as_nurse


def card_of(client, visit_id: int) -> str:
    html = client.get("/recovery").get_data(as_text=True)
    start = html.rindex("<article", 0, html.index(f'id="visit-card-{visit_id}"'))
    return html[start : html.index("</article>", start)]


def cssrs(*yes: int) -> dict:
    return {"instrument": "cssrs_screen"} | {
        f"cssrs_screen-{n}": "1" if n in yes else "0" for n in range(1, 7)
    }


def test_the_dialog_offers_the_sites_required_screener_first(as_nurse, ward, frozen):
    visit = ward.seat("checked_in", start=NOW)
    html = as_nurse.get(f"/recovery/visits/{visit.id}/screening", headers=HTMX).get_data(
        as_text=True
    )
    assert html.index("screening-instrument-cssrs_screen") < html.index("screening-instrument-phq9")
    assert 'value="cssrs_screen" autocomplete="off" checked' in html
    assert "Have you actually had any thoughts about killing yourself?" in html
    assert "Little interest or pleasure in doing things" in html  # PHQ-9, hidden until chosen
    assert 'name="csrf_token"' in html


def test_a_negative_screener_clears_the_due_flag_and_lets_the_start_go(as_nurse, ward, frozen):
    visit = ward.seat("checked_in", start=NOW)
    assert "Screening due" in card_of(as_nurse, visit.id)
    assert post(as_nurse, f"/recovery/visits/{visit.id}/vitals", VITALS).status_code == 200
    refused = post(as_nurse, f"/recovery/visits/{visit.id}/start-infusion")
    assert refused.status_code == 409
    assert "screen" in message_of(refused).lower()

    response = post(as_nurse, f"/recovery/visits/{visit.id}/screening", cssrs())
    assert response.status_code == 200
    assert "0 (Negative)" in saved(response)
    measure = db.session.scalars(select(Measure).where(Measure.visit_id == visit.id)).one()
    assert measure.answers == [False] * 6 and measure.recorded_by_id == ward.nurse.id
    assert "Screening due" not in card_of(as_nurse, visit.id)

    started = post(as_nurse, f"/recovery/visits/{visit.id}/start-infusion")
    assert started.status_code == 200


def test_a_phq9_is_scored_and_banded(as_nurse, ward, frozen):
    visit = ward.seat("checked_in", start=NOW)
    answers = {f"phq9-{n}": "2" for n in range(1, 9)} | {"phq9-9": "0"}
    response = post(
        as_nurse, f"/recovery/visits/{visit.id}/screening", {"instrument": "phq9", **answers}
    )
    assert response.status_code == 200
    assert "PHQ-9: 16 (Moderately severe)" in saved(response)
    assert "Screening due" in card_of(as_nurse, visit.id)  # the site asks for the screener


def test_missing_answers_and_unknown_instruments_are_refused(as_nurse, ward, frozen):
    visit = ward.seat("checked_in", start=NOW)
    partial = cssrs()
    del partial["cssrs_screen-4"]
    response = post(as_nurse, f"/recovery/visits/{visit.id}/screening", partial)
    assert response.status_code == 422
    assert "missing: 4" in message_of(response)
    assert 'id="cssrs_screen-1-0" value="0" autocomplete="off" checked' in (
        response.get_data(as_text=True)
    )  # the answers given are kept
    bad = post(as_nurse, f"/recovery/visits/{visit.id}/screening", {"instrument": "bdi"})
    assert bad.status_code == 422 and errors_of(bad)["instrument"] == ["Choose an instrument."]
    none = post(as_nurse, f"/recovery/visits/{visit.id}/screening", {})
    assert none.status_code == 422 and errors_of(none)["instrument"]
    phq9 = {"instrument": "phq9", **{f"phq9-{n}": "0" for n in range(1, 10)}, "phq9-9": "²"}
    odd = post(as_nurse, f"/recovery/visits/{visit.id}/screening", phq9)
    assert odd.status_code == 422 and "missing: 9" in message_of(odd)  # not a digit to int()
    assert db.session.scalars(select(Measure)).first() is None


def test_the_dialog_requires_csrf_and_a_clinical_role(client, auth, ward, frozen):
    visit = ward.seat("checked_in", start=NOW)
    auth.login(ward.nurse)
    forged = client.post(f"/recovery/visits/{visit.id}/screening", data=cssrs(), headers=HTMX)
    assert forged.status_code == 400 and "reload" in message_of(forged)
    auth.logout()
    auth.login(ward.clerk)
    token = token_of(client)
    denied = post(client, f"/recovery/visits/{visit.id}/screening", cssrs(), token)
    assert denied.status_code == 403
    assert db.session.scalars(select(Measure)).first() is None


def test_a_positive_screen_turns_the_card_red_until_a_practitioner_reviews(
    client, auth, ward, frozen
):
    visit = ward.seat("checked_in", start=NOW)
    auth.login(ward.nurse)
    response = post(client, f"/recovery/visits/{visit.id}/screening", cssrs(1, 3))
    assert response.status_code == 200
    assert "a practitioner must review" in saved(response)
    card = card_of(client, visit.id)
    assert "is-screen-risk" in card and "Suicide risk — review" in card
    assert "act-review-" not in card  # a nurse may not review
    assert post(client, f"/recovery/visits/{visit.id}/vitals", VITALS).status_code == 200
    refused = post(client, f"/recovery/visits/{visit.id}/start-infusion")
    assert refused.status_code == 409 and "review" in message_of(refused).lower()
    nurse_review = post(
        client,
        f"/recovery/visits/{visit.id}/screening-review",
        {"decision": "proceed", "note": "x"},
    )
    assert nurse_review.status_code == 403
    auth.logout()

    auth.login(ward.practitioner)
    assert f"act-review-{visit.id}" in card_of(client, visit.id)
    empty = post(client, f"/recovery/visits/{visit.id}/screening-review", {"decision": "proceed"})
    assert empty.status_code == 422 and errors_of(empty)["note"]
    done = post(
        client,
        f"/recovery/visits/{visit.id}/screening-review",
        {"decision": "proceed", "note": "Passive ideation, safety plan in place; seen by Dr A."},
    )
    assert done.status_code == 200 and "proceed" in saved(done)
    review = db.session.scalars(select(ScreeningReview)).one()
    assert review.practitioner_id == ward.practitioner.id
    card = card_of(client, visit.id)
    assert "is-screen-risk" not in card and "Suicide risk" not in card
    assert post(client, f"/recovery/visits/{visit.id}/start-infusion").status_code == 200


def test_the_visit_page_makes_a_kiosk_link_that_opens_the_questions(client, auth, ward, frozen):
    visit = ward.seat("checked_in", start=NOW)
    auth.login(ward.nurse)
    page = client.get(f"/visits/{visit.id}").get_data(as_text=True)
    assert "data-kiosk-link" in page and "Record screening" in page
    made = client.post(f"/visits/{visit.id}/kiosk-link", data={"csrf_token": token_of(client)})
    assert made.status_code == 200 and made.headers["Cache-Control"] == "no-store"
    url = re.search(r"data-kiosk-url>([^<]+)<", made.get_data(as_text=True)).group(1)
    assert "/k/" in url
    auth.logout()
    kiosk = client.get(url.split("localhost", 1)[-1])
    assert kiosk.status_code == 200
    assert "wished you were dead" in kiosk.get_data(as_text=True)

    assert client.post(f"/visits/{visit.id}/kiosk-link").status_code == 400  # no CSRF token
    auth.login(ward.clerk)
    denied = client.post(f"/visits/{visit.id}/kiosk-link", data={"csrf_token": token_of(client)})
    assert denied.status_code == 403


def test_a_deferred_screen_says_so_on_the_card_and_keeps_the_start_refused(
    client, auth, ward, frozen
):
    visit = ward.seat("checked_in", start=NOW)
    auth.login(ward.practitioner)
    assert post(client, f"/recovery/visits/{visit.id}/screening", cssrs(4)).status_code == 200
    deferred = post(
        client,
        f"/recovery/visits/{visit.id}/screening-review",
        {"decision": "defer", "note": "Active ideation with intent; referred to crisis team."},
    )
    assert deferred.status_code == 200
    card = card_of(client, visit.id)
    assert "Deferred after screening" in card and "is-screen-risk" not in card
    assert post(client, f"/recovery/visits/{visit.id}/vitals", VITALS).status_code == 200
    refused = post(client, f"/recovery/visits/{visit.id}/start-infusion")
    assert refused.status_code == 409 and "defer" in message_of(refused).lower()


def test_screening_due_shows_only_before_the_infusion_starts(as_nurse, ward, frozen):
    waiting = ward.seat("checked_in", start=NOW)
    infusing = ward.seat("infusing", chair=1)
    recovering = ward.seat("recovering", chair=2)
    assert "Screening due" in card_of(as_nurse, waiting.id)
    for visit in (infusing, recovering):  # the gate is at the start: nothing is due after it
        card = card_of(as_nurse, visit.id)
        assert "data-screen" not in card and "Screening due" not in card


def test_a_positive_screen_after_the_start_turns_the_card_red(as_nurse, ward, frozen):
    infusing = ward.seat("infusing", chair=1)
    recovering = ward.seat("recovering", chair=2)
    for visit in (infusing, recovering):
        add_negative_screen(visit.id, NOW - timedelta(hours=2))
        assert post(as_nurse, f"/recovery/visits/{visit.id}/screening", cssrs(3)).status_code == 200
        card = card_of(as_nurse, visit.id)
        assert "is-screen-risk" in card and "Suicide risk — review" in card


def test_the_wall_shows_no_screening_while_the_nurses_board_flags_it(client, auth, ward, frozen):
    risky = ward.seat("checked_in", start=NOW)
    due = ward.seat("checked_in", chair=1, start=NOW)
    auth.login(ward.nurse)
    assert post(client, f"/recovery/visits/{risky.id}/screening", cssrs(1, 3)).status_code == 200
    phq9 = {"instrument": "phq9"} | {f"phq9-{n}": "3" for n in range(1, 10)}
    assert post(client, f"/recovery/visits/{risky.id}/screening", phq9).status_code == 200
    card = card_of(client, risky.id)
    assert "is-screen-risk" in card and "Suicide risk — review" in card and "data-phq9" in card
    assert "Screening due" in card_of(client, due.id)
    signed_in_wall = client.get("/recovery?wall=1").get_data(as_text=True)
    auth.logout()

    _link, token = display_links.create(ward.admin, ward.site.id, "Recovery wall", NOW)
    page = client.get(f"/display/{token}").get_data(as_text=True)
    client.post("/display/claim", data={"csrf_token": csrf_token(page), "token": token})
    for html in (
        signed_in_wall,
        client.get("/display/").get_data(as_text=True),
        client.get("/display/feed").get_data(as_text=True),
    ):
        assert f'id="visit-card-{risky.id}"' in html and risky.patient.initials in html
        # Drop the page's enumeration labels (the same on every page, no patient's data).
        text = re.sub(r'<div id="choices" hidden data-choices=[^>]*></div>', "", html).lower()
        for word in ("suicid", "risk", "screening", "deferred", "data-screen", "phq"):
            assert word not in text, word
