"""Front desk: the day board, booking, and the visit page."""

from flask import Blueprint
from flask_login import login_required

bp = Blueprint("frontdesk", __name__)


@bp.route("/")
@login_required
def board():
    """Show the day board."""
    return "board"
