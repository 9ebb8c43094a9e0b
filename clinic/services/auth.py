"""Passwords and API tokens."""

from __future__ import annotations

import hashlib
import secrets
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from sqlalchemy import select

from clinic.extensions import db
from clinic.models import ApiToken, User
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


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(user: User) -> str:
    """Create a new API token for the user and return it (only its digest is stored)."""
    token = secrets.token_urlsafe(32)
    db.session.add(ApiToken(user_id=user.id, digest=_digest(token), created_at=utcnow()))
    db.session.commit()
    return token


def user_for_token(token: str) -> User | None:
    """Return the active user a bearer token belongs to, or None."""
    if not token or len(token) > 200:
        return None
    row = db.session.scalar(
        select(ApiToken).where(ApiToken.digest == _digest(token), ApiToken.revoked_at.is_(None))
    )
    if row is None or not row.user.active:
        return None
    return row.user
