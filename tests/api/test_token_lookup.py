"""The bearer-token look-up: one statement brings the user and every one of their sites; a
token read less than CHECK_TTL ago is served from the process's memory, never once expired,
and a revocation holds within that time (at once in the process that revoked)."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from clinic.extensions import db
from clinic.models import ApiToken, Site, User
from clinic.services import staff, tokens
from clinic.services.tokens import CHECK_TTL, user_for_token
from clinic.types import utcnow
from tests.api.conftest import iso, rules
from tests.conftest import MONDAY, NOW, chicago, issue_token, statements_of


def test_a_token_brings_its_user_with_all_their_sites_in_one_statement(make_site, make_user):
    sites = [make_site(name=name) for name in ("Austin", "Dallas", "Waco")]
    token = issue_token(make_user("nurse", sites))
    ids = sorted(site.id for site in sites)
    user_for_token(
        token, utcnow()
    )  # the first use writes last_used_at; the steady state is measured
    tokens.forget_checked()  # the read itself, not the process's memory of it
    user, statements = statements_of(lambda: user_for_token(token, utcnow()))
    assert isinstance(user, User) and user.site_ids == ids
    assert len([s for s in statements if s.lstrip().upper().startswith("SELECT")]) == 1


def test_a_revoked_token_or_a_disabled_user_finds_nobody(make_user, clinic):
    user = make_user("nurse", [clinic.site])
    token = issue_token(user)
    assert user_for_token(token, utcnow()) == user
    user.active = False
    db.session.commit()
    assert user_for_token(token, utcnow()) is None
    assert user_for_token("", utcnow()) is None and user_for_token("x" * 201, utcnow()) is None


def revoke_elsewhere(token: str) -> None:
    """Revoke a token as another process would: this process's memory is not told."""
    db.session.execute(
        sa.update(ApiToken)
        .where(ApiToken.digest == tokens.digest(token))
        .values(revoked_at=NOW, revoked_reason="revoked")
    )
    db.session.commit()


def test_a_token_read_a_moment_ago_reads_only_its_user(make_site, make_user):
    sites = [make_site(name=name) for name in ("Austin", "Dallas")]
    token = issue_token(make_user("nurse", sites))
    user_for_token(token, NOW, "10.0.0.1")
    user, statements = statements_of(lambda: user_for_token(token, NOW + timedelta(seconds=1)))
    # The token is not read again; the user and their sites are, as they are now.
    assert len(statements) == 1 and "api_token" not in statements[0]
    # The user is the session's own, with their sites; lazy attributes still load.
    assert isinstance(user, User) and user in db.session
    assert user.site_ids == sorted(site.id for site in sites) and user.role == "nurse"
    assert user.active is True


def test_a_token_revoked_elsewhere_stops_within_the_cache_lifetime(make_user, clinic):
    token = issue_token(make_user("nurse", [clinic.site]))
    assert user_for_token(token, NOW) is not None
    revoke_elsewhere(token)
    almost = NOW + CHECK_TTL - timedelta(milliseconds=1)
    assert statements_of(lambda: user_for_token(token, almost))[0] is not None
    assert statements_of(lambda: user_for_token(token, NOW + CHECK_TTL))[0] is None
    # Refused once, it is read every time from then on.
    assert statements_of(lambda: user_for_token(token, NOW + CHECK_TTL))[0] is None


def test_a_token_revoked_in_this_process_stops_at_once(make_user, clinic):
    user = make_user("nurse", [clinic.site])
    row, token = tokens.issue(user, NOW)
    assert user_for_token(token, NOW) is not None
    tokens.revoke(user, row, NOW)
    assert statements_of(lambda: user_for_token(token, NOW + timedelta(seconds=1)))[0] is None


def test_an_expired_token_is_never_served_from_memory(make_user, clinic):
    user = make_user("nurse", [clinic.site])
    _row, token = tokens.issue(user, NOW - timedelta(days=1), days=1)  # expires at NOW
    before = NOW - timedelta(seconds=2)
    assert user_for_token(token, before) is not None
    kept = statements_of(lambda: user_for_token(token, before + timedelta(seconds=1)))[1]
    assert len(kept) == 1 and "api_token" not in kept[0]
    assert statements_of(lambda: user_for_token(token, NOW))[0] is None


def test_a_use_from_another_address_or_a_minute_on_is_read_and_noted(make_user, clinic):
    user = make_user("nurse", [clinic.site])
    row, token = tokens.issue(user, NOW)
    user_for_token(token, NOW, "10.0.0.1")
    found, statements = statements_of(
        lambda: user_for_token(token, NOW + timedelta(seconds=1), "10.0.0.2")
    )
    assert found is not None and statements
    assert db.session.get(ApiToken, row.id).last_used_ip == "10.0.0.2"


def test_a_user_taken_off_a_site_loses_it_at_once_in_this_process(make_site, make_user, clinic):
    dallas = make_site(name="Dallas")
    user = make_user("nurse", [clinic.site, dallas])
    token = issue_token(user)
    site_ids = sorted([clinic.site.id, dallas.id])
    assert user_for_token(token, NOW).site_ids == site_ids
    assert statements_of(lambda: user_for_token(token, NOW).site_ids)[0] == site_ids
    staff.update_user(db.session.get(User, user.id), {"site_ids": [clinic.site.id]}, now=NOW)
    seen, statements = statements_of(lambda: user_for_token(token, NOW).site_ids)
    assert seen == [clinic.site.id] and statements


def test_a_site_setting_changed_is_seen_by_the_next_token_request(api_as, clinic):
    """The process keeps a token's check, never its user's site rows: the very next request
    reads the site's settings as they are now, and a booking is checked against them (on
    SQLite the booking's write lock happens to refresh the site; on PostgreSQL it does not)."""
    api = api_as(clinic.clerk)
    start = iso(chicago(MONDAY + timedelta(days=1), 8))
    booked = api.post("/visits", json={"patient_id": clinic.patient.id, "infusion_start": start})
    assert booked.status_code == 201  # the token is now checked and kept
    second, site_id = clinic.new_patient().id, clinic.site.id
    db.session.execute(sa.update(Site).where(Site.id == site_id).values(nurse_ratio=1))
    db.session.commit()
    db.session.expunge_all()  # as each request starts
    assert api.get(f"/sites/{site_id}").get_json()["nurse_ratio"] == 1
    db.session.expunge_all()
    refused = api.post("/visits", json={"patient_id": second, "infusion_start": start})
    assert rules(refused) == ["nurse_capacity"]


def test_a_revocation_is_forgotten_when_it_commits_not_before(make_user, clinic):
    """Forgotten before the commit, another request could read the old state and keep it."""
    user = make_user("nurse", [clinic.site])
    token = issue_token(user)
    user_for_token(token, NOW)
    tokens.revoke_all(user.id, NOW, "role")
    assert tokens._checked()  # not committed yet: the kept check still tells the truth
    db.session.commit()
    assert not tokens._checked()
    tokens.revoke_all(user.id, NOW, "role")  # nothing left to revoke: nothing to forget
    user_for_token(issue_token(user), NOW)
    row, _token = tokens.issue(user, NOW)
    tokens.revoke(user, row, NOW)  # commits, then forgets
    assert not tokens._checked()
