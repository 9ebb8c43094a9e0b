"""Fixtures for race tests: a fresh database of each kind, served by real gunicorn workers."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from tests.concurrency.harness import postgres_database, require_env


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request, tmp_path) -> Iterator[str]:
    """An empty database: a SQLite file, or a PostgreSQL database dropped afterwards."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'race.db'}"
        return
    try:
        with postgres_database() as url:
            yield url
    except sa.exc.OperationalError as error:
        if require_env("REQUIRE_POSTGRES"):
            pytest.fail(f"PostgreSQL is mandatory here but unreachable: {error}")
        pytest.skip("PostgreSQL is not reachable (set REQUIRE_POSTGRES=1 to make this fail)")
