"""API tokens: the caller's own, or (administrators) any user's — list and revoke."""

from __future__ import annotations

from typing import Any

from flask import g

from clinic.domain.ids import MAX_ID
from clinic.services import access, staff, tokens
from clinic.services.errors import Forbidden
from clinic.types import utcnow
from clinic.web.api import bp, refuses
from clinic.web.api.schemas import TokenQuery, TokenSchema


@bp.route("/tokens", methods=["GET"])
@bp.arguments(TokenQuery, location="query")
@bp.response(200, TokenSchema(many=True))
@refuses(403)
def list_tokens(query: dict[str, Any]):
    """List the caller's tokens; an administrator may name another user (?user_id=)."""
    user_id = query.get("user_id")
    user = g.user
    if user_id is not None and user_id != g.user.id:
        if not access.can(g.user, "administer"):
            raise Forbidden("Only an administrator may list another user's tokens.")
        user = staff.get_user(user_id)
    return tokens.list_for(user)


@bp.route(f"/tokens/<int(max={MAX_ID}):token_id>", methods=["DELETE"])
@bp.response(200, TokenSchema)
def revoke_token(token_id: int):
    """Revoke a token of the caller's (an administrator: anyone's); answers the token."""
    return tokens.revoke(g.user, tokens.get_for(g.user, token_id), utcnow())
