"""Patient messages through the API and the sender: consent, planning, the settle, reminders
across DST and quiet hours, e-mail with an .ics to a real SMTP server, signed SMS to a local
webhook receiver, exactly once, and no clinical word in any message."""

from __future__ import annotations

import email
import json
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import icalendar
import pytest
import time_machine
from sqlalchemy import select

from clinic.domain.messages import (
    Facts,
    MessageChannel,
    MessageKind,
    clinical_words,
    compose,
)
from clinic.extensions import db
from clinic.models import AuditEvent, Patient, PatientMessage, Visit
from clinic.notify import patient_outbox, webhook
from clinic.services.patients import set_consents
from clinic.types import utcnow
from tests.api.conftest import assert_error, iso
from tests.conftest import MONDAY, NOW, add_negative_screen, chicago
from tests.scheduler.conftest import WebhookReceiver, free_port, smtp_server  # noqa: F401

CHICAGO = ZoneInfo("America/Chicago")
SECRET = "sms-secret"
# The booked messages of a visit booked at (about) NOW are due by then.
SETTLED = NOW + timedelta(minutes=3, seconds=30)


@pytest.fixture
def sms_gateway():
    """A local SMS webhook receiver."""
    receiver = WebhookReceiver()
    yield receiver
    receiver.close()


@pytest.fixture
def channels(app, smtp_server, sms_gateway):  # noqa: F811
    """The app's e-mail (local SMTP) and SMS (local signed webhook) channels."""
    app.config.update(
        SMTP_HOST="127.0.0.1",
        SMTP_PORT=smtp_server.port,
        SMTP_TLS="none",
        MAIL_FROM="desk@clinic.test",
        SMS_PROVIDER="webhook",
        SMS_WEBHOOK_URL=sms_gateway.url,
        SMS_WEBHOOK_SECRET=SECRET,
        PUBLIC_BASE_URL="https://desk.clinic.test",
    )
    return smtp_server, sms_gateway


def consent(patient: Patient, email_: bool = True, sms: bool = True) -> Patient:
    """Give the patient an address per channel and consent to both."""
    patient.email = "dana@example.test"
    patient.phone = "+15125550123"
    set_consents("patient", patient, {"email": email_, "sms": sms}, NOW)
    db.session.commit()
    return patient


def messages(visit_id: int) -> list[PatientMessage]:
    db.session.rollback()
    stmt = (
        select(PatientMessage)
        .where(PatientMessage.visit_id == visit_id)
        .order_by(PatientMessage.scheduled_for, PatientMessage.id)
        .execution_options(populate_existing=True)
    )
    return list(db.session.scalars(stmt))


def table(visit_id: int) -> list[tuple[str, str, str]]:
    return [(m.kind, m.channel, m.status) for m in messages(visit_id)]


# ---------------------------------------------------------------- consent and settings


def test_consent_is_given_per_channel_with_when_and_who_and_audited(api_as, clinic):
    patient = clinic.patient
    response = api_as(clinic.clerk).patch(
        f"/patients/{patient.id}",
        json={"email": "dana@example.test", "phone": "512 555 0123", "contact": {"sms": True}},
    )
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["contact"] == {"email": False, "sms": True}
    assert body["phone"] == "+15125550123"
    db.session.refresh(patient)
    assert patient.sms_consent_at == NOW.replace(microsecond=0) or patient.sms_consent_at
    assert patient.sms_consent_by_id == clinic.clerk.id
    rows = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "patient.consent"))
    assert [row.detail for row in rows] == [{"sms": True}]
    withdrawn = api_as(clinic.clerk).patch(
        f"/patients/{patient.id}", json={"contact": {"sms": False, "email": True}}
    )
    assert withdrawn.get_json()["contact"] == {"email": True, "sms": False}
    db.session.refresh(patient)
    assert patient.sms_consent_at is None and patient.email_consent_by_id == clinic.clerk.id


@pytest.mark.parametrize("contact", [{"sms": "yes"}, {"email": 1}, "all", {"fax": True}], ids=str)
def test_bad_consent_is_422(api_as, clinic, contact):
    response = api_as(clinic.clerk).patch(
        f"/patients/{clinic.patient.id}", json={"contact": contact}
    )
    assert_error(response, 422, "invalid")


def test_a_patient_is_created_with_consent(api_as, clinic):
    body = {
        "mrn": "C-1",
        "given_name": "Ari",
        "family_name": "Moss",
        "birth_date": "1980-01-01",
        "email": "ari@example.test",
        "contact": {"email": True, "sms": False},
        "escort_sms_consent": True,
    }
    created = api_as(clinic.clerk).post("/patients", json=body).get_json()
    assert created["contact"] == {"email": True, "sms": False}
    assert created["escort_sms_consent"] is True


