"""Alarms: which visits need one, firing them once, reading and acknowledging them.

The discharge alarms of recovering visits, and the REMS form reminder of a discharged REMS
session (an administrative task, raised once, two days before its form falls overdue).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypedDict, cast
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import CursorResult, Row, Select, exists, func, select, update
from sqlalchemy import insert as sa_insert
from sqlalchemy.dialects import postgresql, sqlite

from clinic import database
from clinic.domain.alarms import (
    KINDS,
    REMS_FORM_DUE,
    AlertKind,
    alarm_instants,
    reminder_resolution,
    resolution,
)
from clinic.domain.ids import MAX_ID
from clinic.domain.roles import Role
from clinic.domain.treatments import reminder_at, submission_due_on
from clinic.domain.visits import Status
from clinic.extensions import db
from clinic.models import (
    Chair,
    Delivery,
    Notification,
    Patient,
    RemsSubmission,
    Shift,
    Site,
    TreatmentType,
    User,
    Visit,
)
from clinic.services import access, audit, board_version
from clinic.services.errors import NotFound

# The safety net resolves at most this many alerts per statement.
RESOLVE_CHUNK = 500
# A list without the unacknowledged filter shows at most this many, newest first.
LIST_LIMIT = 1000


@dataclass(frozen=True)
class Channels:
    """Where a new notification is delivered besides the app itself."""

    email: bool = False
    webhook_urls: tuple[str, ...] = ()

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Channels:
        """Read the channels from the app's config (no SMTP host: no e-mail)."""
        urls = config.get("WEBHOOK_URLS") or ()
        if isinstance(urls, str):  # set by hand as in the environment: comma-separated
            urls = [url.strip() for url in urls.split(",") if url.strip()]
        return cls(email=bool(config.get("SMTP_HOST")), webhook_urls=tuple(urls))


@dataclass
class VisitAlarms:
    """The alarms one visit should have, and when its row last changed."""

    visit_id: int
    updated_at: datetime
    instants: dict[str, datetime] = field(default_factory=dict)


def visit_alarms(changed_since: datetime | None = None) -> list[VisitAlarms]:
    """Return the alarms of every visit changed since an instant (None: every recovering one)."""
    stmt = select(
        Visit.id, Visit.status, Visit.discharge_due_at, Visit.updated_at, Site.overdue_after_minutes
    ).join(Site, Site.id == Visit.site_id)
    if changed_since is None:
        stmt = stmt.where(Visit.status == "recovering")
    else:
        stmt = stmt.where(Visit.updated_at > changed_since)
    return [
        VisitAlarms(row.id, row.updated_at, alarm_instants(row[1], row[2], row[4]))
        for row in db.session.execute(stmt)
    ]


def latest_visit_change() -> datetime | None:
    """Return the latest updated_at of any visit (the reconcile's watermark)."""
    return db.session.scalar(select(func.max(Visit.updated_at)))


def latest_site_change() -> datetime | None:
    """Return when a site's settings (overdue_after_minutes among them) last changed."""
    return db.session.scalar(select(Site.updated_at).order_by(Site.updated_at.desc()).limit(1))


def due_without_notification(now: datetime) -> dict[str, list[int]]:
    """Return, per kind, the recovering visits whose alarm is due and has not fired yet."""
    candidates = db.session.execute(
        select(Visit.id, Visit.status, Visit.discharge_due_at, Site.overdue_after_minutes)
        .join(Site, Site.id == Visit.site_id)
        .where(Visit.status == "recovering", Visit.discharge_due_at <= now)
    ).all()
    if not candidates:
        return {}
    fired = set(
        db.session.execute(
            select(Notification.visit_id, Notification.kind, Notification.due_at)
            .join(Visit, Visit.id == Notification.visit_id)
            .where(Visit.status == "recovering", Visit.discharge_due_at <= now)
        ).all()
    )
    due: dict[str, list[int]] = defaultdict(list)
    for visit_id, status, due_at, overdue_after in candidates:
        for kind, at in alarm_instants(status, due_at, overdue_after).items():
            if at <= now and (visit_id, kind, at) not in fired:
                due[kind].append(visit_id)
    return dict(due)


