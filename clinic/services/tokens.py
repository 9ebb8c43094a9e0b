"""API tokens: issued with a name and an expiry, listed and revoked by their user or an
administrator, revoked with their user's password reset, disabling or role change.

Only the SHA-256 digest of a token is stored; the token itself is shown once. Issuing,
revoking and a use from another address than the last one are written to the audit trail.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

from flask import current_app, has_app_context
from sqlalchemy import event, select, update
from sqlalchemy.orm import Session, joinedload

from clinic.extensions import db
from clinic.models import ApiToken, User
from clinic.services import audit
from clinic.services.errors import Invalid, NotFound

DEFAULT_DAYS = 90
MAX_DAYS = 365
DEFAULT_NAME = "API token"
MAX_NAME_LENGTH = 80
MAX_TOKEN_LENGTH = 200
# last_used_at is written at most this often, so a busy integration makes few writes.
USE_GRANULARITY = timedelta(minutes=1)


def digest(token: str) -> str:
    """Return the stored form of a token."""
    return hashlib.sha256(token.encode()).hexdigest()


def clean_name(name: str | None) -> str:
    """Return a token name fit to store, or raise Invalid."""
    name = (name or "").strip() or DEFAULT_NAME
    if len(name) > MAX_NAME_LENGTH or any(not ch.isprintable() for ch in name):
        raise Invalid(
            "The token name is not valid.",
            {"name": [f"At most {MAX_NAME_LENGTH} printable characters."]},
        )
    return name


def issue(
    user: User,
    now: datetime,
    *,
    name: str | None = None,
    days: int = DEFAULT_DAYS,
    actor: User | str | None = None,
) -> tuple[ApiToken, str]:
    """Create a token for the user valid for `days`; return the row and the token (once)."""
    if not isinstance(days, int) or isinstance(days, bool) or not 1 <= days <= MAX_DAYS:
        raise Invalid("The lifetime is not valid.", {"days": [f"From 1 to {MAX_DAYS} days."]})
    token = secrets.token_urlsafe(32)
    row = ApiToken(
        user_id=user.id,
        digest=digest(token),
        name=clean_name(name),
        created_at=now,
        expires_at=now + timedelta(days=days),
    )
    db.session.add(row)
    db.session.flush()
    audit.record(
        actor,
        "auth.token_issue",
        now,
        object_type="api_token",
        object_id=row.id,
        detail={"user_id": user.id, "days": days, "expires_at": row.expires_at},
    )
    db.session.commit()
    return row, token


def user_for_token(token: str, now: datetime, ip: str | None = None) -> User | None:
    """Return the active user of a live token, or None; note when and where it was used.

    A token checked in this process less than CHECK_TTL ago is not read again (see
    `_Checked`); an expired one never passes, and a use that must be noted reads it."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    key = digest(token)
    kept = _checked().get(key)
    if kept is not None and kept.serves(now, ip):
        # Only the token's check is kept: the user and their sites are read afresh (one
        # statement), so no request sees a row (a site's settings) older than itself.
        user = _user(kept.user_id)
        if user is not None and user.active:
            return user
    row = _live(token, now)
    if row is None:
        _checked().pop(key, None)
        return None
    ip = (ip or "")[:45] or None
    # Audited: a use from another address than the last one (the first use sets it).
    new_address = ip is not None and row.last_used_ip is not None and ip != row.last_used_ip
    row_needs_ip = ip is not None and row.last_used_ip is None
    stale = row.last_used_at is None or now - row.last_used_at >= USE_GRANULARITY
    if new_address or row_needs_ip or stale:
        # At most once a minute (or from a new address): a write of its own, then the
        # request reads the token and its user afresh.
        _note_use(row.id, row.user_id, row.last_used_ip, now, ip, new_address)
        row = _live(token, now)
    if row is None:
        return None
    _keep(key, row, now)
    return row.user


# How long this process trusts a token it has read: a revocation made by another process takes
# effect within it (at once in the process that made it, which forgets every token it has read
# when the revocation commits); the user (active, role, sites) is read on every request.
# Shorter than USE_GRANULARITY, so a token in use is still read (and its use noted) once a
# minute.
CHECK_TTL = timedelta(seconds=5)
CHECKED_MAX = 1024  # tokens one process keeps; beyond, it forgets them all and reads again


@dataclass(frozen=True)
class _Checked:
    """A live token as this process read it: whose it is, its expiry and its last use (only
    scalars: no row is kept across requests)."""

    user_id: int
    checked_at: datetime
    expires_at: datetime
    last_used_at: datetime | None
    last_used_ip: str | None

    def serves(self, now: datetime, ip: str | None) -> bool:
        """Tell whether this check still holds at `now` for a use from `ip` that needs no note."""
        ip = (ip or "")[:45] or None
        return (
            self.checked_at <= now < self.checked_at + CHECK_TTL
            and now < self.expires_at
            and self.last_used_at is not None
            and now - self.last_used_at < USE_GRANULARITY
            and (ip is None or ip == self.last_used_ip)
        )


