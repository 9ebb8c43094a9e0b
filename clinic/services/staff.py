"""Users, their roles and sites."""

from __future__ import annotations

from sqlalchemy import select

from clinic.domain.text import Kind
from clinic.extensions import db
from clinic.models import ROLES, Site, User
from clinic.services import audit, sessions
from clinic.services.auth import MIN_PASSWORD_LENGTH as MIN_PASSWORD_LENGTH
from clinic.services.auth import check_password_policy, hash_password
from clinic.services.errors import Conflict, Invalid, NotFound
from clinic.services.text_input import checked
from clinic.types import utcnow

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
    # The acting administrator is the request's signed-in user (audit.record's default).
    detail = {"role": role, "site_ids": sorted(set(site_ids))}
    audit.record(
        None, "admin.user.create", utcnow(), object_type="user", object_id=user, detail=detail
    )
    db.session.commit()
    return user


def update_user(user: User, changes: dict) -> User:
    """Change a user's name, role, activity, sites or password."""
    fields = sorted(
        f for f in ("email", "name", "role", "active", "site_ids", "password") if f in changes
    )
    changes = checked(changes, USER_TEXT)
    if "role" in changes and changes["role"] not in ROLES:
        raise Invalid("Unknown role.", {"role": [f"One of {', '.join(ROLES)}."]})
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
    # Disabling a user or resetting the password signs them out everywhere at once.
    if not user.active or changes.get("password"):
        sessions.end_all(user.id, utcnow(), "disabled" if not user.active else "password")
    audit.record(
        None,
        "admin.user.update",
        utcnow(),
        object_type="user",
        object_id=user.id,
        detail={"fields": fields},
    )
    db.session.commit()
    return user


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
