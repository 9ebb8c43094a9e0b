"""Health: is the database reachable, is the scheduler alive (no authentication)."""

from flask import current_app
from sqlalchemy import text

from clinic.extensions import db
from clinic.services.heartbeat import scheduler_status
from clinic.types import utcnow
from clinic.web.api import bp
from clinic.web.api.schemas import HealthSchema


@bp.route("/healthz", methods=["GET"])
@bp.doc(security=[])
@bp.response(200, HealthSchema)
@bp.alt_response(503, schema=HealthSchema, description="The database does not answer.")
def healthz():
    """Report the database and the scheduler's heartbeat."""
    alive, last_heartbeat = False, None
    try:
        db.session.execute(text("SELECT 1"))
        database = "ok"
        stale_after = current_app.config.get("SCHEDULER_HEARTBEAT_STALE_SECONDS", 60)
        alive, last_heartbeat = scheduler_status(utcnow(), stale_after)
    except Exception:
        db.session.rollback()
        database = "unavailable"
    body = {"database": database, "scheduler": {"alive": alive, "last_heartbeat": last_heartbeat}}
    return body, 200 if database == "ok" else 503
