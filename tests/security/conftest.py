"""A small clinic world for the security tests: two sites, a user of every role at each,
one object of every kind at the first site, and helpers to sign in and to call any route
of the URL map with the right arguments and credentials."""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from clinic.extensions import db
from clinic.models import Course, Notification, Shift
from clinic.services import calendar_feeds, display_links, tokens, waitlist
from clinic.web.security import SECURITY_HEADERS
from tests.conftest import MONDAY, NOW, PASSWORD, chicago, csrf_token, issue_token

ROLES = ("front_desk", "nurse", "practitioner", "admin")
OTHER_ROLES = ("front_desk", "nurse", "practitioner")  # an admin sees every site
# Tables a GET may write: the session's last activity, an API token's last use and the
# audit trail's view rows.
WRITABLE_ON_GET = {"user_sessions", "api_tokens", "audit_events"}
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
INLINE_STYLE = re.compile(r"<style\b|\sstyle\s*=", re.IGNORECASE)
INLINE_HANDLER = re.compile(r"<[^>]+\son[a-z]+\s*=", re.IGNORECASE)


def sign_in(client: FlaskClient, user, password: str = PASSWORD):
    """Sign in through the form; return the answer to the password step."""
    page = client.get("/login")
    return client.post(
        "/login",
        data={
            "email": user.email,
            "password": password,
            "csrf_token": csrf_token(page.get_data(as_text=True)),
        },
    )


def page_token(client: FlaskClient, path: str = "/account/security") -> str:
    """Return the CSRF token of a signed-in client's session."""
    return csrf_token(client.get(path).get_data(as_text=True))


def header_problems(response) -> list[str]:
    """Return what is missing or wrong in a response's security headers."""
    problems = [
        f"{name} missing"
        for name, value in SECURITY_HEADERS.items()
        if response.headers.get(name) != value
    ]
    csp = response.headers.get("Content-Security-Policy", "")
    if "unsafe-inline" in csp or "unsafe-eval" in csp:
        problems.append("CSP allows inline code")
    if response.mimetype in ("text/html", "application/json") and (
        response.headers.get("Cache-Control") != "no-store"
    ):
        problems.append("Cache-Control is not no-store")
    if response.mimetype == "text/html":
        html = response.get_data(as_text=True)
        for pattern, what in (
            (INLINE_SCRIPT, "inline <script>"),
            (INLINE_STYLE, "inline style"),
            (INLINE_HANDLER, "inline event handler"),
        ):
            if pattern.search(html):
                problems.append(what)
    return problems


@dataclass
class World:
    """Everything the route checks need: objects of site A, users of both sites."""

    app: Flask
    site: object
    other_site: object
    users: dict[str, object]
    others: dict[str, object]
    args: dict[str, object]
    display_token: str
    clients: dict[str, FlaskClient] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)

    def user_for(self, actor: str):
        """Return the user behind an actor name ("nurse", "other_nurse")."""
        if actor.startswith("other_"):
            return self.others[actor.removeprefix("other_")]
        return self.users[actor]

    def client(self, actor: str) -> FlaskClient:
        """Return a client signed in as the actor (anonymous: signed out), made once."""
        if actor not in self.clients:
            client = self.app.test_client()
            if actor != "anonymous":
                answer = sign_in(client, self.user_for(actor))
                assert answer.status_code == 302, answer.get_data(as_text=True)[:500]
            self.clients[actor] = client
        return self.clients[actor]

    def bearer(self, actor: str) -> dict[str, str]:
        """Return the Authorization header of an actor's API token (none when anonymous)."""
        if actor == "anonymous":
            return {}
        if actor not in self.tokens:
            self.tokens[actor] = issue_token(self.user_for(actor))
        return {"Authorization": f"Bearer {self.tokens[actor]}"}


