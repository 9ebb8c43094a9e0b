"""The yardstick: a minimal Flask + SQLAlchemy app that does one INSERT per request.

bench/booking_throughput.py serves it through the same gunicorn (the project's
gunicorn.conf.py, the same workers), the same clients and the same PostgreSQL database as
the booking storm, so `bookings/s / yardstick INSERTs/s` says how close a booking comes to
the least a write through this stack costs. POST /yardstick/visits takes the booking's
JSON body and inserts it as a row (INSERT ... RETURNING id, COMMIT); GET /healthz answers.

    DATABASE_URL=... gunicorn 'bench.yardstick:app'      (create_table(url) first)
"""

from __future__ import annotations

import os
from datetime import datetime

import sqlalchemy as sa
from flask import Flask, jsonify, request
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    """The yardstick's own metadata (none of the app's tables)."""


db = SQLAlchemy(model_class=Base)


class Row(db.Model):  # type: ignore[name-defined,misc]
    """One request's insert."""

    __tablename__ = "bench_yardstick"

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int]
    chair_id: Mapped[int]
    infusion_start: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))


def create_app(url: str | None = None) -> Flask:
    """Return the yardstick app on DATABASE_URL (or `url`)."""
    app = Flask(__name__)
    app.config["SQLALCHEMY_DATABASE_URI"] = url or os.environ["DATABASE_URL"]
    db.init_app(app)

    @app.get("/healthz")
    def healthz():
        return {"status": "ok"}

    @app.post("/yardstick/visits")
    def insert():
        body = request.get_json()
        row = Row(
            patient_id=body["patient_id"],
            chair_id=body["chair_id"],
            infusion_start=datetime.fromisoformat(body["infusion_start"]),
        )
        db.session.add(row)
        db.session.flush()  # INSERT ... RETURNING id
        answer = {"id": row.id, **body}
        db.session.commit()
        return jsonify(answer), 201

    return app


def create_table(url: str) -> None:
    """Create the yardstick's table in a database (before gunicorn's workers start)."""
    engine = sa.create_engine(url)
    Base.metadata.create_all(engine)
    engine.dispose()


app = create_app() if "DATABASE_URL" in os.environ else None