def _checked() -> dict[str, _Checked]:
    """Return this process's checked tokens for the current app (each app its own)."""
    return cast(dict[str, _Checked], current_app.extensions.setdefault("checked_tokens", {}))


def _keep(key: str, row: ApiToken, now: datetime) -> None:
    """Remember a live token's check for CHECK_TTL."""
    kept = _checked()
    if len(kept) >= CHECKED_MAX:
        kept.clear()
    kept[key] = _Checked(row.user_id, now, row.expires_at, row.last_used_at, row.last_used_ip)


def forget_checked() -> None:
    """Forget every token this process has read (a token was revoked here)."""
    if has_app_context():
        _checked().clear()


FORGET = "forget_checked_tokens"


def forget_after_commit() -> None:
    """Forget every token this process has read once the session's transaction commits (not
    before: another request could read the old state in between and keep it)."""
    db.session.info[FORGET] = True


@event.listens_for(Session, "after_commit")
def _forget_on_commit(session: Session) -> None:
    if session.info.pop(FORGET, False):
        forget_checked()


@event.listens_for(Session, "after_rollback")
def _nothing_to_forget(session: Session) -> None:
    session.info.pop(FORGET, None)


def _user(user_id: int) -> User | None:
    """Return a user with their sites, as the database has them now (one statement)."""
    return db.session.scalar(select(User).where(User.id == user_id).options(joinedload(User.sites)))


def _live(token: str, now: datetime) -> ApiToken | None:
    """Return the live token of an active user, loaded with the user and their sites."""
    # One statement: the token, its user and their sites (every API access check reads them).
    row = db.session.scalar(
        select(ApiToken)
        .where(ApiToken.digest == digest(token))
        .options(joinedload(ApiToken.user).joinedload(User.sites))
    )
    if row is None or not row.is_live(now) or not row.user.active:
        return None
    return row


def _note_use(
    token_id: int,
    user_id: int,
    previous_ip: str | None,
    now: datetime,
    ip: str | None,
    new_address: bool,
) -> None:
    """Write the token's last use; audit a use from another address than the last one."""
    from clinic.services.auth import begin_write

    begin_write()
    db.session.execute(
        update(ApiToken)
        .where(ApiToken.id == token_id)
        .values(last_used_at=now, last_used_ip=ip)
        .execution_options(synchronize_session=False)
    )
    if new_address:
        audit.record(
            db.session.get(User, user_id),
            "auth.token_use",
            now,
            object_type="api_token",
            object_id=token_id,
            detail={"previous_ip": previous_ip},
        )
    db.session.commit()


def list_for(user: User) -> list[ApiToken]:
    """Return a user's tokens, newest first (revoked and expired ones included)."""
    stmt = (
        select(ApiToken)
        .where(ApiToken.user_id == user.id)
        .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
    )
    return list(db.session.scalars(stmt))


def get_for(actor: User, token_id: int) -> ApiToken:
    """Load a token the actor may manage (their own; an administrator's: any), or NotFound."""
    row = db.session.get(ApiToken, token_id)
    if row is None or (row.user_id != actor.id and not actor.is_admin):
        raise NotFound("token")
    return row


def get_for_owner(user: User, token_id: int) -> ApiToken:
    """Load one of the user's own tokens, or NotFound."""
    row = db.session.get(ApiToken, token_id)
    if row is None or row.user_id != user.id:
        raise NotFound("token")
    return row


def revoke(actor: User | str, row: ApiToken, now: datetime) -> ApiToken:
    """Revoke one token (already revoked: nothing changes) and audit it."""
    if row.revoked_at is None:
        row.revoked_at = now
        row.revoked_reason = "revoked"
        forget_after_commit()
        audit.record(
            actor,
            "auth.token_revoke",
            now,
            object_type="api_token",
            object_id=row.id,
            detail={"user_id": row.user_id, "reason": "revoked"},
        )
        db.session.commit()
    return row


def revoke_all(user_id: int, now: datetime, reason: str, actor: User | None = None) -> int:
    """Revoke every live token of a user (not committed) and audit it; return how many."""
    ids = list(
        db.session.scalars(
            select(ApiToken.id).where(
                ApiToken.user_id == user_id,
                ApiToken.revoked_at.is_(None),
                ApiToken.expires_at > now,
            )
        )
    )
    if not ids:
        return 0
    forget_after_commit()
    db.session.execute(
        update(ApiToken)
        .where(ApiToken.id.in_(ids), ApiToken.revoked_at.is_(None))
        .values(revoked_at=now, revoked_reason=reason)
        .execution_options(synchronize_session=False)
    )
    for token_id in ids:
        audit.record(
            actor,
            "auth.token_revoke",
            now,
            object_type="api_token",
            object_id=token_id,
            detail={"user_id": user_id, "reason": reason},
        )
    return len(ids)
