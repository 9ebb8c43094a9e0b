"""Health: is the database reachable, is the scheduler alive (no authentication)."""

from flask import jsonify
from sqlalchemy import text

from clinic.extensions import db
from clinic.web.api import bp


@bp.get("/healthz")
def healthz():
    """Report the database and the scheduler's heartbeat."""
    try:
        db.session.execute(text("SELECT 1"))
        database = "ok"
    except Exception:
        db.session.rollback()
        database = "unavailable"
    body = {"database": database, "scheduler": {"alive": False, "last_heartbeat": None}}
    return jsonify(body), 200 if database == "ok" else 503
