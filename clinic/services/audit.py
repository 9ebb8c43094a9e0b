"""The audit trail: append-only rows for every view and change, chained by HMAC-SHA-256.

The trail is one chain per site (a row's `chain` is its site's id) and chain 0 for rows of
no site (sign-ins, administration). Each row's hash is an HMAC keyed by `AUDIT_KEY` (from
the environment, never the database) over the row, its chain and the hash of the row before
it in that chain, so whoever can write to the database but does not hold the key cannot
rechain an edit, a deletion or a move to another chain. Signed checkpoints written outside
the database (`clinic.services.audit_checkpoints`) catch a cut-off tail of any chain.

`record()` queues a row on the current transaction; it is written just before that
transaction commits, so it commits or rolls back with the change it records. `record_now()`
writes a row in a transaction of its own (a refusal after its rollback, a page view, an
authentication event). Appends to one chain are serialised so it stays linear: PostgreSQL
takes a transaction-level advisory lock per chain before reading its last hash, so sites
never wait for each other's audit rows; SQLite has one writer at a time (and a writer whose
snapshot is stale cannot write at all). A booking takes its chain's lock with its site's
lock and reads the last hash with its writes (`chain_lock`, `chain_head`, `held`).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Protocol

from flask import current_app, has_request_context, request
from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import (
    ColumnElement,
    ScalarSelect,
    Select,
    and_,
    event,
    func,
    or_,
    select,
    text,
    true,
)
from sqlalchemy.orm import Session

from clinic.database import begin_write
from clinic.domain.audit import Outcome
from clinic.extensions import db
from clinic.models import AuditEvent, User
from config import DEV_AUDIT_KEY

GENESIS = "0" * 64
# Used when AUDIT_KEY is unset outside production (config.py refuses it in production).
DEVELOPMENT_KEY = DEV_AUDIT_KEY
# pg_advisory_xact_lock(LOCK_CLASS, chain) serialises the appends to one chain ("audt").
LOCK_CLASS = 0x61756474
# The chain of rows that belong to no site (sign-ins, administration, the command line).
NO_SITE = 0
OUTCOMES = Outcome.values()
ACTIONS = (
    "patient.view",
    "patient.list",
    "visit.list",
    "dashboard.view",
    "patient.create",
    "patient.update",
    "clearance.create",
    "clearance.update",
    "clearance.void",
    "visit.book",
    "visit.reschedule",
    "visit.event.check_in",
    "visit.event.start_infusion",
    "visit.event.end_infusion",
    "visit.event.extend_observation",
    "visit.event.no_show",
    "visit.event.cancel",
    "visit.discharge",
    "visit.discharge_override",
    "visit.predose_override",
    "dose.create",
    "dose.confirm",
    "visit.rems_form",
    "observation.create",
    "notification.ack",
    "rems.submission",
    "plan.set",
    "waitlist.add",
    "waitlist.remove",
    "waitlist.offer",
    "waitlist.offer.accept",
    "waitlist.offer.taken",
    "waitlist.offer.refused",
    "admin.site.create",
    "admin.site.update",
    "admin.chair.create",
    "admin.chair.update",
    "admin.treatment_type.create",
    "admin.treatment_type.update",
    "admin.shift.create",
    "admin.shift.delete",
    "admin.user.create",
    "admin.user.update",
    "audit.export",
    "auth.login",
    "auth.logout",
    "auth.failure",
    "auth.lockout",
    "auth.timeout",
    "auth.token_issue",
    "auth.token_use",
    "auth.token_revoke",
    "calendar_feed.create",
    "calendar_feed.revoke",
    "access.denied",
)
OBJECT_TYPES = (
    "patient",
    "clearance",
    "visit",
    "observation",
    "dose",
    "notification",
    "site",
    "chair",
    "treatment_type",
    "shift",
    "user",
    "session",
    "api_token",
    "patient_plan",
    "waitlist_entry",
    "waitlist_offer",
)
# Detail strings are identifiers (rule names, field names, ISO instants): no spaces, short.
# That keeps free text, and so names and notes, out of the trail by construction.
_SAFE_TEXT = re.compile(r"[A-Za-z0-9_.:+@\-]{0,80}")


class Identified(Protocol):
    """A model object recorded before its id exists: the commit's flush assigns it."""

    @property
    def id(self) -> int: ...


# ---------------------------------------------------------------- the key


