"""Signing in: password, lockout after 10 failures, unlock, TOTP, role requirement, policy."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from clinic.extensions import db
from clinic.models import AuditEvent, User, UserSession
from clinic.services import staff, totp
from clinic.types import utcnow
from tests.conftest import PASSWORD, csrf_token, totp_code
from tests.security.conftest import page_token, sign_in

LOCKED = "locked after too many failed sign-ins"


def audit_actions(user: User | None = None) -> list[tuple[str, str]]:
    """Return (action, outcome) of the audit rows, oldest first (of one user if given)."""
    stmt = sa.select(AuditEvent.action, AuditEvent.outcome).order_by(AuditEvent.id)
    if user is not None:
        stmt = stmt.where(AuditEvent.actor_id == user.id)
    return [tuple(row) for row in db.session.execute(stmt)]


def reload(user: User) -> User:
    """Read the user again from the database."""
    db.session.expire_all()
    return db.session.get(User, user.id)


def live_sessions(user: User) -> list[UserSession]:
    """Return the user's sessions that have not ended."""
    stmt = sa.select(UserSession).where(
        UserSession.user_id == user.id, UserSession.ended_at.is_(None)
    )
    return list(db.session.scalars(stmt))


# ---------------------------------------------------------------- password


def test_sign_in_opens_a_server_side_session_and_sign_out_ends_it(client, clinic):
    answer = sign_in(client, clinic.nurse)
    assert answer.status_code == 302 and answer.headers["Location"] == "/"
    assert client.get("/").status_code == 200
    [row] = live_sessions(clinic.nurse)
    assert row.expires_at - row.created_at == timedelta(hours=12)
    token = page_token(client)
    answer = client.post("/logout", data={"csrf_token": token})
    assert answer.status_code == 302 and answer.headers["Location"] == "/login"
    assert live_sessions(clinic.nurse) == []
    assert client.get("/").status_code == 302
    actions = audit_actions(clinic.nurse)
    assert ("auth.login", "ok") in actions and ("auth.logout", "ok") in actions


def test_wrong_password_is_refused_counted_and_audited(client, clinic):
    answer = sign_in(client, clinic.nurse, "not the password at all")
    assert answer.status_code == 200
    assert "Wrong e-mail or password." in answer.get_data(as_text=True)
    assert reload(clinic.nurse).failed_logins == 1
    assert ("auth.failure", "refused") in audit_actions(clinic.nurse)
    assert client.get("/").status_code == 302


def test_unknown_email_and_disabled_user_are_refused_alike(client, clinic, make_user):
    retired = make_user("nurse", [clinic.site], active=False)
    for user_email in ("nobody@clinic.test", retired.email):
        page = client.get("/login")
        answer = client.post(
            "/login",
            data={
                "email": user_email,
                "password": PASSWORD,
                "csrf_token": csrf_token(page.get_data(as_text=True)),
            },
        )
        assert "Wrong e-mail or password." in answer.get_data(as_text=True)
    assert client.get("/").status_code == 302


def test_a_successful_sign_in_resets_the_count(client, clinic):
    for _ in range(3):
        sign_in(client, clinic.nurse, "not the password at all")
    assert reload(clinic.nurse).failed_logins == 3
    assert sign_in(client, clinic.nurse).status_code == 302
    assert reload(clinic.nurse).failed_logins == 0


def test_ten_failures_lock_the_account_and_the_eleventh_is_refused_even_when_right(client, clinic):
    for attempt in range(1, 11):
        answer = sign_in(client, clinic.nurse, f"wrong password number {attempt}")
        assert answer.status_code == 200
    user = reload(clinic.nurse)
    assert user.locked_until is not None and user.locked_until > utcnow()
    assert LOCKED in answer.get_data(as_text=True)
    right = sign_in(client, clinic.nurse)
    assert right.status_code == 200 and LOCKED in right.get_data(as_text=True)
    assert client.get("/").status_code == 302
    assert live_sessions(clinic.nurse) == []
    actions = audit_actions(clinic.nurse)
    assert actions.count(("auth.failure", "refused")) == 11
    assert ("auth.lockout", "refused") in actions


def test_the_count_is_kept_in_the_database_across_clients(app, clinic):
    # Each client stands for another worker or browser: the count is shared.
    for n in range(10):
        sign_in(app.test_client(), clinic.nurse, f"wrong password number {n}")
    assert reload(clinic.nurse).is_locked(utcnow())
    assert LOCKED in sign_in(app.test_client(), clinic.nurse).get_data(as_text=True)


def _lock(client, user) -> None:
    for n in range(10):
        sign_in(client, user, f"wrong password number {n}")
    assert reload(user).is_locked(utcnow())


