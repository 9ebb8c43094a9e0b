"""Alerts on the pages: resolved ones leave the feeds, the wall display (signed in with
?wall=1, or a display link) carries the open ones with chair and initials only, and the
recovery page carries the "Signed out: alerts have stopped" cover with its way back."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape
from urllib.parse import parse_qs, urlsplit

import pytest

from clinic.domain.alarms import DISCHARGE_DUE, DISCHARGE_OVERDUE
from clinic.services import display_links, notifications
from clinic.services.events import record_event
from clinic.types import utcnow
from tests.conftest import NOW, PASSWORD, csrf_token
from tests.services.visit_rows import put_visit
from tests.web.test_nursing import wall_alerts_of

AUTO = {"X-Auto-Refresh": "1", "Accept": "application/json"}
WALL_ALERT_FIELDS = {
    "id",
    "kind",
    "title",
    "chair",
    "patient_initials",
    "due_at",
    "due_local",
    "created_at",
}


@pytest.fixture
def due(clinic, make_patient):
    """Avery Quinn in Chair 2, due for discharge 75 minutes ago, the alarm fired."""
    patient = make_patient(clinic.site, given_name="Avery", family_name="Quinn")
    visit = put_visit(
        clinic.site, clinic.chairs[1], patient, "recovering", NOW - timedelta(hours=3), 45, 60
    )
    [notification_id] = notifications.fire([visit.id], DISCHARGE_DUE, now=utcnow())
    visit.notification_id = notification_id
    return visit


@pytest.fixture
def display(client, clinic):
    """A wall display link of the clinic's site, claimed by the client: the wall's address."""
    _link, token = display_links.create(clinic.admin, clinic.site.id, "Recovery wall", utcnow())
    page = client.get(f"/display/{token}").get_data(as_text=True)
    claimed = client.post("/display/claim", data={"csrf_token": csrf_token(page), "token": token})
    assert claimed.headers["Location"] == "/display/"
    return "/display"


def extend(clinic, visit) -> None:
    """Extend the visit's observation by 30 minutes, as a nurse does on another screen."""
    record_event(clinic.nurse, visit.id, "extend_observation", utcnow(), minutes=30, reason="Dizzy")


def test_the_alerts_feed_drops_an_alert_once_it_is_resolved(client, auth, clinic, due):
    auth.login(clinic.nurse)
    feed = client.get(f"/notifications/feed?site_id={clinic.site.id}", headers=AUTO).get_json()
    assert [a["id"] for a in feed["alerts"]] == [due.notification_id]

    extend(clinic, due)

    feed = client.get(f"/notifications/feed?site_id={clinic.site.id}", headers=AUTO).get_json()
    assert feed["alerts"] == []


def test_the_signed_in_wall_feed_carries_open_alerts_with_chair_and_initials_only(
    client, auth, clinic, due
):
    auth.login(clinic.nurse)
    answer = client.get(f"/recovery/feed?site_id={clinic.site.id}&wall=1", headers=AUTO)
    body = {"wall_alerts": wall_alerts_of(answer.get_data(as_text=True))}
    [alert] = body["wall_alerts"]["alerts"]
    assert set(alert) == WALL_ALERT_FIELDS
    assert alert["chair"] == "Chair 2" and alert["patient_initials"] == "AQ"
    assert alert["title"] == "Discharge due" and alert["kind"] == DISCHARGE_DUE
    assert body["wall_alerts"]["can_acknowledge"] is False
    assert "Avery" not in answer.get_data(as_text=True)
    assert "Quinn" not in answer.get_data(as_text=True)
    # The desk's own dashboard has the alerts banner instead: no copy in its feed.
    normal = client.get(f"/recovery/feed?site_id={clinic.site.id}", headers=AUTO)
    assert "data-wall-alerts" not in normal.get_data(as_text=True)


def test_the_display_link_shows_and_updates_the_alerts(client, clinic, due, display):
    page = client.get(f"{display}/").get_data(as_text=True)
    [alert] = wall_alerts_of(page)["alerts"]
    assert (alert["chair"], alert["patient_initials"]) == ("Chair 2", "AQ")
    assert "Avery" not in page and "Quinn" not in page
    assert 'class="alerts-panel alerts-wall"' in page and "data-alerts-ack" not in page
    assert 'data-feed-url="/notifications' not in page  # the wall polls its own feed only

    first = client.get(f"{display}/feed", headers=AUTO)
    etag = first.headers["ETag"]
    assert client.get(f"{display}/feed", headers=AUTO | {"If-None-Match": etag}).status_code == 304
    # A new alert changes the feed: the wall sees it at its next poll.
    notifications.fire([due.id], DISCHARGE_OVERDUE, now=utcnow() + timedelta(minutes=1))
    second = client.get(f"{display}/feed", headers=AUTO | {"If-None-Match": etag})
    assert second.status_code == 200
    kinds = [a["kind"] for a in wall_alerts_of(second.get_data(as_text=True))["alerts"]]
    assert kinds == [DISCHARGE_DUE, DISCHARGE_OVERDUE]
    assert "Quinn" not in second.get_data(as_text=True)

    # Resolved (extended elsewhere): gone from the wall without a click.
    extend(clinic, due)
    third = client.get(f"{display}/feed", headers=AUTO).get_data(as_text=True)
    assert wall_alerts_of(third)["alerts"] == []


def test_the_wall_shows_an_acknowledged_alert_no_more(client, clinic, due, display):
    notifications.acknowledge(clinic.nurse, due.notification_id, utcnow())
    answer = client.get(f"{display}/feed", headers=AUTO).get_data(as_text=True)
    assert wall_alerts_of(answer)["alerts"] == []


def test_the_recovery_page_carries_the_signed_out_cover_and_a_way_back(client, auth, clinic):
    auth.login(clinic.nurse)
    path = f"/recovery?site_id={clinic.site.id}"
    html = client.get(path).get_data(as_text=True)
    assert 'id="signed-out"' in html and "Signed out: alerts have stopped" in html
    [link] = re.findall(r'<a [^>]*data-signed-out-sign-in\s+href="([^"]+)"', html)
    link = unescape(link)
    assert urlsplit(link).path == "/login"
    assert parse_qs(urlsplit(link).query) == {"next": [path]}

    # Signed out meanwhile: the link signs in again and returns to the same dashboard.
    auth.logout()
    login = client.get(link)
    answer = client.post(
        link,
        data={
            "email": clinic.nurse.email,
            "password": PASSWORD,
            "csrf_token": csrf_token(login.get_data(as_text=True)),
        },
    )
    assert answer.status_code == 302 and answer.headers["Location"] == path


def test_a_display_link_has_the_cover_without_a_sign_in(client, clinic, display):
    html = client.get(f"{display}/").get_data(as_text=True)
    assert "Display link revoked: alerts have stopped" in html
    assert "data-signed-out-sign-in" not in html and 'data-display-link="1"' in html


def test_the_alerts_feed_answers_a_bad_site_id_with_the_json_error_body(client, auth, clinic):
    auth.login(clinic.nurse)
    for bad in ("abc", "0", "-1", str(2**31)):
        answer = client.get(f"/notifications/feed?site_id={bad}", headers=AUTO)
        assert answer.status_code == 422
        assert answer.get_json()["fields"] == {"site_id": ["Must be between 1 and 2147483647."]}
