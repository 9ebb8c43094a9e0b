"""Administration: sites, chairs, shifts and users."""

from flask import Blueprint, render_template

from clinic.web.roles import role_required

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.route("/")
@role_required("administer")
def index():
    """Show the administration overview."""
    return render_template("admin/index.html")
