"""Passwords and API tokens."""

from __future__ import annotations

import hashlib
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select

from clinic.extensions import db
from clinic.models import ApiToken, User
from clinic.types import utcnow

_hasher = PasswordHasher()
# Verified against when the e-mail is unknown, so both paths cost the same time.
_DUMMY_HASH = _hasher.hash("not-a-real-password")


def hash_password(password: str) -> str:
    """Hash a password with argon2id."""
    return _hasher.hash(password)


def check_password(user: User | None, password: str) -> bool:
    """Tell whether the password is the user's, in constant work for unknown users."""
    stored = user.password_hash if user and user.password_hash else None
    try:
        return _hasher.verify(stored or _DUMMY_HASH, password) and stored is not None
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
