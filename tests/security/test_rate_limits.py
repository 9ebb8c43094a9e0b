"""Rate limits with the production numbers: sign-in per account and per address, the code
step per account, the API per token; 429 with Retry-After, as JSON or a plain page."""

from __future__ import annotations

import pytest

from clinic.services import totp
from clinic.services.auth import issue_token
from clinic.types import utcnow
from config import Config
from tests.conftest import csrf_token
from tests.security.conftest import sign_in

LIMITS = (
    "RATELIMIT_SIGN_IN_PER_ACCOUNT",
    "RATELIMIT_SIGN_IN_PER_ADDRESS",
    "RATELIMIT_API_PER_TOKEN",
)


@pytest.fixture
def real_limits(app):
    """Put the production limits back (TestConfig raises them for the rest of the suite)."""
    app.config.update({name: getattr(Config, name) for name in LIMITS})
    assert Config.RATELIMIT_SIGN_IN_PER_ACCOUNT == "10/minute"


def post_login(client, email: str, password: str = "wrong password!"):
    token = csrf_token(client.get("/login").get_data(as_text=True))
    return client.post("/login", data={"email": email, "password": password, "csrf_token": token})


def test_the_eleventh_sign_in_of_an_account_in_a_minute_gets_a_plain_429(
    app, client, clinic, real_limits, frozen
):
    for _ in range(10):
        assert post_login(client, clinic.nurse.email).status_code == 200
    refused = post_login(client, clinic.nurse.email.upper())  # the same account
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["Retry-After"]) <= 61
    assert refused.mimetype == "text/html"
    assert "Too many attempts" in refused.get_data(as_text=True)
    # Another account from the same address is still let through (under the address limit).
    assert post_login(client, clinic.clerk.email).status_code == 200
    # A minute later the account may try again.
    frozen.shift(61)
    assert post_login(client, clinic.clerk.email).status_code == 200


def test_one_address_trying_many_accounts_is_limited(app, client, clinic, real_limits):
    assert Config.RATELIMIT_SIGN_IN_PER_ADDRESS == "60/minute"
    for n in range(60):
        assert post_login(client, f"guess{n}@clinic.test").status_code == 200
    assert post_login(client, "guess-more@clinic.test").status_code == 429
    # The forms themselves still open.
    assert client.get("/login").status_code == 200


def test_the_code_step_is_limited_per_account(app, client, clinic, real_limits, frozen):
    nurse = clinic.nurse
    secret = totp.begin_enrolment(nurse)
    assert totp.confirm_enrolment(nurse, totp.code_at(secret, utcnow()), utcnow())
    # Two half-finished sign-ins of one account (two browsers, or an attacker's two tries).
    first, second = client, app.test_client()
    tokens = []
    for browser in (first, second):
        assert sign_in(browser, nurse).headers["Location"] == "/login/two-factor"
        tokens.append(csrf_token(browser.get("/login/two-factor").get_data(as_text=True)))

    def wrong_code(browser, token):
        return browser.post("/login/two-factor", data={"csrf_token": token, "code": "000000"})

    assert all(wrong_code(first, tokens[0]).status_code == 200 for _ in range(5))
    assert all(wrong_code(second, tokens[1]).status_code in (200, 302) for _ in range(5))
    refused = wrong_code(first, tokens[0])  # the account's eleventh code this minute
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["Retry-After"]) <= 61


def test_an_api_token_is_limited_with_the_json_error_body(app, client, clinic, real_limits):
    headers = {"Authorization": f"Bearer {issue_token(clinic.clerk)}"}
    for _ in range(600):
        assert client.get("/api/v1/me", headers=headers).status_code == 200
    refused = client.get("/api/v1/me", headers=headers)
    assert refused.status_code == 429
    assert refused.get_json() == {
        "error": "too_many_requests",
        "message": "Too many attempts. Wait a moment, then try again.",
        "fields": {},
    }
    assert 1 <= int(refused.headers["Retry-After"]) <= 61
    # Another user's token has its own allowance.
    other = {"Authorization": f"Bearer {issue_token(clinic.nurse)}"}
    assert client.get("/api/v1/me", headers=other).status_code == 200


def test_the_suite_runs_with_raised_limits(app):
    assert app.config["RATELIMIT_SIGN_IN_PER_ACCOUNT"] != Config.RATELIMIT_SIGN_IN_PER_ACCOUNT


def post_login_from(client, forwarded_for: str, n: int = 0):
    token = csrf_token(client.get("/login").get_data(as_text=True))
    data = {"email": f"guess{n}@clinic.test", "password": "wrong password!", "csrf_token": token}
    return client.post("/login", data=data, headers={"X-Forwarded-For": forwarded_for})


def test_a_forged_forwarded_address_does_not_escape_the_address_limit(
    app, client, clinic, real_limits
):
    """With no trusted proxy (the default), X-Forwarded-For is the client's own word."""
    assert app.config["TRUSTED_PROXIES"] == 0
    for n in range(60):
        assert post_login_from(client, f"203.0.113.{n}", n).status_code == 200
    assert post_login_from(client, "198.51.100.7", 60).status_code == 429


def test_behind_a_trusted_proxy_each_client_address_has_its_own_limit(app, clinic):
    """TRUSTED_PROXIES=1: the proxy's X-Forwarded-For names the client, per-address limits
    and the audit trail see it."""
    from clinic import create_app
    from config import TestConfig

    url = app.config["SQLALCHEMY_DATABASE_URI"]
    proxied = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=url, TRUSTED_PROXIES=1)
    proxied.config.update({name: getattr(Config, name) for name in LIMITS})
    with proxied.app_context():
        client = proxied.test_client()
        for n in range(60):
            assert post_login_from(client, "203.0.113.1", n).status_code == 200
        assert post_login_from(client, "203.0.113.1", 60).status_code == 429
        assert post_login_from(client, "203.0.113.2", 61).status_code == 200