def audit_key() -> bytes:
    """Return the key that signs the chain and the checkpoints."""
    key = current_app.config.get("AUDIT_KEY") or DEVELOPMENT_KEY
    return key.encode("utf-8")


def sign(data: bytes) -> str:
    """Return the hex HMAC-SHA-256 of some bytes under the audit key."""
    return hmac.new(audit_key(), data, hashlib.sha256).hexdigest()


# ---------------------------------------------------------------- writing


def record(
    actor: User | str | None,
    action: str,
    now: datetime,
    *,
    patient_id: int | Identified | None = None,
    object_type: str | None = None,
    object_id: int | Identified | None = None,
    outcome: str = "ok",
    detail: dict[str, Any] | None = None,
    site_id: int | None = None,
) -> None:
    """Queue an audit row on the current transaction; the caller's commit writes it.

    `actor` is a user, a label such as "display-link", or None for the signed-in user of
    the request ("anonymous" without one, "system" outside a request). `patient_id` and
    `object_id` may be model objects whose ids the commit's flush assigns. `site_id` picks
    the site's chain (and lock); without it the row joins chain 0.
    """
    if outcome not in OUTCOMES:
        raise ValueError(f"unknown audit outcome {outcome!r}")
    if now.tzinfo is None:
        raise ValueError("naive datetime given to the audit trail")
    actor_id, label = _actor(actor)
    session = db.session()
    transaction = session.get_transaction() or session.begin()
    if session.info.get("audit_transaction") is not transaction:
        session.info["audit_transaction"] = transaction
        session.info["audit_pending"] = []
    session.info["audit_pending"].append(
        {
            "at": now.astimezone(UTC),
            "actor_id": actor_id,
            "actor_label": label[:254],
            "action": action,
            "patient_id": patient_id,
            "object_type": object_type,
            "object_id": object_id,
            "outcome": outcome,
            "ip": _remote_addr(),
            "detail": _clean(detail or {}),
            "chain": site_id or NO_SITE,
        }
    )


def record_now(
    actor: User | str | None,
    action: str,
    now: datetime,
    *,
    patient_id: int | Identified | None = None,
    object_type: str | None = None,
    object_id: int | Identified | None = None,
    outcome: str = "ok",
    detail: dict[str, Any] | None = None,
    site_id: int | None = None,
) -> None:
    """Write an audit row in a transaction of its own, committed before returning.

    Whatever the session still holds is committed first: call it after a rollback or where
    nothing else is pending (a page view, a refusal, a sign-in).
    """
    begin_write()  # SQLite: take the write lock up front (a stale read could not write)
    record(
        actor,
        action,
        now,
        patient_id=patient_id,
        object_type=object_type,
        object_id=object_id,
        outcome=outcome,
        detail=detail,
        site_id=site_id,
    )
    db.session.commit()


def viewed(
    actor: User,
    patient_id: int,
    object_type: str,
    object_id: int,
    detail: dict[str, Any] | None = None,
    *,
    now: datetime,
    site_id: int | None = None,
) -> None:
    """Record that a user was shown a patient's record (or a visit of it, in its site's chain)."""
    record_now(
        actor,
        "patient.view",
        now,
        patient_id=patient_id,
        object_type=object_type,
        object_id=object_id,
        detail=detail,
        site_id=site_id,
    )


def listed(
    actor: User,
    action: str,
    site_id: int,
    patient_ids: list[int],
    detail: dict[str, Any],
    *,
    now: datetime,
) -> None:
    """Record that a user was shown a site's list of visits or patients (ids, never names)."""
    shown = sorted(set(patient_ids))
    record_now(
        actor,
        action,
        now,
        object_type="site",
        object_id=site_id,
        detail=detail | {"patient_ids": shown, "results": len(shown)},
        site_id=site_id,
    )