def test_site_reminder_settings_and_cancel_window(api_as, clinic):
    site = api_as(clinic.clerk).get(f"/sites/{clinic.site.id}").get_json()
    assert site["cancel_window_hours"] == 24
    assert site["reminders"]["offsets_minutes"] == [4320, 1440]
    assert site["reminders"]["channels"] == ["email", "sms"]
    changed = api_as(clinic.admin).patch(
        f"/sites/{clinic.site.id}",
        json={
            "cancel_window_hours": 48,
            "reminders": {
                "offsets_minutes": [1440],
                "channels": ["sms"],
                "quiet_start": None,
                "quiet_end": None,
                "instructions": "Bring a friend.",
            },
        },
    )
    assert changed.status_code == 200, changed.get_json()
    body = changed.get_json()
    assert body["cancel_window_hours"] == 48
    assert body["reminders"] == {
        "offsets_minutes": [1440],
        "channels": ["sms"],
        "quiet_start": None,
        "quiet_end": None,
        "instructions": "Bring a friend.",
    }


@pytest.mark.parametrize(
    "changes",
    [
        {"cancel_window_hours": -1},
        {"cancel_window_hours": 1000},
        {"reminders": {"offsets_minutes": [5]}},
        {"reminders": {"offsets_minutes": [60, 60]}},
        {"reminders": {"offsets_minutes": [60, 120, 180, 240, 300]}},
        {"reminders": {"channels": ["fax"]}},
        {"reminders": {"channels": ["sms", "sms"]}},
        {"reminders": {"quiet_start": "25:00"}},
        {"reminders": {"quiet_start": None}},
        {"reminders": {"instructions": "Your ketamine session"}},
        {"reminders": "soon"},
    ],
    ids=str,
)
def test_bad_reminder_settings_are_422(api_as, clinic, changes):
    response = api_as(clinic.admin).patch(f"/sites/{clinic.site.id}", json=changes)
    body = assert_error(response, 422, "invalid")
    assert set(body["fields"]) <= {"reminders", "cancel_window_hours"} and body["fields"]


# ---------------------------------------------------------------- planning


def test_booking_plans_booked_and_reminders_on_consented_channels(api_as, clinic, book):
    consent(clinic.patient, sms=False)
    start = chicago(MONDAY + timedelta(days=8), 10)
    visit = book(start).get_json()
    assert visit["confirmation"] == "unconfirmed"
    rows = messages(visit["id"])
    # Default pairs: 72 h by e-mail, 24 h by SMS; no SMS consent, no SMS row.
    assert [(m.kind, m.channel, m.status) for m in rows] == [
        ("booked", "email", "scheduled"),
        ("reminder", "email", "scheduled"),
    ]
    assert NOW + timedelta(minutes=3) <= rows[0].scheduled_for < SETTLED  # the settle
    assert rows[1].scheduled_for == chicago(MONDAY + timedelta(days=5), 10)
    listed = api_as(clinic.nurse).get(f"/visits/{visit['id']}/messages").get_json()
    assert [(m["kind"], m["channel"], m["status"]) for m in listed] == [
        ("booked", "email", "scheduled"),
        ("reminder", "email", "scheduled"),
    ]
    assert set(listed[0]) == {"id", "channel", "kind", "status", "scheduled_for", "sent_at"}


def test_no_consent_no_message(api_as, clinic, book):
    visit = book(chicago(MONDAY + timedelta(days=8), 10)).get_json()
    assert messages(visit["id"]) == []
    assert api_as(clinic.clerk).get(f"/visits/{visit['id']}/messages").get_json() == []


def test_messages_of_another_sites_visit_are_404(api_as, clinic, book, make_site, make_user):
    visit = book(chicago(MONDAY + timedelta(days=8), 10)).get_json()
    stranger = make_user("front_desk", [make_site(name="Dallas")])
    assert_error(api_as(stranger).get(f"/visits/{visit['id']}/messages"), 404, "not_found")


def test_a_reminder_whose_time_has_passed_is_stored_skipped(clinic, book):
    consent(clinic.patient)
    # Tomorrow 10:00: the 72 h reminder's time passed before the booking, the 24 h one not.
    visit = book(chicago(MONDAY + timedelta(days=1), 10)).get_json()
    assert table(visit["id"]) == [
        ("reminder", "email", "skipped"),
        ("booked", "email", "scheduled"),
        ("booked", "sms", "scheduled"),
        ("reminder", "sms", "scheduled"),
    ]


def test_a_reminder_in_the_quiet_hours_waits_for_their_end(api_as, clinic, book):
    consent(clinic.patient)
    api_as(clinic.admin).patch(
        f"/sites/{clinic.site.id}",
        json={"reminders": {"offsets_minutes": [12 * 60], "channels": ["sms"]}},
    )
    # 08:15 visit: 12 h before is 20:15 the evening before (not quiet: quiet from 21:00).
    visit = book(chicago(MONDAY + timedelta(days=3), 8, 15)).get_json()
    assert messages(visit["id"])[-1].scheduled_for == chicago(MONDAY + timedelta(days=2), 20, 15)
    # 10:00 visit: 22:00 the evening before is quiet -> 08:00 on the day, still before 10:00.
    visit = book(chicago(MONDAY + timedelta(days=4), 10)).get_json()
    reminder = [m for m in messages(visit["id"]) if m.kind == "reminder"]
    assert [(m.scheduled_for, m.status) for m in reminder] == [
        (chicago(MONDAY + timedelta(days=4), 8), "scheduled")
    ]


