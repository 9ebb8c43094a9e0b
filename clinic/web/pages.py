"""Small helpers the site-scoped pages share: reading ids, the visible sites, the chosen site."""

from __future__ import annotations

from flask import abort, make_response, render_template, request
from flask_login import current_user

from clinic.domain.ids import MAX_ID, is_digits
from clinic.models import Site
from clinic.services import access
from clinic.services import frontdesk as desk
from clinic.services.errors import Invalid


def parse_id(raw: str | None) -> int | None:
    """Read a positive id from a query value; None when absent or not an id."""
    raw = (raw or "").strip()
    return int(raw) if is_digits(raw) and 0 < int(raw) <= MAX_ID else None


def query_id(name: str) -> int | None:
    """Read an optional id from the query string for a JSON answer; a bad one is a 422."""
    raw = request.args.get(name, "")
    if raw == "":
        return None
    value = parse_id(raw)
    if value is None:
        raise Invalid(f"{name} is not an id.", {name: [f"Must be between 1 and {MAX_ID}."]})
    return value


def visible_sites() -> list[Site]:
    """Return the sites the user may see; with none, stop with the page that says so."""
    sites = desk.visible_sites(current_user)
    if not sites:
        abort(make_response(render_template("frontdesk/no_site.html")))
    return sites


def chosen_site(sites: list[Site]) -> Site | None:
    """Return the site named by ?site_id= (404 if it is not the user's), or the first one."""
    raw = request.args.get("site_id")
    if raw:
        site_id = parse_id(raw)
        if site_id is None:
            abort(404)
        return access.get_site(current_user, site_id)
    return sites[0] if sites else None
