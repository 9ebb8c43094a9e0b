"""Screening before the infusion: measures, the gate at start_infusion, the practitioner's
review, the positive-screen alert, outcomes and kiosk links (API.md, "Screening and outcomes")."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select

from clinic.domain.instruments import CSSRS_SCREEN, PHQ9
from clinic.extensions import db
from clinic.models import AuditEvent, Delivery, Measure, Notification, PatientMessage
from clinic.notify import outbox
from clinic.types import utcnow
from tests.api.conftest import assert_error, iso
from tests.conftest import MONDAY, add_baseline, chicago

CHECK_IN = chicago(MONDAY, 8)
START = chicago(MONDAY, 8, 20)
NEGATIVE = [False] * 6
POSITIVE = [True, True, True, False, False, False]  # item 3: thinking about how


@pytest.fixture
def checked_in(clinic, make_visit, api_as, frozen):
    """A visit for Monday 08:00, checked in, with a baseline reading but no screen; 08:25."""
    visit = make_visit(clinic.clerk, clinic.new_patient(), chicago(MONDAY, 8))
    frozen.move_to(chicago(MONDAY, 8, 25))
    body = {"type": "check_in", "at": iso(CHECK_IN)}
    assert api_as(clinic.clerk).post(f"/visits/{visit.id}/events", json=body).status_code == 200
    add_baseline(visit.id, START - timedelta(minutes=5), screened=False)
    return visit.id


def measure(api_as, user, visit_id, instrument, answers, **extra):
    body = {"instrument": instrument, "answers": answers} | extra
    return api_as(user).post(f"/visits/{visit_id}/measures", json=body)


def start(api_as, user, visit_id, at=START):
    return api_as(user).post(
        f"/visits/{visit_id}/events", json={"type": "start_infusion", "at": iso(at)}
    )


def test_a_measure_is_scored_banded_and_flagged(api_as, clinic, checked_in):
    response = measure(api_as, clinic.nurse, checked_in, "phq9", [2, 2, 2, 2, 2, 2, 2, 2, 1])
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert set(body) >= {"id", "instrument", "score", "band", "flags"}
    assert "answers" not in body
    assert (body["instrument"], body["score"], body["band"]) == ("phq9", 17, "moderately_severe")
    assert body["flags"] == ["suicide_risk"]
    gad = measure(api_as, clinic.practitioner, checked_in, "gad7", [0] * 7).get_json()
    assert (gad["score"], gad["band"], gad["flags"]) == (0, "minimal", [])
    screen = measure(api_as, clinic.nurse, checked_in, "cssrs_screen", [True] + [False] * 5)
    assert screen.get_json()["score"] == 1 and screen.get_json()["flags"] == []


@pytest.mark.parametrize(
    ("instrument", "answers", "field"),
    [
        ("phq9", [0] * 8, "answers"),
        ("phq9", [0] * 8 + [4], "answers"),
        ("phq9", [0] * 8 + [True], "answers"),
        ("gad7", [0] * 9, "answers"),
        ("cssrs_screen", [0] * 6, "answers"),
        ("bdi", [0] * 21, "instrument"),
        ("phq9", None, "answers"),
    ],
)
def test_bad_answers_are_422(api_as, clinic, checked_in, instrument, answers, field):
    body = assert_error(
        measure(api_as, clinic.nurse, checked_in, instrument, answers), 422, "invalid"
    )
    assert field in body["fields"]


def test_front_desk_may_not_record_a_measure(api_as, clinic, checked_in):
    assert measure(api_as, clinic.clerk, checked_in, "cssrs_screen", NEGATIVE).status_code == 403


def test_start_without_the_screen_is_refused_then_allowed(api_as, clinic, checked_in):
    body = assert_error(start(api_as, clinic.nurse, checked_in), 409, "conflict")
    assert [r["rule"] for r in body["reasons"]] == ["screening_missing"]
    assert measure(api_as, clinic.nurse, checked_in, "cssrs_screen", NEGATIVE).status_code == 201
    assert start(api_as, clinic.nurse, checked_in).status_code == 200


def test_yesterdays_screen_does_not_count(api_as, clinic, checked_in):
    old = iso(START - timedelta(hours=11))  # Sunday evening, Austin time
    assert (
        measure(api_as, clinic.nurse, checked_in, "cssrs_screen", NEGATIVE, at=old).status_code
        == 201
    )
    body = assert_error(start(api_as, clinic.nurse, checked_in), 409, "conflict")
    assert [r["rule"] for r in body["reasons"]] == ["screening_missing"]


def test_positive_screen_needs_a_practitioners_review(api_as, clinic, checked_in):
    assert measure(api_as, clinic.nurse, checked_in, "cssrs_screen", POSITIVE).status_code == 201
    body = assert_error(start(api_as, clinic.practitioner, checked_in), 409, "conflict")
    assert [r["rule"] for r in body["reasons"]] == ["screening_review_required"]
    review = {"decision": "proceed", "note": "Passive ideation, safety plan reviewed."}
    nurse = api_as(clinic.nurse).post(f"/visits/{checked_in}/screening-review", json=review)
    assert nurse.status_code == 403
    done = api_as(clinic.practitioner).post(f"/visits/{checked_in}/screening-review", json=review)
    assert done.status_code == 201, done.get_json()
    assert done.get_json()["decision"] == "proceed"
    assert start(api_as, clinic.nurse, checked_in).status_code == 200


def test_phq9_item_9_alone_also_needs_the_review(api_as, clinic, checked_in):
    assert measure(api_as, clinic.nurse, checked_in, "cssrs_screen", NEGATIVE).status_code == 201
    assert measure(api_as, clinic.nurse, checked_in, "phq9", [0] * 8 + [1]).status_code == 201
    body = assert_error(start(api_as, clinic.nurse, checked_in), 409, "conflict")
    assert [r["rule"] for r in body["reasons"]] == ["screening_review_required"]


def test_after_defer_the_visit_cannot_start(api_as, clinic, checked_in):
    measure(api_as, clinic.nurse, checked_in, "cssrs_screen", POSITIVE)
    review = {"decision": "defer", "note": "Active ideation: referred today."}
    assert (
        api_as(clinic.practitioner).post(f"/visits/{checked_in}/screening-review", json=review)
    ).status_code == 201
    assert start(api_as, clinic.nurse, checked_in).status_code == 409


@pytest.mark.parametrize(
    "review", [{"decision": "maybe", "note": "x"}, {"decision": "proceed", "note": ""}, {}]
)
def test_a_bad_review_is_422(api_as, clinic, checked_in, review):
    response = api_as(clinic.practitioner).post(
        f"/visits/{checked_in}/screening-review", json=review
    )
    assert_error(response, 422, "invalid")


def test_a_positive_screen_alerts_the_practitioners_once_without_the_answers(
    api_as, clinic, checked_in, app, monkeypatch
):
    monkeypatch.setitem(app.config, "SMTP_HOST", "smtp.test")
    measure(api_as, clinic.nurse, checked_in, "cssrs_screen", POSITIVE)
    measure(api_as, clinic.nurse, checked_in, "phq9", [3] * 9)
    alerts = db.session.scalars(
        select(Notification).where(Notification.kind == "screen_positive")
    ).all()
    assert len(alerts) == 1 and alerts[0].visit_id == checked_in
    emails = [d.target for d in db.session.scalars(select(Delivery)) if d.channel == "email"]
    assert emails == [clinic.practitioner.email]
    # No audit row, notification or message holds the answers.
    rows = db.session.scalars(select(AuditEvent)).all()
    assert any(r.action == "measure.create" for r in rows)
    for row in rows:
        assert "answers" not in json.dumps(row.detail or {})
    for message in db.session.scalars(select(PatientMessage)):
        assert "answers" not in (message.body or "")


def test_site_setting_defaults_and_patch(api_as, clinic):
    site = api_as(clinic.admin).get(f"/sites/{clinic.site.id}").get_json()
    assert site["screening_before_start"] == ["cssrs_screen"]
    ok = api_as(clinic.admin).patch(
        f"/sites/{clinic.site.id}", json={"screening_before_start": ["cssrs_screen", "phq9"]}
    )
    assert ok.status_code == 200 and ok.get_json()["screening_before_start"] == [
        "cssrs_screen",
        "phq9",
    ]
    for bad in (["bdi"], "phq9", ["phq9", "phq9"], [1]):
        response = api_as(clinic.admin).patch(
            f"/sites/{clinic.site.id}", json={"screening_before_start": bad}
        )
        body = assert_error(response, 422, "invalid")
        assert "screening_before_start" in body["fields"]


def test_outcomes_baseline_response_remission(api_as, clinic, checked_in, frozen):
    patient_id = api_as(clinic.nurse).get(f"/visits/{checked_in}").get_json()["patient_id"]
    measure(api_as, clinic.nurse, checked_in, "phq9", [3, 3, 3, 3, 3, 3, 2, 2, 0], at=iso(CHECK_IN))
    measure(api_as, clinic.nurse, checked_in, "phq9", [2, 2, 2, 1, 1, 1, 1, 1, 0])
    body = api_as(clinic.nurse).get(f"/patients/{patient_id}/outcomes").get_json()
    phq = body["phq9"]
    assert (phq["baseline"], phq["latest"]) == (22, 11)
    assert phq["change_pct"] == -50.0 and phq["response"] and not phq["remission"]
    assert [p["score"] for p in phq["series"]] == [22, 11]
    assert body["gad7"]["baseline"] is None


def test_kiosk_link_is_made_for_the_visit(api_as, clinic, checked_in, client):
    response = api_as(clinic.nurse).post(f"/visits/{checked_in}/kiosk-link", json={})
    assert response.status_code == 201, response.get_json()
    url = response.get_json()["url"]
    assert "/k/" in url
    page = client.get(url.split("localhost", 1)[-1])
    assert page.status_code == 200
    assert "Have you wished you were dead" in page.get_data(as_text=True)
    assert client.get("/k/not-a-token").status_code == 404


def test_no_answer_reaches_the_audit_trail_the_alerts_or_the_messages(
    api_as, clinic, checked_in, app, monkeypatch
):
    """A positive PHQ-9 and screener: the answers (as stored) and the questions' wording are
    nowhere but on the measures, not in any audit row, alert, e-mail or webhook body, or
    patient message."""
    monkeypatch.setitem(app.config, "SMTP_HOST", "smtp.test")
    phq9 = [0, 1, 2, 3, 0, 1, 2, 3, 2]  # item 9: thoughts of self-harm
    assert measure(api_as, clinic.nurse, checked_in, "phq9", phq9).status_code == 201
    assert measure(api_as, clinic.nurse, checked_in, "cssrs_screen", POSITIVE).status_code == 201
    kiosk = api_as(clinic.nurse).post(f"/visits/{checked_in}/kiosk-link", json={}).get_json()
    assert kiosk["url"]
    stored = [m.answers for m in db.session.scalars(select(Measure))]
    assert stored == [phq9, POSITIVE]  # kept on the measures

    forbidden = [json.dumps(a) for a in stored] + [
        json.dumps(a, separators=(",", ":")) for a in stored
    ]
    forbidden += [PHQ9.items[8], CSSRS_SCREEN.items[2]]
    texts = [json.dumps(row.detail or {}) for row in db.session.scalars(select(AuditEvent))]
    alerts = db.session.scalars(select(Notification)).all()
    assert alerts, "the positive screen raises an alert"
    texts += [
        json.dumps({c.name: str(getattr(n, c.name)) for c in n.__table__.columns}) for n in alerts
    ]
    texts += [
        json.dumps({c.name: str(getattr(d, c.name)) for c in d.__table__.columns})
        for d in db.session.scalars(select(Delivery))
    ]
    sent = outbox.claim(utcnow() + timedelta(minutes=1))
    assert any(o.channel == "email" for o in sent)
    texts += [o.message.subject() + o.message.text() for o in sent]
    texts += [json.dumps(o.message.payload(START), default=str) for o in sent]
    texts += [
        json.dumps({c.name: str(getattr(m, c.name)) for c in m.__table__.columns})
        for m in db.session.scalars(select(PatientMessage))
    ]
    for text in texts:
        for secret in forbidden:
            assert secret not in text
        assert '"answers"' not in text
