"""The scheduler's heartbeat: written by the scheduler process, read by /healthz and pages."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.exc import SQLAlchemyError

from clinic.extensions import db
from clinic.models import SchedulerHeartbeat
from clinic.services.notifications import begin_write

# Rows of processes that stopped beating this long ago are removed.
FORGET_AFTER = timedelta(days=1)


def beat(instance_id: str, is_leader: bool, started_at: datetime, now: datetime) -> None:
    """Record that a scheduler process is alive (and whether it leads) at `now`."""
    begin_write()
    row = db.session.get(SchedulerHeartbeat, instance_id)
    if row is None:
        row = SchedulerHeartbeat(instance_id=instance_id, started_at=started_at)
        db.session.add(row)
    row.is_leader = is_leader
    row.last_beat_at = now
    db.session.execute(
        delete(SchedulerHeartbeat).where(SchedulerHeartbeat.last_beat_at < now - FORGET_AFTER)
    )
    db.session.commit()


def last_leader_beat() -> datetime | None:
    """Return the last heartbeat of a leading scheduler, or None if none ever beat."""
    return db.session.scalar(
        select(SchedulerHeartbeat.last_beat_at)
        .where(SchedulerHeartbeat.is_leader.is_(True))
        .order_by(SchedulerHeartbeat.last_beat_at.desc())
        .limit(1)
    )


def scheduler_status(now: datetime, stale_after_seconds: float) -> tuple[bool, datetime | None]:
    """Return (alive, last heartbeat): alive when a leader beat within the stale limit."""
    last = last_leader_beat()
    alive = last is not None and now - last <= timedelta(seconds=stale_after_seconds)
    return alive, last


def scheduler_seen(now: datetime, stale_after_seconds: float) -> tuple[bool, datetime | None]:
    """Return scheduler_status, counting an unreadable database as a stopped scheduler."""
    try:
        return scheduler_status(now, stale_after_seconds)
    except SQLAlchemyError:
        db.session.rollback()
        return False, None