def test_the_24h_reminder_holds_the_wall_clock_across_the_dst_change(
    app, clinic, make_site, make_chair, make_shift, make_user, make_patient, make_clearance
):
    """A 09:00 visit on Mon 2 Nov 2026 gets its 24 h reminder at 09:00 CST on Sun 1 Nov."""
    from clinic.services import booking

    day = date(2026, 11, 2)
    booked_at = datetime(2026, 10, 20, 12, tzinfo=UTC)
    clinic.site.opening_hours = {**clinic.site.opening_hours}
    shift_start = chicago(day, 7)
    make_shift(clinic.site, "nurse", starts_at=shift_start, ends_at=chicago(day, 19))
    make_shift(
        clinic.site,
        "practitioner",
        user=clinic.practitioner,
        starts_at=shift_start,
        ends_at=chicago(day, 19),
    )
    patient = consent(make_patient(clinic.site))
    make_clearance(patient, practitioner=clinic.practitioner, evaluated_on=date(2026, 10, 1))
    with time_machine.travel(booked_at, tick=False):
        visit, _ = booking.book(
            clinic.clerk,
            booking.Request(patient_id=patient.id, infusion_start=chicago(day, 9)),
            now=booked_at,
        )
    reminders = {m.channel: m.scheduled_for for m in messages(visit.id) if m.kind == "reminder"}
    assert reminders["sms"] == datetime(2026, 11, 1, 9, tzinfo=CHICAGO)  # 09:00 CST
    assert reminders["sms"] == datetime(2026, 11, 1, 15, tzinfo=UTC)  # 25 real hours before
    assert reminders["email"] == datetime(2026, 10, 30, 9, tzinfo=CHICAGO)  # 09:00 CDT


def test_a_reschedule_within_the_settle_sends_only_the_final_state(api_as, clinic, book, channels):
    smtp, _sms = channels
    consent(clinic.patient, sms=False)
    start = chicago(MONDAY + timedelta(days=8), 10)
    visit = book(start).get_json()
    later = chicago(MONDAY + timedelta(days=8), 13)
    moved = api_as(clinic.clerk).patch(
        f"/visits/{visit['id']}", json={"infusion_start": iso(later)}
    )
    assert moved.status_code == 200, moved.get_json()
    kinds = [(m.kind, m.status, m.scheduled_for) for m in messages(visit["id"])]
    assert ("changed", "scheduled") not in [(k, s) for k, s, _ in kinds]
    assert patient_outbox.send_due(NOW + timedelta(minutes=4)) == 1
    assert len(smtp.messages) == 1
    text = _text(smtp.messages[0])
    assert "13:00" in text and "10:00" not in text
    assert table(visit["id"]) == [
        ("booked", "email", "sent"),
        ("reminder", "email", "skipped"),  # the old time's
        ("reminder", "email", "scheduled"),
    ]


def test_a_cancel_within_the_settle_skips_the_booking_and_sends_the_cancel(
    api_as, clinic, book, channels
):
    smtp, _ = channels
    consent(clinic.patient, sms=False)
    visit = book(chicago(MONDAY + timedelta(days=8), 10)).get_json()
    cancel = api_as(clinic.clerk).post(
        f"/visits/{visit['id']}/events", json={"type": "cancel", "reason": "asked by phone"}
    )
    assert cancel.status_code == 200, cancel.get_json()
    assert table(visit["id"]) == [
        ("booked", "email", "skipped"),
        ("cancelled", "email", "scheduled"),
        ("reminder", "email", "skipped"),
    ]
    assert patient_outbox.send_due(NOW + timedelta(minutes=4)) == 1
    calendar = _calendar(smtp.messages[0])
    assert calendar["METHOD"] == "CANCEL"
    assert calendar.walk("VEVENT")[0]["STATUS"] == "CANCELLED"


# ---------------------------------------------------------------- sending


def _parsed(envelope) -> email.message.Message:
    return email.message_from_bytes(envelope.content)


def _text(envelope) -> str:
    for part in _parsed(envelope).walk():
        if part.get_content_type() == "text/plain":
            return part.get_payload(decode=True).decode()
    raise AssertionError("no text part")


def _calendar(envelope) -> icalendar.Calendar:
    for part in _parsed(envelope).walk():
        if part.get_content_type() == "text/calendar":
            return icalendar.Calendar.from_ical(part.get_payload(decode=True))
    raise AssertionError("no calendar part")


