"""API tokens: the caller's own, or (administrators) any user's — list and revoke."""

from __future__ import annotations

from typing import Any

from flask import g, jsonify

from clinic.domain.ids import MAX_ID
from clinic.models import ApiToken
from clinic.services import access, staff, tokens
from clinic.services.errors import Forbidden
from clinic.types import utcnow
from clinic.web.api import bp
from clinic.web.api.parsing import query_int
from clinic.web.api.serialize import instant


def token_json(row: ApiToken) -> dict[str, Any]:
    """Return a token as the API shows it (never the token itself: only its digest is kept)."""
    return {
        "id": row.id,
        "user_id": row.user_id,
        "name": row.name,
        "created_at": instant(row.created_at),
        "expires_at": instant(row.expires_at),
        "last_used_at": instant(row.last_used_at),
        "revoked_at": instant(row.revoked_at),
        "status": row.status(utcnow()),
    }


@bp.get("/tokens")
def list_tokens():
    """List the caller's tokens; an administrator may name another user (?user_id=)."""
    user_id = query_int("user_id", high=MAX_ID)
    user = g.user
    if user_id is not None and user_id != g.user.id:
        if not access.can(g.user, "administer"):
            raise Forbidden("Only an administrator may list another user's tokens.")
        user = staff.get_user(user_id)
    return jsonify([token_json(row) for row in tokens.list_for(user)])


@bp.delete(f"/tokens/<int(max={MAX_ID}):token_id>")
def revoke_token(token_id: int):
    """Revoke a token of the caller's (an administrator: anyone's); answers the token."""
    row = tokens.get_for(g.user, token_id)
    return jsonify(token_json(tokens.revoke(g.user, row, utcnow())))