def dashboard_seen(
    actor: User,
    site_id: int,
    patient_ids: list[int],
    session_id: int,
    since: datetime,
    *,
    now: datetime,
) -> None:
    """Record a recovery dashboard view once per session and site, and again only for
    patients that session has not been shown yet (its polls write nothing new).

    Each process remembers what it found recorded (rows are never removed), so a poll that
    shows no one new reads nothing; a process that has not seen the session reads its rows."""
    seen: dict[tuple[int, int, int], frozenset[int]] = current_app.extensions.setdefault(
        "dashboard_seen", {}
    )
    key = (actor.id, session_id, site_id)
    known = seen.get(key)
    if known is not None and known.issuperset(patient_ids):
        return
    stmt = select(AuditEvent.detail).where(
        AuditEvent.actor_id == actor.id,
        AuditEvent.action == "dashboard.view",
        AuditEvent.object_type == "site",
        AuditEvent.object_id == site_id,
        AuditEvent.at >= since,
    )
    earlier = [d for d in db.session.scalars(stmt) if d.get("session") == session_id]
    recorded = {patient for d in earlier for patient in d.get("patient_ids", [])}
    new = sorted(set(patient_ids) - recorded)
    if not earlier or new:
        listed(actor, "dashboard.view", site_id, new, {"session": session_id}, now=now)
    if len(seen) >= 4096:  # sessions end; forget them all now and then rather than grow
        seen.clear()
    seen[key] = frozenset(recorded.union(patient_ids))


@event.listens_for(Session, "before_commit")
def _write_pending(session: Session) -> None:
    """Append the rows queued on this transaction, each after the last row of its chain."""
    if session.info.get("audit_transaction") is not session.get_transaction():
        return
    pending = session.info.pop("audit_pending", [])
    session.info.pop("audit_transaction", None)
    if not pending:
        return
    session.flush()  # the recorded change gets its ids (and, on SQLite, the write lock)
    chains = sorted({values["chain"] for values in pending})  # one order: no deadlock
    held = _held(session)
    if session.get_bind().dialect.name == "postgresql":
        for chain in chains:
            if chain not in held:
                lock = text("SELECT pg_advisory_xact_lock(:cls, :chain)")
                session.execute(lock, {"cls": LOCK_CLASS, "chain": chain})
    previous = {chain: held.get(chain) or last_hash(session, chain) for chain in chains}
    for values in pending:
        row = AuditEvent(
            **values
            | {
                "patient_id": _id_of(values["patient_id"]),
                "object_id": _id_of(values["object_id"]),
                "prev_hash": previous[values["chain"]],
            }
        )
        row.hash = row_hash(row)
        previous[row.chain] = row.hash
        session.add(row)
    session.flush()
    held.update((chain, previous[chain]) for chain in held if chain in previous)


def last_hash(session: Session, chain: int) -> str:
    """Return the hash of a chain's last row (GENESIS for a chain with none yet)."""
    return session.scalar(_last_hash_stmt(chain)) or GENESIS


def _last_hash_stmt(chain: int) -> Select[tuple[str]]:
    stmt = select(AuditEvent.hash).where(AuditEvent.chain == chain)
    return stmt.order_by(AuditEvent.id.desc()).limit(1)


def chain_lock(chain: int) -> ColumnElement[Any]:
    """Return what takes a chain's append lock (PostgreSQL), for a statement that takes it
    after another lock (the order every append keeps: the site's row, then its chain).

    Take it so only in a transaction whose rows all go to that chain, then say so (`held`).
    """
    return func.pg_advisory_xact_lock(LOCK_CLASS, chain)


def chain_head(chain: int) -> ScalarSelect[str]:
    """Return the read of a chain's last hash (NULL for none yet) for a statement of the
    caller's; under READ COMMITTED its statement must begin after the chain's lock was
    granted (a statement's snapshot is taken when it begins)."""
    return _last_hash_stmt(chain).scalar_subquery()


def held(session: Session, chain: int, head: str | None = None) -> None:
    """Note that this transaction holds a chain's append lock, and the chain's last hash if
    read under it (`chain_head`, GENESIS for none): its appends take and read neither again."""
    chains = _held(session, keep=True)
    chains[chain] = head or chains.get(chain)


def _held(session: Session, keep: bool = False) -> dict[int, str | None]:
    """Return the chains whose locks this transaction holds, with their known last hashes."""
    transaction = session.get_transaction()
    noted = session.info.get("audit_held")
    if noted is None or noted[0] is not transaction or transaction is None:
        noted = (transaction, {})
        if keep:
            session.info["audit_held"] = noted
    return noted[1]


def _id_of(value: int | Identified | None) -> int | None:
    """Return an id given as a number or as the object that carries it."""
    if value is None or isinstance(value, int):
        return value
    return value.id