def test_email_and_sms_go_out_once_with_ics_and_signature(api_as, clinic, book, channels):
    smtp, sms = channels
    consent(clinic.patient)
    start = chicago(MONDAY + timedelta(days=8), 10)
    visit = book(start).get_json()
    due = SETTLED
    assert patient_outbox.send_due(NOW + timedelta(minutes=2)) == 0  # still settling
    assert patient_outbox.send_due(due) == 2
    assert patient_outbox.send_due(due + timedelta(minutes=1)) == 0  # never twice
    assert len(smtp.messages) == 1 and len(sms.requests) == 1

    envelope = smtp.messages[0]
    assert envelope.rcpt_tos == ["dana@example.test"]
    text = _text(envelope)
    assert "Austin" in text and "10:00 CST" in text and "arrive by 09:45" in text
    assert "https://desk.clinic.test/c/" in text
    assert clinical_words(text) == []
    calendar = _calendar(envelope)
    event = calendar.walk("VEVENT")[0]
    assert calendar["METHOD"] == "REQUEST"
    assert str(event["UID"]) == f"visit-{visit['id']}@desk.clinic.test"
    assert event["SEQUENCE"] == 0
    assert event["DTSTART"].params["TZID"] == "America/Chicago"
    assert event.decoded("DTSTART") == start.astimezone(CHICAGO)

    request = sms.requests[0]
    body = json.loads(request["body"])
    assert body["to"] == "+15125550123"
    assert body["message_id"] in [m.id for m in messages(visit["id"])]
    assert "Reply C to confirm" in body["body"] and clinical_words(body["body"]) == []
    stamp = request["headers"]["X-Infusion-Timestamp"]
    assert request["headers"]["X-Infusion-Signature"] == webhook.signature(
        SECRET, stamp, request["body"]
    )
    stored = [m for m in messages(visit["id"]) if m.status == "sent"]
    assert all("/c/[link]" in m.body and m.token_digest for m in stored)  # token kept hashed
    listed = api_as(clinic.clerk).get(f"/visits/{visit['id']}/messages").get_json()
    assert sum(1 for m in listed if m["status"] == "sent" and m["sent_at"]) == 2

    # The reminder 72 h before goes at its time, by e-mail only (the default pairs).
    reminder_at = chicago(MONDAY + timedelta(days=5), 10)
    assert patient_outbox.send_due(reminder_at - timedelta(seconds=1)) == 0
    assert patient_outbox.send_due(reminder_at) == 1
    assert "Reminder" in _parsed(smtp.messages[1])["Subject"]


def test_a_reschedule_raises_the_sequence_and_keeps_the_uid(api_as, clinic, book, channels):
    smtp, _ = channels
    consent(clinic.patient, sms=False)
    visit = book(chicago(MONDAY + timedelta(days=8), 10)).get_json()
    patient_outbox.send_due(SETTLED)
    with time_machine.travel(NOW + timedelta(minutes=10), tick=False):
        moved = api_as(clinic.clerk).patch(
            f"/visits/{visit['id']}",
            json={"infusion_start": iso(chicago(MONDAY + timedelta(days=9), 11))},
        )
        assert moved.status_code == 200, moved.get_json()
    assert patient_outbox.send_due(NOW + timedelta(minutes=13)) == 1
    first, second = (_calendar(m).walk("VEVENT")[0] for m in smtp.messages)
    assert first["UID"] == second["UID"]
    assert (first["SEQUENCE"], second["SEQUENCE"]) == (0, 1)
    assert "New time" in _parsed(smtp.messages[1])["Subject"]


def test_a_failed_sms_is_retried_with_backoff_then_sent(clinic, book, channels):
    _, sms = channels
    consent(clinic.patient, email_=False)
    visit = book(chicago(MONDAY + timedelta(days=8), 10)).get_json()
    sms.status = 500
    due = SETTLED
    assert patient_outbox.send_due(due) == 0
    row = next(m for m in messages(visit["id"]) if m.kind == "booked")
    assert row.status == "scheduled" and row.attempts == 1 and "HTTPError" in row.error
    assert row in patient_outbox.failed_messages()
    assert patient_outbox.send_due(due + timedelta(seconds=1)) == 0  # backing off
    sms.status = 204
    assert patient_outbox.send_due(due + timedelta(seconds=6)) == 1
    row = next(m for m in messages(visit["id"]) if m.kind == "booked")
    assert (row.status, row.attempts, row.error) == ("sent", 2, None)


def test_two_senders_and_a_restart_send_each_message_once(app, clinic, book, channels):
    """Two claims at once take disjoint rows; a missed reminder still before the visit goes
    out when the sender comes back, one whose visit has begun is skipped."""
    smtp, sms = channels
    consent(clinic.patient)
    visit = book(chicago(MONDAY + timedelta(days=8), 10)).get_json()
    due = SETTLED
    first = patient_outbox.claim(due, app.config)
    second = patient_outbox.claim(due, app.config)
    assert len(first) == 2 and second == []
    # The first sender dies before recording: after the lease another sends them once more
    # at most (at-least-once across a crash mid-send); here the first sender records them.
    patient_outbox.record({o.message_id: None for o in first}, due)  # (not really sent here)
    assert patient_outbox.send_due(due + patient_outbox.LEASE + timedelta(seconds=1)) == 0
    # Down for days: the 72 h e-mail reminder is late but before the visit -> sent; the 24 h
    # SMS one too. After the start, nothing more goes.
    back = chicago(MONDAY + timedelta(days=8), 9)
    assert patient_outbox.send_due(back) == 2
    assert patient_outbox.send_due(back + timedelta(hours=2)) == 0
    assert len(smtp.messages) == 1 and len(sms.requests) == 1
    assert [m.status for m in messages(visit["id"])] == ["sent"] * 4


