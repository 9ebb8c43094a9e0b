"""Patients: search, demographics, clearances."""

from flask import Blueprint, render_template
from flask_login import login_required

bp = Blueprint("patients", __name__)


@bp.route("/patients")
@login_required
def index():
    """List the patients of the user's sites."""
    return render_template("patients/index.html", patients=[])
