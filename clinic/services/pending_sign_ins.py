"""The half-finished sign-in, kept on the server between the password and the code.

After a right password the browser gets a random id in its session cookie; the row keyed by
the id's SHA-256 digest says who and what comes next (the code, or enrolment). Nothing about
the user is in the cookie, so a cookie forged with a known SECRET_KEY opens nothing. A row
lives PENDING_LIFETIME at most and is deleted when the sign-in finishes or starts again.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete, select

from clinic.domain.roles import SignInStep
from clinic.extensions import db
from clinic.models import PendingSignIn, User

PENDING_LIFETIME = timedelta(minutes=5)
STEPS = SignInStep.values()
MAX_TOKEN_LENGTH = 100
MAX_NEXT_LENGTH = 500


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def begin(user: User, step: str, next_url: str | None, now: datetime) -> str:
    """Record that the user passed the password step; return the id for the cookie."""
    if step not in STEPS:
        raise ValueError(f"unknown sign-in step {step!r}")
    from clinic.services.auth import begin_write

    token = secrets.token_urlsafe(32)
    begin_write()
    # Old rows of anyone are of no use: sweep them here rather than in a job.
    db.session.execute(delete(PendingSignIn).where(PendingSignIn.expires_at <= now))
    db.session.add(
        PendingSignIn(
            token_digest=_digest(token),
            user_id=user.id,
            step=step,
            next_url=next_url if next_url and len(next_url) <= MAX_NEXT_LENGTH else None,
            created_at=now,
            expires_at=now + PENDING_LIFETIME,
        )
    )
    db.session.commit()
    return token


def find(token: object, step: str, now: datetime) -> PendingSignIn | None:
    """Return the live pending sign-in of this id at this step, or None."""
    if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    row = db.session.scalar(
        select(PendingSignIn).where(PendingSignIn.token_digest == _digest(token))
    )
    if row is None or row.step != step:
        return None
    if now >= row.expires_at or not row.user.active:
        discard(token)
        return None
    return row


def discard(token: object) -> None:
    """Forget a pending sign-in (finished, abandoned or expired)."""
    from clinic.services.auth import begin_write

    if isinstance(token, str) and token and len(token) <= MAX_TOKEN_LENGTH:
        begin_write()
        stmt = delete(PendingSignIn).where(PendingSignIn.token_digest == _digest(token))
        db.session.execute(stmt)
        db.session.commit()


def user_id_of(token: object) -> int | None:
    """Return the user of a pending sign-in id, live or not, without changing anything."""
    if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    stmt = select(PendingSignIn.user_id).where(PendingSignIn.token_digest == _digest(token))
    return db.session.scalar(stmt)