def test_a_reminder_missed_until_the_visit_began_is_skipped(clinic, book, channels):
    smtp, sms = channels
    consent(clinic.patient)
    start = chicago(MONDAY + timedelta(days=8), 10)
    visit = book(start).get_json()
    assert patient_outbox.send_due(start + timedelta(minutes=1)) == 0
    assert {m.status for m in messages(visit["id"])} == {"skipped"}
    assert smtp.messages == [] and sms.requests == []


def test_withdrawn_consent_skips_what_was_planned(clinic, book, channels):
    _smtp, sms = channels
    consent(clinic.patient)
    visit = book(chicago(MONDAY + timedelta(days=8), 10)).get_json()
    set_consents("patient", clinic.patient, {"sms": False}, NOW)
    db.session.commit()
    assert patient_outbox.send_due(SETTLED) == 1
    assert len(sms.requests) == 0
    booked = {m.channel: m.status for m in messages(visit["id"]) if m.kind == "booked"}
    assert booked == {"email": "sent", "sms": "skipped"}


def test_without_an_sms_provider_sms_is_skipped(app, clinic, book, channels):
    app.config["SMS_PROVIDER"] = ""
    consent(clinic.patient, email_=False)
    visit = book(chicago(MONDAY + timedelta(days=8), 10)).get_json()
    assert patient_outbox.send_due(SETTLED) == 0
    row = next(m for m in messages(visit["id"]) if m.kind == "booked")
    assert row.status == "skipped" and "SMS_PROVIDER" in row.error


def test_no_message_of_any_kind_names_a_drug_or_clinical_word():
    facts = Facts(
        site="Austin",
        start=datetime(2026, 12, 8, 16, tzinfo=UTC),
        timezone=CHICAGO,
        instructions="Please eat nothing for 6 hours before your appointment.",
        link="https://desk.clinic.test/c/abc",
        pickup=datetime(2026, 12, 8, 18, tzinfo=UTC),
    )
    for kind in MessageKind:
        for channel in MessageChannel:
            subject, body = compose(kind, channel, facts)
            assert clinical_words(subject + " " + body) == [], (kind, channel)
            assert "Austin" in body
            if kind not in (MessageKind.PICKUP, MessageKind.CANCELLED):
                assert "10:00 CST" in body and "09:45" in body and facts.link in body
                assert facts.instructions in body
    from clinic.services.site_settings import DEFAULT_INSTRUCTIONS

    assert clinical_words(DEFAULT_INSTRUCTIONS) == []


# ---------------------------------------------------------------- answers: link and SMS


def _link_token(channels_, visit_id: int) -> str:
    smtp, _ = channels_
    text = _text(smtp.messages[-1])
    return text.split("https://desk.clinic.test/c/")[1].split()[0]


def test_the_link_shows_the_visit_and_confirms(client, clinic, book, channels):
    consent(clinic.patient, sms=False)
    visit = book(chicago(MONDAY + timedelta(days=8), 10)).get_json()
    patient_outbox.send_due(SETTLED)
    token = _link_token(channels, visit["id"])
    page = client.get(f"/c/{token}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Dana" in html and "Austin" in html and "10:00" in html and "09:45" in html
    assert clinic.patient.family_name not in html and clinic.patient.mrn not in html
    assert client.get("/c/not-a-token").status_code == 404
    refused = client.post(f"/c/{token}", data={"confirm": "Confirm"})  # no CSRF token
    assert refused.status_code == 400
    db.session.rollback()
    assert db.session.get(Visit, visit["id"]).confirmation == "unconfirmed"
    from tests.conftest import csrf_token

    answered = client.post(
        f"/c/{token}", data={"confirm": "Confirm", "csrf_token": csrf_token(html)}
    )
    assert answered.status_code == 200
    db.session.rollback()
    assert db.session.get(Visit, visit["id"]).confirmation == "confirmed"
    rows = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "visit.confirmation"))
    assert [(r.actor_label, r.detail) for r in rows] == [("patient", {"confirmation": "confirmed"})]


def _signed_sms(client, sender: str, text: str, age: int = 0):
    body = json.dumps({"from": sender, "body": text}).encode()
    stamp = str(int(datetime.now(UTC).timestamp()) - age)
    return client.post(
        "/api/v1/sms/inbound",
        data=body,
        content_type="application/json",
        headers={
            "X-Infusion-Timestamp": stamp,
            "X-Infusion-Signature": webhook.signature(SECRET, stamp, body),
        },
    )


