"""The recovery board's version: a per-site counter bumped by every write the board shows,
and by every write a booking's rules read (a booking checks it under the site's lock:
clinic/services/booking.py, `book`).

A poll of the board (clinic/services/board_cache.py) reads this one number instead of
building the board. So it must move with every input the board reads, in the transaction
that writes it, whichever service writes: it is bumped here, centrally, from session events,
not by each service.

- `before_flush` notes the sites of every new, changed or deleted instance of a watched
  model: a visit and what hangs on it (events, readings, doses, screening measures and
  reviews, notifications), its chair or bay, its patient (the initials), its treatment type,
  the site itself (its settings); for bookings, its shifts, and a patient's clearances (as
  a change of the patient).
- `do_orm_execute` notes Core and bulk writes to the same tables (the alarms are inserted
  and resolved in bulk): the sites their parameters name. A bulk update or delete names
  its sites itself (`note_sites` / `note_visits`, then the statement carries
  `execution_options(**SITES_NOTED)`); one that does not is a last resort that bumps every
  site (a rare over-bump costs each board one rebuild).
- `before_commit` (registered first, so before the audit chain's lock) bumps the noted
  sites in one UPDATE, locked in id order on PostgreSQL, in the same transaction as the
  write. The every-site fallback takes no lock first: a lock on every site would be shared
  by all sites and could deadlock with a write holding one site.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, cast

from sqlalchemy import ColumnElement, event, or_, select, update
from sqlalchemy.orm import ORMExecuteState, Session, SessionTransaction

from clinic.models import (
    Chair,
    Clearance,
    Dose,
    Measure,
    Notification,
    Observation,
    Patient,
    RemsSubmission,
    ScreeningReview,
    Shift,
    Site,
    TreatmentType,
    Visit,
    VisitEvent,
)

# Rows that carry their site: a change bumps that site.
BY_SITE: tuple[type, ...] = (Visit, Chair, TreatmentType, Notification, Shift)
# Rows of a visit: a change bumps the visit's site.
BY_VISIT: tuple[type, ...] = (
    VisitEvent,
    Observation,
    Dose,
    Measure,
    ScreeningReview,
    RemsSubmission,
)
WATCHED_TABLES = frozenset(
    model.__tablename__  # type: ignore[attr-defined]
    for model in (*BY_SITE, *BY_VISIT, Patient, Clearance, Site)
)
ALL = "all"
_KEY = "board_version"
_BUMPED = "board_version_bumped"  # sites this transaction has bumped already
# The execution option of a bulk write whose sites its writer noted (note_sites/note_visits).
SITES_NOTED = {"board_sites_noted": True}


def _noted(session: Session) -> dict[str, Any]:
    empty: dict[str, Any] = {"sites": set(), "visits": set(), "patients": set()}
    return cast(dict[str, Any], session.info.setdefault(_KEY, empty))


@event.listens_for(Session, "before_flush")
def _note_flush(session: Session, _context: Any, _instances: Any) -> None:
    """Note the sites, visits and patients whose rows this flush writes."""
    # New and deleted rows, and the dirty ones with a real change (a set to the same value
    # makes an instance dirty but writes nothing).
    changed: list[Any] = [*session.new, *session.deleted]
    changed += [obj for obj in session.dirty if session.is_modified(obj)]
    if not changed:
        return
    noted = _noted(session)
    for obj in changed:
        if isinstance(obj, Site):
            if obj.id is not None:
                noted["sites"].add(obj.id)
        elif isinstance(obj, BY_SITE):
            noted["sites"].add(cast(Any, obj).site_id)
        elif isinstance(obj, BY_VISIT):
            visit = obj.__dict__.get("visit")  # at hand: its site, without a look-up
            if isinstance(visit, Visit) and visit.site_id is not None:
                noted["sites"].add(visit.site_id)
            else:
                noted["visits"].add(cast(Any, obj).visit_id)
            if isinstance(obj, Measure):  # a screen counts for the patient's day
                noted["patients"].add(obj.patient_id)
        elif isinstance(obj, Patient) and obj.id is not None:
            noted["patients"].add(obj.id)
        elif isinstance(obj, Clearance) and obj.patient_id is not None:
            noted["patients"].add(obj.patient_id)


@event.listens_for(Session, "do_orm_execute")
def _note_statement(state: ORMExecuteState) -> None:
    """Note the sites of a Core or bulk write to a watched table."""
    if not (state.is_insert or state.is_update or state.is_delete):
        return
    name = getattr(getattr(state.statement, "table", None), "name", None)
    if name not in WATCHED_TABLES or name == "sites":
        return
    if state.execution_options.get("board_sites_noted"):
        return
    params: Any = state.parameters
    rows: list[Any] = list(params) if isinstance(params, list | tuple) else [params or {}]
    sites = {row.get("site_id") for row in rows}
    noted = _noted(state.session)
    if state.is_insert and rows and None not in sites:
        noted["sites"].update(sites)
    else:
        noted["sites"].add(ALL)


def note_sites(session: Session, site_ids: Iterable[int]) -> None:
    """Note the sites a bulk write changes (its statement then carries SITES_NOTED)."""
    _noted(session)["sites"].update(site_ids)


def note_visits(session: Session, visit_ids: Iterable[int]) -> None:
    """Note the visits a bulk write changes rows of: their sites are bumped at the commit."""
    _noted(session)["visits"].update(visit_ids)


def pending_sites(session: Session) -> bool:
    """Tell whether this transaction has written something a board shows (for tests)."""
    noted = session.info.get(_KEY)
    return bool(noted and any(noted.values()))


def lock_and_bump(session: Session, site_id: int, *then: ColumnElement[Any]) -> int:
    """Lock a site's row as `lock_site_for_writing` does (FOR UPDATE) and bump its version,
    in one statement (PostgreSQL); return the version it had. The commit bumps it no more.

    then: what the statement evaluates once the row is locked (another lock to take after).
    """
    locked = select(Site.id).where(Site.id == site_id).with_for_update().cte("locked")
    stmt = (
        update(Site)
        .where(Site.id == locked.c.id)
        .values(board_version=Site.board_version + 1, updated_at=Site.updated_at)
        .returning(Site.board_version, *then)
    )
    version = session.execute(stmt.execution_options(synchronize_session=False)).one()[0]
    session.info.setdefault(_BUMPED, set()).add(site_id)
    return int(version) - 1


def unbump(session: Session, site_id: int) -> None:
    """Take back a bump of `lock_and_bump` that turned out to change nothing (the lock is
    still held, so nobody saw it); the commit may still bump the site for a noted write."""
    if site_id in session.info.get(_BUMPED, ()):
        stmt = update(Site).where(Site.id == site_id)
        stmt = stmt.values(board_version=Site.board_version - 1, updated_at=Site.updated_at)
        session.execute(stmt.execution_options(synchronize_session=False))
        session.info[_BUMPED].discard(site_id)


def _bump(session: Session) -> None:
    """Bump the version of every site noted in this transaction, in the transaction."""
    session.flush()  # the last changes are noted too
    noted = session.info.pop(_KEY, None)
    if not noted or not any(noted.values()):
        return
    stmt = update(Site).values(board_version=Site.board_version + 1, updated_at=Site.updated_at)
    ids = None if ALL in noted["sites"] else _site_ids(session, noted)
    if ids is not None:
        ids = [site for site in ids if site not in session.info.get(_BUMPED, ())]
    if ids is not None and not ids:
        return
    if ids is not None:
        if len(ids) > 1 and session.get_bind().dialect.name == "postgresql":
            # Lock in id order, as bookings and alarms do, so two bumps cannot deadlock; FOR
            # NO KEY UPDATE, what the UPDATE takes anyway (an alarm's FOR KEY SHARE passes).
            lock = select(Site.id).where(Site.id.in_(ids)).order_by(Site.id)
            session.execute(lock.with_for_update(key_share=True)).all()
        stmt = stmt.where(Site.id.in_(ids))
    session.execute(stmt.execution_options(synchronize_session=False))


def _site_ids(session: Session, noted: dict[str, Any]) -> list[int]:
    """Return the ids of the sites the noted rows show on, in order."""
    ids = {site for site in noted["sites"] if site is not None}
    if noted["visits"] or noted["patients"]:
        owners = select(Visit.site_id).where(
            or_(Visit.id.in_(noted["visits"]), Visit.patient_id.in_(noted["patients"]))
        )
        ids |= set(session.scalars(owners))
    if noted["patients"]:  # a patient's initials show at their own site's visits too
        ids |= set(
            session.scalars(select(Patient.site_id).where(Patient.id.in_(noted["patients"])))
        )
    return sorted(ids)


# First of the before_commit listeners: the bump takes the site's row lock before the audit
# chain's lock, the order a booking (site lock, then its chain) takes them in.
event.listen(Session, "before_commit", _bump, insert=True)


@event.listens_for(Session, "after_transaction_end")
def _forget(session: Session, transaction: SessionTransaction) -> None:
    """Forget what a transaction rolled back or closed without committing noted."""
    if transaction.parent is None:
        session.info.pop(_KEY, None)
        session.info.pop(_BUMPED, None)
