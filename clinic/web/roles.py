"""Role checks for the pages."""

from functools import wraps

from flask import abort
from flask_login import current_user, login_required

from clinic.services.access import can


def role_required(action: str):
    """Require a signed-in user whose role allows the action (403 otherwise)."""

    def decorate(view):
        @wraps(view)
        @login_required
        def wrapper(*args, **kwargs):
            if not can(current_user, action):
                abort(403)
            return view(*args, **kwargs)

        return wrapper

    return decorate
