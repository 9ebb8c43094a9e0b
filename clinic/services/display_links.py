"""Wall-display links: a revocable token that shows one site's privacy-mode dashboard.

The token is shown once, when the link is made; only its SHA-256 digest is stored. A link
grants nothing but reading its site's dashboard in privacy mode (initials, chair, timers).
"""

from __future__ import annotations

import hashlib
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

MAX_TOKEN_LENGTH = 100


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


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
        token_digest=_digest(token),
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


def site_for_token(token: str) -> Site | None:
    """Return the site a live display token shows, or None."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    link = db.session.scalar(
        select(DisplayLink).where(
            DisplayLink.token_digest == _digest(token), DisplayLink.revoked_at.is_(None)
        )
    )
    return link.site if link is not None else None