def test_sms_replies_confirm_cancel_and_stop(client, clinic, book, channels):
    consent(clinic.patient)
    near = book(chicago(MONDAY + timedelta(days=1), 10)).get_json()  # inside 24 h? no: 27 h
    far = book(chicago(MONDAY + timedelta(days=8), 10)).get_json()
    assert _signed_sms(client, "+15125550123", "yes please").get_json() == {"result": "confirmed"}
    db.session.rollback()
    assert db.session.get(Visit, near["id"]).confirmation == "confirmed"
    # 27 h before the next visit, outside the 24 h window: "X" cancels it.
    assert _signed_sms(client, "+1 512 555 0123", "X").get_json() == {"result": "cancelled"}
    db.session.rollback()
    cancelled = db.session.get(Visit, near["id"])
    assert cancelled.status == "cancelled"
    assert ("cancelled", "sms", "scheduled") in table(near["id"])
    # The far visit is next now; with a window of 200 h, "NO" asks the desk instead.
    clinic.site.cancel_window_hours = 200
    db.session.commit()
    assert _signed_sms(client, "+15125550123", "no").get_json() == {"result": "cancel_requested"}
    db.session.rollback()
    assert db.session.get(Visit, far["id"]).confirmation == "cancel_requested"
    assert db.session.get(Visit, far["id"]).status == "booked"
    assert _signed_sms(client, "+15125550123", "STOP").get_json() == {"result": "stopped"}
    db.session.rollback()
    assert db.session.get(Patient, clinic.patient.id).sms_consent_at is None
    actions = [
        (r.action, r.actor_label)
        for r in db.session.scalars(select(AuditEvent).where(AuditEvent.actor_label == "patient"))
    ]
    assert ("patient.consent", "patient") in actions and (
        "visit.event.cancel",
        "patient",
    ) in actions


def test_unsigned_or_stale_sms_is_refused(client, clinic, book, channels):
    consent(clinic.patient)
    visit = book(chicago(MONDAY + timedelta(days=8), 10)).get_json()
    stale = _signed_sms(client, "+15125550123", "C", age=301)
    assert_error(stale, 401, "unauthorized")
    forged = client.post(
        "/api/v1/sms/inbound",
        json={"from": "+15125550123", "body": "C"},
        headers={"X-Infusion-Timestamp": "1", "X-Infusion-Signature": "sha256=00"},
    )
    assert_error(forged, 401, "unauthorized")
    db.session.rollback()
    assert db.session.get(Visit, visit["id"]).confirmation == "unconfirmed"


# ---------------------------------------------------------------- escort pick-up, failures


def _baseline(api, visit_id: int) -> None:
    """Record the pre-dose vital signs the start needs."""
    reading = {"systolic": 122, "diastolic": 78, "heart_rate": 70, "spo2": 98}
    response = api.post(f"/visits/{visit_id}/observations", json=reading)
    assert response.status_code == 201, response.get_json()
    add_negative_screen(visit_id, utcnow())


def _event(api, visit_id: int, kind: str, **fields):
    response = api.post(f"/visits/{visit_id}/events", json={"type": kind, **fields})
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_the_escort_hears_15_minutes_before_discharge_moved_by_an_extension_once(
    api_as, clinic, book, channels
):
    _, sms = channels
    patient = clinic.patient
    patient.escort_phone = "+15125550188"
    set_consents("patient", patient, {"escort_sms": True}, NOW)
    db.session.commit()
    visit = book(chicago(MONDAY, 8)).get_json()
    nurse = api_as(clinic.nurse)
    _event(nurse, visit["id"], "check_in")
    _baseline(nurse, visit["id"])
    _event(nurse, visit["id"], "start_infusion")
    ended = _event(nurse, visit["id"], "end_infusion")
    due = datetime.fromisoformat(ended["discharge_due_at"].replace("Z", "+00:00"))
    [pickup] = [m for m in messages(visit["id"]) if m.kind == "pickup"]
    assert (pickup.channel, pickup.status, pickup.scheduled_for) == (
        "sms",
        "scheduled",
        due - timedelta(minutes=15),
    )
    _event(nurse, visit["id"], "extend_observation", minutes=30, reason="still drowsy")
    pickups = [(m.status, m.scheduled_for) for m in messages(visit["id"]) if m.kind == "pickup"]
    assert pickups == [
        ("skipped", due - timedelta(minutes=15)),
        ("scheduled", due + timedelta(minutes=15)),
    ]
    assert patient_outbox.send_due(due) == 0  # the old instant sends nothing
    assert patient_outbox.send_due(due + timedelta(minutes=15)) == 1
    assert patient_outbox.send_due(due + timedelta(minutes=20)) == 0
    [request] = sms.requests
    body = json.loads(request["body"])
    ready = (due + timedelta(minutes=30)).astimezone(CHICAGO)
    assert body["to"] == "+15125550188"
    assert f"ready for pick-up around {ready:%H:%M}" in body["body"]
    assert clinical_words(body["body"]) == []
    # Another extension after it was sent: never a second pick-up message.
    _event(nurse, visit["id"], "extend_observation", minutes=10, reason="waiting")
    assert [m.status for m in messages(visit["id"]) if m.kind == "pickup"] == ["skipped", "sent"]


