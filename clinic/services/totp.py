"""Second factor: time-based one-time passwords (RFC 6238, 30-second steps, 6 digits).

A user enrols by adding the secret to an authenticator app and confirming one code; an
administrator may require a second factor for a role. Each code is accepted once: the step
of the last accepted code is kept and older or equal steps are refused (no replay), by one
conditional UPDATE so that parallel requests cannot both win. Secrets are stored encrypted
(clinic.services.totp_secrets).
"""

from __future__ import annotations

import hmac
from datetime import datetime
from typing import Any, cast

import pyotp
from sqlalchemy import CursorResult, and_, delete, or_, select, update

from clinic.domain.ids import is_digits
from clinic.extensions import db
from clinic.models import ROLES, RoleTotpRequirement, User
from clinic.services import totp_secrets
from clinic.services.auth import audit_event, begin_write, check_password, register_failure
from clinic.services.errors import Invalid

ISSUER = "Infusion Desk"
STEP_SECONDS = 30
# One step either side absorbs a phone clock that is up to 30 seconds off.
DRIFT_STEPS = 1


def _clean(code: str) -> str:
    return "".join(code.split())


def matching_step(secret: str, code: str, now: datetime) -> int | None:
    """Return the time step whose code this is (within the allowed drift), or None."""
    code = _clean(code)
    if len(code) != 6 or not is_digits(code):
        return None
    totp = pyotp.TOTP(secret, interval=STEP_SECONDS)
    current = int(now.timestamp()) // STEP_SECONDS
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        if hmac.compare_digest(totp.at(step * STEP_SECONDS), code):
            return step
    return None


def secret_of(user: User) -> str | None:
    """Return the user's TOTP secret in clear (it is stored encrypted), or None."""
    return totp_secrets.unseal(user.totp_secret_encrypted)


def provisioning_uri(user: User) -> str:
    """Return the otpauth:// URI that authenticator apps read."""
    return pyotp.TOTP(secret_of(user) or "", interval=STEP_SECONDS).provisioning_uri(
        name=user.email, issuer_name=ISSUER
    )


def begin_enrolment(user: User) -> str:
    """Give the user a secret to add to an app (kept, encrypted, until confirmed); return it."""
    if user.totp_enabled:
        raise Invalid("Two-factor sign-in is already on.")
    secret = secret_of(user)
    if not secret:
        secret = pyotp.random_base32()
        user.totp_secret_encrypted = totp_secrets.seal(secret)
        db.session.commit()
    return secret


def _accept_step(user: User, step: int, *, enrol: bool = False) -> bool:
    """Accept a code's time step once, atomically: a newer step than any accepted before.

    One conditional UPDATE, so of several requests carrying the same code at the same
    moment (on any number of workers) exactly one is accepted.
    """
    fresh = or_(User.totp_last_step.is_(None), User.totp_last_step < step)
    condition = and_(User.id == user.id, fresh, User.totp_enabled == (not enrol))
    values: dict[str, int | bool] = {"totp_last_step": step}
    if enrol:
        values["totp_enabled"] = True
    result = db.session.execute(
        update(User).where(condition).values(**values).execution_options(synchronize_session=False)
    )
    return cast(CursorResult[Any], result).rowcount == 1


def confirm_enrolment(user: User, code: str, now: datetime) -> bool:
    """Turn the second factor on when the code matches the new secret."""
    secret = secret_of(user)
    if user.totp_enabled or not secret:
        return False
    step = matching_step(secret, code, now)
    if step is None:
        return False
    begin_write()
    if not _accept_step(user, step, enrol=True):
        db.session.rollback()
        return False
    audit_event(user, "auth.totp_enrol", now, object_type="user", object_id=user.id)
    db.session.commit()
    db.session.refresh(user)
    return True


def verify(user: User, code: str, now: datetime) -> bool:
    """Check a sign-in code; a wrong or replayed code counts as a failed sign-in."""
    secret = secret_of(user) if user.totp_enabled else None
    step = matching_step(secret, code, now) if secret else None
    if step is not None:
        begin_write()
        if _accept_step(user, step):
            db.session.commit()
            db.session.refresh(user)
            return True
        db.session.rollback()
    register_failure(user, now, "totp")
    return False


def disable(actor: User, user: User, password: str, code: str, now: datetime) -> None:
    """Turn the user's own second factor off after checking their password and a current code."""
    if is_required(user):
        raise Invalid("Your role requires two-factor sign-in; it cannot be turned off.")
    if not check_password(user, password):
        register_failure(user, now, "password")
        raise Invalid(
            "The password is wrong.", {"password": ["This is not your current password."]}
        )
    if not verify(user, code, now):
        raise Invalid(
            "That code is not right, or was used already.",
            {"code": ["That code is not right, or was used already."]},
        )
    user.totp_enabled = False
    user.totp_secret_encrypted = None
    user.totp_last_step = None
    audit_event(actor, "auth.totp_disable", now, object_type="user", object_id=user.id)
    db.session.commit()


def required_roles() -> set[str]:
    """Return the roles whose members must use a second factor."""
    return set(db.session.scalars(select(RoleTotpRequirement.role)))


def is_required(user: User) -> bool:
    """Tell whether the user's role requires a second factor."""
    return db.session.get(RoleTotpRequirement, user.role) is not None


def set_required_roles(actor: User, roles: set[str], now: datetime) -> None:
    """Require a second factor for exactly these roles (an administrator's setting)."""
    unknown = roles - set(ROLES)
    if unknown:
        raise Invalid("Unknown role.", {"roles": [f"One of {', '.join(ROLES)}."]})
    before = required_roles()
    if roles == before:
        return
    db.session.execute(delete(RoleTotpRequirement).where(RoleTotpRequirement.role.not_in(roles)))
    for role in roles - before:
        db.session.add(RoleTotpRequirement(role=role, set_at=now, set_by_id=actor.id))
    audit_event(actor, "admin.totp_roles", now, detail={"roles": sorted(roles)})
    db.session.commit()