def fire(
    visit_ids: Iterable[int], kind: str, now: datetime, channels: Channels | None = None
) -> list[int]:
    """Create the notification of each visit whose alarm of this kind is due; return new ids.

    The visits are locked first, so a concurrent extension or discharge is either seen
    whole or waits; the unique key (visit, kind, due instant) makes a second firing of the
    same alarm, by this process or another, insert nothing and deliver nothing.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown alarm kind {kind!r}")
    ids = sorted(set(visit_ids))
    if not ids:
        return []
    channels = channels or Channels.from_config(current_app.config)
    _lock_visits(ids)
    rows = db.session.execute(
        select(
            Visit.id,
            Visit.site_id,
            Visit.status,
            Visit.discharge_due_at,
            Site.overdue_after_minutes,
        )
        .join(Site, Site.id == Visit.site_id)
        .where(Visit.id.in_(ids))
    ).all()
    values = []
    for visit_id, site_id, status, due_at, overdue_after in rows:
        at = alarm_instants(status, due_at, overdue_after).get(kind)
        # Not due (any more): an extension moved it, or the patient left. Nothing to do.
        if at is not None and now >= at:
            values.append(
                {
                    "kind": kind,
                    "visit_id": visit_id,
                    "site_id": site_id,
                    "due_at": at,
                    "created_at": now,
                }
            )
    return _insert(values, channels, now)


def _insert(values: list[dict[str, Any]], channels: Channels, now: datetime) -> list[int]:
    """Insert the notifications not there yet and their deliveries; commit; return new ids."""
    if not values:
        db.session.commit()
        return []
    # Core statements run as one cached executemany (batched into multi-row VALUES).
    table = Notification.__table__
    insert = postgresql.insert if _dialect() == "postgresql" else sqlite.insert
    stmt = (
        insert(table)
        .on_conflict_do_nothing(index_elements=["visit_id", "kind", "due_at"])
        .returning(table.c.id, table.c.site_id, table.c.kind)
    )
    created = db.session.execute(stmt, values).all()
    deliveries = _deliveries(created, channels, now)
    if deliveries:
        db.session.execute(sa_insert(Delivery.__table__), deliveries)
    db.session.commit()
    return [notification_id for notification_id, _, _ in created]


# ---------------------------------------------------------------- the REMS form reminder

# Sessions infused longer ago than this get no reminder any more: their forms are long
# overdue and the tracker lists them so. It keeps the scheduler's look-up to recent visits.
REMINDER_LOOKBACK = timedelta(days=30)


@dataclass(frozen=True)
class Reminder:
    """When a REMS session's form reminder is due: site-local midnight, two days ahead."""

    visit_id: int
    site_id: int
    due_at: datetime


def _reminder_candidates(now: datetime) -> Select[Any]:
    """Select the discharged REMS sessions with no submission and no reminder yet."""
    reminded = exists().where(
        Notification.visit_id == Visit.id, Notification.kind == REMS_FORM_DUE.value
    )
    submitted = exists().where(RemsSubmission.visit_id == Visit.id)
    return (
        select(Visit.id, Visit.site_id, Visit.discharged_at, Site.timezone)
        .join(TreatmentType, TreatmentType.id == Visit.treatment_type_id)
        .join(Site, Site.id == Visit.site_id)
        .where(
            TreatmentType.rems.is_(True),
            Visit.status == Status.DISCHARGED.value,
            Visit.discharged_at.is_not(None),
            Visit.infusion_start >= now - REMINDER_LOOKBACK,
            ~submitted,
            ~reminded,
        )
    )


def reminders(
    now: datetime,
    changed_since: datetime | None = None,
    visit_ids: Sequence[int] | None = None,
) -> list[Reminder]:
    """Return the REMS form reminders still to raise (of the visits changed since an instant)."""
    stmt = _reminder_candidates(now)
    if changed_since is not None:
        stmt = stmt.where(Visit.updated_at > changed_since)
    if visit_ids is not None:
        stmt = stmt.where(Visit.id.in_(list(visit_ids)))
    return [
        Reminder(visit_id, site_id, reminder_at(submission_due_on(discharged, tz), tz))
        for visit_id, site_id, discharged, tz in (
            (row[0], row[1], row[2], ZoneInfo(row[3]))
            for row in db.session.execute(stmt.order_by(Visit.id))
        )
    ]


def fire_reminders(
    visit_ids: Iterable[int], now: datetime, channels: Channels | None = None
) -> list[int]:
    """Raise the REMS form reminder of each session whose instant has come; return new ids.

    Exactly once per session: under the visits' lock, a session with a reminder of any
    instant already (or with its form submitted) is left alone, and the unique key (visit,
    kind, instant) makes a concurrent second firing insert nothing and deliver nothing.
    """
    ids = sorted(set(visit_ids))
    if not ids:
        return []
    channels = channels or Channels.from_config(current_app.config)
    _lock_visits(ids)
    values = [
        {
            "kind": REMS_FORM_DUE.value,
            "visit_id": reminder.visit_id,
            "site_id": reminder.site_id,
            "due_at": reminder.due_at,
            "created_at": now,
        }
        for reminder in reminders(now, visit_ids=ids)
        if now >= reminder.due_at
    ]
    return _insert(values, channels, now)


