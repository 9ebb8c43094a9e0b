"""The bearer-token look-up: one statement brings the user and every one of their sites."""

from __future__ import annotations

from sqlalchemy import event

from clinic.extensions import db
from clinic.services.tokens import user_for_token
from clinic.types import utcnow
from tests.conftest import issue_token


def test_a_token_brings_its_user_with_all_their_sites_in_one_statement(make_site, make_user):
    sites = [make_site(name=name) for name in ("Austin", "Dallas", "Waco")]
    token = issue_token(make_user("nurse", sites))
    ids = sorted(site.id for site in sites)
    user_for_token(
        token, utcnow()
    )  # the first use writes last_used_at; the steady state is measured
    db.session.expunge_all()
    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        user = user_for_token(token, utcnow())
        assert user is not None and user.site_ids == ids
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert len([s for s in statements if s.lstrip().upper().startswith("SELECT")]) == 1


def test_a_revoked_token_or_a_disabled_user_finds_nobody(make_user, clinic):
    user = make_user("nurse", [clinic.site])
    token = issue_token(user)
    assert user_for_token(token, utcnow()) == user
    user.active = False
    db.session.commit()
    assert user_for_token(token, utcnow()) is None
    assert user_for_token("", utcnow()) is None and user_for_token("x" * 201, utcnow()) is None
