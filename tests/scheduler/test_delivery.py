"""The outbox: e-mail to a real SMTP server, signed webhooks, retries with backoff, and the
admin page of failed deliveries. Messages carry initials, never a name."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import timedelta

from sqlalchemy import select

from clinic.domain.alarms import DISCHARGE_DUE, MAX_ATTEMPTS, retry_delay
from clinic.extensions import db
from clinic.models import Delivery
from clinic.notify import outbox
from clinic.notify import webhook as signing
from clinic.services import notifications
from clinic.types import utcnow
from tests.conftest import CHICAGO, csrf_token
from tests.scheduler.conftest import count

SECRET = "test-webhook-secret"


def deliveries() -> list[Delivery]:
    """Return every outbox row, freshly read."""
    db.session.rollback()
    stmt = select(Delivery).order_by(Delivery.id).execution_options(populate_existing=True)
    return list(db.session.scalars(stmt))


def test_retry_delays_double_from_five_seconds_up_to_ten_minutes():
    assert [retry_delay(n).total_seconds() for n in range(1, 9)] == [
        5,
        10,
        20,
        40,
        80,
        160,
        320,
        600,
    ]


def test_email_reaches_the_nurses_on_shift_with_initials_and_no_name(
    app, clinic, make_shift, make_user, recovering, smtp_server
):
    app.config.update(
        SMTP_HOST="127.0.0.1",
        SMTP_PORT=smtp_server.port,
        SMTP_TLS="none",
        MAIL_FROM="alerts@clinic.test",
    )
    now = utcnow()
    on_shift = make_shift(
        clinic.site, "nurse", starts_at=now - timedelta(hours=2), ends_at=now + timedelta(hours=6)
    ).user
    gone_home = make_shift(
        clinic.site, "nurse", starts_at=now - timedelta(hours=10), ends_at=now - timedelta(hours=1)
    ).user
    visit = recovering(timedelta(seconds=-2), given_name="Quentin", family_name="Zabriskie")

    created = notifications.fire([visit.id], DISCHARGE_DUE, utcnow())
    assert len(created) == 1
    targets = {d.target for d in deliveries()}
    assert on_shift.email in targets
    assert gone_home.email not in targets

    sent = outbox.deliver_due()
    assert sent == len(targets)
    assert all(d.status == "sent" and d.attempts == 1 for d in deliveries())

    mine = [m for m in smtp_server.messages if on_shift.email in m.rcpt_tos]
    assert len(mine) == 1
    raw = mine[0].content.decode()
    assert mine[0].mail_from == "alerts@clinic.test"
    assert "Subject: Discharge due: " in raw
    assert visit.chair.name in raw
    assert "(QZ)" in raw and "Patient: QZ" in raw
    assert f"Visit: {visit.id}" in raw
    local = visit.discharge_due_at.astimezone(CHICAGO)
    assert f"at {local:%H:%M %Z}" in raw
    assert f"{visit.discharge_due_at:%Y-%m-%d %H:%M} UTC" in raw
    assert "Quentin" not in raw and "Zabriskie" not in raw
    assert visit.patient.mrn not in raw
    assert "UTC" in raw and ("CST" in raw or "CDT" in raw)


def test_webhook_signature_covers_the_timestamp_and_the_raw_body(app, clinic, recovering, webhook):
    app.config.update(WEBHOOK_URLS=[webhook.url], WEBHOOK_SECRET=SECRET)
    visit = recovering(timedelta(seconds=-1), given_name="Quentin", family_name="Zabriskie")
    [notification_id] = notifications.fire([visit.id], DISCHARGE_DUE, utcnow())

    assert outbox.deliver_due() == 1
    [received] = webhook.requests
    body, headers = received["body"], received["headers"]
    timestamp = headers["X-Infusion-Timestamp"]
    signed = timestamp.encode() + b"." + body
    expected = "sha256=" + hmac.new(SECRET.encode(), signed, hashlib.sha256).hexdigest()
    assert headers["X-Infusion-Signature"] == expected
    assert headers["Content-Type"] == "application/json"
    assert abs(int(timestamp) - utcnow().timestamp()) < 30
    # The body alone no longer verifies: a replay under a fresh timestamp would not pass.
    body_only = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert body_only != headers["X-Infusion-Signature"]
    payload = json.loads(body)
    assert payload["event"] == "discharge_due"
    assert payload["notification_id"] == notification_id
    assert payload["visit_id"] == visit.id
    assert payload["chair"] == visit.chair.name
    assert payload["patient_initials"] == "QZ"
    assert payload["due_at"] == visit.discharge_due_at.isoformat().replace("+00:00", "Z")
    assert payload["due_at_local"].endswith("-06:00")
    assert set(payload) == {
        "event",
        "notification_id",
        "visit_id",
        "site_id",
        "chair",
        "patient_initials",
        "due_at",
        "due_at_local",
        "timezone",
        "sent_at",
    }
    assert b"Quentin" not in body and b"Zabriskie" not in body
    # A wrong secret would not verify.
    forged = "sha256=" + hmac.new(b"other", body, hashlib.sha256).hexdigest()
    assert forged != headers["X-Infusion-Signature"]


def test_a_failing_channel_is_retried_with_backoff_then_failed_and_shown_to_admins(
    app, client, auth, clinic, recovering, webhook
):
    webhook.status = 500
    app.config.update(WEBHOOK_URLS=[webhook.url + "?key=s3cret"], WEBHOOK_SECRET=SECRET)
    visit = recovering(timedelta(seconds=-1))
    start = utcnow()
    notifications.fire([visit.id], DISCHARGE_DUE, start)

    now = start
    for attempt in range(1, MAX_ATTEMPTS + 1):
        assert outbox.deliver_due(now=now) == 0
        [delivery] = deliveries()
        assert delivery.attempts == attempt
        assert delivery.last_error == "HTTPError: HTTP Error 500: Internal Server Error"
        if attempt < MAX_ATTEMPTS:
            assert delivery.status == "pending"
            assert delivery.next_attempt_at == now + retry_delay(attempt)
            # Not a moment before the backoff has passed.
            outbox.deliver_due(now=delivery.next_attempt_at - timedelta(seconds=1))
            assert len(webhook.requests) == attempt
            now = delivery.next_attempt_at
    assert delivery.status == "failed"
    assert len(webhook.requests) == MAX_ATTEMPTS
    outbox.deliver_due(now=now + timedelta(hours=1))
    assert len(webhook.requests) == MAX_ATTEMPTS

    auth.login(clinic.admin)
    page = client.get("/admin/deliveries")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert f"#{delivery.id}" in html
    assert "failed" in html and "HTTP Error 500" in html
    assert f"visit {visit.id}" in html
    assert "s3cret" not in html and "/hook" not in html  # the URL's path and key stay hidden
    assert visit.patient.family_name not in html


def test_the_failed_deliveries_page_is_for_admins_only(client, auth, clinic):
    auth.login(clinic.nurse)
    assert client.get("/admin/deliveries").status_code == 403


def test_the_alert_pages_need_a_signed_in_user(client, clinic):
    for path in ("/admin/deliveries", "/notifications/feed"):
        answer = client.get(path)
        assert answer.status_code == 302 and "/login" in answer.headers["Location"]


def test_an_unreachable_smtp_server_is_recorded_and_retried(app, clinic, make_shift, recovering):
    from tests.scheduler.conftest import free_port

    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=free_port(), SMTP_TLS="none")
    now = utcnow()
    make_shift(
        clinic.site, "nurse", starts_at=now - timedelta(hours=1), ends_at=now + timedelta(hours=1)
    )
    visit = recovering(timedelta(seconds=-1))
    notifications.fire([visit.id], DISCHARGE_DUE, now)
    outbox.deliver_due(now=now)
    rows = deliveries()
    assert rows and all(d.channel == "email" for d in rows)
    assert all(d.status == "pending" and d.attempts == 1 for d in rows)
    assert all(d.last_error.startswith("ConnectionRefusedError") for d in rows)
    assert all(d.next_attempt_at == now + timedelta(seconds=5) for d in rows)
    assert count(Delivery) == len(rows)


def test_two_outbox_runs_never_send_one_delivery_twice(app, clinic, recovering, webhook):
    app.config.update(WEBHOOK_URLS=[webhook.url], WEBHOOK_SECRET=SECRET)
    visits = [recovering(timedelta(seconds=-1)) for _ in range(3)]
    now = utcnow()
    notifications.fire([v.id for v in visits], DISCHARGE_DUE, now)
    claimed = outbox.claim(now)
    assert len(claimed) == 3
    assert outbox.claim(now) == []  # leased to the first run
    outbox.record(outbox.send_all(claimed, app.config, now), now)
    assert outbox.deliver_due(now=now + timedelta(minutes=5)) == 0
    assert len(webhook.requests) == 3
    assert {d.status for d in deliveries()} == {"sent"}


def test_the_alerts_feed_and_acknowledge_from_the_dashboard(app, client, auth, clinic, recovering):
    visit = recovering(timedelta(seconds=-1), given_name="Quentin", family_name="Zabriskie")
    [notification_id] = notifications.fire([visit.id], DISCHARGE_DUE, utcnow())

    auth.login(clinic.nurse)
    feed = client.get("/notifications/feed").get_json()
    [alert] = feed["alerts"]
    assert alert["id"] == notification_id
    assert alert["title"] == "Discharge due"
    assert alert["chair"] == visit.chair.name
    assert alert["patient_initials"] == "QZ"
    assert "Zabriskie" not in json.dumps(feed)
    assert feed["can_acknowledge"] is True
    assert feed["scheduler"]["alive"] is False

    assert client.post(f"/notifications/{notification_id}/ack").status_code == 400  # no CSRF
    token = csrf_token(client.get("/").get_data(as_text=True))
    answer = client.post(f"/notifications/{notification_id}/ack", headers={"X-CSRFToken": token})
    assert answer.status_code == 200
    assert answer.get_json()["acknowledged_by"] == clinic.nurse.id
    assert client.get("/notifications/feed").get_json()["alerts"] == []


def test_the_front_desk_sees_alerts_but_may_not_acknowledge(client, auth, clinic, recovering):
    visit = recovering(timedelta(seconds=-1))
    [notification_id] = notifications.fire([visit.id], DISCHARGE_DUE, utcnow())
    auth.login(clinic.clerk)
    feed = client.get("/notifications/feed").get_json()
    assert feed["can_acknowledge"] is False
    assert [a["id"] for a in feed["alerts"]] == [notification_id]
    token = csrf_token(client.get("/").get_data(as_text=True))
    refused = client.post(f"/notifications/{notification_id}/ack", headers={"X-CSRFToken": token})
    assert refused.status_code == 403
    assert refused.get_json()["error"] == "forbidden"


def test_the_alerts_partial_wires_the_feed_the_ack_and_a_real_sound(app, client, clinic):
    import io
    import wave

    from flask import render_template_string

    with app.test_request_context("/"):
        from flask_login import login_user

        login_user(clinic.nurse)
        html = render_template_string('{% include "_alerts.html" %}')
    assert 'data-feed-url="/notifications/feed"' in html
    assert 'data-ack-url="/notifications/0/ack"' in html
    assert 'data-csrf-token="' in html
    assert "/static/js/alerts.js" in html and "/static/sounds/alert.wav" in html
    assert "<script>" not in html and "style=" not in html  # the CSP forbids inline code
    assert client.get("/static/js/alerts.js").status_code == 200
    sound = client.get("/static/sounds/alert.wav")
    assert sound.status_code == 200
    with wave.open(io.BytesIO(sound.data)) as wav:
        assert wav.getnchannels() == 1
        assert 0.3 < wav.getnframes() / wav.getframerate() < 2.0


def test_channels_come_from_the_config():
    channels = notifications.Channels.from_config
    assert channels({}) == notifications.Channels(email=False, webhook_urls=())
    assert channels({"SMTP_HOST": "mail", "WEBHOOK_URLS": ["http://a/h"]}) == (
        notifications.Channels(email=True, webhook_urls=("http://a/h",))
    )
    assert channels({"WEBHOOK_URLS": "http://a/h, http://b/h,"}).webhook_urls == (
        "http://a/h",
        "http://b/h",
    )


def test_a_receiver_verifies_the_signature_and_refuses_an_old_or_altered_request():
    body = signing.encode({"event": "discharge_due", "visit_id": 7})
    now = 1_800_000_000
    headers = signing.signed_headers(SECRET, body, now)
    stamp, signed = headers["X-Infusion-Timestamp"], headers["X-Infusion-Signature"]

    assert signing.verify(SECRET, stamp, signed, body, now=now + 299)
    assert not signing.verify(SECRET, stamp, signed, body, now=now + 301)  # older than 5 min
    assert not signing.verify(SECRET, str(now + 60), signed, body, now=now + 60)  # new stamp
    assert not signing.verify(SECRET, stamp, signed, body + b" ", now=now)  # altered body
    assert not signing.verify("other", stamp, signed, body, now=now)
    assert not signing.verify(SECRET, None, signed, body, now=now)
    assert not signing.verify(SECRET, "-1", signed, body, now=now)


def test_an_empty_secret_sends_nothing_unsigned(app, clinic, recovering, webhook):
    app.config.update(WEBHOOK_URLS=[webhook.url], WEBHOOK_SECRET="")
    visit = recovering(timedelta(seconds=-1))
    notifications.fire([visit.id], DISCHARGE_DUE, utcnow())

    assert outbox.deliver_due() == 0
    assert webhook.requests == []
    [row] = deliveries()
    assert "WEBHOOK_SECRET" in row.last_error