def _actor(actor: User | str | None) -> tuple[int | None, str]:
    """Return (user id, label) for the row."""
    if isinstance(actor, str):
        return None, actor
    if actor is None:  # nobody signed in (a refused sign-in), or the operator's command line
        return None, "anonymous" if has_request_context() else "system"
    return actor.id, actor.email


def _remote_addr() -> str | None:
    """Return the client's address when there is a request."""
    if not has_request_context():
        return None
    return (request.remote_addr or "")[:45] or None


def _clean(value: Any) -> Any:
    """Return detail data as JSON; refuse anything but ids, flags and identifier strings."""
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str) and _SAFE_TEXT.fullmatch(value):
        return value
    if isinstance(value, list | tuple | set | frozenset):
        items = sorted(value, key=str) if isinstance(value, set | frozenset) else value
        return [_clean(item) for item in items]
    if isinstance(value, dict):
        return {_clean_key(key): _clean(item) for key, item in value.items()}
    raise ValueError("audit detail holds ids, rule names and field names only")


def _clean_key(key: Any) -> str:
    if not isinstance(key, str) or not _SAFE_TEXT.fullmatch(key):
        raise ValueError("audit detail keys are identifiers")
    return key


# ---------------------------------------------------------------- the chain


def canonical(row: AuditEvent) -> bytes:
    """Return a row's canonical JSON, its prev_hash included: what its hash signs.

    A row of a site's chain signs that chain, so it cannot be moved to another; a row of
    chain 0 leaves it out, so rows written before there were chains keep their hashes.
    """
    body = {
        "at": row.at.astimezone(UTC).isoformat(timespec="microseconds"),
        "actor_id": row.actor_id,
        "actor_label": row.actor_label,
        "action": row.action,
        "patient_id": row.patient_id,
        "object_type": row.object_type,
        "object_id": row.object_id,
        "outcome": row.outcome,
        "ip": row.ip,
        "detail": row.detail or {},
        "prev_hash": row.prev_hash,
    }
    chain = getattr(row, "chain", None) or NO_SITE
    if chain != NO_SITE:
        body["chain"] = chain
    encoded = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return encoded.encode("utf-8")


def row_hash(row: AuditEvent) -> str:
    """Return the HMAC-SHA-256 of a row's canonical JSON under the audit key."""
    return sign(canonical(row))


@dataclass(frozen=True)
class Head:
    """Where one chain ends: its last row, that row's hash, and how many rows it holds."""

    last_id: int = 0
    hash: str = GENESIS
    count: int = 0


@dataclass(frozen=True)
class Verdict:
    """What checking the trail found: how many rows, where each chain ends, what is broken."""

    count: int
    broken_id: int | None = None
    reason: str = ""
    chains: Mapping[int, Head] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """Tell whether every row is intact, linked, and the checkpoint still holds."""
        return not self.reason


def verify(checkpoint: Any = None, *, from_checkpoint: bool = False) -> Verdict:
    """Walk the trail in id order, recompute every HMAC and link within each chain, then
    compare every chain with the checkpoint.

    `checkpoint` (an audit_checkpoints.Checkpoint) must still hold: each chain's row it
    names present with its hash, and as many rows of that chain up to it as it counted; a
    chain cut short fails here. With `from_checkpoint` the walk starts after it (the
    scheduler's cheap periodic check).
    """
    heads: dict[int, Head] = {}
    stmt = select(AuditEvent).order_by(AuditEvent.id)
    if checkpoint is not None and from_checkpoint:
        problem = _against(checkpoint)
        if problem:
            return Verdict(0, None, problem)
        heads = dict(checkpoint.chains)
        stmt = stmt.where(_after(heads))
    count = sum(head.count for head in heads.values())
    for row in db.session.scalars(stmt.execution_options(yield_per=500)):
        head = heads.get(row.chain, Head())
        if row.prev_hash != head.hash:
            reason = f"its prev_hash does not match the row before it in chain {row.chain}"
            return Verdict(count, row.id, reason, heads)
        if not hmac.compare_digest(row_hash(row), row.hash):
            return Verdict(count, row.id, "its content does not match its hash", heads)
        heads[row.chain] = Head(row.id, row.hash, head.count + 1)
        count += 1
    if checkpoint is not None and not from_checkpoint:
        problem = _against(checkpoint)
        if problem:
            return Verdict(count, None, problem, heads)
    return Verdict(count, None, "", heads)


