"""GET /notifications, POST /notifications/{id}/ack, /healthz and the stale-scheduler banner."""

from __future__ import annotations

from datetime import datetime, timedelta

import time_machine

from clinic.domain.alarms import DISCHARGE_DUE, DISCHARGE_OVERDUE
from clinic.extensions import db
from clinic.models import Chair, Notification
from clinic.services import heartbeat, notifications
from clinic.types import utcnow
from tests.api.conftest import assert_error

FIELDS = [
    "id",
    "kind",
    "visit_id",
    "site_id",
    "due_at",
    "created_at",
    "acknowledged_at",
    "acknowledged_by",
    "resolved_at",
    "resolved_reason",
]


def zulu(value) -> str:
    return value.isoformat().replace("+00:00", "Z")


def test_list_shows_the_fields_of_api_md_newest_first(api_as, clinic, recovering):
    first = recovering(timedelta(minutes=-16))
    second = recovering(timedelta(seconds=-1))
    now = utcnow()
    [due_1] = notifications.fire([first.id], DISCHARGE_DUE, now)
    [overdue_1] = notifications.fire([first.id], DISCHARGE_OVERDUE, now)
    [due_2] = notifications.fire([second.id], DISCHARGE_DUE, now)

    answer = api_as(clinic.nurse).get("/notifications")
    assert answer.status_code == 200
    body = answer.get_json()
    assert [n["id"] for n in body] == [due_2, overdue_1, due_1]
    assert all(list(n) == FIELDS for n in body)
    assert body[2] == {
        "id": due_1,
        "kind": "discharge_due",
        "visit_id": first.id,
        "site_id": clinic.site.id,
        "due_at": zulu(first.discharge_due_at),
        "created_at": zulu(now),
        "acknowledged_at": None,
        "acknowledged_by": None,
        "resolved_at": None,
        "resolved_reason": None,
    }
    assert body[1]["kind"] == "discharge_overdue"
    assert body[1]["due_at"] == zulu(first.discharge_due_at + timedelta(minutes=15))
    for role in (clinic.clerk, clinic.practitioner, clinic.admin):
        assert len(api_as(role).get("/notifications").get_json()) == 3


def test_acknowledge_records_who_and_when_and_twice_changes_nothing(api_as, clinic, recovering):
    visit = recovering(timedelta(seconds=-1))
    [notification_id] = notifications.fire([visit.id], DISCHARGE_DUE, utcnow())

    first = api_as(clinic.nurse).post(f"/notifications/{notification_id}/ack")
    assert first.status_code == 200
    body = first.get_json()
    assert list(body) == FIELDS
    assert body["acknowledged_by"] == clinic.nurse.id
    assert body["acknowledged_at"] is not None

    again = api_as(clinic.practitioner).post(f"/notifications/{notification_id}/ack")
    assert again.status_code == 200
    assert again.get_json()["acknowledged_at"] == body["acknowledged_at"]
    assert again.get_json()["acknowledged_by"] == clinic.nurse.id


def test_unacknowledged_filter(api_as, clinic, recovering):
    visits = [recovering(timedelta(seconds=-1)) for _ in range(2)]
    ids = notifications.fire([v.id for v in visits], DISCHARGE_DUE, utcnow())
    api = api_as(clinic.practitioner)
    assert api.post(f"/notifications/{ids[0]}/ack").status_code == 200

    assert [n["id"] for n in api.get("/notifications?unacknowledged=1").get_json()] == [ids[1]]
    assert len(api.get("/notifications?unacknowledged=0").get_json()) == 2
    assert len(api.get("/notifications?unacknowledged=true").get_json()) == 1
    assert_error(api.get("/notifications?unacknowledged=maybe"), 422, "invalid")


def test_a_resolved_alert_shows_when_and_why_and_leaves_the_unacknowledged_list(
    api_as, clinic, recovering
):
    extended, discharged, still_due = (recovering(timedelta(seconds=-1)) for _ in range(3))
    ids = notifications.fire([extended.id, discharged.id, still_due.id], DISCHARGE_DUE, utcnow())
    api = api_as(clinic.nurse)
    before = utcnow()
    extend = {"type": "extend_observation", "minutes": 20, "reason": "Dizzy on standing"}
    assert api.post(f"/visits/{extended.id}/events", json=extend).status_code == 200
    checklist = {"padss": 10, "escort_name": "Sam Rivera", "vitals_stable": True}
    discharge = {"type": "discharge", "checklist": checklist}
    assert api.post(f"/visits/{discharged.id}/events", json=discharge).status_code == 200

    listed = {n["visit_id"]: n for n in api.get("/notifications").get_json()}
    assert listed[extended.id]["resolved_reason"] == "extended"
    assert listed[discharged.id]["resolved_reason"] == "discharged"
    for visit in (extended, discharged):
        resolved_at = datetime.fromisoformat(listed[visit.id]["resolved_at"])
        assert resolved_at.tzinfo is not None and before <= resolved_at <= utcnow()
    assert listed[still_due.id]["resolved_at"] is None
    assert listed[still_due.id]["resolved_reason"] is None
    # unacknowledged=1 lists only the open ones: not acknowledged, not resolved.
    assert [n["visit_id"] for n in api.get("/notifications?unacknowledged=1").get_json()] == [
        still_due.id
    ]
    # Acknowledging a resolved alert is harmless; the answer says it was resolved.
    ack = api.post(f"/notifications/{ids[0]}/ack")
    assert ack.status_code == 200
    assert ack.get_json()["resolved_reason"] == "extended"
    assert ack.get_json()["acknowledged_by"] == clinic.nurse.id


