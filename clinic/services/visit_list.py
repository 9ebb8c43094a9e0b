"""The visits list: a site's visits across days, searched by patient, status, chair, dates."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Select, func, select
from sqlalchemy.orm import contains_eager, selectinload

from clinic.extensions import db
from clinic.models import User, Visit
from clinic.services import access, audit
from clinic.services.patients import name_or_mrn_matches
from clinic.services.sites import local_day_bounds

MAX_PER_PAGE = 200


@dataclass(frozen=True)
class VisitFilters:
    """What the desk looks for; None means "any". Days are site-local and both included."""

    site_id: int
    query: str | None = None
    status: str | None = None
    chair_id: int | None = None
    first_day: date | None = None
    last_day: date | None = None


def statement(actor: User, filters: VisitFilters) -> Select[tuple[Visit]]:
    """Return the query for a search, in start order (NotFound for a site not the user's)."""
    access.require(actor, "list_visits")
    site = access.get_site(actor, filters.site_id)
    stmt = (
        select(Visit)
        .join(Visit.patient)
        .options(contains_eager(Visit.patient), selectinload(Visit.chair))
        .where(Visit.site_id == site.id, *name_or_mrn_matches(filters.query))
    )
    if filters.status:
        stmt = stmt.where(Visit.status == filters.status)
    if filters.chair_id is not None:
        stmt = stmt.where(Visit.chair_id == filters.chair_id)
    if filters.first_day is not None:
        stmt = stmt.where(Visit.infusion_start >= local_day_bounds(site, filters.first_day)[0])
    if filters.last_day is not None:
        stmt = stmt.where(Visit.infusion_start < local_day_bounds(site, filters.last_day)[1])
    return stmt.order_by(Visit.infusion_start, Visit.chair_id, Visit.id)


@dataclass(frozen=True)
class VisitRow:
    """One listed visit, read before the audit row commits (nothing loads lazily after)."""

    id: int
    patient_id: int
    patient_name: str
    mrn: str
    chair: str
    status: str
    infusion_start: datetime
    infusion_end: datetime
    observation_end: datetime
    series_id: str | None


@dataclass(frozen=True)
class VisitPage:
    """One page of a search."""

    rows: list[VisitRow]
    total: int
    page: int
    pages: int


def search(
    actor: User, filters: VisitFilters, page: int, per_page: int, now: datetime
) -> VisitPage:
    """Return one page of matching visits, in start order; the list is audited."""
    found = db.paginate(
        statement(actor, filters),
        page=page,
        per_page=min(per_page, MAX_PER_PAGE),
        max_per_page=MAX_PER_PAGE,
        error_out=False,
    )
    result = VisitPage(
        rows=[_row(visit) for visit in found.items],
        total=found.total or 0,
        page=found.page,
        pages=found.pages,
    )
    _audit(actor, filters, "visits", result.total, now)
    return result


def export(actor: User, filters: VisitFilters, now: datetime) -> Iterator[VisitRow]:
    """Audit the export now; return every matching visit in start order, read in batches."""
    stmt = statement(actor, filters)
    total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    _audit(actor, filters, "visits.csv", total or 0, now)
    return _rows(stmt)


def _rows(stmt: Select[tuple[Visit]]) -> Iterator[VisitRow]:
    for visit in db.session.scalars(stmt.execution_options(yield_per=500)):
        yield _row(visit)


def _row(visit: Visit) -> VisitRow:
    patient = visit.patient
    return VisitRow(
        id=visit.id,
        patient_id=patient.id,
        patient_name=f"{patient.family_name}, {patient.given_name}",
        mrn=patient.mrn,
        chair=visit.chair.name,
        status=visit.status,
        infusion_start=visit.infusion_start,
        infusion_end=visit.infusion_end,
        observation_end=visit.observation_end,
        series_id=visit.series_id,
    )


def _audit(actor: User, filters: VisitFilters, view: str, results: int, now: datetime) -> None:
    """Record a list of patients' visits: how many, never the search words."""
    searched = bool(filters.query and filters.query.strip())
    detail = {"view": view, "site_id": filters.site_id, "searched": searched, "results": results}
    audit.record_now(actor, "patient.list", now, detail=detail)
