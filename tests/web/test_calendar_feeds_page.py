"""The "Calendar feeds" section of the security page: make a feed (its address shown once),
list and revoke one's own; administrators may make a whole site's."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from clinic.services import calendar_feeds
from clinic.types import utcnow
from tests.conftest import csrf_token
from tests.security.conftest import sign_in

NEW_URL = re.compile(r"data-new-feed>(http[^<]+)</code>")


def test_staff_make_their_own_feed_see_it_once_and_revoke_it(client, clinic):
    sign_in(client, clinic.nurse)
    page = client.get("/account/security").get_data(as_text=True)
    assert "Calendar feeds" in page and "No calendar feeds." in page
    assert "whole_site" not in page  # a nurse cannot make a site's feed
    made = client.post(
        "/account/calendar-feeds",
        data={"site_id": clinic.site.id, "csrf_token": csrf_token(page)},
    )
    assert made.status_code == 200
    shown = made.get_data(as_text=True)
    url = NEW_URL.search(shown).group(1)
    assert 'data-copy="#new-feed-url"' in shown
    path = urlsplit(url).path
    assert client.get(path).status_code == 200
    [feed] = calendar_feeds.list_for(clinic.nurse)
    assert feed.user_id == clinic.nurse.id
    again = client.get("/account/security").get_data(as_text=True)
    assert path not in again and "My shifts" in again  # listed, the address not shown again
    revoked = client.post(
        f"/account/calendar-feeds/{feed.id}/revoke", data={"csrf_token": csrf_token(again)}
    )
    assert revoked.status_code == 302
    assert client.get(path).status_code == 404


def test_a_nurse_cannot_make_a_site_feed_nor_revoke_anothers(client, clinic):
    theirs, _token = calendar_feeds.create(clinic.admin, clinic.site.id, None, utcnow())
    sign_in(client, clinic.nurse)
    page = client.get("/account/security").get_data(as_text=True)
    refused = client.post(
        "/account/calendar-feeds",
        data={"site_id": clinic.site.id, "whole_site": "y", "csrf_token": csrf_token(page)},
    )
    assert refused.status_code == 422
    assert "Only an administrator" in refused.get_data(as_text=True)
    assert calendar_feeds.list_for(clinic.nurse) == []
    other = client.post(
        f"/account/calendar-feeds/{theirs.id}/revoke", data={"csrf_token": csrf_token(page)}
    )
    assert other.status_code == 404 and theirs.revoked_at is None


def test_an_admin_makes_a_site_feed_and_sees_everyones(client, clinic):
    calendar_feeds.create(clinic.nurse, clinic.site.id, clinic.nurse.id, utcnow())
    sign_in(client, clinic.admin)
    page = client.get("/account/security").get_data(as_text=True)
    assert f"Shifts of {clinic.nurse.name}" in page
    made = client.post(
        "/account/calendar-feeds",
        data={"site_id": clinic.site.id, "whole_site": "y", "csrf_token": csrf_token(page)},
    )
    assert made.status_code == 200 and NEW_URL.search(made.get_data(as_text=True))
    assert "Every visit" in made.get_data(as_text=True)


def test_the_forms_need_their_csrf_token(client, clinic):
    sign_in(client, clinic.nurse)
    assert client.post("/account/calendar-feeds", data={"site_id": clinic.site.id}).status_code in (
        400,
        422,
    )
    assert calendar_feeds.list_for(clinic.nurse) == []