def test_no_escort_consent_no_pickup_message(api_as, clinic, book, channels):
    visit = book(chicago(MONDAY, 8)).get_json()
    nurse = api_as(clinic.nurse)
    _event(nurse, visit["id"], "check_in")
    _baseline(nurse, visit["id"])
    for kind in ("start_infusion", "end_infusion"):
        _event(nurse, visit["id"], kind)
    assert [m for m in messages(visit["id"]) if m.kind == "pickup"] == []


def test_a_message_that_keeps_failing_is_given_up_and_shown_to_admins(
    client, auth, clinic, book, channels
):
    from clinic.domain.alarms import MAX_ATTEMPTS

    _, sms = channels
    sms.status = 500
    consent(clinic.patient, email_=False)
    visit = book(chicago(MONDAY + timedelta(days=8), 10)).get_json()
    now = SETTLED
    for _ in range(MAX_ATTEMPTS):
        patient_outbox.send_due(now)
        now += timedelta(minutes=11)
    [booked] = [m for m in messages(visit["id"]) if m.kind == "booked"]
    assert (booked.status, booked.attempts) == ("failed", MAX_ATTEMPTS)
    assert len(sms.requests) == MAX_ATTEMPTS
    auth.login(clinic.admin)
    html = client.get("/admin/deliveries").get_data(as_text=True)
    assert f"#{booked.id}" in html and f"visit {visit['id']}" in html
    assert "+15125550123" not in html and clinic.patient.family_name not in html


def test_stop_from_the_escort_withdraws_the_escort_consent(client, clinic, channels):
    patient = clinic.patient
    patient.escort_phone = "+15125550188"
    set_consents("patient", patient, {"escort_sms": True}, NOW)
    db.session.commit()
    assert _signed_sms(client, "+15125550188", "stop").get_json() == {"result": "stopped"}
    db.session.rollback()
    assert db.session.get(Patient, patient.id).escort_sms_consent_at is None


def test_the_day_board_shows_answers_and_the_desk_gets_tomorrows_to_call_list(
    client, auth, clinic, book, channels
):
    tomorrow = MONDAY + timedelta(days=1)
    consent(clinic.patient)
    unconfirmed = book(chicago(tomorrow, 9)).get_json()
    confirmed = book(
        chicago(tomorrow, 9), chair_id=clinic.chairs[1].id, patient=clinic.new_patient(mrn="T-2")
    ).get_json()
    asked = book(
        chicago(tomorrow, 9), chair_id=clinic.chairs[2].id, patient=clinic.new_patient(mrn="T-3")
    ).get_json()
    for visit_id, state in ((confirmed["id"], "confirmed"), (asked["id"], "cancel_requested")):
        db.session.get(Visit, visit_id).confirmation = state
    db.session.commit()
    auth.login(clinic.clerk)
    html = client.get(f"/?site_id={clinic.site.id}&date={tomorrow.isoformat()}").get_data(
        as_text=True
    )
    assert (
        'data-confirmation="confirmed"' in html and 'data-confirmation="cancel_requested"' in html
    )
    today_page = client.get(f"/?site_id={clinic.site.id}").get_data(as_text=True)
    section = today_page.split('id="to-call-title"')[1].split("</section>")[0]
    assert "(2)" in section
    assert f"/visits/{unconfirmed['id']}" in section and f"/visits/{asked['id']}" in section
    assert f"/visits/{confirmed['id']}" not in section
    assert section.index(f"/visits/{asked['id']}") < section.index(f"/visits/{unconfirmed['id']}")


def test_the_link_page_is_rate_limited_per_address(app, client):
    app.config["RATELIMIT_CONFIRM_PER_ADDRESS"] = "3/minute"
    answers = [client.get(f"/c/guess-{n}").status_code for n in range(5)]
    assert answers == [404, 404, 404, 429, 429]


def test_the_visit_page_shows_the_answer_and_the_messages(client, auth, clinic, book):
    consent(clinic.patient, sms=False)
    visit = book(chicago(MONDAY + timedelta(days=8), 10)).get_json()
    auth.login(clinic.clerk)
    html = client.get(f"/visits/{visit['id']}").get_data(as_text=True)
    assert 'id="visit-confirmation">Unconfirmed<' in html
    messages_list = html.split('id="visit-messages"')[1].split("</ul>")[0]
    assert "Booked by e-mail: scheduled" in messages_list
    assert "Reminder by e-mail: scheduled" in messages_list


