"""Users, their roles and sites."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select

from clinic.domain.accounts import admin_change_violations
from clinic.domain.text import Kind
from clinic.extensions import db
from clinic.models import ROLES, Site, User
from clinic.services import audit, sessions, tokens
from clinic.services.auth import MIN_PASSWORD_LENGTH as MIN_PASSWORD_LENGTH
from clinic.services.auth import begin_write, check_password_policy, hash_password
from clinic.services.errors import Conflict, Invalid, NotFound
from clinic.services.text_input import checked

USER_TEXT = {"email": Kind.EMAIL, "name": Kind.LINE}


def _sites(site_ids: list[int]) -> list[Site]:
    sites = list(db.session.scalars(select(Site).where(Site.id.in_(site_ids))))
    if len(sites) != len(set(site_ids)):
        raise Invalid("Unknown site.", {"site_ids": ["Every id must be an existing site."]})
    return sites


def _check_password(password: str) -> None:
    check_password_policy(password)  # length, and not on the bundled breached list


def create_user(
    email: str,
    name: str,
    role: str,
    site_ids: list[int],
    password: str | None = None,
    active: bool = True,
    enforce_policy: bool = True,
    *,
    now: datetime,
    actor: User | None = None,
) -> User:
    """Create a user; the e-mail is unique, the role one of ROLES.

    `enforce_policy=False` is for the operator's command line only, which warns instead.
    """
    given = checked({"email": email.strip(), "name": name.strip()}, USER_TEXT)
    email, name = given["email"].lower(), given["name"]
    if role not in ROLES:
        raise Invalid("Unknown role.", {"role": [f"One of {', '.join(ROLES)}."]})
    if db.session.scalar(select(User.id).where(User.email == email)) is not None:
        raise Conflict("A user with this e-mail already exists.")
    user = User(email=email, name=name, role=role, active=active, sites=_sites(site_ids))
    if password:
        if enforce_policy:
            _check_password(password)
        user.password_hash = hash_password(password)
    db.session.add(user)
    detail = {"role": role, "site_ids": sorted(set(site_ids))}
    audit.record(actor, "admin.user.create", now, object_type="user", object_id=user, detail=detail)
    db.session.commit()
    return user


def update_user(
    user: User, changes: dict[str, Any], *, now: datetime, actor: User | None = None
) -> User:
    """Change a user's name, role, activity, sites or password.

    An administrator may not take their own administrator role or activity, and nobody may
    take the last active administrator's (Conflict). A new password, disabling or a new
    role ends the user's sessions and revokes their API tokens. No actor: the operator's
    command line.
    """
    fields = sorted(
        f for f in ("email", "name", "role", "active", "site_ids", "password") if f in changes
    )
    changes = checked(changes, USER_TEXT)
    if "role" in changes and changes["role"] not in ROLES:
        raise Invalid("Unknown role.", {"role": [f"One of {', '.join(ROLES)}."]})
    _check_admin_change(actor, user, changes)
    old_role = user.role
    if "email" in changes:
        email = changes["email"].strip().lower()
        clash = db.session.scalar(select(User.id).where(User.email == email, User.id != user.id))
        if clash is not None:
            raise Conflict("A user with this e-mail already exists.")
        user.email = email
    for field in ("name", "role", "active"):
        if field in changes:
            setattr(user, field, changes[field])
    if "site_ids" in changes:
        user.sites = _sites(changes["site_ids"])
    if changes.get("password"):
        _check_password(changes["password"])
        user.password_hash = hash_password(changes["password"])
    # Disabling a user or resetting the password signs them out everywhere at once; with a
    # role change too, their API tokens (which carry the role) are revoked.
    reason = (
        "disabled"
        if not user.active
        else "password"
        if changes.get("password")
        else "role"
        if user.role != old_role
        else None
    )
    if reason in ("disabled", "password"):
        sessions.end_all(user.id, now, reason)
    if reason is not None:
        tokens.revoke_all(user.id, now, reason, actor)
    audit.record(
        actor,
        "admin.user.update",
        now,
        object_type="user",
        object_id=user.id,
        detail={"fields": fields},
    )
    db.session.commit()
    return user


def _check_admin_change(actor: User | None, user: User, changes: dict[str, Any]) -> None:
    """Refuse taking an administrator's role or activity when a rule forbids it (Conflict)."""
    is_active_admin = user.role == "admin" and user.active
    stays = changes.get("role", user.role) == "admin" and changes.get("active", user.active)
    if not is_active_admin or stays:
        return
    actor_id = actor.id if actor is not None else None
    # Lock every active administrator's row (in id order: no deadlock), so two administrators
    # demoting each other at the same moment cannot leave the clinic without one.
    begin_write()
    admin_ids = list(
        db.session.scalars(
            select(User.id)
            .where(User.role == "admin", User.active.is_(True))
            .order_by(User.id)
            .with_for_update()
        )
    )
    violations = admin_change_violations(
        actor_id=actor_id,
        user_id=user.id,
        is_active_admin=user.id in admin_ids,
        stays_active_admin=False,
        other_active_admins=len([i for i in admin_ids if i != user.id]),
    )
    if violations:
        db.session.rollback()
        raise Conflict(" ".join(v.message for v in violations), violations)


def find_user(email: str) -> User | None:
    """Return the user with this e-mail, if any."""
    return db.session.scalar(select(User).where(User.email == email.strip().lower()))


def list_users() -> list[User]:
    """Return every user, by id."""
    return list(db.session.scalars(select(User).order_by(User.id)))


def get_user(user_id: int) -> User:
    """Load a user, or raise NotFound."""
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound("user")
    return user
