"""Outcomes: the PHQ-9 and GAD-7 over a course, on the patient's page, the board's card and a
site's page of course outcomes (patients in induction, responders, remitters)."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from flask import Blueprint, abort, render_template
from flask_login import current_user

from clinic.domain.instruments import INSTRUMENTS, PHQ9, Outcome
from clinic.models import Patient
from clinic.services import access, audit, screening
from clinic.types import utcnow
from clinic.web.charts import (
    change_words,
    outcome_chart,
    outcome_summary,
    raw_change,
    signed_percent,
)
from clinic.web.pages import chosen_site, visible_sites
from clinic.web.roles import role_required

bp = Blueprint("outcomes", __name__)


@bp.app_context_processor
def nav() -> dict:
    """Tell the navigation whether to link the outcomes page."""
    return {"outcomes_nav": lambda: access.can(current_user, "outcomes")}


@bp.app_template_filter("course_text")
def course_text(outcome: Outcome, title: str = PHQ9.title) -> str:
    """Write a course as the board's card shows it: "PHQ-9 12 (baseline 22, -45 %)", with a
    real minus sign (U+2212)."""
    if outcome.latest is None:
        return ""
    if len(outcome.series) == 1:
        return f"{title} {outcome.latest} (baseline)"
    change = signed_percent(raw_change(outcome))
    tail = f", {change}" if change else ""
    return f"{title} {outcome.latest} (baseline {outcome.baseline}{tail})"


@bp.app_template_filter("signed_percent")
def _signed_percent(change: float | None) -> str:
    """Write a change in percent with its sign (a real minus below zero)."""
    return signed_percent(change)


@bp.app_template_filter("course_change")
def course_change(outcome: Outcome) -> str:
    """Write a course's change from its baseline with its sign ("+10 %")."""
    return signed_percent(raw_change(outcome))


def patient_outcomes(patient: Patient) -> list[dict] | None:
    """Return the patient page's outcome panels (chart, words, scores), or None for a role
    that may not see them."""
    if not access.can(current_user, "outcomes"):
        return None
    tz = ZoneInfo(patient.site.timezone)
    found = screening.patient_outcomes(current_user, patient.id)
    panels = []
    for name, outcome in found.items():
        instrument = INSTRUMENTS[name]
        panels.append(
            {
                "name": name,
                "title": instrument.title,
                "outcome": outcome,
                "chart": outcome_chart(instrument, outcome, tz),
                "summary": outcome_summary(instrument, outcome, tz),
                "change": change_words(outcome),
                "bands": instrument.bands,
            }
        )
    return panels


@bp.get("/outcomes")
@role_required("outcomes")
def site():
    """List a site's course outcomes: every patient with a PHQ-9, baseline, latest, change."""
    sites = visible_sites()
    chosen = chosen_site(sites)
    if chosen is None:
        abort(404)
    shown_site, courses = screening.site_outcomes(current_user, chosen.id)
    now = utcnow()
    audit.listed(
        current_user,
        "patient.list",
        shown_site.id,
        [c.patient.id for c in courses],
        {"view": "outcomes"},
        now=now,
    )
    counts = {
        "patients": len(courses),
        "induction": sum(c.in_induction for c in courses),
        "responders": sum(c.phq9.response for c in courses),
        "remitters": sum(c.phq9.remission for c in courses),
    }
    return render_template(
        "outcomes/site.html", site=shown_site, sites=sites, courses=courses, counts=counts
    )