def test_the_admin_site_page_sets_the_reminders(client, auth, clinic):
    from tests.web.test_admin import page, post_form, site_form

    auth.login(clinic.admin)
    url = f"/admin/sites/{clinic.site.id}"
    html = page(client, url)
    assert 'name="reminder_hours"' in html and 'value="72, 24"' in html
    data = site_form(clinic.site) | {
        "reminders_shown": "1",
        "reminder_hours": "48, 2.5",
        "reminder_sms": "y",
        "quiet_start": "22:00",
        "quiet_end": "07:30",
        "instructions": "Eat nothing after midnight.",
    }
    assert post_form(client, url, data).status_code == 302
    db.session.refresh(clinic.site)
    assert clinic.site.reminders == {
        "offsets_minutes": [2880, 150],
        "channels": ["sms"],
        "quiet_start": "22:00",
        "quiet_end": "07:30",
        "instructions": "Eat nothing after midnight.",
    }
    refused = post_form(client, url, data | {"instructions": "Before your ketamine session"})
    assert refused.status_code == 200
    assert "no message may name ketamine" in refused.get_data(as_text=True)
    bad = post_form(client, url, data | {"reminder_hours": "soon"})
    assert "Numbers of hours" in bad.get_data(as_text=True)
    # A post from a page without these fields leaves the reminders as they are.
    assert post_form(client, url, site_form(clinic.site)).status_code == 302
    db.session.refresh(clinic.site)
    assert clinic.site.reminders["channels"] == ["sms"]


@pytest.mark.parametrize(
    ("settings", "words"),
    [
        (
            {"SMS_PROVIDER": "webhook", "SMS_WEBHOOK_URL": "https://gw.test/sms"},
            "SMS_WEBHOOK_SECRET",
        ),
        ({"SMS_PROVIDER": "twilio", "TWILIO_ACCOUNT_SID": "AC1"}, "TWILIO_AUTH_TOKEN, TWILIO_FROM"),
        ({"SMS_PROVIDER": "pigeon"}, "webhook, twilio or empty"),
    ],
    ids=["webhook", "twilio", "unknown"],
)
def test_an_incomplete_sms_provider_refuses_to_start(settings, words):
    from clinic import create_app
    from clinic.startup import ConfigurationError
    from config import TestConfig

    with pytest.raises(ConfigurationError, match=words):
        create_app(TestConfig, **settings)


def test_i_cant_come_by_link_inside_the_window_asks_the_desk(client, clinic, book, channels):
    from tests.conftest import csrf_token

    consent(clinic.patient, sms=False)
    clinic.site.cancel_window_hours = 24 * 10
    db.session.commit()
    visit = book(chicago(MONDAY + timedelta(days=8), 10)).get_json()
    patient_outbox.send_due(SETTLED)
    token = _link_token(channels, visit["id"])
    html = client.get(f"/c/{token}").get_data(as_text=True)
    answered = client.post(
        f"/c/{token}", data={"answer": "cant_come", "csrf_token": csrf_token(html)}
    )
    assert "the front desk will call you" in answered.get_data(as_text=True)
    db.session.rollback()
    stored = db.session.get(Visit, visit["id"])
    assert (stored.status, stored.confirmation) == ("booked", "cancel_requested")


def test_twilio_replies_are_checked_with_twilios_signature(app, client, clinic, book):
    from twilio.request_validator import RequestValidator

    app.config.update(
        SMS_PROVIDER="twilio", TWILIO_AUTH_TOKEN="twilio-token", TWILIO_ACCOUNT_SID="AC1"
    )
    consent(clinic.patient)
    visit = book(chicago(MONDAY + timedelta(days=8), 10)).get_json()
    url = "http://localhost/api/v1/sms/inbound"
    form = {"From": "+15125550123", "Body": "YES", "MessageSid": "SM1"}
    signature = RequestValidator("twilio-token").compute_signature(url, form)
    forged = client.post(url, data=form, headers={"X-Twilio-Signature": "bogus"})
    assert_error(forged, 401, "unauthorized")
    answered = client.post(url, data=form, headers={"X-Twilio-Signature": signature})
    assert answered.get_json() == {"result": "confirmed"}
    db.session.rollback()
    assert db.session.get(Visit, visit["id"]).confirmation == "confirmed"


def test_twilio_sends_through_its_client(app, clinic, book, monkeypatch):
    from clinic.notify import sms

    sent = []

    class Messages:
        def create(self, **fields):
            sent.append(fields)

    class Client:
        def __init__(self, sid, token):
            self.messages = Messages()

    monkeypatch.setattr("twilio.rest.Client", Client)
    app.config.update(
        SMS_PROVIDER="twilio",
        TWILIO_ACCOUNT_SID="AC1",
        TWILIO_AUTH_TOKEN="t",
        TWILIO_FROM="+15125550999",
    )
    assert isinstance(sms.provider(app.config), sms.TwilioSms)
    consent(clinic.patient, email_=False)
    book(chicago(MONDAY + timedelta(days=8), 10))
    assert patient_outbox.send_due(SETTLED) == 1
    [fields] = sent
    assert fields["to"] == "+15125550123" and fields["from_"] == "+15125550999"
    assert clinical_words(fields["body"]) == []