def test_the_lock_ends_after_fifteen_minutes(client, clinic, frozen):
    _lock(client, clinic.nurse)
    frozen.shift(timedelta(minutes=14))
    assert LOCKED in sign_in(client, clinic.nurse).get_data(as_text=True)
    frozen.shift(timedelta(minutes=2))
    assert sign_in(client, clinic.nurse).status_code == 302
    assert client.get("/").status_code == 200


def test_after_the_lock_a_single_failure_does_not_lock_again(client, clinic, frozen):
    _lock(client, clinic.nurse)
    frozen.shift(timedelta(minutes=16))
    sign_in(client, clinic.nurse, "one more wrong password")
    assert not reload(clinic.nurse).is_locked(utcnow())


def test_an_admin_unlocks_from_the_users_page(app, client, clinic):
    _lock(client, clinic.nurse)
    admin = app.test_client()
    sign_in(admin, clinic.admin)
    users_page = admin.get("/admin/users").get_data(as_text=True)
    assert f"/admin/users/{clinic.nurse.id}/unlock" in users_page
    assert "Locked" in users_page
    token = csrf_token(users_page)
    answer = admin.post(f"/admin/users/{clinic.nurse.id}/unlock", data={"csrf_token": token})
    assert answer.status_code == 302
    assert not reload(clinic.nurse).is_locked(utcnow())
    assert ("auth.unlock", "ok") in audit_actions(clinic.admin)
    assert sign_in(client, clinic.nurse).status_code == 302


def test_only_an_admin_may_unlock(app, client, clinic):
    _lock(client, clinic.nurse)
    other = app.test_client()
    sign_in(other, clinic.practitioner)
    token = page_token(other)
    answer = other.post(f"/admin/users/{clinic.nurse.id}/unlock", data={"csrf_token": token})
    assert answer.status_code == 403
    assert reload(clinic.nurse).is_locked(utcnow())


def test_next_goes_only_to_a_path_of_this_site(client, clinic):
    for target, expected in (
        ("/patients", "/patients"),
        ("//evil.example/x", "/"),
        ("https://evil.example/", "/"),
        ("/\\evil.example", "/"),
    ):
        page = client.get("/login")
        answer = client.post(
            f"/login?next={target}",
            data={
                "email": clinic.nurse.email,
                "password": PASSWORD,
                "csrf_token": csrf_token(page.get_data(as_text=True)),
            },
        )
        assert answer.headers["Location"] == expected, target
        client.post("/logout", data={"csrf_token": page_token(client)})


# ---------------------------------------------------------------- TOTP


def _enrol(client, user, frozen) -> str:
    """Enrol the signed-in user in TOTP through the security page; return the secret."""
    token = page_token(client)
    assert client.post("/account/two-factor/setup", data={"csrf_token": token}).status_code == 302
    page = client.get("/account/security").get_data(as_text=True)
    secret = totp.secret_of(reload(user))
    assert secret and secret in page and "otpauth://totp/" in page
    answer = client.post(
        "/account/two-factor/confirm",
        data={"csrf_token": token, "code": totp_code(secret, utcnow())},
    )
    assert answer.status_code == 302
    assert reload(user).totp_enabled
    frozen.shift(timedelta(seconds=31))  # the next sign-in needs a fresh code
    return secret


def test_enrolled_user_signs_in_with_password_then_code(client, clinic, frozen):
    sign_in(client, clinic.nurse)
    secret = _enrol(client, clinic.nurse, frozen)
    client.post("/logout", data={"csrf_token": page_token(client)})

    answer = sign_in(client, clinic.nurse)
    assert answer.headers["Location"] == "/login/two-factor"
    assert client.get("/").status_code == 302  # not signed in yet
    page = client.get("/login/two-factor").get_data(as_text=True)
    token = csrf_token(page)
    wrong = client.post("/login/two-factor", data={"csrf_token": token, "code": "000000"})
    assert "not right" in wrong.get_data(as_text=True)
    assert reload(clinic.nurse).failed_logins == 1
    code = totp_code(secret, utcnow())
    right = client.post("/login/two-factor", data={"csrf_token": token, "code": code})
    assert right.status_code == 302 and right.headers["Location"] == "/"
    assert client.get("/").status_code == 200
    assert reload(clinic.nurse).failed_logins == 0

    # The same code cannot be used twice.
    client.post("/logout", data={"csrf_token": page_token(client)})
    sign_in(client, clinic.nurse)
    token = csrf_token(client.get("/login/two-factor").get_data(as_text=True))
    replay = client.post("/login/two-factor", data={"csrf_token": token, "code": code})
    assert "not right" in replay.get_data(as_text=True)
    assert client.get("/").status_code == 302