@pytest.fixture
def world(app, clinic, make_site, make_user, make_chair, make_shift, make_visit) -> World:
    """Two sites; a user of every role at each; a visit, shift, notification and display link."""
    other = make_site(name="Dallas")
    make_chair(other, "Dallas chair")
    users = {
        "front_desk": clinic.clerk,
        "nurse": clinic.nurse,
        "practitioner": clinic.practitioner,
        "admin": clinic.admin,
    }
    others = {role: make_user(role, [other]) for role in OTHER_ROLES}
    visit = make_visit(clinic.clerk, clinic.patient, chicago(MONDAY + timedelta(days=1), 9))
    notification = Notification(
        kind="discharge_due",
        visit_id=visit.id,
        site_id=clinic.site.id,
        due_at=NOW + timedelta(hours=1),
        created_at=NOW,
    )
    db.session.add(notification)
    visit.series_id = "world-course"
    course = Course(series_id="world-course", patient_id=visit.patient_id, site_id=visit.site_id)
    db.session.add(course)
    db.session.commit()
    shift = db.session.scalar(sa.select(Shift).where(Shift.site_id == clinic.site.id))
    link, token = display_links.create(clinic.admin, clinic.site.id, "Recovery wall", NOW)
    nurse_token, _secret = tokens.issue(clinic.nurse, NOW, name="Nurse's integration")
    feed, _feed_token = calendar_feeds.create(clinic.nurse, clinic.site.id, clinic.nurse.id, NOW)
    entry = waitlist.add_entry(
        clinic.clerk, clinic.patient.id, clinic.site.id, MONDAY, MONDAY, "any", "", NOW
    )
    offer = waitlist.create_offer(
        clinic.clerk, clinic.chairs[1].id, chicago(MONDAY, 15), [entry.id], 15, NOW
    ).offer
    args = {
        "site_id": clinic.site.id,
        "chair_id": clinic.chairs[0].id,
        "type_id": clinic.site.default_treatment_type_id,
        "shift_id": shift.id,
        "visit_id": visit.id,
        "course_id": course.id,
        "patient_id": clinic.patient.id,
        "clearance_id": clinic.patient.clearances[0].id,
        "notification_id": notification.id,
        "user_id": clinic.nurse.id,
        "link_id": link.id,
        "token": token,
        "token_id": nurse_token.id,  # an API token of the site's nurse
        "feed_id": feed.id,  # a calendar feed of the site's nurse
        "entry_id": entry.id,
        "offer_id": offer.id,
    }
    return World(app, clinic.site, other, users, others, args, token)


STATIC_FILES = {"static": "css/app.css", "bootstrap.static": "css/bootstrap.min.css"}


def build_path(app: Flask, rule, args: dict[str, object]) -> str:
    """Build a rule's URL from the world's objects; an unknown argument name fails."""
    values = {}
    for name in rule.arguments:
        if name == "filename":
            values[name] = STATIC_FILES[rule.endpoint]
        else:
            assert name in args, (
                f"{rule.rule}: no test value for <{name}>; add one to the world in "
                "tests/security/conftest.py"
            )
            values[name] = args[name]
    with app.test_request_context():
        from flask import url_for

        return url_for(rule.endpoint, **values)


def routes(app: Flask):
    """Yield (rule, method) for every route of the URL map."""
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: (r.rule, r.endpoint)):
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield rule, method


def database_path(app: Flask) -> Path:
    """Return the SQLite file of the test app."""
    return Path(sa.make_url(app.config["SQLALCHEMY_DATABASE_URI"]).database)


class Snapshot:
    """Copy the SQLite file aside and put it back, so a request's writes are undone."""

    def __init__(self, app: Flask) -> None:
        self.path = database_path(app)
        self.copy = self.path.with_suffix(".snapshot")

    def _close(self) -> None:
        db.session.remove()
        db.engine.dispose()  # the last connection closing folds the WAL into the file

    def take(self) -> None:
        """Save the database as it is now."""
        self._close()
        shutil.copyfile(self.path, self.copy)

    def restore(self) -> None:
        """Put the saved database back."""
        self._close()
        for suffix in ("-wal", "-shm"):
            Path(str(self.path) + suffix).unlink(missing_ok=True)
        shutil.copyfile(self.copy, self.path)
