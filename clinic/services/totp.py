"""Second factor: time-based one-time passwords (RFC 6238, 30-second steps, 6 digits).

A user enrols by adding the secret to an authenticator app and confirming one code; an
administrator may require a second factor for a role. Each code is accepted once: the step
of the last accepted code is kept and older or equal steps are refused (no replay).
"""

from __future__ import annotations

import hmac
from datetime import datetime

import pyotp
from sqlalchemy import delete, select

from clinic.extensions import db
from clinic.models import ROLES, RoleTotpRequirement, User
from clinic.services.auth import audit_event, register_failure
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
    if len(code) != 6 or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret, interval=STEP_SECONDS)
    current = int(now.timestamp()) // STEP_SECONDS
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        if hmac.compare_digest(totp.at(step * STEP_SECONDS), code):
            return step
    return None


def code_at(secret: str, now: datetime) -> str:
    """Return the code an authenticator app shows at an instant (for tests and checks)."""
    return pyotp.TOTP(secret, interval=STEP_SECONDS).at(now)


def provisioning_uri(user: User) -> str:
    """Return the otpauth:// URI that authenticator apps read."""
    return pyotp.TOTP(user.totp_secret or "", interval=STEP_SECONDS).provisioning_uri(
        name=user.email, issuer_name=ISSUER
    )


def begin_enrolment(user: User) -> str:
    """Give the user a secret to add to an app (kept until confirmed) and return it."""
    if user.totp_enabled:
        raise Invalid("Two-factor sign-in is already on.")
    if not user.totp_secret:
        user.totp_secret = pyotp.random_base32()
        db.session.commit()
    return user.totp_secret


def confirm_enrolment(user: User, code: str, now: datetime) -> bool:
    """Turn the second factor on when the code matches the new secret."""
    if user.totp_enabled or not user.totp_secret:
        return False
    step = matching_step(user.totp_secret, code, now)
    if step is None:
        return False
    user.totp_enabled = True
    user.totp_last_step = step
    audit_event(user, "auth.totp_enrol", now, object_type="user", object_id=user.id)
    db.session.commit()
    return True


def verify(user: User, code: str, now: datetime) -> bool:
    """Check a sign-in code; a wrong or replayed code counts as a failed sign-in."""
    step = matching_step(user.totp_secret or "", code, now) if user.totp_enabled else None
    if step is None or (user.totp_last_step is not None and step <= user.totp_last_step):
        register_failure(user, now, "totp")
        return False
    user.totp_last_step = step
    db.session.commit()
    return True


def disable(actor: User, user: User, now: datetime) -> None:
    """Turn a user's second factor off and forget the secret."""
    if is_required(user):
        raise Invalid("Your role requires two-factor sign-in; it cannot be turned off.")
    user.totp_enabled = False
    user.totp_secret = None
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