def resolve_reminders(visit_id: int, now: datetime) -> int:
    """Resolve a session's open form reminder as its form is submitted (caller commits)."""
    board_version.note_visits(db.session(), [visit_id])
    result = db.session.execute(
        update(Notification)
        .where(
            Notification.visit_id == visit_id,
            Notification.kind == REMS_FORM_DUE.value,
            Notification.resolved_at.is_(None),
        )
        .values(resolved_at=now, resolved_reason=reminder_resolution(True))
        .execution_options(synchronize_session=False, **board_version.SITES_NOTED)
    )
    return cast(CursorResult[Any], result).rowcount


def _dialect() -> str:
    return db.session.get_bind().dialect.name


def begin_write() -> bool:
    """On SQLite, start a BEGIN IMMEDIATE transaction; tell whether it did.

    Taking the single write lock before reading what to write avoids SQLite's "database is
    locked" when a read snapshot turns stale under a concurrent writer (the scheduler).
    """
    if _dialect() != "sqlite":
        return False
    database.begin_write()
    return True


def _lock_visits(ids: list[int]) -> None:
    """Lock the visits (and their sites, in the order bookings take them) until commit."""
    if begin_write():
        return
    site_ids = sorted(set(db.session.scalars(select(Visit.site_id).where(Visit.id.in_(ids)))))
    # Sites first, then visits: the order a booking or a visit event locks them in, so the
    # two can only wait for each other, never deadlock. FOR KEY SHARE (what the foreign key
    # of the new notification takes anyway) waits for a visit event's FOR UPDATE of the site
    # but not for other firings, so alarms at one site fire side by side.
    db.session.execute(
        select(Site.id)
        .where(Site.id.in_(site_ids))
        .order_by(Site.id)
        .with_for_update(read=True, key_share=True)
    ).all()
    db.session.execute(
        select(Visit.id).where(Visit.id.in_(ids)).order_by(Visit.id).with_for_update()
    ).all()


def fire_screen_positive(
    visit: Visit, now: datetime, channels: Channels | None = None
) -> list[int]:
    """Alert the practitioners on shift of a positive screen on a visit, once per visit; commit.

    Its due instant is the visit's planned start: a second positive measure inserts nothing.
    The alert names the visit only, never the answers.
    """
    channels = channels or Channels.from_config(current_app.config)
    values = [
        {
            "kind": AlertKind.SCREEN_POSITIVE.value,
            "visit_id": visit.id,
            "site_id": visit.site_id,
            "due_at": visit.infusion_start,
            "created_at": now,
        }
    ]
    return _insert(values, channels, now)


def practitioner_emails_on_shift(site_id: int, now: datetime) -> list[str]:
    """Return the e-mail addresses of the active practitioners on shift at a site right now."""
    return list(
        db.session.scalars(
            select(User.email)
            .join(Shift, Shift.user_id == User.id)
            .where(
                Shift.site_id == site_id,
                Shift.role == Role.PRACTITIONER.value,
                Shift.starts_at <= now,
                Shift.ends_at > now,
                User.active.is_(True),
            )
            .distinct()
            .order_by(User.email)
        )
    )


def nurse_emails_on_shift(site_id: int, now: datetime) -> list[str]:
    """Return the e-mail addresses of the active nurses on shift at a site right now."""
    return list(
        db.session.scalars(
            select(User.email)
            .join(Shift, Shift.user_id == User.id)
            .where(
                Shift.site_id == site_id,
                Shift.role == "nurse",
                Shift.starts_at <= now,
                Shift.ends_at > now,
                User.active.is_(True),
            )
            .distinct()
            .order_by(User.email)
        )
    )


class _DeliveryRow(TypedDict):
    """The columns of a new outbox row."""

    notification_id: int
    channel: str
    target: str
    status: str
    attempts: int
    next_attempt_at: datetime
    created_at: datetime


def admin_emails() -> list[str]:
    """Return the e-mail addresses of the active administrators (they see every site)."""
    return list(
        db.session.scalars(
            select(User.email)
            .where(User.role == Role.ADMIN.value, User.active.is_(True))
            .order_by(User.email)
        )
    )