def test_wrong_codes_count_towards_the_lockout(client, clinic, frozen):
    sign_in(client, clinic.nurse)
    _enrol(client, clinic.nurse, frozen)
    client.post("/logout", data={"csrf_token": page_token(client)})
    sign_in(client, clinic.nurse)
    token = csrf_token(client.get("/login/two-factor").get_data(as_text=True))
    for _ in range(10):
        answer = client.post("/login/two-factor", data={"csrf_token": token, "code": "123456"})
    assert answer.status_code == 302 and answer.headers["Location"] == "/login"
    assert reload(clinic.nurse).is_locked(utcnow())


def test_the_code_step_expires_and_cannot_be_skipped(client, clinic, frozen):
    sign_in(client, clinic.nurse)
    _enrol(client, clinic.nurse, frozen)
    client.post("/logout", data={"csrf_token": page_token(client)})
    sign_in(client, clinic.nurse)
    frozen.shift(timedelta(minutes=6))
    answer = client.get("/login/two-factor")
    assert answer.status_code == 302 and answer.headers["Location"] == "/login"
    assert client.get("/login/enrol").status_code == 302


def test_a_role_requirement_forces_enrolment_right_after_the_password(app, client, clinic):
    admin = app.test_client()
    sign_in(admin, clinic.admin)
    token = page_token(admin, "/admin/security")
    answer = admin.post(
        "/admin/security/two-factor", data={"csrf_token": token, "roles": ["nurse"]}
    )
    assert answer.status_code == 302
    assert totp.required_roles() == {"nurse"}

    answer = sign_in(client, clinic.nurse)
    assert answer.headers["Location"] == "/login/enrol"
    assert client.get("/").status_code == 302  # no way round the enrolment
    page = client.get("/login/enrol").get_data(as_text=True)
    secret = totp.secret_of(reload(clinic.nurse))
    assert secret in page and "otpauth://totp/" in page
    token = csrf_token(page)
    wrong = client.post("/login/enrol", data={"csrf_token": token, "code": "000000"})
    assert "not right" in wrong.get_data(as_text=True)
    right = client.post(
        "/login/enrol", data={"csrf_token": token, "code": totp_code(secret, utcnow())}
    )
    assert right.status_code == 302 and right.headers["Location"] == "/"
    assert client.get("/").status_code == 200
    assert reload(clinic.nurse).totp_enabled
    assert ("auth.totp_enrol", "ok") in audit_actions(clinic.nurse)

    # Another role is not asked.
    other = app.test_client()
    assert sign_in(other, clinic.clerk).headers["Location"] == "/"


def test_a_required_second_factor_cannot_be_turned_off(client, clinic, frozen):
    sign_in(client, clinic.nurse)
    secret = _enrol(client, clinic.nurse, frozen)
    totp.set_required_roles(clinic.admin, {"nurse"}, utcnow())
    token = page_token(client)
    client.post(
        "/account/two-factor/disable",
        data={"csrf_token": token, "password": PASSWORD, "code": totp_code(secret, utcnow())},
    )
    assert reload(clinic.nurse).totp_enabled


def test_turning_the_second_factor_off_needs_the_password_and_a_code(client, clinic, frozen):
    sign_in(client, clinic.nurse)
    secret = _enrol(client, clinic.nurse, frozen)
    token = page_token(client)
    code_only = client.post(
        "/account/two-factor/disable",
        data={"csrf_token": token, "code": totp_code(secret, utcnow())},
    )
    assert code_only.status_code == 422
    assert reload(clinic.nurse).totp_enabled
    frozen.shift(timedelta(seconds=31))
    wrong_password = client.post(
        "/account/two-factor/disable",
        data={
            "csrf_token": token,
            "password": "not my password at all",
            "code": totp_code(secret, utcnow()),
        },
    )
    assert wrong_password.status_code == 422
    assert "not your current password" in wrong_password.get_data(as_text=True)
    assert reload(clinic.nurse).totp_enabled
    wrong_code = client.post(
        "/account/two-factor/disable",
        data={"csrf_token": token, "password": PASSWORD, "code": "000000"},
    )
    assert wrong_code.status_code == 422 and reload(clinic.nurse).totp_enabled
    answer = client.post(
        "/account/two-factor/disable",
        data={"csrf_token": token, "password": PASSWORD, "code": totp_code(secret, utcnow())},
    )
    assert answer.status_code == 302
    user = reload(clinic.nurse)
    assert not user.totp_enabled and user.totp_secret_encrypted is None
    assert ("auth.totp_disable", "ok") in audit_actions(clinic.nurse)


# ---------------------------------------------------------------- password policy


