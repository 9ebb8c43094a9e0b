"""Wall-display links: a revocable token that shows one site's privacy-mode dashboard.

The token is shown once, when the link is made; only its SHA-256 digest is stored. The
display opening the link exchanges the token once for a device secret kept in an HttpOnly
cookie (its digest stored too), so the token leaves every URL after the first request and a
token copied from an access log opens nothing. Revoking the link ends the device's access.
A link grants nothing but reading its site's dashboard in privacy mode (initials, chair,
timers).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from clinic.extensions import db
from clinic.models import DisplayLink, Site, User
from clinic.services import access
from clinic.services.auth import audit_event
from clinic.services.errors import Invalid, NotFound
from clinic.services.tokens import digest

MAX_TOKEN_LENGTH = 100


@dataclass(frozen=True)
class DisplayViewer:
    """Who reads the dashboard through a display link: one site, no role, no writes."""

    site_id: int
    id: None = None
    role: str = "display"
    is_admin: bool = False

    @property
    def site_ids(self) -> list[int]:
        """Return the one site the link shows."""
        return [self.site_id]


def create(actor: User, site_id: int, label: str, now: datetime) -> tuple[DisplayLink, str]:
    """Make a display link for a site; return it with its token (shown only now)."""
    site = access.get_site(actor, site_id)
    label = " ".join(label.split())
    if not label or len(label) > 120:
        raise Invalid("Name the display.", {"label": ["1 to 120 characters."]})
    token = secrets.token_urlsafe(32)
    link = DisplayLink(
        site_id=site.id,
        token_digest=digest(token),
        label=label,
        created_by_id=actor.id,
        created_at=now,
    )
    db.session.add(link)
    db.session.flush()
    audit_event(
        actor,
        "admin.display_link.create",
        now,
        object_type="site",
        object_id=site.id,
        detail={"display_link_id": link.id},
    )
    db.session.commit()
    return link, token


def revoke(actor: User, link_id: int, now: datetime) -> DisplayLink:
    """Revoke a display link: the wall shows nothing from the next refresh on."""
    link = db.session.get(DisplayLink, link_id)
    if link is None:
        raise NotFound("display link")
    if link.revoked_at is None:
        link.revoked_at = now
        audit_event(
            actor,
            "admin.display_link.revoke",
            now,
            object_type="site",
            object_id=link.site_id,
            detail={"display_link_id": link.id},
        )
        db.session.commit()
    return link


def list_links() -> list[DisplayLink]:
    """Return every display link, live ones first, newest first."""
    stmt = select(DisplayLink).options(joinedload(DisplayLink.site))
    links = list(db.session.scalars(stmt))
    links.sort(key=lambda link: (link.revoked_at is not None, -link.id))
    return links


def claimable(token: str) -> DisplayLink | None:
    """Return the live link of a token that no display has claimed yet, or None."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    return db.session.scalar(
        select(DisplayLink).where(
            DisplayLink.token_digest == digest(token),
            DisplayLink.revoked_at.is_(None),
            DisplayLink.claimed_at.is_(None),
        )
    )


def claim(token: str, now: datetime) -> str:
    """Exchange a link's token, once, for a device secret; return the secret."""
    link = claimable(token)
    if link is None:
        raise NotFound("display link")
    secret = secrets.token_urlsafe(32)
    link.claimed_at = now
    link.device_digest = digest(secret)
    audit_event(
        "display-link",
        "display_link.claim",
        now,
        object_type="site",
        object_id=link.site_id,
        detail={"display_link_id": link.id},
    )
    db.session.commit()
    return secret


def site_for_device(secret: str | None) -> Site | None:
    """Return the site a claimed, unrevoked display shows, or None."""
    if not secret or len(secret) > MAX_TOKEN_LENGTH:
        return None
    link = db.session.scalar(
        select(DisplayLink).where(
            DisplayLink.device_digest == digest(secret), DisplayLink.revoked_at.is_(None)
        )
    )
    return link.site if link is not None else None
