"""Server-side sessions: idle and absolute expiry, auto-refresh, replayed cookies,
disabled users, cookie contents and flags, wall display links."""

from __future__ import annotations

import re
from datetime import timedelta

import sqlalchemy as sa

from clinic import create_app
from clinic.extensions import db
from clinic.models import AuditEvent, UserSession
from clinic.services import sessions, staff
from clinic.types import utcnow
from config import ProductionConfig, TestConfig
from tests.conftest import PASSWORD, csrf_token
from tests.security.conftest import page_token, sign_in

AUTO = {"X-Auto-Refresh": "1", "Accept": "application/json"}
JSON = {"Accept": "application/json"}


def the_session(user) -> UserSession:
    """Return the user's most recent session row."""
    db.session.expire_all()
    return db.session.scalar(
        sa.select(UserSession)
        .where(UserSession.user_id == user.id)
        .order_by(UserSession.id.desc())
        .limit(1)
    )


def signed_in(client) -> bool:
    """Tell whether the client's cookie still opens a page."""
    return client.get("/").status_code == 200


def test_the_cookie_carries_only_a_random_id_whose_digest_is_stored(app, client, clinic):
    sign_in(client, clinic.nurse)
    cookie = client.get_cookie("session")
    data = app.session_interface.get_signing_serializer(app).loads(cookie.value)
    assert set(data) <= {"sid", "_user_id", "_fresh", "_id", "csrf_token", "_flashes"}
    row = the_session(clinic.nurse)
    assert row.token_digest == sessions.digest(data["sid"]) != data["sid"]
    assert data["sid"] not in str(db.session.execute(sa.select(UserSession.__table__)).all())


def test_idle_for_sixteen_minutes_signs_out(client, clinic, frozen):
    sign_in(client, clinic.nurse)
    frozen.shift(timedelta(minutes=16))
    page = client.get("/patients")
    assert page.status_code == 302 and page.headers["Location"].startswith("/login")
    assert the_session(clinic.nurse).end_reason == "idle"
    assert "without activity" in client.get("/login").get_data(as_text=True)
    actions = db.session.scalars(
        sa.select(AuditEvent.action).where(AuditEvent.actor_id == clinic.nurse.id)
    ).all()
    assert "auth.timeout" in actions


def test_a_json_feed_answers_401_once_the_session_is_idle(client, clinic, frozen):
    sign_in(client, clinic.nurse)
    assert client.get("/notifications/feed", headers=AUTO).status_code == 200
    frozen.shift(timedelta(minutes=16))
    answer = client.get("/notifications/feed", headers=AUTO)
    assert answer.status_code == 401 and answer.get_json()["error"] == "unauthorized"


def test_activity_keeps_the_session_alive(client, clinic, frozen):
    sign_in(client, clinic.nurse)
    for _ in range(4):
        frozen.shift(timedelta(minutes=14))
        assert signed_in(client)


def test_the_sites_idle_setting_decides(client, clinic, frozen):
    clinic.site.idle_timeout_minutes = 5
    db.session.commit()
    sign_in(client, clinic.nurse)
    frozen.shift(timedelta(minutes=4))
    assert signed_in(client)
    frozen.shift(timedelta(minutes=6))
    assert not signed_in(client)


def test_the_shortest_site_wins_and_admins_get_fifteen(clinic, make_site, make_user):
    other = make_site(name="Dallas")
    other.idle_timeout_minutes = 30
    clinic.site.idle_timeout_minutes = 10
    db.session.commit()
    two_sites = make_user("nurse", [clinic.site, other])
    assert sessions.idle_timeout(two_sites) == timedelta(minutes=10)
    assert sessions.idle_timeout(make_user("nurse", [other])) == timedelta(minutes=30)
    assert sessions.idle_timeout(clinic.admin) == timedelta(minutes=15)


def test_twelve_hours_end_the_session_however_active(client, clinic, frozen):
    sign_in(client, clinic.nurse)
    started = utcnow()
    while utcnow() - started < timedelta(hours=11, minutes=50):
        frozen.shift(timedelta(minutes=14))
        assert signed_in(client)
    frozen.shift(timedelta(minutes=14))
    assert not signed_in(client)
    assert the_session(clinic.nurse).end_reason == "absolute"


def test_auto_refresh_does_not_keep_the_session_alive(client, clinic, frozen):
    sign_in(client, clinic.nurse)
    last_seen = the_session(clinic.nurse).last_seen_at
    for _ in range(3):
        frozen.shift(timedelta(minutes=4))
        assert client.get("/notifications/feed", headers=AUTO).status_code == 200
    assert the_session(clinic.nurse).last_seen_at == last_seen
    frozen.shift(timedelta(minutes=4))  # 16 minutes after the last real request
    assert client.get("/notifications/feed", headers=AUTO).status_code == 401
    assert not signed_in(client)


def test_a_feed_without_the_header_counts_as_activity(client, clinic, frozen):
    sign_in(client, clinic.nurse)
    frozen.shift(timedelta(minutes=10))
    assert client.get("/notifications/feed", headers=JSON).status_code == 200
    frozen.shift(timedelta(minutes=10))
    assert signed_in(client)


