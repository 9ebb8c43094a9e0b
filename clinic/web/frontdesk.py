"""Front desk: one blueprint for the day board (day_board.py), booking (booking.py) and the
visit page (visit.py), and what those pages share: reading a day or a time of day."""

from __future__ import annotations

import re
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from flask import Blueprint, Flask

from clinic.domain import treatments
from clinic.domain.visits import Status
from clinic.models import Site, TreatmentType

bp = Blueprint("frontdesk", __name__)

FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2199, 12, 31)


def init_app(app: Flask) -> None:
    """Mount the front desk's pages (importing their modules adds their views)."""
    from clinic.web import booking, day_board, visit  # noqa: F401

    app.register_blueprint(bp)


@bp.app_template_filter("status_label")
def status_label(status: str) -> str:
    """Return a visit status as the desk says it."""
    return Status.label_of(status)


def _kind(treatment_type: TreatmentType | None) -> treatments.TreatmentKind:
    """Return a type's kind (IV ketamine for a visit with no type, as visits were before)."""
    kind = getattr(treatment_type, "kind", None)
    known = kind in treatments.TreatmentKind.values()
    return treatments.TreatmentKind(kind) if known else treatments.TreatmentKind.IV_KETAMINE


@bp.app_template_filter("start_word")
def start_word(treatment_type: TreatmentType | None) -> str:
    """Return what a type's pages call the start of its administration ("first device")."""
    return treatments.start_word(_kind(treatment_type))


@bp.app_template_filter("started_label")
def started_label(treatment_type: TreatmentType | None) -> str:
    """Return the label of the real start: "Infusion started", "First device"."""
    kind = _kind(treatment_type)
    if kind is treatments.TreatmentKind.ESKETAMINE:
        return treatments.start_word(kind).capitalize()
    return f"{treatments.administration_word(kind).capitalize()} started"


@bp.app_template_filter("action_label")
def action_label(action: str, kind: str | None) -> str:
    """Return a nursing button's label in the type's words: "First device", "End infusion"."""
    known = kind if kind in treatments.TreatmentKind.values() else None
    treatment = treatments.TreatmentKind(known or treatments.TreatmentKind.IV_KETAMINE)
    word = treatments.administration_word(treatment)
    if action == "start_infusion":
        if treatment is treatments.TreatmentKind.ESKETAMINE:
            return treatments.start_word(treatment).capitalize()
        return f"Start {word}"
    return f"End {word}"


@bp.app_template_filter("administration_word")
def administration_word(treatment_type: TreatmentType | None) -> str:
    """Return what a type's pages call its administration ("infusion", "administration")."""
    return treatments.administration_word(_kind(treatment_type))


@bp.app_template_filter("counted_from_start")
def counted_from_start(treatment_type: TreatmentType | None) -> bool:
    """Tell whether a type's observation counts from the start of its administration."""
    start = treatments.ObservationFrom.ADMINISTRATION_START.value
    return getattr(treatment_type, "observation_from", None) == start


def parse_day(raw: str | None) -> date | None:
    """Read a YYYY-MM-DD query value; None when absent or not a plausible date."""
    if not raw:
        return None
    try:
        day = date.fromisoformat(raw.strip())
    except ValueError:
        return None
    return day if FIRST_DAY <= day <= LAST_DAY else None


def parse_time(raw: str | None) -> time | None:
    """Read an HH:MM query value as a time of day; None when absent or malformed."""
    match = re.fullmatch(r"([01]\d|2[0-3]):([0-5]\d)", (raw or "").strip())
    return time(int(match[1]), int(match[2])) if match else None


def local(site: Site, day: date, at) -> datetime:
    """Return the aware instant of a wall-clock time at a site."""
    return datetime.combine(day, at, tzinfo=ZoneInfo(site.timezone))
