"""Calendar feeds: a revocable address a calendar app subscribes to (RFC 5545).

A feed shows one site's visits, or one staff member's. Visits name no member of staff, so a
staff member's feed holds the visits of their site that overlap one of their shifts there
(a nurse on the 07:00-19:00 shift sees the visits of that day's chairs during it). Every
feed shows only the window from 30 days back to 90 days ahead, and of each visit only its
chair, the patient's initials and its status.

As for wall display links, the token is shown once, when the feed is made; only its SHA-256
digest (tokens.digest) is stored. Site feeds are an administrator's; a staff member
makes and revokes their own feed, an administrator anyone's. A revoked feed, the feed of
someone disabled or no longer at the site, or a site's feed whose maker is disabled or no
longer an administrator, answers nothing.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from sqlalchemy import Select, exists, func, select
from sqlalchemy.orm import joinedload

from clinic.domain.visits import HistoryType, Status
from clinic.extensions import db
from clinic.models import CalendarFeed, Shift, User, Visit, VisitEvent
from clinic.notify import calendar
from clinic.services import access
from clinic.services.auth import audit_event
from clinic.services.display_links import MAX_TOKEN_LENGTH
from clinic.services.errors import Forbidden, Invalid, NotFound
from clinic.services.tokens import digest

DAYS_BACK = 30
DAYS_AHEAD = 90


def _target(actor: User, site_id: int, user_id: int | None) -> User | None:
    """Check who the feed is for; return that user (None for the whole site's feed)."""
    if user_id is None:
        if actor.is_admin:
            return None
        user_id = actor.id  # anyone else's feed without a user is their own
    if user_id != actor.id and not actor.is_admin:
        raise Forbidden("Only an administrator may make someone else's feed.")
    user = db.session.get(User, user_id)
    if user is None or not user.active:
        raise Invalid("No such member of staff.", {"user_id": ["No active user has this id."]})
    if not access.can_see_site(user, site_id):
        raise Invalid(
            "This person does not work at the site.", {"user_id": ["Not on the site's staff."]}
        )
    return user


def create(
    actor: User, site_id: int, user_id: int | None, now: datetime
) -> tuple[CalendarFeed, str]:
    """Make a feed of a site (user_id None) or of a staff member; return it with its token."""
    site = access.get_site(actor, site_id)
    user = _target(actor, site.id, user_id)
    token = secrets.token_urlsafe(32)
    feed = CalendarFeed(
        site_id=site.id,
        user_id=user.id if user else None,
        token_digest=digest(token),
        created_by_id=actor.id,
        created_at=now,
    )
    db.session.add(feed)
    db.session.flush()
    _audit(actor, "calendar_feed.create", feed, now)
    db.session.commit()
    return feed, token


def _audit(actor: User, action: str, feed: CalendarFeed, now: datetime) -> None:
    audit_event(
        actor,
        action,
        now,
        object_type="site",
        object_id=feed.site_id,
        detail={"calendar_feed_id": feed.id, "user_id": feed.user_id},
    )


def get_for(actor: User, feed_id: int) -> CalendarFeed:
    """Load a feed the actor may manage (their own; an administrator's: any), or NotFound."""
    feed = db.session.get(CalendarFeed, feed_id)
    if feed is None or not access.can_see_site(actor, feed.site_id):
        raise NotFound("calendar feed")
    if not actor.is_admin and feed.user_id != actor.id:
        raise NotFound("calendar feed")
    return feed


def revoke(actor: User, feed: CalendarFeed, now: datetime) -> CalendarFeed:
    """Revoke a feed (already revoked: nothing changes): its address answers 404 from now."""
    if feed.revoked_at is None:
        feed.revoked_at = now
        _audit(actor, "calendar_feed.revoke", feed, now)
        db.session.commit()
    return feed


def list_for(actor: User) -> list[CalendarFeed]:
    """Return the feeds the actor manages: their own; an administrator's: every one.

    Live ones first, newest first.
    """
    stmt = select(CalendarFeed).options(
        joinedload(CalendarFeed.site), joinedload(CalendarFeed.user)
    )
    if not actor.is_admin:
        stmt = stmt.where(CalendarFeed.user_id == actor.id)
    feeds = list(db.session.scalars(stmt))
    feeds.sort(key=lambda feed: (feed.revoked_at is not None, -feed.id))
    return feeds


def live(token: str) -> CalendarFeed | None:
    """Return the live feed of a token, or None (unknown, revoked, its person gone)."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    feed = db.session.scalar(
        select(CalendarFeed).where(
            CalendarFeed.token_digest == digest(token), CalendarFeed.revoked_at.is_(None)
        )
    )
    if feed is None:
        return None
    if feed.user is not None and not (
        feed.user.active and access.can_see_site(feed.user, feed.site_id)
    ):
        return None
    if feed.user is None:
        # A site's feed lives as long as an administrator made it and still is one.
        creator = db.session.get(User, feed.created_by_id) if feed.created_by_id else None
        if creator is None or not (creator.active and creator.is_admin):
            return None
    return feed


def _visits(feed: CalendarFeed, now: datetime) -> Select[tuple[Visit]]:
    """Select the feed's visits in its window, in time order."""
    stmt = (
        select(Visit)
        .options(joinedload(Visit.patient), joinedload(Visit.chair))
        .where(
            Visit.site_id == feed.site_id,
            Visit.infusion_start >= now - timedelta(days=DAYS_BACK),
            Visit.infusion_start < now + timedelta(days=DAYS_AHEAD),
        )
        .order_by(Visit.infusion_start, Visit.id)
    )
    if feed.user_id is not None:
        on_shift = exists().where(
            Shift.user_id == feed.user_id,
            Shift.site_id == feed.site_id,
            Shift.starts_at < Visit.observation_end,
            Shift.ends_at > Visit.infusion_start,
        )
        stmt = stmt.where(on_shift)
    return stmt


def _moves(visit_ids: list[int]) -> dict[int, int]:
    """Count each visit's reschedules (one grouped query)."""
    if not visit_ids:
        return {}
    rows = db.session.execute(
        select(VisitEvent.visit_id, func.count(VisitEvent.id))
        .where(
            VisitEvent.visit_id.in_(visit_ids),
            VisitEvent.type == HistoryType.RESCHEDULE.value,
        )
        .group_by(VisitEvent.visit_id)
    )
    return {visit_id: count for visit_id, count in rows.tuples()}


def render(feed: CalendarFeed, now: datetime, domain: str) -> bytes:
    """Return the feed's calendar file at `now`."""
    visits = list(db.session.scalars(_visits(feed, now)).unique())
    moves = _moves([visit.id for visit in visits])
    events = []
    for visit in visits:
        cancelled = visit.status == Status.CANCELLED.value
        events.append(
            calendar.FeedEvent(
                visit_id=visit.id,
                # As the patient's invitation counts it: every move, and the cancel.
                sequence=moves.get(visit.id, 0) + (1 if cancelled else 0),
                cancelled=cancelled,
                summary=f"{visit.patient.initials} · {visit.chair.name}",
                location=visit.chair.name,
                description=f"Status: {Status(visit.status).label}",
                start=visit.infusion_start,
                end=visit.observation_end,
                modified=visit.updated_at,
            )
        )
    site = feed.site
    name = f"{site.name} · visits" if feed.user_id is None else f"{site.name} · my shifts"
    return calendar.feed(name=name, timezone=site.timezone, domain=domain, events=events, now=now)
