"""Plans, recall, the waitlist and offers through the HTTP API and the offer link."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from clinic.extensions import db
from clinic.models import AuditEvent, OfferRecipient, Visit
from clinic.services.tokens import digest
from clinic.types import utcnow
from tests.api.conftest import assert_error, iso, rules, zulu
from tests.conftest import MONDAY, NOW, chicago, csrf_token
from tests.rems_sessions import rems_type, session

TUESDAY = MONDAY + timedelta(days=1)


def entry_body(clinic, patient=None, **fields):
    return {
        "patient_id": (patient or clinic.patient).id,
        "site_id": clinic.site.id,
        "earliest_on": MONDAY.isoformat(),
        "latest_on": (MONDAY + timedelta(days=6)).isoformat(),
        "part_of_day": "any",
    } | fields


# ---------------------------------------------------------------- plans and recall


def test_plan_put_by_front_desk_and_practitioner_refused_for_nurse(api_as, clinic):
    body = {"every_days": 28, "next_due_on": "2026-12-05"}
    got = api_as(clinic.clerk).put(f"/patients/{clinic.patient.id}/plan", json=body)
    assert got.status_code == 200, got.get_json()
    assert got.get_json() == {"patient_id": clinic.patient.id, "template": "none"} | body | {
        "due_on": "2026-12-05"
    }
    again = api_as(clinic.practitioner).put(
        f"/patients/{clinic.patient.id}/plan", json=body | {"every_days": 21}
    )
    assert again.get_json()["every_days"] == 21
    assert_error(
        api_as(clinic.nurse).put(f"/patients/{clinic.patient.id}/plan", json=body),
        403,
        "forbidden",
    )
    assert_error(api_as(clinic.clerk).put("/patients/999999/plan", json=body), 404, "not_found")
    bad = api_as(clinic.clerk).put(
        f"/patients/{clinic.patient.id}/plan", json={"every_days": 0, "next_due_on": "x"}
    )
    assert set(assert_error(bad, 422, "invalid")["fields"]) == {
        "every_days",
        "next_due_on",
    }


def test_recalls_list_due_patients_without_a_future_visit(api_as, clinic, book, frozen):
    due, later, booked = clinic.patient, clinic.new_patient(), clinic.new_patient()
    for patient, on in ((due, MONDAY + timedelta(days=10)), (later, MONDAY + timedelta(days=20))):
        api_as(clinic.clerk).put(
            f"/patients/{patient.id}/plan", json={"every_days": 28, "next_due_on": on.isoformat()}
        )
    api_as(clinic.clerk).put(
        f"/patients/{booked.id}/plan", json={"every_days": 28, "next_due_on": "2026-12-01"}
    )
    assert book(chicago(TUESDAY, 9), patient=booked).status_code == 201
    got = api_as(clinic.clerk).get(f"/recalls?site_id={clinic.site.id}&within_days=14")
    assert got.status_code == 200
    assert got.get_json() == [{"patient_id": due.id, "due_on": "2026-12-10", "last_visit_at": None}]
    wider = api_as(clinic.clerk).get(f"/recalls?site_id={clinic.site.id}&within_days=30")
    assert [r["patient_id"] for r in wider.get_json()] == [due.id, later.id]
    # once the booked patient's visit is over, they are due again, with it as the last visit
    visit = db.session.scalar(select(Visit).where(Visit.patient_id == booked.id))
    visit.status = "discharged"
    db.session.commit()
    frozen.move_to(chicago(TUESDAY, 18))
    again = api_as(clinic.clerk).get(f"/recalls?site_id={clinic.site.id}").get_json()
    assert {
        "patient_id": booked.id,
        "due_on": "2026-12-01",
        "last_visit_at": zulu(visit.infusion_start),
    } in again
    assert_error(
        api_as(clinic.clerk).get(f"/recalls?site_id={clinic.site.id}&within_days=-1"),
        422,
        "invalid",
    )


def test_a_spravato_plan_is_due_by_its_phases_and_the_recall_list_uses_it(api_as, clinic):
    spravato, iv = rems_type(clinic.site), rems_type(clinic.site, rems=False)
    chair = clinic.chairs[0]
    start = MONDAY - timedelta(days=28)  # Monday 2 November
    # Completed Spravato sessions on Monday and Thursday of week 1; an IV infusion, a
    # cancelled Spravato visit and one before the plan started do not count.
    for day, kind, status in (
        (start - timedelta(days=60), spravato, "discharged"),
        (start, spravato, "discharged"),
        (start + timedelta(days=3), spravato, "discharged"),
        (start + timedelta(days=5), iv, "discharged"),
        (start + timedelta(days=7), spravato, "cancelled"),
    ):
        session(clinic.patient, chair, kind, chicago(day, 12), status=status)
    api = api_as(clinic.clerk)
    body = {"every_days": 14, "next_due_on": start.isoformat(), "template": "spravato"}
    got = api.put(f"/patients/{clinic.patient.id}/plan", json=body)
    assert got.status_code == 200, got.get_json()
    answer = got.get_json()
    assert (answer["template"], answer["next_due_on"]) == ("spravato", "2026-11-02")
    assert answer["due_on"] == "2026-11-09"  # induction: Thursday, then Monday
    recalls = api.get(f"/recalls?site_id={clinic.site.id}").get_json()
    assert [(r["patient_id"], r["due_on"]) for r in recalls] == [(clinic.patient.id, "2026-11-09")]
    # Maintenance every 7 or 14 days only; an unknown template is refused.
    for wrong in ({"every_days": 28}, {"template": "monthly"}):
        refused = api.put(f"/patients/{clinic.patient.id}/plan", json=body | wrong)
        assert set(assert_error(refused, 422, "invalid")["fields"]) == set(wrong)


# ---------------------------------------------------------------- the waitlist


def test_waitlist_add_list_delete(api_as, clinic):
    api = api_as(clinic.clerk)
    made = api.post("/waitlist", json=entry_body(clinic, note="any morning is fine"))
    assert made.status_code == 201, made.get_json()
    entry = made.get_json()
    assert entry["status"] == "waiting" and entry["part_of_day"] == "any"
    listed = api.get(f"/waitlist?site_id={clinic.site.id}").get_json()
    assert [e["id"] for e in listed] == [entry["id"]]
    assert api.delete(f"/waitlist/{entry['id']}").status_code == 204
    assert api.get(f"/waitlist?site_id={clinic.site.id}").get_json() == []
    assert_error(api.delete(f"/waitlist/{entry['id']}"), 404, "not_found")
    assert_error(api.delete("/waitlist/0"), 404, "not_found")


def test_waitlist_refuses_uncleared_patients_with_409_and_bad_spans_with_422(
    api_as, clinic, make_patient
):
    api = api_as(clinic.clerk)
    uncleared = make_patient(clinic.site)
    assert rules(api.post("/waitlist", json=entry_body(clinic, uncleared))) == ["not_cleared"]
    # cleared, but not through the whole span (the clearance ends 180 days after MONDAY)
    far = entry_body(
        clinic,
        earliest_on=(MONDAY + timedelta(days=170)).isoformat(),
        latest_on=(MONDAY + timedelta(days=190)).isoformat(),
    )
    assert rules(api.post("/waitlist", json=far)) == ["not_cleared"]
    backwards = entry_body(clinic, latest_on=(MONDAY - timedelta(days=1)).isoformat())
    assert (
        "latest_on" in assert_error(api.post("/waitlist", json=backwards), 422, "invalid")["fields"]
    )
    odd = entry_body(clinic, part_of_day="evening")
    assert "part_of_day" in assert_error(api.post("/waitlist", json=odd), 422, "invalid")["fields"]
    assert_error(api_as(clinic.admin).post("/waitlist", json=entry_body(clinic)), 403, "forbidden")


def test_matches_keep_only_entries_bookable_under_every_rule(api_as, clinic, book):
    api = api_as(clinic.clerk)
    fits = api.post("/waitlist", json=entry_body(clinic)).get_json()
    busy_patient = clinic.new_patient()
    busy = api.post("/waitlist", json=entry_body(clinic, busy_patient)).get_json()
    afternoon = clinic.new_patient()
    api.post("/waitlist", json=entry_body(clinic, afternoon, part_of_day="afternoon"))
    # the busy patient is already booked at the same time in another chair
    assert (
        book(chicago(TUESDAY, 10), patient=busy_patient, chair_id=clinic.chairs[1].id).status_code
        == 201
    )
    slot = iso(chicago(TUESDAY, 10))
    got = api.get(
        "/waitlist/matches",
        query_string={
            "site_id": clinic.site.id,
            "infusion_start": slot,
            "chair_id": clinic.chairs[0].id,
        },
    )
    assert got.status_code == 200, got.get_json()
    assert [e["id"] for e in got.get_json()] == [fits["id"]]
    assert busy["id"] not in [e["id"] for e in got.get_json()]
    missing = api.get("/waitlist/matches", query_string={"site_id": clinic.site.id})
    assert set(assert_error(missing, 422, "invalid")["fields"]) >= {"infusion_start", "chair_id"}


# ---------------------------------------------------------------- offers


def _offer(api_as, clinic, patients, hold=15):
    api = api_as(clinic.clerk)
    ids = [api.post("/waitlist", json=entry_body(clinic, p)).get_json()["id"] for p in patients]
    made = api.post(
        "/waitlist/offers",
        json={
            "chair_id": clinic.chairs[0].id,
            "infusion_start": iso(chicago(TUESDAY, 10)),
            "entry_ids": ids,
            "hold_minutes": hold,
        },
    )
    return made, ids


def _tokens(offer_id: int) -> dict[int, str]:
    """Give each recipient a known token (the real ones go out only in the messages)."""
    tokens = {}
    for recipient in db.session.scalars(
        select(OfferRecipient).where(OfferRecipient.offer_id == offer_id)
    ):
        token = f"test-token-{recipient.id}-abcdefghijkl"
        recipient.token_digest = digest(token)
        tokens[recipient.entry_id] = token
    db.session.commit()
    return tokens


def _form(client, token: str) -> str:
    page = client.get(f"/o/{token}")
    assert page.status_code == 200
    return csrf_token(page.get_data(as_text=True))


def _accept(client, token: str, csrf: str | None = None):
    csrf = csrf or _form(client, token)
    return client.post(f"/o/{token}", data={"accept": "Accept", "csrf_token": csrf})


def test_offer_first_to_accept_is_booked_the_other_sees_taken(api_as, clinic, client):
    other = clinic.new_patient()
    made, ids = _offer(api_as, clinic, [clinic.patient, other])
    assert made.status_code == 201, made.get_json()
    offer = made.get_json()
    assert offer["status"] == "open"
    tokens = _tokens(offer["id"])
    csrf = _form(client, tokens[ids[1]])  # both patients open the page while it is open
    first = _accept(client, tokens[ids[0]])
    assert "booked for you" in first.get_data(as_text=True)
    second = _accept(client, tokens[ids[1]], csrf)
    assert "taken by someone else" in second.get_data(as_text=True)
    assert "Accept" not in client.get(f"/o/{tokens[ids[1]]}").get_data(as_text=True)
    state = api_as(clinic.clerk).get(f"/waitlist/offers/{offer['id']}").get_json()
    assert state["status"] == "taken"
    visit = db.session.get(Visit, state["visit_id"])
    assert visit.patient_id == clinic.patient.id and visit.chair_id == clinic.chairs[0].id
    actions = db.session.scalars(select(AuditEvent.action)).all()
    assert {"waitlist.offer", "waitlist.offer.accept", "waitlist.offer.taken"} <= set(actions)
    assert client.get("/o/not-a-token").status_code == 404
    refused = client.post(f"/o/{tokens[ids[1]]}", data={"accept": "Accept"})  # no CSRF
    assert refused.status_code == 400


def test_offer_expires_after_its_hold(api_as, clinic, client, frozen):
    made, ids = _offer(api_as, clinic, [clinic.patient], hold=15)
    offer_id = made.get_json()["id"]
    tokens = _tokens(offer_id)
    csrf = _form(client, tokens[ids[0]])
    frozen.shift(timedelta(minutes=16))
    assert "has expired" in client.get(f"/o/{tokens[ids[0]]}").get_data(as_text=True)
    late = _accept(client, tokens[ids[0]], csrf)  # the page was opened in time, Accept too late
    assert "has expired" in late.get_data(as_text=True)
    refused = db.session.scalar(
        select(AuditEvent).where(AuditEvent.action == "waitlist.offer.refused")
    )
    assert refused is not None and refused.detail == {"outcome": "expired"}
    state = api_as(clinic.clerk).get(f"/waitlist/offers/{offer_id}").get_json()
    assert state == {"id": offer_id, "status": "expired", "visit_id": None}


def test_offer_input_errors(api_as, clinic):
    api = api_as(clinic.clerk)
    entry = api.post("/waitlist", json=entry_body(clinic)).get_json()
    base = {
        "chair_id": clinic.chairs[0].id,
        "infusion_start": iso(chicago(TUESDAY, 10)),
        "entry_ids": [entry["id"]],
    }
    assert_error(api.post("/waitlist/offers", json=base | {"entry_ids": []}), 422, "invalid")
    assert_error(api.post("/waitlist/offers", json=base | {"hold_minutes": 0}), 422, "invalid")
    assert_error(api.post("/waitlist/offers", json=base | {"chair_id": 999999}), 404, "not_found")
    assert_error(
        api.post("/waitlist/offers", json=base | {"entry_ids": [999999]}), 404, "not_found"
    )
    assert_error(api_as(clinic.admin).post("/waitlist/offers", json=base), 403, "forbidden")
    assert_error(api.get("/waitlist/offers/999999"), 404, "not_found")
    past = base | {"infusion_start": iso(NOW - timedelta(hours=1))}
    assert_error(api.post("/waitlist/offers", json=past), 422, "invalid")
    assert utcnow()  # the clock is frozen near NOW


def test_offer_messages_go_through_the_outbox_with_consent_and_no_clinical_word(
    api_as, clinic, client
):
    from clinic.domain.messages import clinical_words
    from clinic.models import PatientMessage
    from clinic.notify import patient_outbox
    from clinic.services.patients import set_consents

    consenting = clinic.patient
    consenting.phone = "+15125550123"
    set_consents("patient", consenting, {"sms": True}, NOW)
    clinic.site.reminders = {"channels": ["sms"]}
    db.session.commit()
    silent = clinic.new_patient(phone="+15125550124")  # no consent: no message
    made, _ = _offer(api_as, clinic, [consenting, silent])
    assert made.status_code == 201
    rows = db.session.scalars(select(PatientMessage)).all()
    assert [(r.patient_id, r.kind, r.channel, r.visit_id) for r in rows] == [
        (consenting.id, "offer", "sms", None)
    ]
    config = dict(client.application.config, SMS_PROVIDER="webhook")
    (outgoing,) = patient_outbox.claim(utcnow(), config)
    assert clinical_words(outgoing.body) == []
    assert "Austin" in outgoing.body and "10:00" in outgoing.body
    token = outgoing.body.split("/o/")[1].split()[0]
    stored = db.session.get(PatientMessage, outgoing.message_id)
    assert token not in stored.body and "/o/[link]" in stored.body
    page = client.get(f"/o/{token}")
    assert page.status_code == 200 and "Accept" in page.get_data(as_text=True)
    assert client.get(f"/c/{token}").status_code == 404  # not a confirmation link