def _deliveries(
    created: Sequence[Row[tuple[int, int, str]]], channels: Channels, now: datetime
) -> list[_DeliveryRow]:
    """Return the outbox rows for new notifications (id, site id, kind): one per target.

    A discharge alarm is e-mailed to the nurses on shift at its site; a REMS form reminder,
    an administrative task, to the administrators.
    """
    rows: list[_DeliveryRow] = []
    emails: dict[int, list[str]] = {}
    admins: list[str] | None = None
    for notification_id, site_id, kind in created:
        targets = [("webhook", url) for url in channels.webhook_urls]
        if channels.email and kind == REMS_FORM_DUE:
            admins = admin_emails() if admins is None else admins
            targets += [("email", address) for address in admins]
        elif channels.email and kind == AlertKind.SCREEN_POSITIVE:
            targets += [("email", a) for a in practitioner_emails_on_shift(site_id, now)]
        elif channels.email:
            if site_id not in emails:
                emails[site_id] = nurse_emails_on_shift(site_id, now)
            targets += [("email", address) for address in emails[site_id]]
        rows += [
            {
                "notification_id": notification_id,
                "channel": channel,
                "target": target,
                "status": "pending",
                "attempts": 0,
                "next_attempt_at": now,
                "created_at": now,
            }
            for channel, target in targets
        ]
    return rows


# ---------------------------------------------------------------- resolving


def resolve_for_visit(visit: Visit, now: datetime, reason: str | None = None) -> int:
    """Resolve the visit's alerts whose condition has gone; return how many (caller commits).

    Called by the change that ends the condition (an extension, a discharge, ...), inside
    its transaction, so the alert leaves the screens with it. The reason is the caller's
    ("extended"), or else read from the visit as changed ("discharged", "cancelled", ...).
    """
    db.session.flush()
    rows = db.session.scalars(
        select(Notification).where(
            Notification.visit_id == visit.id,
            Notification.resolved_at.is_(None),
            Notification.kind.in_(KINDS),  # a REMS reminder ends with its submission only
        )
    ).all()
    resolved = 0
    for notification in rows:
        why = resolution(
            notification.kind,
            notification.due_at,
            visit.status,
            visit.discharge_due_at,
            visit.site.overdue_after_minutes,
        )
        if why is not None:
            notification.resolved_at = now
            notification.resolved_reason = reason or why
            resolved += 1
    return resolved


def _stale_alerts() -> dict[str, list[int]]:
    """Return, per reason, the unresolved alerts whose condition has gone."""
    rows = db.session.execute(
        select(
            Notification.id,
            Notification.kind,
            Notification.due_at,
            Visit.status,
            Visit.discharge_due_at,
            Site.overdue_after_minutes,
        )
        .join(Visit, Visit.id == Notification.visit_id)
        .join(Site, Site.id == Visit.site_id)
        .where(Notification.resolved_at.is_(None), Notification.kind.in_(KINDS))
    ).all()
    stale: dict[str, list[int]] = defaultdict(list)
    for notification_id, kind, due_at, status, discharge_due_at, overdue_after in rows:
        why = resolution(kind, due_at, status, discharge_due_at, overdue_after)
        if why is not None:
            stale[why].append(notification_id)
    reminders_open = db.session.execute(
        select(Notification.id, RemsSubmission.id)
        .outerjoin(RemsSubmission, RemsSubmission.visit_id == Notification.visit_id)
        .where(Notification.resolved_at.is_(None), Notification.kind == REMS_FORM_DUE.value)
    ).all()
    for notification_id, submission_id in reminders_open:
        if (why := reminder_resolution(submission_id is not None)) is not None:
            stale[why].append(notification_id)
    return dict(stale)


def resolve_stale(now: datetime) -> int:
    """Resolve every alert whose condition has gone (the scheduler's safety net); commit.

    The services resolve alerts in the transaction that ends their condition; this catches
    what changed another way (a site's overdue setting, a row edited by hand).
    """
    if not _stale_alerts():
        db.session.commit()
        return 0
    begin_write()
    resolved = 0
    # Read again under the write lock: what was stale a moment ago still is, or resolved.
    for reason, ids in _stale_alerts().items():
        for start in range(0, len(ids), RESOLVE_CHUNK):
            chunk = ids[start : start + RESOLVE_CHUNK]
            sites = select(Notification.site_id).where(Notification.id.in_(chunk)).distinct()
            board_version.note_sites(db.session(), db.session.scalars(sites))
            result = db.session.execute(
                update(Notification)
                .where(Notification.id.in_(chunk), Notification.resolved_at.is_(None))
                .values(resolved_at=now, resolved_reason=reason)
                .execution_options(**board_version.SITES_NOTED)
            )
            resolved += cast(CursorResult[Any], result).rowcount
    db.session.commit()
    return resolved


