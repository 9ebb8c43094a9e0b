"""Leader election: only the holder of the lock schedules; the others wait on standby.

PostgreSQL: a session advisory lock on a dedicated connection, released by the server the
moment that connection (or the process) dies. SQLite: an exclusive OS file lock on a file
beside the database file, released by the kernel when the process dies.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.pool import NullPool

log = logging.getLogger(__name__)

# pg_try_advisory_lock key: any constant shared by every scheduler of one database.
ADVISORY_LOCK_KEY = 7_461_034_001
# Notice a dead network path to PostgreSQL within seconds, not the kernel's two hours.
PG_CONNECT_ARGS = {
    "connect_timeout": 5,
    "keepalives": 1,
    "keepalives_idle": 5,
    "keepalives_interval": 2,
    "keepalives_count": 2,
    "tcp_user_timeout": 10_000,
    "options": "-c statement_timeout=5000",
}


class PostgresLeaderLock:
    """The advisory lock, held by one connection kept open for the leader's lifetime."""

    def __init__(self, url: str) -> None:
        self._engine = sa.create_engine(
            url, poolclass=NullPool, isolation_level="AUTOCOMMIT", connect_args=PG_CONNECT_ARGS
        )
        self._conn: Connection | None = None

    def acquire(self) -> bool:
        """Try to take the lock without waiting; tell whether this process now leads."""
        try:
            conn = self._engine.connect()
        except sa.exc.SQLAlchemyError as error:
            log.warning("cannot reach the database for the leader lock: %s", type(error).__name__)
            return False
        try:
            got = conn.execute(
                sa.text("SELECT pg_try_advisory_lock(:key)"), {"key": ADVISORY_LOCK_KEY}
            ).scalar()
        except sa.exc.SQLAlchemyError:
            conn.close()
            return False
        if got:
            self._conn = conn
            return True
        conn.close()
        return False

    def alive(self) -> bool:
        """Tell whether the lock connection still answers (the lock lives as long as it)."""
        if self._conn is None:
            return False
        try:
            self._conn.execute(sa.text("SELECT 1"))
        except sa.exc.SQLAlchemyError:
            return False
        return True

    def release(self) -> None:
        """Give the lock up (closing the connection releases it even if the unlock fails)."""
        if self._conn is not None:
            # A dead connection cannot unlock, and need not: the server released it.
            with contextlib.suppress(sa.exc.SQLAlchemyError):
                self._conn.execute(
                    sa.text("SELECT pg_advisory_unlock(:key)"), {"key": ADVISORY_LOCK_KEY}
                )
            with contextlib.suppress(Exception):
                self._conn.close()
            self._conn = None
        self._engine.dispose()


class FileLeaderLock:
    """An exclusive flock on a file beside the SQLite database."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def acquire(self) -> bool:
        """Try to take the lock without waiting; tell whether this process now leads."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return False
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd
        return True

    def alive(self) -> bool:
        """Tell whether the lock is held (a file lock cannot be lost while the file is open)."""
        return self._fd is not None

    def release(self) -> None:
        """Give the lock up."""
        if self._fd is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


LeaderLock = PostgresLeaderLock | FileLeaderLock


def lock_for(database_url: str, instance_path: str) -> LeaderLock:
    """Return the leader lock that suits the database."""
    url = make_url(database_url)
    if url.get_backend_name() == "postgresql":
        return PostgresLeaderLock(database_url)
    database = url.database or ""
    if database and database != ":memory:" and not database.startswith("file:"):
        return FileLeaderLock(Path(database + ".scheduler-lock"))
    return FileLeaderLock(Path(instance_path) / "scheduler.lock")
