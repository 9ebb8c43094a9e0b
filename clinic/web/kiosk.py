"""The kiosk link of a visit: `/k/<token>`, no sign-in, one question per screen.

The patient answers the site's measures (and the PHQ-9) on a tablet. Nothing else of the record
is shown. The token is stored as a digest; an unknown or expired one (the visit's observation
end) is a 404; the page is rate-limited per address; the form carries a CSRF token. The answers
given so far travel in the form's body, never in the URL.
"""

from __future__ import annotations

from flask import Blueprint, abort, render_template, request
from flask_wtf import FlaskForm

from clinic.domain.ids import is_digits
from clinic.domain.instruments import INSTRUMENTS
from clinic.services import screening
from clinic.services.errors import ServiceError
from clinic.types import utcnow

bp = Blueprint("kiosk", __name__, url_prefix="/k")


class StepForm(FlaskForm):
    """Carries the CSRF token; the answers are read from the form by hand."""


def _instruments(required: list[str], done: set[str]) -> list[str]:
    """The instruments the patient still answers: the site's, then the PHQ-9."""
    wanted = [*required, *(["phq9"] if "phq9" not in required else [])]
    return [name for name in wanted if name in INSTRUMENTS and name not in done]


@bp.route("/<token>", methods=["GET", "POST"])
def page(token: str):
    """Show the next question, record a finished instrument, or say thank you."""
    now = utcnow()
    visit = screening.kiosk_visit(token, now)
    if visit is None:
        abort(404)
    done = {m.instrument for m in screening.day_measures(visit, now)}
    form = StepForm()
    answers: list[int | bool] = []
    todo = _instruments(list(visit.site.screening_before_start or []), done)
    if todo and form.validate_on_submit() and request.form.get("instrument") == todo[0]:
        definition = INSTRUMENTS[todo[0]]
        raw = request.form.get("so_far", "")
        picked = request.form.get("answer", "")
        values = [*(v for v in raw.split(",") if v), picked]
        if definition.kind == "yes_no":
            answers = [v == "1" for v in values if v in ("0", "1")]
        else:
            answers = [int(v) for v in values if is_digits(v)]
        if len(answers) == len(values) and len(answers) == len(definition.items):
            try:
                screening.record_measure(
                    None, visit.id, definition.name, answers, now, kiosk_visit_id=visit.id
                )
            except ServiceError:
                abort(400)
            answers = []
            todo = todo[1:]
        elif len(answers) != len(values):
            answers = []
    current = INSTRUMENTS[todo[0]] if todo else None
    response = render_template(
        "kiosk/page.html",
        form=form,
        instrument=current,
        item=len(answers),
        so_far=",".join(str(int(a)) for a in answers),
    )
    return response, 200, {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
