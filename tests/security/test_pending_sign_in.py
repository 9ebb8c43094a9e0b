"""The half-finished sign-in lives on the server: a cookie forged with a known SECRET_KEY
(the attack on the old client-side state) signs nobody in and shows no secret."""

from __future__ import annotations

import time

import pytest
import sqlalchemy as sa

from clinic.extensions import db
from clinic.models import PendingSignIn
from clinic.services import totp
from clinic.types import utcnow
from tests.conftest import PASSWORD, csrf_token, totp_code
from tests.security.conftest import sign_in


def forge(app, client, data: dict) -> None:
    """Give the client a session cookie with this content, signed with the app's key."""
    serializer = app.session_interface.get_signing_serializer(app)
    client.set_cookie(app.config["SESSION_COOKIE_NAME"], serializer.dumps(data))


def read_cookie(app, client) -> dict:
    """Return the content of the client's session cookie."""
    serializer = app.session_interface.get_signing_serializer(app)
    return serializer.loads(client.get_cookie(app.config["SESSION_COOKIE_NAME"]).value)


def require_totp_for_nurses(clinic) -> None:
    totp.set_required_roles(clinic.admin, {"nurse"}, utcnow())


@pytest.mark.parametrize("step", ["enrol", "second_factor"])
@pytest.mark.parametrize(
    "shape",
    [
        lambda user_id, step: {
            "pending_sign_in": {"user_id": user_id, "step": step, "until": time.time() + 300}
        },
        lambda user_id, step: {"pending": {"user_id": user_id, "step": step}},
        lambda user_id, step: {"pending": "a-guessed-pending-sign-in-id"},
    ],
    ids=["old-shape", "dict-in-new-key", "guessed-id"],
)
def test_a_forged_pending_cookie_opens_nothing(app, client, clinic, step, shape):
    require_totp_for_nurses(clinic)
    nurse = clinic.nurse
    if step == "enrol":
        # The victim passed the password once: an unconfirmed secret now exists.
        other = app.test_client()
        assert sign_in(other, nurse).headers["Location"] == "/login/enrol"
        secret = totp.secret_of(nurse)
    else:
        secret = totp.begin_enrolment(nurse)
        totp.confirm_enrolment(nurse, totp_code(secret, utcnow()), utcnow())
    forge(app, client, shape(nurse.id, step))

    page = client.get(f"/login/{'enrol' if step == 'enrol' else 'two-factor'}")
    assert page.status_code == 302 and page.headers["Location"] == "/login"
    body = client.get("/login").get_data(as_text=True)
    assert secret not in body and "otpauth://" not in body

    forge(app, client, shape(nurse.id, step))
    token = csrf_token(client.get("/login").get_data(as_text=True))
    forge(
        app, client, shape(nurse.id, step) | {"csrf_token": read_cookie(app, client)["csrf_token"]}
    )
    code = totp_code(secret, utcnow())
    for path in ("/login/enrol", "/login/two-factor"):
        answer = client.post(path, data={"csrf_token": token, "code": code})
        assert answer.status_code == 302 and answer.headers["Location"] == "/login"
        assert secret not in answer.get_data(as_text=True)
    assert client.get("/").status_code == 302  # not signed in
    assert client.get("/account/security").status_code == 302


def test_the_cookie_holds_only_a_random_id_and_the_row_a_digest(app, client, clinic):
    require_totp_for_nurses(clinic)
    answer = sign_in(client, clinic.nurse)
    assert answer.headers["Location"] == "/login/enrol"
    content = read_cookie(app, client)
    assert set(content) <= {"pending", "csrf_token", "_flashes", "_fresh"}
    pending_id = content["pending"]
    assert isinstance(pending_id, str) and str(clinic.nurse.id) != pending_id
    [row] = db.session.scalars(sa.select(PendingSignIn))
    assert row.user_id == clinic.nurse.id and row.step == "enrol"
    assert row.token_digest != pending_id and len(row.token_digest) == 64
    assert (row.expires_at - row.created_at).total_seconds() == 300


def test_the_pending_id_opens_the_step_only_in_its_own_browser(app, client, clinic):
    require_totp_for_nurses(clinic)
    sign_in(client, clinic.nurse)
    assert client.get("/login/enrol").status_code == 200
    elsewhere = app.test_client()
    assert elsewhere.get("/login/enrol").status_code == 302


def test_finishing_the_sign_in_deletes_the_pending_row(client, clinic):
    require_totp_for_nurses(clinic)
    sign_in(client, clinic.nurse)
    page = client.get("/login/enrol").get_data(as_text=True)
    secret = totp.secret_of(clinic.nurse)
    answer = client.post(
        "/login/enrol",
        data={"csrf_token": csrf_token(page), "code": totp_code(secret, utcnow())},
    )
    assert answer.status_code == 302 and answer.headers["Location"] == "/"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(PendingSignIn)) == 0


def test_starting_again_replaces_the_old_pending_sign_in(client, clinic):
    require_totp_for_nurses(clinic)
    sign_in(client, clinic.nurse)
    sign_in(client, clinic.nurse, PASSWORD)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(PendingSignIn)) == 1