def test_the_polling_scripts_send_the_auto_refresh_header():
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "static" / "js"
    for name in ("alerts.js", "dashboard.js"):
        path = root / name
        if path.exists():
            assert '"X-Auto-Refresh": "1"' in path.read_text(), name


def test_a_cookie_replayed_after_sign_out_is_refused(client, clinic):
    sign_in(client, clinic.nurse)
    stolen = client.get_cookie("session").value
    client.post("/logout", data={"csrf_token": page_token(client)})
    client.set_cookie("session", stolen)
    page = client.get("/patients")
    assert page.status_code == 302 and page.headers["Location"].startswith("/login")
    client.set_cookie("session", stolen)
    assert client.get("/notifications/feed", headers=JSON).status_code == 401
    assert the_session(clinic.nurse).end_reason == "logout"


def test_sign_out_ends_the_session_in_every_worker(app, clinic):
    # Two clients with the same cookie stand for two workers seeing one browser.
    first, second = app.test_client(), app.test_client()
    sign_in(first, clinic.nurse)
    second.set_cookie("session", first.get_cookie("session").value)
    assert signed_in(second)
    first.post("/logout", data={"csrf_token": page_token(first)})
    assert not signed_in(second)


def test_disabling_a_user_ends_every_session_at_once(app, clinic):
    phone, desk = app.test_client(), app.test_client()
    sign_in(phone, clinic.nurse)
    sign_in(desk, clinic.nurse)
    kept = desk.get_cookie("session").value
    admin = app.test_client()
    sign_in(admin, clinic.admin)
    page = admin.get(f"/admin/users/{clinic.nurse.id}").get_data(as_text=True)
    answer = admin.post(
        f"/admin/users/{clinic.nurse.id}",
        data={
            "csrf_token": csrf_token(page),
            "email": clinic.nurse.email,
            "name": clinic.nurse.name,
            "role": "nurse",
            "site_ids": [clinic.site.id],
        },  # "active" unticked
    )
    assert answer.status_code == 302
    live = db.session.scalars(
        sa.select(UserSession).where(
            UserSession.user_id == clinic.nurse.id, UserSession.ended_at.is_(None)
        )
    ).all()
    assert live == []
    assert not signed_in(phone) and not signed_in(desk)
    desk.set_cookie("session", kept)
    assert desk.get("/notifications/feed", headers=JSON).status_code == 401
    # Turned back on, the user signs in afresh; the old cookie stays dead.
    staff.update_user(clinic.nurse, {"active": True}, now=utcnow())
    desk.set_cookie("session", kept)
    assert not signed_in(desk)
    assert sign_in(app.test_client(), clinic.nurse).status_code == 302


def test_a_password_reset_by_an_admin_ends_the_users_sessions(app, client, clinic):
    sign_in(client, clinic.nurse)
    staff.update_user(clinic.nurse, {"password": "a fresh long passphrase"}, now=utcnow())
    assert not signed_in(client)


def test_a_forged_or_unknown_session_id_opens_nothing(app, client, clinic):
    sign_in(client, clinic.nurse)
    serializer = app.session_interface.get_signing_serializer(app)
    data = serializer.loads(client.get_cookie("session").value)
    client.set_cookie("session", serializer.dumps(data | {"sid": "made-up"}))
    assert not signed_in(client)
    # Flask-Login's user id alone (as an old cookie would carry) is not a session.
    client.set_cookie("session", serializer.dumps({"_user_id": str(clinic.nurse.id)}))
    assert not signed_in(client)


def test_the_remember_me_cookie_opens_nothing(client, clinic):
    client.set_cookie("remember_token", f"{clinic.nurse.id}|deadbeef")
    assert not signed_in(client)
    sign_in(client, clinic.nurse)
    assert all("remember_token" not in c for c in client.get("/").headers.getlist("Set-Cookie"))


def test_session_cookie_flags(app, client, clinic):
    page = client.get("/login")
    answer = client.post(
        "/login",
        data={
            "email": clinic.nurse.email,
            "password": PASSWORD,
            "csrf_token": csrf_token(page.get_data(as_text=True)),
        },
    )
    cookie = answer.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/" in cookie


def test_production_cookie_is_host_prefixed_and_secure(tmp_path, schema_file):
    import shutil

    path = tmp_path / "prod.db"
    shutil.copyfile(schema_file, path)
    app = create_app(
        ProductionConfig,
        SQLALCHEMY_DATABASE_URI=f"sqlite:///{path}",
        SECRET_KEY="production-test-key-of-at-least-32-bytes",
        AUDIT_KEY="production-test-audit-key-of-32-bytes",
        TOTP_ENCRYPTION_KEY="Ng6ErZt6Zl3-wBHKyQ_Qmjk8H7Ls2kJQtI2X6O1uyYU=",
        ARGON2_COST=TestConfig.ARGON2_COST,
    )
    with app.app_context():
        staff.create_user("p@clinic.test", "P", "admin", [], password=PASSWORD, now=utcnow())
        client = app.test_client()
        page = client.get("/login", base_url="https://clinic.test")
        assert page.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
        answer = client.post(
            "/login",
            base_url="https://clinic.test",
            headers={"Referer": "https://clinic.test/login"},  # checked by CSRF over HTTPS
            data={
                "email": "p@clinic.test",
                "password": PASSWORD,
                "csrf_token": csrf_token(page.get_data(as_text=True)),
            },
        )
        cookie = answer.headers["Set-Cookie"]
        assert cookie.startswith("__Host-session=")
        assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
        assert "Path=/" in cookie and "Domain" not in cookie
        db.session.remove()
        db.engine.dispose()


