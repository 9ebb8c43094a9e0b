"""Database session rules: SQLite pragmas and the write lock around a booking."""

import os
import sqlite3

from flask import Flask
from sqlalchemy import event, select
from sqlalchemy.engine import Engine

from clinic.extensions import db

SQLITE_BUSY_TIMEOUT_MS = 30_000


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


@event.listens_for(Engine, "begin")
def _sqlite_on_begin(connection) -> None:
    """Begin SQLite transactions; IMMEDIATE when the caller is about to check and write."""
    if connection.dialect.name != "sqlite":
        return
    immediate = connection.get_execution_options().get("sqlite_immediate", False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def init_app(app: Flask) -> None:
    """Create the instance folder that holds the default SQLite database."""
    os.makedirs(app.instance_path, exist_ok=True)


def lock_site_for_writing(site_id: int) -> None:
    """Serialise check-and-write at one site (bookings, events, readings) for this transaction.

    PostgreSQL: lock the site row (SELECT ... FOR UPDATE). SQLite: restart the transaction
    as BEGIN IMMEDIATE, which takes the single write lock up front instead of failing with
    "database is locked" when a read transaction later tries to write.
    """
    from clinic.models import Site

    session = db.session
    if session.get_bind().dialect.name == "sqlite":
        session.commit()
        session.connection(execution_options={"sqlite_immediate": True})
    else:
        session.execute(select(Site.id).where(Site.id == site_id).with_for_update())


def is_postgres() -> bool:
    """Tell whether the app runs on PostgreSQL."""
    return db.session.get_bind().dialect.name == "postgresql"
