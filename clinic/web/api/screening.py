"""Screening before the infusion and the course's outcomes (API.md, "Screening and outcomes")."""

from __future__ import annotations

from typing import Any

from flask import g, url_for

from clinic.services import access, audit, screening
from clinic.types import utcnow
from clinic.web.api import bp, writes
from clinic.web.api.people import PATIENT
from clinic.web.api.schemas import (
    KioskLinkSchema,
    MeasureInputSchema,
    MeasureSchema,
    OutcomesSchema,
    ScreeningReviewSchema,
)
from clinic.web.api.visits import VISIT, visible_visit


def _clinician_of(visit_id: int) -> None:
    """Refuse a visit the caller may not see, then a role that may not record measures."""
    visible_visit(visit_id)
    access.require(g.user, "clinical")


def _practitioner_of(visit_id: int) -> None:
    """Refuse a visit the caller may not see, then anyone but a practitioner."""
    visible_visit(visit_id)
    access.require(g.user, "override_predose")


@writes(
    "POST",
    f"{VISIT}/measures",
    _clinician_of,
    MeasureInputSchema,
    201,
    MeasureSchema,
    conflict=True,
)
def post_measure(body: dict[str, Any], visit_id: int):
    """Record a completed instrument (201): its score, band and flags come back."""
    return screening.record_measure(
        g.user, visit_id, body.get("instrument"), body.get("answers"), utcnow(), at=body.get("at")
    )


@writes(
    "POST",
    f"{VISIT}/screening-review",
    _practitioner_of,
    ScreeningReviewSchema,
    201,
    ScreeningReviewSchema,
)
def post_screening_review(body: dict[str, Any], visit_id: int):
    """Record a practitioner's review of the visit's screen: proceed or defer, with a note."""
    return screening.record_review(
        g.user, visit_id, body.get("decision"), body.get("note"), utcnow()
    )


@writes(
    "POST",
    f"{VISIT}/kiosk-link",
    _clinician_of,
    KioskLinkSchema,
    201,
    KioskLinkSchema,
    conflict=True,
)
def post_kiosk_link(body: dict[str, Any], visit_id: int):
    """Create the visit's kiosk link, valid until its observation end."""
    link, token = screening.create_kiosk_link(g.user, visit_id, utcnow())
    return {
        "url": url_for("kiosk.page", token=token, _external=True),
        "expires_at": link.expires_at,
    }


@bp.route(f"{PATIENT}/outcomes", methods=["GET"])
@bp.response(200, OutcomesSchema)
def get_outcomes(patient_id: int):
    """A patient's PHQ-9 and GAD-7 course: baseline, latest, change, response, remission."""
    found = screening.patient_outcomes(g.user, patient_id)
    audit.viewed(g.user, patient_id, "outcomes", patient_id, now=utcnow())
    return {
        name: {
            "baseline": o.baseline,
            "latest": o.latest,
            "change_pct": o.change_pct,
            "response": o.response,
            "remission": o.remission,
            "series": [
                {"at": at.isoformat().replace("+00:00", "Z"), "score": s} for at, s in o.series
            ],
        }
        for name, o in found.items()
    }
