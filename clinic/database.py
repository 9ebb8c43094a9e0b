"""Database session rules: SQLite pragmas, and the one place SQLite's write lock is taken.

SQLite has one writer at a time. A transaction that begins with a plain (deferred) BEGIN,
reads, and then writes cannot wait for that lock: when another connection has committed
meanwhile, SQLite answers "database is locked" at once. So every writing transaction begins
with BEGIN IMMEDIATE, which waits (up to the busy timeout) for the lock before reading. The
rule lives in `_sqlite_on_begin` below: a request with a method that changes state (POST,
PUT, PATCH, DELETE) writes; anything else that writes (a GET's audit row, the scheduler,
the CLI) says so with `begin_write()`. A database still busy after the timeout answers 503
(clinic/web/errors.py), never 500.
"""

import os
import sqlite3
from collections import namedtuple
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from select import POLLIN, poll
from typing import Any

from flask import Flask, has_request_context, request
from sqlalchemy import Select, event, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, DisconnectionError, OperationalError
from sqlalchemy.pool import Pool
from sqlalchemy.util import LRUCache

from clinic.extensions import db

SQLITE_BUSY_TIMEOUT_MS = 30_000
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# connection.info: this SQLite transaction began IMMEDIATE (it holds the write lock).
WRITE_LOCKED = "sqlite_write_locked"


@event.listens_for(Engine, "connect")
def _sqlite_on_connect(dbapi_connection, _record) -> None:
    """Let SQLAlchemy issue BEGIN itself, wait on locks, use WAL and enforce foreign keys."""
    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA journal_mode = WAL")
    cursor.execute("PRAGMA synchronous = NORMAL")
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.close()


@event.listens_for(Pool, "checkout")
def _replace_closed(dbapi_connection, _record, _proxy) -> None:
    """Hand out no PostgreSQL connection the server has closed; the pool takes another.

    Instead of a ping (a round trip per checkout): an idle connection has nothing to read,
    so input waiting on its socket is the server's goodbye (a restart, a terminated backend,
    an idle timeout) or its end of file. Either way the connection is dropped.
    """
    pgconn = getattr(dbapi_connection, "pgconn", None)
    if pgconn is None:
        return
    if pgconn.status != 0:  # CONNECTION_OK
        raise DisconnectionError("the connection is broken")
    poller = poll()
    poller.register(pgconn.socket, POLLIN)
    if poller.poll(0):
        raise DisconnectionError("the server closed the connection")


@event.listens_for(Engine, "begin")
def _sqlite_on_begin(connection) -> None:
    """Begin SQLite transactions; IMMEDIATE for every transaction that will write."""
    if connection.dialect.name != "sqlite":
        return
    writes = _writes(connection)
    connection.info[WRITE_LOCKED] = writes
    connection.exec_driver_sql("BEGIN IMMEDIATE" if writes else "BEGIN")


def _writes(connection) -> bool:
    """Tell whether the transaction about to begin will write."""
    if connection.get_execution_options().get("sqlite_immediate", False):
        return True
    return has_request_context() and request.method not in SAFE_METHODS


def begin_write() -> None:
    """Start a transaction that will write; on SQLite it takes the write lock up front.

    What the session holds is committed first, so call it before reading what to change.
    """
    session = db.session()
    session.commit()
    if session.get_bind().dialect.name == "sqlite":
        session.connection(execution_options={"sqlite_immediate": True})


def is_busy(error: BaseException) -> bool:
    """Tell whether an error is SQLite's "database is locked" (busy past the timeout)."""
    if not isinstance(error, OperationalError):
        return False
    original = getattr(error, "orig", None)
    return isinstance(original, sqlite3.OperationalError) and "locked" in str(original).lower()


def init_app(app: Flask) -> None:
    """Create the instance folder that holds the default SQLite database."""
    os.makedirs(app.instance_path, exist_ok=True)


def lock_site_for_writing(site_id: int, seen: int | None = None) -> bool:
    """Serialise check-and-write at one site (bookings, events, readings) for this transaction.

    PostgreSQL: lock the site row (SELECT ... FOR UPDATE). SQLite: restart the transaction
    as BEGIN IMMEDIATE, which takes the single write lock up front instead of failing with
    "database is locked" when a read transaction later tries to write; a transaction that
    began so (a request that writes) holds it already and goes on.

    Return whether what this transaction read before may be stale: on PostgreSQL, unless
    the site's board version under the lock is still `seen`; on SQLite, when the lock was
    taken now (the restart expired it all).
    """
    from clinic.models import Site

    if db.session.get_bind().dialect.name == "sqlite":
        if db.session.connection().info.get(WRITE_LOCKED):
            return False
        begin_write()
        return True
    lock = select(Site.board_version).where(Site.id == site_id).with_for_update()
    return db.session.scalar(lock) != seen or seen is None


