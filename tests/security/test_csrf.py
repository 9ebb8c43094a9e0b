"""CSRF: every state-changing page route (from the URL map) refuses a missing or stale token
with 400; the API, which takes bearer tokens only, needs none."""

from __future__ import annotations

from tests.conftest import csrf_token
from tests.security.conftest import build_path, page_token, routes, sign_in

UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


def page_routes(app):
    """Yield (rule, method) of every state-changing route outside the JSON API."""
    for rule, method in routes(app):
        if method in UNSAFE and not rule.rule.startswith("/api/"):
            yield rule, method


def test_there_are_form_routes_to_check(app):
    assert len(list(page_routes(app))) >= 30


def test_every_form_route_refuses_a_missing_token(world):
    app = world.app
    client = world.client("admin")
    failures = []
    for rule, method in page_routes(app):
        path = build_path(app, rule, world.args)
        for kwargs in ({"data": {"name": "x"}}, {"json": {"q": "x"}}):
            response = client.open(path, method=method, **kwargs)
            if response.status_code != 400:
                failures.append(f"{method} {rule.rule} without a token: {response.status_code}")
    assert not failures, "\n".join(failures)


def test_every_form_route_refuses_a_stale_token(world):
    app = world.app
    client = world.client("admin")
    stale = page_token(client)
    client.post("/logout", data={"csrf_token": stale})
    assert sign_in(client, world.users["admin"]).status_code == 302
    fresh = page_token(client)
    assert fresh != stale
    failures = []
    for rule, method in page_routes(app):
        path = build_path(app, rule, world.args)
        for kwargs in (
            {"data": {"csrf_token": stale}},
            {"json": {}, "headers": {"X-CSRFToken": stale}},
            {"data": {"csrf_token": "forged.token.value"}},
        ):
            response = client.open(path, method=method, **kwargs)
            if response.status_code != 400:
                failures.append(f"{method} {rule.rule} with a bad token: {response.status_code}")
    assert not failures, "\n".join(failures)


def test_a_token_of_another_session_is_refused(app, clinic):
    mine, theirs = app.test_client(), app.test_client()
    sign_in(mine, clinic.nurse)
    sign_in(theirs, clinic.clerk)
    their_token = page_token(theirs)
    answer = mine.post("/logout", data={"csrf_token": their_token})
    assert answer.status_code == 400
    assert mine.get("/").status_code == 200  # still signed in: nothing happened


def test_the_sign_in_form_needs_its_token(client, clinic):
    from tests.conftest import PASSWORD

    answer = client.post("/login", data={"email": clinic.nurse.email, "password": PASSWORD})
    assert answer.status_code == 400
    assert client.get("/").status_code == 302


def test_json_posts_from_pages_pass_with_the_header(world):
    client = world.client("nurse")
    token = csrf_token(client.get("/").get_data(as_text=True))
    answer = client.post(
        f"/notifications/{world.args['notification_id']}/ack",
        headers={"X-CSRFToken": token, "Accept": "application/json"},
    )
    assert answer.status_code == 200


def test_the_api_takes_no_csrf_token(api_as, clinic):
    answer = api_as(clinic.clerk).post("/patients", json={"mrn": "M-1"})
    assert answer.status_code == 422  # the body's fields, not CSRF, are what is refused
