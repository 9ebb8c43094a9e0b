"""The functions APScheduler runs, referenced as "clinic.scheduler.jobs:<name>".

Each one opens its own app context, so it has its own database session, and never lets an
exception escape: the next reconcile finds whatever did not happen and does it then.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from flask import Flask

from clinic.domain.alarms import DISCHARGE_DUE, DISCHARGE_OVERDUE, REMS_FORM_DUE
from clinic.notify import outbox
from clinic.services import notifications
from clinic.types import utcnow

log = logging.getLogger(__name__)

FIRE = {
    DISCHARGE_DUE: "clinic.scheduler.jobs:fire_discharge_due",
    DISCHARGE_OVERDUE: "clinic.scheduler.jobs:fire_discharge_overdue",
    REMS_FORM_DUE: "clinic.scheduler.jobs:fire_rems_form_due",
}
DELIVER = "clinic.scheduler.jobs:deliver_outbox"
AUDIT_CHECKPOINT = "clinic.scheduler.jobs:write_audit_checkpoint"
AUDIT_CHECKPOINT_JOB_ID = "audit-checkpoint"
JOB_PREFIX = {
    DISCHARGE_DUE: "discharge-due:",
    DISCHARGE_OVERDUE: "discharge-overdue:",
    REMS_FORM_DUE: "rems-form-due:",
}

_app: Flask | None = None
_after_fire: Callable[[], None] | None = None


def bind(app: Flask, after_fire: Callable[[], None] | None = None) -> None:
    """Give the jobs the app they run in, and what to do when something fired."""
    global _app, _after_fire
    _app, _after_fire = app, after_fire


def job_id(kind: str, visit_id: int) -> str:
    """Return the job id of a visit's alarm: discharge-due:<visit>, rems-form-due:<visit> ..."""
    return f"{JOB_PREFIX[kind]}{visit_id}"


def fire_discharge_due(visit_id: int) -> None:
    """Fire a visit's discharge-due alarm if it is still due."""
    _fire(DISCHARGE_DUE, visit_id)


def fire_discharge_overdue(visit_id: int) -> None:
    """Fire a visit's discharge-overdue alarm if it is still due."""
    _fire(DISCHARGE_OVERDUE, visit_id)


def fire_rems_form_due(visit_id: int) -> None:
    """Raise a REMS session's form reminder unless raised already or the form is submitted."""
    _fire(REMS_FORM_DUE, visit_id)


def _fire(kind: str, visit_id: int) -> None:
    assert _app is not None, "jobs.bind(app) first"
    with _app.app_context():
        try:
            if kind == REMS_FORM_DUE:
                created = notifications.fire_reminders([visit_id], now=utcnow())
            else:
                created = notifications.fire([visit_id], kind, now=utcnow())
        except Exception:
            log.exception("firing %s for visit %s failed; the reconcile will retry", kind, visit_id)
            return
    if created:
        log.info("%s fired for visit %s", kind, visit_id)
        if _after_fire is not None:
            _after_fire()


def deliver_outbox() -> None:
    """Send the deliveries that are due."""
    assert _app is not None, "jobs.bind(app) first"
    with _app.app_context():
        try:
            outbox.deliver_due()
        except Exception:
            log.exception("the outbox run failed; the next one will retry")


def write_audit_checkpoint() -> None:
    """Check the audit trail since the last checkpoint and write a signed new one."""
    from clinic.services import audit_checkpoints

    assert _app is not None, "jobs.bind(app) first"
    with _app.app_context():
        try:
            checkpoint, _path = audit_checkpoints.write(utcnow())
        except audit_checkpoints.CheckpointError as error:
            # The message names ids and reasons only, never a patient.
            log.error("audit checkpoint: %s", error)
            return
        except Exception:
            log.exception("the audit checkpoint failed; the next run will retry")
            return
    log.info("audit checkpoint at event %s (%s events)", checkpoint.last_id, checkpoint.count)
