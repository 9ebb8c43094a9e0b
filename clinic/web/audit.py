"""The audit trail for administrators: search it, page through it, export it as CSV."""

from __future__ import annotations

import json
from datetime import UTC

from flask import Blueprint, render_template, request, stream_with_context, url_for
from flask_login import current_user
from werkzeug.datastructures import MultiDict
from wtforms import Form, IntegerField, SelectChoice, SelectField, StringField
from wtforms.fields import DateField
from wtforms.validators import Length, NumberRange, Optional, ValidationError

from clinic.domain.audit import Outcome
from clinic.domain.ids import MAX_ID
from clinic.models import AuditEvent
from clinic.services import audit
from clinic.types import utcnow
from clinic.web.csv_export import csv_download, csv_lines
from clinic.web.roles import role_required

bp = Blueprint("audit", __name__, url_prefix="/admin")

PER_PAGE = 50
MAX_PAGE = 100_000
FILTER_NAMES = (
    "who",
    "action",
    "patient_id",
    "object_type",
    "object_id",
    "since",
    "until",
    "outcome",
)
CSV_COLUMNS = (
    "id",
    "at_utc",
    "actor_id",
    "actor",
    "action",
    "patient_id",
    "object_type",
    "object_id",
    "outcome",
    "ip",
    "detail",
    "chain",
    "prev_hash",
    "hash",
)
# A spreadsheet runs a cell that starts with one of these as a formula (OWASP: CSV injection).


def _families() -> list[str]:
    """Return the action families ("visit.*"), in the order the actions are listed."""
    seen: list[str] = []
    for action in audit.ACTIONS:
        family = action.split(".", 1)[0] + ".*"
        if family not in seen:
            seen.append(family)
    return seen


class AuditFilterForm(Form):
    """The search: every field optional, every choice from an allowlist."""

    who = StringField("Who (e-mail)", validators=[Optional(), Length(max=254)])
    action = SelectField(
        "Action",
        choices=[SelectChoice("", "Any action")]
        + [SelectChoice(f, f"{f[:-2]} (all)") for f in _families()]
        + [SelectChoice(a, a) for a in audit.ACTIONS],
        validators=[Optional()],
    )
    patient_id = IntegerField("Patient id", validators=[Optional(), NumberRange(min=1, max=MAX_ID)])
    object_type = SelectField(
        "Object",
        choices=[SelectChoice("", "Any object")] + [SelectChoice(t, t) for t in audit.OBJECT_TYPES],
        validators=[Optional()],
    )
    object_id = IntegerField("Object id", validators=[Optional(), NumberRange(min=1, max=MAX_ID)])
    since = DateField("From (UTC)", validators=[Optional()])
    until = DateField("To (UTC)", validators=[Optional()])
    outcome = SelectField(
        "Outcome",
        choices=[SelectChoice("", "Any outcome")]
        + [SelectChoice(outcome.value, outcome.label) for outcome in Outcome],
        validators=[Optional()],
    )

    def validate_until(self, field) -> None:
        """Refuse a range that ends before it starts."""
        if field.data and self.since.data and field.data < self.since.data:
            raise ValidationError("Must be on or after the start.")

    def filters(self) -> audit.Filters:
        """Return the search the form describes."""
        return audit.Filters(
            who=(self.who.data or "").strip() or None,
            action=self.action.data or None,
            patient_id=self.patient_id.data,
            object_type=self.object_type.data or None,
            object_id=self.object_id.data,
            since=self.since.data,
            until=self.until.data,
            outcome=self.outcome.data or None,
        )


def _form() -> AuditFilterForm:
    """Bind the filter form to the query string's allowlisted parameters only."""
    args = MultiDict((name, request.args.get(name, "")) for name in FILTER_NAMES)
    return AuditFilterForm(formdata=args)


def _active_args(form: AuditFilterForm) -> dict[str, str]:
    """Return the filters in use, to carry into page links and the CSV link."""
    return {name: form[name].raw_data[0] for name in FILTER_NAMES if form[name].raw_data[0]}


def _page() -> int:
    """Return the page number asked for, within bounds."""
    page = request.args.get("page", 1, type=int) or 1
    return min(max(page, 1), MAX_PAGE)


@bp.route("/audit")
@role_required("administer")
def index():
    """Search the audit trail, newest first, a page at a time."""
    form = _form()
    valid = form.validate()
    page = audit.search(form.filters(), _page(), PER_PAGE) if valid else None
    args = _active_args(form) if valid else {}
    return render_template(
        "audit/index.html",
        form=form,
        page=page,
        args=args,
        csv_url=url_for("audit.export", **args) if valid else None,
    )


@bp.route("/audit.csv")
@role_required("administer")
def export():
    """Download every row that matches the filters as CSV, streamed."""
    form = _form()
    if not form.validate():
        return render_template("audit/index.html", form=form, page=None, args={}, csv_url=None), 422
    filters = form.filters()
    now = utcnow()
    audit.record_now(
        current_user,
        "audit.export",
        now,
        detail={"filters": sorted(_active_args(form))},
    )
    rows = (_cells(row) for row in audit.export(filters))
    return csv_download(stream_with_context(csv_lines(CSV_COLUMNS, rows)), "audit", now)


def _cells(row: AuditEvent) -> list:
    """Return one audit row as CSV cells."""
    return [
        row.id,
        row.at.astimezone(UTC).isoformat(timespec="seconds"),
        row.actor_id,
        row.actor_label,
        row.action,
        row.patient_id,
        row.object_type,
        row.object_id,
        row.outcome,
        row.ip,
        json.dumps(row.detail or {}, sort_keys=True, separators=(",", ":")),
        row.chain,
        row.prev_hash,
        row.hash,
    ]