# A SELECT, or a SELECT and the values of its named parameters (`bindparam`).
Read = Select[Any] | tuple[Select[Any], Mapping[str, Any]]


def fetch_together(*reads: Read) -> list[list[Any]]:
    """Run SELECTs in the session's transaction and return each one's rows (read by name).

    PostgreSQL: all in one round trip, a psycopg pipeline of the statements as SQLAlchemy
    compiles them, their parameters and results converted by their column types as the
    session would. Each statement is compiled once per shape, as SQLAlchemy's own compiled
    cache does it (`_prepare`); a statement built once with named parameters costs no
    more than their values. Elsewhere: one after another, through the session.
    """
    session = db.session()
    connection = session.connection()
    dialect = connection.dialect
    statements = [read if isinstance(read, tuple) else (read, None) for read in reads]
    if dialect.name != "postgresql":
        return [list(session.execute(stmt, params)) for stmt, params in statements]
    if session.autoflush:  # as the session's own reads do: they see its pending changes
        session.flush()
    prepared = [(*_prepare(stmt, dialect), params) for stmt, params in statements]
    driver = connection.connection.driver_connection
    cursors = []
    try:
        with driver.pipeline():
            for entry, extracted, params in prepared:
                cursor = driver.cursor()
                cursor.execute(*_sql(entry.compiled, extracted, params))
                cursors.append(cursor)
    except dialect.loaded_dbapi.Error as error:  # raised as SQLAlchemy raises it
        raise DBAPIError.instance(None, None, error, dialect.loaded_dbapi.Error) from error
    return [
        entry.rows(cursor.fetchall()) for (entry, *_), cursor in zip(prepared, cursors, strict=True)
    ]


@dataclass(frozen=True)
class _Prepared:
    """A statement compiled for a dialect, with what turns its driver rows into named rows."""

    compiled: Any
    row: Callable[..., Any]
    processors: tuple[Callable[[Any], Any] | None, ...]

    def rows(self, rows: list[tuple[Any, ...]]) -> list[Any]:
        """Return driver rows as named rows, each value converted by its column's type."""
        row, processors = self.row, self.processors
        if not any(processors):
            return [row(*values) for values in rows]
        return [
            row(*[p(v) if p else v for p, v in zip(processors, values, strict=True)])
            for values in rows
        ]


# (dialect, a statement's cache key) -> the statement prepared; bounded, as SQLAlchemy's is.
_PREPARED: LRUCache[Any, _Prepared] = LRUCache(500)


def _prepare(stmt: Select[Any], dialect: Any) -> tuple[_Prepared, Sequence[Any] | None]:
    """Return a statement prepared for a dialect and its bound parameters as extracted.

    SQLAlchemy's cache key names a statement's shape, not its values: statements that
    differ only in their bound values share one compiled form (an IN list's values too,
    expanded at execution, `_sql`), as the engine's compiled cache shares it.
    """
    key = stmt._generate_cache_key()
    if key is None:  # a statement SQLAlchemy cannot cache: compiled each time
        return _prepared(stmt, stmt.compile(dialect=dialect)), None
    prepared = _PREPARED.get((dialect, key.key))
    if prepared is None:
        prepared = _prepared(stmt, stmt.compile(dialect=dialect, cache_key=key))
        _PREPARED[(dialect, key.key)] = prepared
    return prepared, key.bindparams


def _prepared(stmt: Select[Any], compiled: Any) -> _Prepared:
    columns = list(stmt.selected_columns)
    return _Prepared(
        compiled,
        namedtuple("Row", [column.key for column in columns], rename=True),  # type: ignore[misc]
        tuple(column.type.result_processor(compiled.dialect, None) for column in columns),
    )


def _sql(
    compiled: Any, extracted: Sequence[Any] | None, values: Mapping[str, Any] | None
) -> tuple[str, dict[str, Any]]:
    """Return a compiled statement's SQL and its parameters (`values` by name, the others as
    extracted) as its column types send them, IN lists expanded (as SQLAlchemy's execution
    context does)."""
    params = compiled.construct_params(values, extracted_parameters=extracted, escape_names=False)
    sql, processors = compiled.string, compiled._bind_processors
    if compiled.literal_execute_params or compiled.post_compile_params:
        expanded = compiled._process_parameters_for_postcompile(params)
        sql, processors = expanded.statement, {**processors, **expanded.processors}
    escaped = compiled.escaped_bind_names or {}
    return sql, {
        escaped.get(name, name): processors[name](value) if name in processors else value
        for name, value in params.items()
    }
