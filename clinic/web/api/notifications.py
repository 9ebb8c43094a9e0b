"""Notifications: list and acknowledge discharge alarms (API.md, "Notifications")."""

from __future__ import annotations

from typing import Any

from flask import g

from clinic.services import notifications
from clinic.types import utcnow
from clinic.web.api import bp, refuses
from clinic.web.api.schemas import NotificationQuery, NotificationSchema


@bp.route("/notifications", methods=["GET"])
@bp.arguments(NotificationQuery, location="query")
@bp.response(200, NotificationSchema(many=True))
def list_notifications(query: dict[str, Any]):
    """List the notifications of the caller's sites (or one), newest first."""
    return notifications.list_notifications(g.user, query.get("site_id"), query["unacknowledged"])


@bp.route("/notifications/<int:notification_id>/ack", methods=["POST"])
@bp.response(200, NotificationSchema)
@refuses(403)
def acknowledge_notification(notification_id: int):
    """Acknowledge a notification (nurse, practitioner); again changes nothing."""
    return notifications.acknowledge(g.user, notification_id, now=utcnow())