def test_no_hsts_outside_production(client):
    assert "Strict-Transport-Security" not in client.get("/login").headers


# ---------------------------------------------------------------- wall display links


def _make_link(app, clinic) -> str:
    admin = app.test_client()
    sign_in(admin, clinic.admin)
    page = admin.get("/admin/display-links").get_data(as_text=True)
    answer = admin.post(
        "/admin/display-links",
        data={"csrf_token": csrf_token(page), "site_id": clinic.site.id, "label": "Recovery wall"},
    )
    assert answer.status_code == 200
    html = answer.get_data(as_text=True)
    marker = "http://localhost/display/"
    start = html.index(marker) + len(marker)
    return html[start : html.index("<", start)]


def _claim(client, token: str):
    """Open the link as the wall's browser does: its page posts the token once."""
    page = client.get(f"/display/{token}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'action="/display/claim"' in html and "js/display_claim.js" in html
    return client.post("/display/claim", data={"csrf_token": csrf_token(html), "token": token})


def test_a_display_link_is_exchanged_once_for_a_cookie_and_leaves_the_url(
    app, client, clinic, make_visit
):
    from clinic.services import events
    from tests.conftest import MONDAY, chicago

    visit = make_visit(clinic.clerk, clinic.patient, chicago(MONDAY, 8))
    events.record_event(clinic.nurse, visit.id, "check_in", now=utcnow())
    token = _make_link(app, clinic)
    claimed = _claim(client, token)
    assert claimed.status_code == 302 and claimed.headers["Location"] == "/display/"
    cookie = claimed.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and token not in cookie
    wall = client.get("/display/")
    assert wall.status_code == 200
    html = wall.get_data(as_text=True)
    assert token not in html
    assert clinic.patient.family_name not in html and clinic.patient.mrn not in html
    assert 'hx-get="/display/feed"' in html
    assert "Leave wall display" not in html and "Sign out" not in html
    assert client.get("/").status_code == 302  # the display signs nobody in
    feed = client.get("/display/feed", headers=AUTO)
    assert feed.status_code == 200
    initials = re.findall(r'class="rc-initials"[^>]*>(\w+)<', feed.get_data(as_text=True))
    assert initials == [clinic.patient.initials]
    assert clinic.patient.family_name not in feed.get_data(as_text=True)
    # Only its site's dashboard, and nothing to write.
    assert client.post("/display/").status_code == 405
    other = client.get("/display/feed?site_id=999", headers=AUTO).get_data(as_text=True)
    assert f'data-visit-id="{visit.id}"' in other  # its own site, whatever is asked
    # The link works once: a token copied from an access log opens nothing.
    thief = app.test_client()
    assert thief.get(f"/display/{token}").status_code == 404
    html = thief.get("/login").get_data(as_text=True)
    answer = thief.post("/display/claim", data={"csrf_token": csrf_token(html), "token": token})
    assert answer.status_code == 404
    thief.set_cookie("display", token)
    assert thief.get("/display/").status_code == 404


def test_the_claim_needs_the_csrf_token_and_a_browser_without_the_cookie_sees_nothing(
    app, client, clinic
):
    token = _make_link(app, clinic)
    assert client.post("/display/claim", data={"token": token}).status_code in (400, 404)
    assert client.get("/display/").status_code == 404
    assert client.get("/display/feed").status_code == 404
    assert _claim(client, token).status_code == 302  # still claimable after the refusal


def test_a_revoked_or_unknown_display_link_shows_nothing(app, client, clinic):
    token = _make_link(app, clinic)
    assert _claim(client, token).status_code == 302
    assert client.get("/display/").status_code == 200
    admin = app.test_client()
    sign_in(admin, clinic.admin)
    page = admin.get("/admin/display-links").get_data(as_text=True)
    assert token not in page  # the address is shown once, at creation
    [link_id] = db.session.execute(sa.text("SELECT id FROM display_links")).scalars().all()
    answer = admin.post(
        f"/admin/display-links/{link_id}/revoke", data={"csrf_token": csrf_token(page)}
    )
    assert answer.status_code == 302
    assert client.get("/display/").status_code == 404
    assert client.get("/display/feed").status_code == 404
    assert client.get(f"/display/{token}").status_code == 404
    assert client.get("/display/not-a-real-token").status_code == 404
    stored = db.session.execute(sa.text("SELECT token_digest FROM display_links")).scalar()
    assert token not in stored
