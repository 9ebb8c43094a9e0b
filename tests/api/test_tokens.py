"""API tokens: a name, a lifetime, the last use; listed and revoked by their user or an
administrator (page, API, CLI); revoked with a password reset, disabling or a role change."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from clinic.extensions import db
from clinic.models import ApiToken, AuditEvent
from clinic.services import tokens
from clinic.types import utcnow
from tests.conftest import NOW, csrf_token
from tests.security.conftest import sign_in


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def audited(action: str) -> list[AuditEvent]:
    stmt = sa.select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
    return list(db.session.scalars(stmt))


def token_row(token_id: int) -> ApiToken:
    db.session.expire_all()
    return db.session.get(ApiToken, token_id)


def assert_unauthorized(answer) -> None:
    assert answer.status_code == 401
    body = answer.get_json()
    assert body["error"] == "unauthorized" and body["message"] and body["fields"] == {}


# ---------------------------------------------------------------- issuing and expiry


def test_the_cli_issues_a_named_token_for_n_days_and_prints_it_last(runner, client, clinic):
    result = runner.invoke(
        args=["users", "token", clinic.nurse.email, "--days", "5", "--name", "Pager bridge"]
    )
    assert result.exit_code == 0, result.output
    token = result.output.strip().splitlines()[-1]
    assert client.get("/api/v1/me", headers=bearer(token)).status_code == 200
    [row] = tokens.list_for(clinic.nurse)
    assert row.name == "Pager bridge" and row.expires_at == row.created_at + timedelta(days=5)
    assert row.digest == tokens.digest(token) and token not in str(row.__dict__)
    [issued] = audited("auth.token_issue")
    assert issued.object_id == row.id and issued.detail["user_id"] == clinic.nurse.id
    assert issued.actor_label == "cli"


def test_the_default_lifetime_is_90_days_and_an_expired_token_answers_401(
    runner, client, clinic, frozen
):
    result = runner.invoke(args=["users", "token", clinic.clerk.email])
    token = result.output.strip().splitlines()[-1]
    [row] = tokens.list_for(clinic.clerk)
    assert row.expires_at - row.created_at == timedelta(days=90)
    frozen.shift(timedelta(days=89, hours=23))
    assert client.get("/api/v1/me", headers=bearer(token)).status_code == 200
    frozen.shift(timedelta(hours=1))
    assert_unauthorized(client.get("/api/v1/me", headers=bearer(token)))


def test_the_cli_refuses_a_lifetime_out_of_range(runner, clinic):
    for days in ("0", "366", "x"):
        result = runner.invoke(args=["users", "token", clinic.nurse.email, "--days", days])
        assert result.exit_code != 0
    assert tokens.list_for(clinic.nurse) == []


def test_the_last_use_is_recorded_and_a_use_from_another_address_audited(app, clinic, frozen):
    row, token = tokens.issue(clinic.nurse, utcnow())
    client = app.test_client()
    client.get("/api/v1/me", headers=bearer(token), environ_base={"REMOTE_ADDR": "10.0.0.1"})
    used = token_row(row.id)
    assert used.last_used_at is not None and used.last_used_ip == "10.0.0.1"
    client.get("/api/v1/me", headers=bearer(token), environ_base={"REMOTE_ADDR": "10.0.0.1"})
    client.get("/api/v1/me", headers=bearer(token), environ_base={"REMOTE_ADDR": "10.0.0.2"})
    [use] = audited("auth.token_use")  # the first use only sets the address
    assert use.ip == "10.0.0.2" and use.detail == {"previous_ip": "10.0.0.1"}
    assert use.object_id == row.id and use.actor_id == clinic.nurse.id


# ---------------------------------------------------------------- listing and revoking (API)


def test_a_user_lists_and_revokes_their_own_tokens(client, clinic):
    row, token = tokens.issue(clinic.nurse, utcnow(), name="Laptop")
    _spare, spare = tokens.issue(clinic.nurse, utcnow(), name="Spare")
    listed = client.get("/api/v1/tokens", headers=bearer(token))
    assert listed.status_code == 200
    body = listed.get_json()
    assert [t["name"] for t in body] == ["Spare", "Laptop"]
    assert set(body[0]) == {
        "id",
        "user_id",
        "name",
        "created_at",
        "expires_at",
        "last_used_at",
        "revoked_at",
        "status",
    }
    assert body[1]["status"] == "active" and body[1]["expires_at"].endswith("Z")
    answer = client.delete(f"/api/v1/tokens/{row.id}", headers=bearer(spare))
    assert answer.status_code == 200
    assert answer.get_json()["status"] == "revoked" and answer.get_json()["revoked_at"]
    assert_unauthorized(client.get("/api/v1/me", headers=bearer(token)))
    assert client.get("/api/v1/me", headers=bearer(spare)).status_code == 200
    [revoked] = audited("auth.token_revoke")
    assert revoked.object_id == row.id and revoked.actor_id == clinic.nurse.id


def test_a_user_cannot_see_or_revoke_another_users_tokens(client, clinic):
    theirs, _ = tokens.issue(clinic.clerk, utcnow())
    _mine, token = tokens.issue(clinic.nurse, utcnow())
    other = client.get(f"/api/v1/tokens?user_id={clinic.clerk.id}", headers=bearer(token))
    assert other.status_code == 403 and other.get_json()["error"] == "forbidden"
    answer = client.delete(f"/api/v1/tokens/{theirs.id}", headers=bearer(token))
    assert answer.status_code == 404 and answer.get_json()["error"] == "not_found"
    assert token_row(theirs.id).revoked_at is None


def test_an_admin_lists_and_revokes_anyones_tokens(client, clinic):
    theirs, their_token = tokens.issue(clinic.clerk, utcnow(), name="Kiosk")
    _admin, token = tokens.issue(clinic.admin, utcnow())
    listed = client.get(f"/api/v1/tokens?user_id={clinic.clerk.id}", headers=bearer(token))
    assert [t["id"] for t in listed.get_json()] == [theirs.id]
    missing = client.get("/api/v1/tokens?user_id=999999", headers=bearer(token))
    assert missing.status_code == 404
    bad = client.get("/api/v1/tokens?user_id=abc", headers=bearer(token))
    assert bad.status_code == 422 and "user_id" in bad.get_json()["fields"]
    answer = client.delete(f"/api/v1/tokens/{theirs.id}", headers=bearer(token))
    assert answer.status_code == 200
    assert_unauthorized(client.get("/api/v1/me", headers=bearer(their_token)))
    [revoked] = audited("auth.token_revoke")
    assert revoked.actor_id == clinic.admin.id and revoked.detail["user_id"] == clinic.clerk.id


# ---------------------------------------------------------------- revoked with the account


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"password": "a brand new passphrase"}, "password"),
        ({"active": False}, "disabled"),
        ({"role": "practitioner"}, "role"),
    ],
)
def test_a_password_reset_disabling_or_role_change_revokes_the_users_tokens(
    client, clinic, change, reason
):
    row, token = tokens.issue(clinic.nurse, utcnow())
    _admin, admin_token = tokens.issue(clinic.admin, utcnow())
    answer = client.patch(
        f"/api/v1/users/{clinic.nurse.id}", json=change, headers=bearer(admin_token)
    )
    assert answer.status_code == 200, answer.get_json()
    assert_unauthorized(client.get("/api/v1/me", headers=bearer(token)))
    revoked = token_row(row.id)
    assert revoked.revoked_at is not None and revoked.revoked_reason == reason
    assert [e.object_id for e in audited("auth.token_revoke")] == [row.id]


def test_other_changes_keep_the_tokens(client, clinic):
    _row, token = tokens.issue(clinic.nurse, utcnow())
    _admin, admin_token = tokens.issue(clinic.admin, utcnow())
    client.patch(
        f"/api/v1/users/{clinic.nurse.id}", json={"name": "Renamed"}, headers=bearer(admin_token)
    )
    assert client.get("/api/v1/me", headers=bearer(token)).status_code == 200


def test_changing_ones_own_password_revokes_ones_tokens(client, clinic):
    from clinic.services.auth import change_own_password
    from tests.conftest import PASSWORD

    _row, token = tokens.issue(clinic.nurse, utcnow())
    change_own_password(clinic.nurse, PASSWORD, "a brand new passphrase", utcnow())
    assert_unauthorized(client.get("/api/v1/me", headers=bearer(token)))


# ---------------------------------------------------------------- CLI and pages


def test_the_cli_lists_and_revokes_tokens(runner, client, clinic):
    row, token = tokens.issue(clinic.nurse, NOW, name="Bridge")
    listed = runner.invoke(args=["users", "tokens", clinic.nurse.email])
    assert listed.exit_code == 0
    assert f"{row.id}\tactive\tBridge" in listed.output
    revoked = runner.invoke(args=["users", "revoke-token", str(row.id)])
    assert revoked.exit_code == 0 and "revoked" in revoked.output
    assert_unauthorized(client.get("/api/v1/me", headers=bearer(token)))
    assert (
        f"{row.id}\trevoked\tBridge"
        in runner.invoke(args=["users", "tokens", clinic.nurse.email]).output
    )
    assert runner.invoke(args=["users", "revoke-token", "999999"]).exit_code != 0
    assert runner.invoke(args=["users", "tokens", "nobody@clinic.test"]).exit_code != 0


def test_the_security_page_lists_and_revokes_ones_own_tokens(app, client, clinic):
    row, token = tokens.issue(clinic.nurse, utcnow(), name="Pager bridge")
    theirs, _ = tokens.issue(clinic.clerk, utcnow(), name="Clerk kiosk")
    sign_in(client, clinic.nurse)
    page = client.get("/account/security").get_data(as_text=True)
    assert "Pager bridge" in page and "Clerk kiosk" not in page
    assert f"/account/tokens/{row.id}/revoke" in page
    answer = client.post(f"/account/tokens/{row.id}/revoke", data={"csrf_token": csrf_token(page)})
    assert answer.status_code == 302
    assert_unauthorized(app.test_client().get("/api/v1/me", headers=bearer(token)))
    other = client.post(
        f"/account/tokens/{theirs.id}/revoke", data={"csrf_token": csrf_token(page)}
    )
    assert other.status_code == 404 and token_row(theirs.id).revoked_at is None


def test_an_admin_revokes_a_users_token_from_the_user_page(app, client, clinic):
    row, token = tokens.issue(clinic.nurse, utcnow(), name="Pager bridge")
    sign_in(client, clinic.admin)
    page = client.get(f"/admin/users/{clinic.nurse.id}").get_data(as_text=True)
    action = f"/admin/users/{clinic.nurse.id}/tokens/{row.id}/revoke"
    assert "Pager bridge" in page and action in page
    answer = client.post(action, data={"csrf_token": csrf_token(page)})
    assert answer.status_code == 302
    assert_unauthorized(app.test_client().get("/api/v1/me", headers=bearer(token)))
    wrong_user = client.post(
        f"/admin/users/{clinic.clerk.id}/tokens/{row.id}/revoke",
        data={"csrf_token": csrf_token(page)},
    )
    assert wrong_user.status_code == 404
