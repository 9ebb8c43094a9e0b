"""In-app alerts: the JSON feed the dashboard polls, acknowledging, failed deliveries, and
the red banner every page shows while the scheduler's heartbeat is stale."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, current_app, jsonify, render_template
from flask_login import current_user, login_required

from clinic.domain.alarms import MAX_ATTEMPTS, AlertKind, Channel
from clinic.models import Delivery
from clinic.notify import patient_outbox
from clinic.services import notifications
from clinic.services.access import can
from clinic.services.errors import ServiceError
from clinic.services.heartbeat import scheduler_seen
from clinic.types import utcnow
from clinic.web.api.errors import error_response
from clinic.web.api.fields import instant
from clinic.web.pages import query_id
from clinic.web.roles import role_required

bp = Blueprint("alerts", __name__)


def scheduler_alive() -> tuple[bool, object]:
    """Return (alive, last heartbeat), treating an unreadable database as not alive."""
    return scheduler_seen(utcnow(), current_app.config["SCHEDULER_HEARTBEAT_STALE_SECONDS"])


@bp.app_context_processor
def scheduler_banner() -> dict:
    """Tell every page whether to show the red "scheduler stopped" banner."""
    return {"scheduler_stale": lambda: not scheduler_alive()[0]}


@bp.get("/notifications/feed")
@login_required
def feed():
    """Return the unacknowledged alerts of the user's sites for the dashboard to show."""
    try:
        site_id = query_id("site_id")
        alerts = notifications.open_alerts(current_user, site_id)
    except ServiceError as error:
        return error_response(error.status, error.code, error.message, error.fields)
    alive, last = scheduler_alive()
    return jsonify(
        {
            "server_time": instant(utcnow()),
            "scheduler": {"alive": alive, "last_heartbeat": instant(last)},
            "can_acknowledge": can(current_user, "acknowledge"),
            "alerts": [
                alert_json(alert) | {"visit_id": alert.visit_id, "site_id": alert.site_id}
                for alert in alerts
            ],
        }
    )


def alert_json(alert: notifications.Alert) -> dict:
    """Return an open alert as the pages show it: kind, chair, initials, due time, no more."""
    return {
        "id": alert.id,
        "kind": alert.kind,
        "title": AlertKind.label_of(alert.kind),
        "chair": alert.chair,
        "patient_initials": alert.patient_initials,
        "due_at": instant(alert.due_at),
        "due_local": alert.due_local.strftime("%H:%M"),
        "created_at": instant(alert.created_at),
    }


def wall_alerts(viewer, site_id: int) -> dict:
    """Return what a wall display shows of a site's open alerts (initials and chair only)."""
    return {
        "alerts": [alert_json(alert) for alert in notifications.open_alerts(viewer, site_id)],
        "scheduler": {"alive": scheduler_alive()[0]},
        "can_acknowledge": False,
    }


@bp.post("/notifications/<int:notification_id>/ack")
@login_required
def acknowledge(notification_id: int):
    """Acknowledge an alert from the dashboard (CSRF token in the X-CSRFToken header)."""
    try:
        notification = notifications.acknowledge(current_user, notification_id, now=utcnow())
    except ServiceError as error:
        return error_response(error.status, error.code, error.message, error.fields)
    return jsonify(
        {
            "id": notification.id,
            "acknowledged_at": instant(notification.acknowledged_at),
            "acknowledged_by": notification.acknowledged_by_id,
            "resolved_at": instant(notification.resolved_at),
            "resolved_reason": notification.resolved_reason,
        }
    )


@bp.get("/admin/deliveries")
@role_required("administer")
def failed_deliveries():
    """List the deliveries that failed or keep failing (admins only)."""
    deliveries = notifications.failed_deliveries()
    return render_template(
        "admin/deliveries.html",
        deliveries=deliveries,
        patient_messages=patient_outbox.failed_messages(),
        shown_target=shown_target,
        max_attempts=MAX_ATTEMPTS,
    )


def shown_target(delivery: Delivery) -> str:
    """Show where a delivery goes without a webhook URL's path or query (they may hold keys)."""
    if delivery.channel == Channel.WEBHOOK:
        parts = urlsplit(delivery.target)
        return f"{parts.scheme}://{parts.hostname or ''}{f':{parts.port}' if parts.port else ''}"
    return delivery.target