@pytest.mark.parametrize(
    ("password", "message"),
    [("short one", "too short"), ("password1234", "too common"), ("Qwerty123456", "too common")],
)
def test_weak_passwords_are_refused_on_create_and_reset(app, clinic, password, message):
    admin = app.test_client()
    sign_in(admin, clinic.admin)
    page = admin.get("/admin/users/new").get_data(as_text=True)
    answer = admin.post(
        "/admin/users/new",
        data={
            "csrf_token": csrf_token(page),
            "email": "new.nurse@clinic.test",
            "name": "New Nurse",
            "role": "nurse",
            "site_ids": [clinic.site.id],
            "password": password,
            "active": "y",
        },
    )
    assert answer.status_code == 200
    assert staff.find_user("new.nurse@clinic.test") is None

    page = admin.get(f"/admin/users/{clinic.nurse.id}").get_data(as_text=True)
    answer = admin.post(
        f"/admin/users/{clinic.nurse.id}/password",
        data={"csrf_token": csrf_token(page), "password": password, "confirm": password},
    )
    assert answer.status_code == 200
    assert sign_in(app.test_client(), clinic.nurse).status_code == 302  # old one still works

    with pytest.raises(Exception, match=message):
        staff.create_user(
            "x@clinic.test", "X", "nurse", [clinic.site.id], password=password, now=utcnow()
        )


def test_the_api_refuses_a_breached_password(api_as, clinic):
    answer = api_as(clinic.admin).post(
        "/users",
        json={
            "email": "api.nurse@clinic.test",
            "name": "Api Nurse",
            "role": "nurse",
            "site_ids": [clinic.site.id],
            "password": "iloveyou1234",
        },
    )
    assert answer.status_code == 422
    assert "password" in answer.get_json()["fields"]


def test_the_breached_list_is_bundled_and_case_insensitive():
    from clinic.services.auth import is_breached

    assert is_breached("Password123456") and is_breached("QWERTYUIOP123")
    assert not is_breached(PASSWORD)


def test_a_user_changes_their_password_and_other_sessions_end(app, client, clinic):
    sign_in(client, clinic.nurse)
    elsewhere = app.test_client()
    sign_in(elsewhere, clinic.nurse)
    token = page_token(client)
    weak = client.post(
        "/account/password",
        data={
            "csrf_token": token,
            "current": PASSWORD,
            "password": "password12345",
            "confirm": "password12345",
        },
    )
    assert weak.status_code == 422 and "breached" in weak.get_data(as_text=True)
    wrong = client.post(
        "/account/password",
        data={
            "csrf_token": token,
            "current": "not my password!",
            "password": "a brand new passphrase",
            "confirm": "a brand new passphrase",
        },
    )
    assert wrong.status_code == 422
    answer = client.post(
        "/account/password",
        data={
            "csrf_token": token,
            "current": PASSWORD,
            "password": "a brand new passphrase",
            "confirm": "a brand new passphrase",
        },
    )
    assert answer.status_code == 302
    assert client.get("/").status_code == 200
    assert elsewhere.get("/").status_code == 302
    assert sign_in(app.test_client(), clinic.nurse, "a brand new passphrase").status_code == 302


# ---------------------------------------------------------------- no account enumeration


def _refusal(client, email: str, password: str) -> tuple[int, str]:
    """Sign in with an e-mail and password; return the status and the shown message."""
    import re

    page = client.get("/login")
    answer = client.post(
        "/login",
        data={
            "email": email,
            "password": password,
            "csrf_token": csrf_token(page.get_data(as_text=True)),
        },
    )
    html = answer.get_data(as_text=True)
    messages = re.findall(r'<div class="alert[^"]*"[^>]*>(.*?)</div>', html, re.S)
    return answer.status_code, " ".join(" ".join(m.split()) for m in messages)


def test_the_password_step_says_the_same_for_every_email(app, clinic, make_user):
    retired = make_user("nurse", [clinic.site], active=False)
    _lock(app.test_client(), clinic.practitioner)
    answers = {
        "unknown": _refusal(app.test_client(), "nobody@clinic.test", PASSWORD),
        "wrong password": _refusal(app.test_client(), clinic.nurse.email, "wrong password!!"),
        "disabled": _refusal(app.test_client(), retired.email, PASSWORD),
        "locked, right password": _refusal(app.test_client(), clinic.practitioner.email, PASSWORD),
        "locked, wrong password": _refusal(
            app.test_client(), clinic.practitioner.email, "wrong password!!"
        ),
    }
    assert len(set(answers.values())) == 1, answers
    status, message = answers["unknown"]
    assert status == 200 and "Wrong e-mail or password." in message
    # The tenth failure locks the account: that answer is the same as well.
    for n in range(9):
        sign_in(app.test_client(), clinic.clerk, f"wrong password number {n}")
    assert (
        _refusal(app.test_client(), clinic.clerk.email, "wrong password 10") == answers["unknown"]
    )
    assert reload(clinic.clerk).is_locked(utcnow())
