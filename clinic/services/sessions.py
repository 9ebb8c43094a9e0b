"""Server-side sessions: the browser's cookie carries a random id, the database row decides.

A session ends when its user signs out, after the idle timeout (the shortest
`idle_timeout_minutes` of the user's sites; administrators 15 minutes), at the absolute
limit of 12 hours however active, and when the user is disabled or given a new password.
Only the SHA-256 digest of the id is stored, so a copy of the table opens no session.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, select, update
from sqlalchemy.orm import joinedload

from clinic import database
from clinic.extensions import db
from clinic.models import Site, User, UserSession
from clinic.services.errors import Invalid

ABSOLUTE_LIFETIME = timedelta(hours=12)
DEFAULT_IDLE_MINUTES = 15
ADMIN_IDLE_MINUTES = 15
# last_seen_at is written at most this often: a page and its fetches make one write.
TOUCH_GRANULARITY = timedelta(seconds=10)
MAX_TOKEN_LENGTH = 100
IDLE_MINUTES_RANGE = (2, 60)  # what a site may set as its automatic logoff


def digest(token: str) -> str:
    """Return the stored form of a session id."""
    return hashlib.sha256(token.encode()).hexdigest()


def idle_timeout(user: User) -> timedelta:
    """Return how long the user's session survives without a request."""
    if user.is_admin:
        return timedelta(minutes=ADMIN_IDLE_MINUTES)
    minutes = [site.idle_timeout_minutes for site in user.sites if site.idle_timeout_minutes]
    return timedelta(minutes=min(minutes, default=DEFAULT_IDLE_MINUTES))


def start(
    user: User, now: datetime, ip: str | None, user_agent: str | None
) -> tuple[UserSession, str]:
    """Open a session for a user who has just signed in; return it and its id (not committed)."""
    token = secrets.token_urlsafe(32)
    row = UserSession(
        token_digest=digest(token),
        user_id=user.id,
        created_at=now,
        last_seen_at=now,
        expires_at=now + ABSOLUTE_LIFETIME,
        ip=(ip or "")[:45] or None,
        user_agent=(user_agent or "")[:200] or None,
    )
    db.session.add(row)
    db.session.flush()
    return row, token


def sign_in(
    user: User, now: datetime, ip: str | None, user_agent: str | None
) -> tuple[UserSession, str]:
    """Open the session of a user who passed every step: failures forgotten, audited."""
    from clinic.services.auth import audit_event, clear_failures

    database.begin_write()
    clear_failures(user)
    row, token = start(user, now, ip, user_agent)
    audit_event(user, "auth.login", now, object_type="session", object_id=row.id)
    db.session.commit()
    return row, token


def set_idle_timeout(actor: User, site: Site, minutes: int, now: datetime) -> None:
    """Set a site's automatic logoff (IDLE_MINUTES_RANGE) and audit the change."""
    from clinic.services.auth import audit_event

    low, high = IDLE_MINUTES_RANGE
    if not low <= minutes <= high:
        raise Invalid("Out of range.", {"minutes": [f"From {low} to {high} minutes."]})
    site.idle_timeout_minutes = minutes
    detail = {"fields": ["idle_timeout_minutes"]}
    audit_event(
        actor, "admin.site.update", now, object_type="site", object_id=site.id, detail=detail
    )
    db.session.commit()


@dataclass(frozen=True)
class Check:
    """The verdict on a session id: the live row, or why there is none."""

    row: UserSession | None
    reason: str | None = None  # "unknown", "ended", "idle", "absolute", "inactive"


def check(token: str | None, now: datetime, *, touch: bool) -> Check:
    """Return the live session for an id; end it if it has just expired.

    With `touch`, the request counts as activity and moves the idle deadline on; the
    dashboard's automatic refresh does not.
    """
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return Check(None, "unknown")
    # One statement: the session, its user and their sites (the idle limit and every page's
    # access check read them), as the API's token look-up does.
    row = db.session.scalar(
        select(UserSession)
        .where(UserSession.token_digest == digest(token))
        .options(joinedload(UserSession.user).joinedload(User.sites))
    )
    if row is None:
        return Check(None, "unknown")
    if row.ended_at is not None:
        return Check(None, "ended")
    user = row.user
    reason = None
    if not user.active:
        reason = "inactive"
    elif now >= row.expires_at:
        reason = "absolute"
    elif now - row.last_seen_at >= idle_timeout(user):
        reason = "idle"
    if reason is not None:
        end(row, now, reason)
        return Check(None, reason)
    if touch and now - row.last_seen_at >= TOUCH_GRANULARITY:
        database.begin_write()
        row.last_seen_at = now
        db.session.commit()
    return Check(row)


def end(row: UserSession, now: datetime, reason: str) -> None:
    """End one session (sign-out or timeout) and audit it."""
    from clinic.services.auth import audit_event, begin_write

    session_id, user = row.id, row.user
    begin_write()
    done = db.session.execute(
        update(UserSession)
        .where(UserSession.id == session_id, UserSession.ended_at.is_(None))
        .values(ended_at=now, end_reason=reason)
        .execution_options(synchronize_session=False)
    )
    if cast(CursorResult[Any], done).rowcount == 1:  # another worker may have ended it a moment ago
        action = "auth.logout" if reason == "logout" else "auth.timeout"
        audit_event(
            user,
            action,
            now,
            object_type="session",
            object_id=session_id,
            detail={"reason": reason},
        )
    db.session.commit()


def end_all(user_id: int, now: datetime, reason: str) -> int:
    """End every live session of a user (not committed); return how many."""
    result = db.session.execute(
        update(UserSession)
        .where(UserSession.user_id == user_id, UserSession.ended_at.is_(None))
        .values(ended_at=now, end_reason=reason)
        .execution_options(synchronize_session=False)
    )
    return cast(CursorResult[Any], result).rowcount


def end_all_but(user_id: int, keep_id: int | None, now: datetime) -> int:
    """End every live session of a user except one (not committed); return how many."""
    stmt = update(UserSession).where(UserSession.user_id == user_id, UserSession.ended_at.is_(None))
    if keep_id is not None:
        stmt = stmt.where(UserSession.id != keep_id)
    result = db.session.execute(
        stmt.values(ended_at=now, end_reason="password").execution_options(
            synchronize_session=False
        )
    )
    return cast(CursorResult[Any], result).rowcount


def live_sessions(user: User, now: datetime) -> list[UserSession]:
    """Return a user's sessions that have not ended, newest first."""
    stmt = (
        select(UserSession)
        .where(
            UserSession.user_id == user.id,
            UserSession.ended_at.is_(None),
            UserSession.expires_at > now,
        )
        .order_by(UserSession.created_at.desc(), UserSession.id.desc())
    )
    return list(db.session.scalars(stmt))