# ---------------------------------------------------------------- reading and acknowledging


def list_notifications(
    user: User, site_id: int | None = None, unacknowledged: bool = False
) -> list[Notification]:
    """List the notifications of the user's sites (or one of them), newest first.

    `unacknowledged` lists only the alerts still open: neither acknowledged nor resolved.
    """
    stmt = select(Notification).order_by(Notification.id.desc())
    if site_id is not None:
        stmt = stmt.where(Notification.site_id == access.get_site(user, site_id).id)
    else:
        stmt = access.scope_to_sites(user, stmt, Notification.site_id)
    if unacknowledged:
        stmt = stmt.where(
            Notification.acknowledged_at.is_(None), Notification.resolved_at.is_(None)
        )
    else:
        stmt = stmt.limit(LIST_LIMIT)
    return list(db.session.scalars(stmt))


def get_notification(user: User, notification_id: int) -> Notification:
    """Load a notification of one of the user's sites, or raise NotFound."""
    notification = (
        db.session.get(Notification, notification_id) if 0 < notification_id <= MAX_ID else None
    )
    if notification is None or not access.can_see_site(user, notification.site_id):
        raise NotFound("notification")
    return notification


def acknowledge(user: User, notification_id: int, now: datetime) -> Notification:
    """Record who acknowledged a notification and when; a second time changes nothing."""
    notification = get_notification(user, notification_id)
    access.require(user, "acknowledge")
    if notification.acknowledged_at is None:
        # Two nurses acknowledging at once: the first one is recorded, the second sees it.
        begin_write()
        db.session.refresh(notification, with_for_update=True)
        if notification.acknowledged_at is None:
            notification.acknowledged_at = now
            notification.acknowledged_by_id = user.id
            audit.record(
                user,
                "notification.ack",
                now,
                patient_id=notification.visit.patient_id,
                object_type="notification",
                object_id=notification.id,
                detail={"kind": notification.kind, "visit_id": notification.visit_id},
                site_id=notification.visit.site_id,
            )
        db.session.commit()
    return notification


@dataclass(frozen=True)
class Alert:
    """An unacknowledged notification as the dashboard shows it (initials, never a name)."""

    id: int
    kind: str
    visit_id: int
    site_id: int
    chair: str
    patient_initials: str
    due_at: datetime
    timezone: str
    created_at: datetime

    @property
    def due_local(self) -> datetime:
        """Return the due instant in the site's time zone."""
        return self.due_at.astimezone(ZoneInfo(self.timezone))


def open_alerts(
    user: User, site_id: int | None = None, kinds: Sequence[str] = KINDS
) -> list[Alert]:
    """Return the open alerts (unacknowledged, unresolved) of the user's sites, oldest due first.

    By default the discharge alarms only, the ones the recovery board shows and rings for;
    the REMS form reminders (`kinds=REMINDER_KINDS`) are listed on the REMS tracker.
    """
    stmt = (
        select(Notification, Chair.name, Patient.given_name, Patient.family_name, Site.timezone)
        .join(Visit, Visit.id == Notification.visit_id)
        .join(Chair, Chair.id == func.coalesce(Visit.recovery_chair_id, Visit.chair_id))
        .join(Patient, Patient.id == Visit.patient_id)
        .join(Site, Site.id == Notification.site_id)
        .where(
            Notification.acknowledged_at.is_(None),
            Notification.resolved_at.is_(None),
            Notification.kind.in_([str(kind) for kind in kinds]),
        )
        .order_by(Notification.due_at, Notification.id)
    )
    if site_id is not None:
        stmt = stmt.where(Notification.site_id == access.get_site(user, site_id).id)
    else:
        stmt = access.scope_to_sites(user, stmt, Notification.site_id)
    return [
        Alert(
            id=n.id,
            kind=n.kind,
            visit_id=n.visit_id,
            site_id=n.site_id,
            chair=chair,
            patient_initials=f"{given[:1]}{family[:1]}".upper(),
            due_at=n.due_at,
            timezone=timezone,
            created_at=n.created_at,
        )
        for n, chair, given, family, timezone in db.session.execute(stmt)
    ]


def failed_deliveries(limit: int = 200) -> list[Delivery]:
    """Return the deliveries given up on, and those still failing, newest first."""
    stmt = (
        select(Delivery)
        .where((Delivery.status == "failed") | (Delivery.last_error.is_not(None)))
        .where(Delivery.status != "sent")
        .order_by(Delivery.id.desc())
        .limit(limit)
    )
    return list(db.session.scalars(stmt))