def test_roles_that_may_not_acknowledge_get_403(api_as, clinic, recovering):
    visit = recovering(timedelta(seconds=-1))
    [notification_id] = notifications.fire([visit.id], DISCHARGE_DUE, utcnow())
    for user in (clinic.clerk, clinic.admin):
        assert_error(api_as(user).post(f"/notifications/{notification_id}/ack"), 403, "forbidden")
    db.session.rollback()
    assert db.session.get(Notification, notification_id).acknowledged_at is None


def test_another_sites_notifications_are_invisible(
    api_as, clinic, make_site, make_chair, make_user, recovering
):
    visit = recovering(timedelta(seconds=-1))
    [notification_id] = notifications.fire([visit.id], DISCHARGE_DUE, utcnow())
    elsewhere = make_site(name="Dallas")
    make_chair(elsewhere)
    stranger = make_user("nurse", [elsewhere])
    api = api_as(stranger)

    assert api.get("/notifications").get_json() == []
    assert api.get(f"/notifications?site_id={elsewhere.id}").get_json() == []
    assert_error(api.get(f"/notifications?site_id={clinic.site.id}"), 404, "not_found")
    assert_error(api.post(f"/notifications/{notification_id}/ack"), 404, "not_found")
    own = api_as(clinic.nurse)
    assert len(own.get(f"/notifications?site_id={clinic.site.id}").get_json()) == 1
    assert own.get(f"/notifications?site_id={elsewhere.id}").status_code == 404


def test_bad_requests_never_500(api_as, clinic):
    api = api_as(clinic.nurse)
    assert_error(api.post("/notifications/999999/ack"), 404, "not_found")
    assert_error(api.post(f"/notifications/{2**40}/ack"), 404, "not_found")
    assert_error(api.post("/notifications/abc/ack"), 404, "not_found")
    assert_error(api.get("/notifications?site_id=abc"), 422, "invalid")
    assert_error(api.get("/notifications?site_id=0"), 422, "invalid")
    assert_error(api.get("/notifications/1/ack"), 405, "method_not_allowed")


def test_notifications_need_a_token(client):
    assert_error(client.get("/api/v1/notifications"), 401, "unauthorized")
    assert_error(client.post("/api/v1/notifications/1/ack"), 401, "unauthorized")


def test_healthz_alive_while_the_scheduler_beats_and_false_when_stale(client):
    body = client.get("/healthz").get_json()
    assert body == {"database": "ok", "scheduler": {"alive": False, "last_heartbeat": None}}

    beat_at = utcnow()
    heartbeat.beat("host:1", True, beat_at, beat_at)
    for path in ("/healthz", "/api/v1/healthz"):
        body = client.get(path).get_json()
        assert body["scheduler"] == {"alive": True, "last_heartbeat": zulu(beat_at)}

    # A standby's beat alone does not make the scheduler alive.
    with time_machine.travel(beat_at + timedelta(seconds=61), tick=False):
        heartbeat.beat("host:2", False, utcnow(), utcnow())
        body = client.get("/healthz").get_json()
    assert body["scheduler"] == {"alive": False, "last_heartbeat": zulu(beat_at)}

    with time_machine.travel(beat_at + timedelta(seconds=59), tick=False):
        assert client.get("/healthz").get_json()["scheduler"]["alive"] is True


def test_every_page_shows_a_red_banner_while_the_scheduler_is_stale(client, auth, clinic):
    assert "The alarm scheduler is not running" in client.get("/login").get_data(as_text=True)
    auth.login(clinic.clerk)
    assert "The alarm scheduler is not running" in client.get("/").get_data(as_text=True)

    now = utcnow()
    heartbeat.beat("host:1", True, now, now)
    assert "The alarm scheduler is not running" not in client.get("/").get_data(as_text=True)

    heartbeat.beat("host:1", True, now, now - timedelta(seconds=90))
    assert "The alarm scheduler is not running" in client.get("/").get_data(as_text=True)


def test_messages_name_the_recovery_bay_in_bay_mode(app, clinic, recovering):
    visit = recovering(timedelta(seconds=-1))
    bay = Chair(site_id=clinic.site.id, name="Bay 7", kind="recovery_bay")
    db.session.add(bay)
    db.session.commit()
    visit.recovery_chair_id = bay.id
    db.session.commit()
    notifications.fire([visit.id], DISCHARGE_DUE, utcnow())
    [alert] = notifications.open_alerts(clinic.nurse)
    assert alert.chair == "Bay 7"