def _after(heads: Mapping[int, Head]) -> ColumnElement[bool]:
    """Return the condition for the rows after each chain's head (every row of a new chain).

    Chains are only ordered within themselves: a row of one site may have a lower id than a
    row of another site that committed before it, so one id cannot mark "after".
    """
    if not heads:
        return true()
    later = [and_(AuditEvent.chain == c, AuditEvent.id > h.last_id) for c, h in heads.items()]
    return or_(*later, AuditEvent.chain.not_in(list(heads)))


def _against(checkpoint: Any) -> str:
    """Return what no longer matches a checkpoint, or "" when every chain still holds it."""
    when = checkpoint.at.isoformat(timespec="seconds")
    for chain, head in sorted(checkpoint.chains.items()):
        if head.last_id:
            problem = _chain_against(chain, head, when)
            if problem:
                return f"chain {chain}: {problem}"
    return ""


def _chain_against(chain: int, head: Head, when: str) -> str:
    """Return what no longer matches one chain's head in a checkpoint, or ""."""
    row = db.session.get(AuditEvent, head.last_id)
    if row is not None and row.chain != chain:
        return (
            f"audit event {row.id}, named by the checkpoint of {when}, is now in chain {row.chain}"
        )
    if row is None:
        stmt = select(func.max(AuditEvent.id)).where(AuditEvent.chain == chain)
        last = db.session.scalar(stmt)
        if last is None or last < head.last_id:
            return (
                f"the trail ends at event {last or 'none'} but the checkpoint of {when} "
                f"reaches event {head.last_id}: rows were removed from its end"
            )
        return f"audit event {head.last_id}, named by the checkpoint of {when}, is missing"
    if not hmac.compare_digest(row.hash, head.hash):
        return f"audit event {row.id} differs from the checkpoint of {when}"
    counted = db.session.scalar(
        select(func.count(AuditEvent.id)).where(
            AuditEvent.chain == chain, AuditEvent.id <= head.last_id
        )
    )
    if counted != head.count:
        return (
            f"the checkpoint of {when} counted {head.count} events up to event "
            f"{head.last_id}; the trail now has {counted}: rows were removed"
        )
    return ""


# ---------------------------------------------------------------- searching


@dataclass(frozen=True)
class Filters:
    """An audit search; every part optional. `action` ending in ".*" matches a family."""

    who: str | None = None
    action: str | None = None
    patient_id: int | None = None
    object_type: str | None = None
    object_id: int | None = None
    since: date | None = None  # UTC days, inclusive
    until: date | None = None
    outcome: str | None = None


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


def search_statement(filters: Filters) -> Select[tuple[AuditEvent]]:
    """Return the newest-first query for a search."""
    stmt = select(AuditEvent)
    if filters.who:
        stmt = stmt.where(
            func.lower(AuditEvent.actor_label).contains(filters.who.lower(), autoescape=True)
        )
    if filters.action:
        if filters.action.endswith(".*"):
            family = filters.action.removesuffix("*")
            stmt = stmt.where(AuditEvent.action.startswith(family, autoescape=True))
        else:
            stmt = stmt.where(AuditEvent.action == filters.action)
    if filters.patient_id is not None:
        stmt = stmt.where(AuditEvent.patient_id == filters.patient_id)
    if filters.object_type:
        stmt = stmt.where(AuditEvent.object_type == filters.object_type)
    if filters.object_id is not None:
        stmt = stmt.where(AuditEvent.object_id == filters.object_id)
    if filters.since is not None:
        stmt = stmt.where(AuditEvent.at >= _day_start(filters.since))
    if filters.until is not None:
        stmt = stmt.where(AuditEvent.at < _day_start(filters.until + timedelta(days=1)))
    if filters.outcome:
        stmt = stmt.where(AuditEvent.outcome == filters.outcome)
    return stmt.order_by(AuditEvent.id.desc())


def search(filters: Filters, page: int, per_page: int) -> Pagination:
    """Return one page of matching rows, newest first (a Flask-SQLAlchemy Pagination)."""
    return db.paginate(
        search_statement(filters), page=page, per_page=per_page, max_per_page=200, error_out=False
    )


def export(filters: Filters) -> Iterator[AuditEvent]:
    """Yield every matching row, newest first, a batch at a time."""
    stmt = search_statement(filters).execution_options(yield_per=500)
    yield from db.session.scalars(stmt)
