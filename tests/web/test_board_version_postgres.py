"""The board version on PostgreSQL: a transaction that writes at several sites locks them in
id order and bumps each once; a bulk statement that names none bumps every site once without
locking them all first (a lock every site shares)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from clinic.extensions import db
from clinic.models import Chair, Notification, Site
from tests.conftest import statements_of


@pytest.fixture
def app(pg_app):
    """Every fixture of this module on the PostgreSQL test database."""
    return pg_app


def versions() -> dict[int, int]:
    return dict(db.session.execute(sa.select(Site.id, Site.board_version)).tuples().all())


def test_writes_at_several_sites_and_bulk_writes_bump_each_site_once(make_site, make_chair):
    austin, dallas, waco = (make_site(name=name) for name in ("Austin", "Dallas", "Waco"))
    before = versions()
    db.session.add_all([Chair(site_id=dallas.id, name="D1"), Chair(site_id=austin.id, name="A1")])
    db.session.commit()
    after = versions()
    assert after[austin.id] == before[austin.id] + 1 and after[dallas.id] == before[dallas.id] + 1
    assert after[waco.id] == before[waco.id]
    db.session.execute(sa.update(Notification).values(resolved_reason="gone"))  # names no site
    statements = statements_of(db.session.commit)[1]
    assert versions() == {site: version + 1 for site, version in after.items()}
    assert not [s for s in statements if "FOR" in s.upper() and "sites" in s], statements
