"""Passwords, signing in (lockout, second factor) and API tokens."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import Any, cast

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app, has_request_context, request
from sqlalchemy import CursorResult, select, update

from clinic.database import begin_write as begin_write  # one place takes the write lock
from clinic.extensions import db
from clinic.models import User
from clinic.services import audit
from clinic.services.errors import Invalid
from clinic.types import utcnow


@cache
def _hasher_for(time_cost: int, memory_kib: int) -> tuple[PasswordHasher, str]:
    """Return an argon2id hasher and a dummy hash to verify against for unknown e-mails."""
    hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib)
    return hasher, hasher.hash("not-a-real-password")


def _hasher() -> tuple[PasswordHasher, str]:
    time_cost, memory_kib = current_app.config["ARGON2_COST"]
    return _hasher_for(time_cost, memory_kib)


def hash_password(password: str) -> str:
    """Hash a password with argon2id."""
    return _hasher()[0].hash(password)


def check_password(user: User | None, password: str) -> bool:
    """Tell whether the password is the user's, in constant work for unknown users."""
    hasher, dummy = _hasher()
    stored = user.password_hash if user and user.password_hash else None
    try:
        # Verify against a dummy hash for unknown users, so both paths cost the same time.
        return hasher.verify(stored or dummy, password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


def authenticate(email: str, password: str) -> User | None:
    """Return the active user with this e-mail and password, or None."""
    user = db.session.scalar(select(User).where(User.email == email.strip().lower()))
    if check_password(user, password) and user is not None and user.active:
        return user
    return None


def issue_token(
    user: User, *, name: str | None = None, days: int | None = None, now: datetime | None = None
) -> str:
    """Create a new API token for the user and return it (only its digest is stored)."""
    from clinic.services import tokens

    _row, token = tokens.issue(user, now or utcnow(), name=name, days=days or tokens.DEFAULT_DAYS)
    return token


def user_for_token(token: str, now: datetime | None = None) -> User | None:
    """Return the active user a live (unexpired, unrevoked) bearer token belongs to, or None."""
    from clinic.services import tokens

    ip = request.remote_addr if has_request_context() else None
    return tokens.user_for_token(token, now or utcnow(), ip)


# ---------------------------------------------------------------- password policy

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 200
BREACHED_LIST = Path(__file__).resolve().parents[1] / "data" / "breached_passwords.txt"


@cache
def _breached() -> frozenset[str]:
    """Return the bundled list of breached passwords, lower-cased."""
    lines = BREACHED_LIST.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip().lower() for line in lines if line and not line.startswith("#"))


def is_breached(password: str) -> bool:
    """Tell whether a password is on the bundled list of breached passwords."""
    return password.strip().lower() in _breached()


def check_password_policy(password: str) -> None:
    """Raise Invalid unless the password is long enough and not a known breached one."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise Invalid(
            "The password is too short.",
            {"password": [f"At least {MIN_PASSWORD_LENGTH} characters."]},
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        raise Invalid(
            "The password is too long.",
            {"password": [f"At most {MAX_PASSWORD_LENGTH} characters."]},
        )
    if is_breached(password):
        raise Invalid(
            "The password is too common.",
            {"password": ["This password is on a list of breached passwords; choose another."]},
        )


# ---------------------------------------------------------------- signing in

LOCKOUT_THRESHOLD = 10
LOCKOUT_PERIOD = timedelta(minutes=15)


class Step(StrEnum):
    """What a sign-in attempt leads to."""

    SIGNED_IN = "signed_in"  # start a session
    SECOND_FACTOR = "second_factor"  # ask for the TOTP code
    ENROL = "enrol"  # the role requires a second factor the user has not set up yet
    REFUSED = "refused"  # wrong e-mail or password, or an inactive account
    LOCKED = "locked"  # too many failures: refused whatever the password


@dataclass(frozen=True)
class Attempt:
    """The outcome of checking an e-mail and password."""

    step: Step
    user: User | None = None


def attempt_sign_in(email: str, password: str, now: datetime) -> Attempt:
    """Check an e-mail and password, count a failure, and say what comes next."""
    from clinic.services import totp

    user = db.session.scalar(select(User).where(User.email == email.strip().lower()))
    correct = check_password(user, password)  # always the same work, locked or not
    if user is None or user.is_locked(now):
        reason = "unknown" if user is None else "locked"
        begin_write()
        audit_event(user, "auth.failure", now, outcome="refused", detail={"reason": reason})
        db.session.commit()
        return Attempt(Step.REFUSED if user is None else Step.LOCKED, user)
    if not correct or not user.active:
        reason = "password" if not correct else "inactive"
        locked = register_failure(user, now, reason)
        return Attempt(Step.LOCKED if locked else Step.REFUSED, user)
    if user.totp_enabled:
        return Attempt(Step.SECOND_FACTOR, user)
    if totp.is_required(user):
        return Attempt(Step.ENROL, user)
    return Attempt(Step.SIGNED_IN, user)


def register_failure(user: User, now: datetime, reason: str) -> bool:
    """Count a failed sign-in in the database; lock the account at the threshold.

    The count is one UPDATE ... RETURNING, so concurrent failures on several workers are
    all counted. Returns whether this failure locked the account.
    """
    begin_write()
    count = db.session.execute(
        update(User)
        .where(User.id == user.id)
        .values(failed_logins=User.failed_logins + 1)
        .returning(User.failed_logins)
        .execution_options(synchronize_session=False)
    ).scalar_one()
    audit_event(user, "auth.failure", now, outcome="refused", detail={"reason": reason})
    locked = False
    if count >= LOCKOUT_THRESHOLD:
        result = db.session.execute(
            update(User)
            .where(User.id == user.id, User.failed_logins >= LOCKOUT_THRESHOLD)
            .values(failed_logins=0, locked_until=now + LOCKOUT_PERIOD)
            .execution_options(synchronize_session=False)
        )
        locked = cast(CursorResult[Any], result).rowcount == 1
        if locked:
            audit_event(
                user,
                "auth.lockout",
                now,
                outcome="refused",
                object_type="user",
                object_id=user.id,
                detail={"failures": count, "until": now + LOCKOUT_PERIOD},
            )
    db.session.commit()
    db.session.refresh(user)
    return locked


def clear_failures(user: User) -> None:
    """Forget the failed sign-ins of a user who has just signed in (not committed)."""
    user.failed_logins = 0
    user.locked_until = None


def unlock(actor: User, user: User, now: datetime) -> None:
    """Unlock an account locked by failed sign-ins (an administrator's action)."""
    clear_failures(user)
    audit_event(actor, "auth.unlock", now, object_type="user", object_id=user.id)
    db.session.commit()


def change_own_password(user: User, current: str, new: str, now: datetime) -> None:
    """Change the signed-in user's password after checking the current one."""
    if not check_password(user, current):
        raise Invalid(
            "The current password is wrong.", {"current": ["This is not your current password."]}
        )
    check_password_policy(new)
    from clinic.services import tokens

    user.password_hash = hash_password(new)
    audit_event(user, "auth.password_change", now, object_type="user", object_id=user.id)
    # A new password is often a reaction to a leak: the API tokens go with the old one.
    tokens.revoke_all(user.id, now, "password")
    db.session.commit()


def audit_event(
    actor: User | str | None,
    action: str,
    now: datetime,
    *,
    outcome: str = "ok",
    object_type: str | None = None,
    object_id: int | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Queue an authentication event on the audit trail (written by the caller's commit)."""
    audit.record(
        actor,
        action,
        now,
        object_type=object_type,
        object_id=object_id,
        outcome=outcome,
        detail=detail,
    )
