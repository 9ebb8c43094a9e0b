"""Seed many always-open sites quickly for the benchmarks that go through gunicorn.

The schema comes from the migrations (`flask db upgrade`), each site from the app's own
`save_site` (with its default treatment type); chairs, staff, shifts, patients, clearances
and API tokens are bulk inserts, so 200 sites take seconds, not minutes.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from common import ROOT  # noqa: F401  (puts the repository on sys.path)

ALL_DAY = {day: ["00:00", "24:00"] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}


@dataclass
class SeededSite:
    """What a benchmark needs of one site: ids and bearer tokens."""

    id: int
    chair_ids: list[int]
    patient_ids: list[int]
    desk_tokens: list[str] = field(default_factory=list)  # front desk
    tablet_tokens: list[str] = field(default_factory=list)  # a nurse's, one per tablet


def seed_sites(
    db_url: str,
    *,
    sites: int,
    chairs: int = 12,
    patients: int = 32,
    days: int = 30,
    desks: int = 1,
    tablets: int = 0,
) -> list[SeededSite]:
    """Migrate an empty database and fill it; staff on shift from yesterday for `days` days."""
    from sqlalchemy import insert, select

    from clinic import create_app
    from clinic.extensions import db
    from clinic.models import ApiToken, Chair, Clearance, Patient, Shift, User, user_sites
    from clinic.services.setup import save_site
    from clinic.services.tokens import digest
    from clinic.types import utcnow
    from config import TestConfig
    from tests.concurrency.harness import flask_cli

    flask_cli(db_url, "db", "upgrade")
    now = utcnow()
    today = now.date()
    midnight = datetime(today.year, today.month, today.day, tzinfo=now.tzinfo)
    nurses = max(1, -(-chairs // 4))  # nurse ratio 4: every chair can be busy at once
    app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=db_url)
    with app.app_context():
        site_ids = [
            save_site(
                None,
                {
                    "name": f"Bench {n + 1}",
                    "opening_hours": ALL_DAY,
                    "nurse_ratio": 4,
                    "min_hours_between_infusions": 0,
                },
                now=now,
            ).id
            for n in range(sites)
        ]
        db.session.execute(
            insert(Chair),
            [{"site_id": s, "name": f"Chair {c + 1}"} for s in site_ids for c in range(chairs)],
        )
        roles = ["nurse"] * nurses + ["practitioner"] + ["front_desk"] * desks
        db.session.execute(
            insert(User),
            [
                {
                    "email": f"{role}{k}.site{s}@bench.test",
                    "name": f"{role} {k}",
                    "role": role,
                    "active": True,
                    "created_at": now,
                }
                for s in site_ids
                for k, role in enumerate(roles)
            ],
        )
        users = db.session.execute(select(User.id, User.email, User.role)).all()
        site_of = {u.id: int(u.email.split(".site")[1].split("@")[0]) for u in users}
        db.session.execute(
            insert(user_sites), [{"user_id": u.id, "site_id": site_of[u.id]} for u in users]
        )
        on_duty = [u for u in users if u.role in ("nurse", "practitioner")]
        db.session.execute(
            insert(Shift),
            [
                {
                    "site_id": site_of[u.id],
                    "user_id": u.id,
                    "role": u.role,
                    "starts_at": midnight + timedelta(days=d - 1),
                    "ends_at": midnight + timedelta(days=d),
                }
                for u in on_duty
                for d in range(days + 2)
            ],
        )
        db.session.execute(
            insert(Patient),
            [
                {
                    "site_id": s,
                    "mrn": f"B{s:04d}-{p:05d}",
                    "given_name": "Pat",
                    "family_name": f"Bench{p}",
                    "birth_date": date(1980, 1, 1),
                    "escort_name": "Escort",
                    "created_at": now,
                    "updated_at": now,
                }
                for s in site_ids
                for p in range(patients)
            ],
        )
        practitioner = {site_of[u.id]: u.id for u in users if u.role == "practitioner"}
        patient_rows = db.session.execute(select(Patient.id, Patient.site_id)).all()
        db.session.execute(
            insert(Clearance),
            [
                {
                    "patient_id": p.id,
                    "evaluated_on": today - timedelta(days=7),
                    "valid_until": today + timedelta(days=days + 30),
                    "cleared": True,
                    "consent_signed": True,
                    "contraindications": [],
                    "notes": "",
                    "practitioner_id": practitioner[p.site_id],
                    "created_at": now,
                }
                for p in patient_rows
            ],
        )
        seeded = {s: SeededSite(s, [], []) for s in site_ids}
        for chair_id, site_id in db.session.execute(
            select(Chair.id, Chair.site_id).order_by(Chair.id)
        ):
            seeded[site_id].chair_ids.append(chair_id)
        for p in sorted(patient_rows):
            seeded[p.site_id].patient_ids.append(p.id)
        tokens = []
        for u in users:
            site = seeded[site_of[u.id]]
            if u.role == "front_desk":
                mine, count = site.desk_tokens, 1
            elif u.email.startswith("nurse0."):
                mine, count = site.tablet_tokens, tablets
            else:
                continue
            for _ in range(count):
                mine.append(secrets.token_urlsafe(32))
                tokens.append(
                    {
                        "user_id": u.id,
                        "digest": digest(mine[-1]),
                        "name": "bench",
                        "created_at": now,
                        "expires_at": now + timedelta(days=30),
                    }
                )
        if tokens:
            db.session.execute(insert(ApiToken), tokens)
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    return [seeded[s] for s in site_ids]
