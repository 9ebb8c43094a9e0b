"""Notifications: list and acknowledge discharge alarms (API.md, "Notifications")."""

from __future__ import annotations

from typing import Any

from flask import g, jsonify, request

from clinic.domain.ids import MAX_ID
from clinic.models import Notification
from clinic.services import notifications
from clinic.services.errors import Invalid
from clinic.types import utcnow
from clinic.web.api import bp
from clinic.web.api.parsing import query_int
from clinic.web.api.serialize import instant

TRUE, FALSE = {"1", "true", "yes"}, {"0", "false", "no", ""}


def notification_json(notification: Notification) -> dict[str, Any]:
    """Return a notification as API.md shows it."""
    return {
        "id": notification.id,
        "kind": notification.kind,
        "visit_id": notification.visit_id,
        "site_id": notification.site_id,
        "due_at": instant(notification.due_at),
        "created_at": instant(notification.created_at),
        "acknowledged_at": instant(notification.acknowledged_at),
        "acknowledged_by": notification.acknowledged_by_id,
        "resolved_at": instant(notification.resolved_at),
        "resolved_reason": notification.resolved_reason,
    }


def _flag(name: str) -> bool:
    """Read a yes/no query parameter (1/0, true/false), or raise a 422."""
    raw = request.args.get(name, "").strip().lower()
    if raw in TRUE:
        return True
    if raw in FALSE:
        return False
    raise Invalid(f"{name} must be 1 or 0.", {name: ["Must be 1 or 0."]})


@bp.get("/notifications")
def list_notifications():
    """List the notifications of the caller's sites (or one), newest first."""
    site_id = query_int("site_id", high=MAX_ID)
    unacknowledged = _flag("unacknowledged")
    items = notifications.list_notifications(g.user, site_id, unacknowledged)
    return jsonify([notification_json(n) for n in items])


@bp.post("/notifications/<int:notification_id>/ack")
def acknowledge_notification(notification_id: int):
    """Acknowledge a notification (nurse, practitioner); again changes nothing."""
    notification = notifications.acknowledge(g.user, notification_id, now=utcnow())
    return jsonify(notification_json(notification))
