"""The access matrix: every route of the URL map x every role, a user of another site, and
anonymous, checked against a small table of who may do what.

A route missing from EXPECTED fails the test: whoever adds a route classifies it here.
Along the way every answer is checked for the security headers and inline code, and every
GET for writes to the database (no state change on GET).
"""

from __future__ import annotations

import re

import sqlalchemy as sa

from clinic.extensions import db
from clinic.services.access import PERMISSIONS
from tests.conftest import csrf_token
from tests.security.conftest import (
    OTHER_ROLES,
    ROLES,
    WRITABLE_ON_GET,
    Snapshot,
    build_path,
    header_problems,
    page_token,
    routes,
)

ANYONE = "anyone"  # no sign-in needed (the sign-in form, static files, health, wall display)
SIGNED_IN = "signed_in"  # any signed-in user
TO_LOGIN = "to_login"  # everyone is sent to the sign-in form (half-finished sign-in, sign-out)
# The world's API token belongs to the site's nurse: only she (and, OWNER_OR_ADMIN, an
# administrator) may act on it; anyone else is told it does not exist.
OWNER = "token_owner"
OWNER_OR_ADMIN = "token_owner_or_admin"
TOKEN_OWNER = "nurse"
SIGNED = "signed"  # only the SMS gateway's signature opens it: 401 for everyone here
DISPLAY = "display"  # only a wall display's cookie (or the link's token) opens it: 404 here

# endpoint -> (who may use it, whether its URL names an object of one site). "Who" is
# ANYONE, SIGNED_IN, TO_LOGIN or an action of clinic.services.access.PERMISSIONS; a dict
# gives one per method. Objects of a site the user does not work at answer 404.
EXPECTED: dict[str, tuple[str | dict[str, str], bool]] = {
    # public
    "static": (ANYONE, False),
    "bootstrap.static": (ANYONE, False),
    "healthz": (ANYONE, False),
    "api.healthz": (ANYONE, False),
    "api.sms_inbound": (SIGNED, False),
    "confirm.page": (DISPLAY, False),
    "kiosk.page": (DISPLAY, False),
    "api.openapi": (ANYONE, False),
    "api.docs": (ANYONE, False),
    "auth.login": (ANYONE, False),
    "display.link": (ANYONE, False),
    "display.claim": (DISPLAY, False),
    "display.wall": (DISPLAY, False),
    "display.feed": (DISPLAY, False),
    "calendar_feeds.feed": (DISPLAY, False),  # a feed's token opens it (the world's is a link's)
    # signing in and out, own account
    "auth.two_factor": (TO_LOGIN, False),
    "auth.enrol": (TO_LOGIN, False),
    "auth.logout": (TO_LOGIN, False),
    "auth.security": (SIGNED_IN, False),
    "auth.change_password": (SIGNED_IN, False),
    "auth.setup_two_factor": (SIGNED_IN, False),
    "auth.confirm_two_factor": (SIGNED_IN, False),
    "auth.disable_two_factor": (SIGNED_IN, False),
    "auth.revoke_token": (OWNER, False),
    "calendar_feeds.create": (SIGNED_IN, False),  # one's own feed; an admin's: a site's too
    "calendar_feeds.revoke": (OWNER_OR_ADMIN, False),  # the nurse's feed
    # front desk
    "frontdesk.board": ("read", False),
    "frontdesk.print_day": ("read", False),
    "frontdesk.book": ("book", False),
    "frontdesk.book_slots": ("book", True),
    "frontdesk.patient_search": ("book", False),
    "frontdesk.visit": ("read", True),
    "frontdesk.reschedule": ("book", True),
    "frontdesk.check_in": ("book", True),
    "frontdesk.no_show": ("book", True),
    "frontdesk.cancel": ("book", True),
    "frontdesk.undo_check_in": ("book", True),
    "frontdesk.undo_no_show": ("book", True),
    "frontdesk.reinstate": ("book", True),
    "courses.course": ("book", False),
    "courses.confirm": ("book", False),
    "courses.manage": ("read", True),
    "courses.move": ("book", True),
    "courses.cancel": ("book", True),
    "courses.add": ("book", True),
    "visits.index": ("list_visits", False),
    "visits.export": ("list_visits", False),
    "visits.week": ("read", True),
    # patients
    "patients.index": ("read", False),
    "patients.create": ("edit_patients", False),
    "patients.detail": ("read", True),
    "patients.edit": ("edit_patients", True),
    "patients.new_clearance": ("record_clearance", True),
    "patients.correct_clearance": ("record_clearance", True),
    "patients.void_clearance": ("record_clearance", True),
    "patients.rems_enrollment": ("record_clearance", True),
    "patients.plan": ("edit_patients", True),
    # outcomes: the site's courses (clinical staff and administrators)
    "outcomes.site": ("outcomes", True),
    # nurses
    "nursing.dashboard": ("read", True),
    "nursing.feed": ("read", True),
    "nursing.start_infusion": ("clinical", True),
    "nursing.end_infusion": ("clinical", True),
    "nursing.vitals": ("clinical", True),
    "nursing.dose": ("clinical", True),
    "nursing.extend": ("clinical", True),
    "nursing.discharge": ("clinical", True),
    "nursing.discharge_prefill": ("clinical", True),
    "nursing.screening": ("clinical", True),
    "nursing.review": ("override_predose", True),
    "frontdesk.kiosk_link": ("clinical", True),
    "nursing.record": ("read", True),
    "nursing.rems_form": ("read", True),
    "nursing.rems_answers": ("clinical", True),
    # alerts
    "alerts.feed": ("read", True),
    "alerts.acknowledge": ("acknowledge", True),
    "alerts.failed_deliveries": ("administer", False),
    # the REMS tracker
    "rems.tracker": ("track_rems", True),
    "rems.mark_submitted": ("track_rems", True),
    # administration (an administrator sees every site)
    "admin.index": ("administer", False),
    "admin.sites": ("administer", False),
    "admin.new_site": ("administer", False),
    "admin.site": ("administer", True),
    "admin.chairs": ("administer", True),
    "admin.rename_chair": ("administer", True),
    "admin.toggle_chair": ("administer", True),
    "admin.move_chair_visits": ("administer", True),
    "admin.shifts": ("administer", True),
    "admin.delete_shift": ("administer", True),
    "admin.treatment_types": ("administer", True),
    "admin.treatment_type": ("administer", True),
    "admin.users": ("administer", False),
    "admin.new_user": ("administer", False),
    "admin.user": ("administer", False),
    "admin.reset_password": ("administer", False),
    "audit.index": ("administer", False),
    "audit.export": ("administer", False),
    "security_admin.security": ("administer", False),
    "security_admin.two_factor_roles": ("administer", False),
    "security_admin.idle_timeout": ("administer", True),
    "security_admin.unlock_user": ("administer", False),
    "security_admin.display_link_list": ("administer", False),
    "security_admin.revoke_display_link": ("administer", False),
    "security_admin.revoke_user_token": ("administer", False),
    # the JSON API (API.md, "Roles"): bearer tokens only
    "api.me": ("read", False),
    "api.list_sites": ("read", False),
    "api.get_site": ("read", True),
    "api.create_site": ("administer", False),
    "api.update_site": ("administer", True),
    "api.list_chairs": ("read", False),
    "api.create_chair": ("administer", False),
    "api.update_chair": ("administer", True),
    "api.list_treatment_types": ("read", True),
    "api.create_treatment_type": ("administer", False),
    "api.update_treatment_type": ("administer", True),
    "api.list_shifts": ("read", False),
    "api.create_shift": ("administer", False),
    "api.delete_shift": ("administer", True),
    "api.list_users": ("administer", False),
    "api.create_user": ("administer", False),
    "api.update_user": ("administer", False),
    "api.availability": ("read", False),
    "api.search_patients": ("read", False),
    "api.create_patient": ("edit_patients", False),
    "api.get_patient": ("read", True),
    "api.update_patient": ("edit_patients", True),
    "api.list_clearances": ("read", True),
    "api.record_clearance": ("record_clearance", True),
    "api.correct_clearance": ("record_clearance", True),
    "api.void_clearance": ("record_clearance", True),
    "api.record_rems_enrollment": ("record_clearance", True),
    "api.list_visits": ("read", False),
    "api.create_visit": ("book", False),
    "api.get_visit": ("read", True),
    "api.visit_messages": ("read", True),
    "api.reschedule_visit": ("book", True),
    "api.list_courses": ("read", True),
    "api.create_course": ("book", False),
    "api.get_course": ("read", True),
    "api.reschedule_course": ("book", True),
    "api.cancel_course": ("book", True),
    "api.add_course_date": ("book", True),
    "api.add_visit_event": ("book", True),  # any role that may record some event
    "api.get_observations": ("read", True),
    "api.post_observation": ("clinical", True),
    "api.post_measure": ("clinical", True),
    "api.post_screening_review": ("override_predose", True),
    "api.post_kiosk_link": ("clinical", True),
    "api.get_outcomes": ("outcomes", True),
    "api.get_doses": ("read", True),
    "api.post_dose": ("clinical", True),
    "api.get_rems_form": ("read", True),
    "api.patch_rems": ("clinical", True),
    "api.dashboard": ("read", True),
    "api.list_notifications": ("read", False),
    "api.acknowledge_notification": ("acknowledge", True),
    "api.list_rems_submissions": ("track_rems", False),
    "api.report_utilisation": ("view_reports", False),
    "api.report_attendance": ("view_reports", False),
    "api.report_cycle_times": ("view_reports", False),
    "api.report_alerts": ("view_reports", False),
    "api.record_rems_submission": ("track_rems", True),
    "api.list_tokens": ("read", False),  # the caller's own (an admin may name a user)
    "api.revoke_token": (OWNER_OR_ADMIN, False),
    "api.create_calendar_feed": (SIGNED_IN, False),  # {} is a 422 for everyone signed in
    "api.revoke_calendar_feed": (OWNER_OR_ADMIN, False),  # the nurse's feed
    "api.put_plan": ("edit_patients", True),
    "api.list_recalls": ("read", True),
    "api.add_to_waitlist": ("book", False),
    "api.list_waitlist": ("read", True),
    "api.delete_waitlist_entry": ("book", True),
    "api.waitlist_matches": ("read", False),
    "api.create_offer": ("book", False),
    "api.get_offer": ("read", True),
    # the waitlist: the desk's page, and the patients' offer links (a token, no sign-in)
    "waitlist.index": ("book", True),
    "waitlist.recalls": ("book", True),
    "waitlist.send_offer": ("book", False),
    "offer.page": (DISPLAY, False),
    # the FHIR R4 read API: bearer tokens, as the JSON API
    "fhir.metadata": ("read", False),
    "fhir.read_patient": ("read", True),
    "fhir.read_appointment": ("read", True),
    "fhir.search_appointments": ("read", False),
    "fhir.search_schedules": ("read", False),
    "fhir.search_slots": ("read", False),
    "fhir.search_observations": ("read", False),  # another site's patient: an empty Bundle
    "fhir.search_questionnaire_responses": ("clinical", False),
    # the owner's reports (figures only); ?site_id= scopes them
    "reports.index": ("view_reports", True),
    "reports.export": ("view_reports", True),
}

# Query arguments that name a site: with them these routes are scoped like an object's URL.
QUERY = {
    "frontdesk.book_slots": {"site_id": "site_id"},
    "visits.week": {"site_id": "site_id"},
    "nursing.dashboard": {"site_id": "site_id"},
    "nursing.feed": {"site_id": "site_id"},
    "alerts.feed": {"site_id": "site_id"},
    "rems.tracker": {"site_id": "site_id"},
    "outcomes.site": {"site_id": "site_id"},
    "api.dashboard": {"site_id": "site_id"},
    "api.list_treatment_types": {"site_id": "site_id"},
    "api.list_courses": {"patient_id": "patient_id"},
    "api.list_recalls": {"site_id": "site_id"},
    "api.list_waitlist": {"site_id": "site_id"},
    "waitlist.index": {"site_id": "site_id"},
    "waitlist.recalls": {"site_id": "site_id"},
    "fhir.search_observations": {"patient": "patient_id"},
    "fhir.search_questionnaire_responses": {"patient": "patient_id"},
    "reports.index": {"site_id": "site_id"},
    "reports.export": {"site_id": "site_id"},
}

ACTORS = ("anonymous", *ROLES, *(f"other_{role}" for role in OTHER_ROLES))
WRITE = re.compile(r"^\s*(INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+\"?(\w+)", re.IGNORECASE)


def expectation(endpoint: str, method: str, actor: str) -> str:
    """Return what an actor should get: ok, login, to_login, forbidden, not_found, denied."""
    who, scoped = EXPECTED[endpoint]
    if isinstance(who, dict):
        who = who[method]
    if who == ANYONE:
        return "ok"
    if who == TO_LOGIN:
        return "to_login"
    if who == DISPLAY:
        return "not_found"
    if who == SIGNED:
        return "login"
    if actor == "anonymous":
        return "login"
    if who in (OWNER, OWNER_OR_ADMIN):
        mine = actor == TOKEN_OWNER or (who == OWNER_OR_ADMIN and actor == "admin")
        return "ok" if mine else "denied"
    role = actor.removeprefix("other_")
    other = actor.startswith("other_")
    if who != SIGNED_IN and role not in PERMISSIONS[who]:
        # A role that may not act is refused; for another site's object either answer
        # keeps the object hidden.
        return "denied" if other and scoped else "forbidden"
    return "not_found" if other and scoped else "ok"


def verdict(expected: str, response, api: bool) -> bool:
    """Tell whether an answer matches the expectation."""
    status = response.status_code
    location = response.headers.get("Location", "")
    to_login = status == 302 and location.startswith("/login")
    if status >= 500:
        return False
    if expected == "ok":
        return status not in (401, 403, 404) and not to_login
    if expected == "login":
        return status == 401 if api else (to_login or status == 401)
    if expected == "to_login":
        return to_login
    if expected == "forbidden":
        return status == 403
    if expected == "not_found":
        return status == 404
    return status in (403, 404)  # denied


def test_every_route_is_classified(app):
    missing = sorted({rule.endpoint for rule, _ in routes(app)} - set(EXPECTED))
    assert not missing, (
        "Routes without an access expectation; add them to EXPECTED in "
        f"tests/security/test_access_matrix.py: {missing}"
    )
    stale = sorted(set(EXPECTED) - {rule.endpoint for rule, _ in routes(app)})
    assert not stale, f"EXPECTED names routes that no longer exist: {stale}"


def test_access_matrix(world):
    app = world.app
    missing = sorted({rule.endpoint for rule, _ in routes(app)} - set(EXPECTED))
    assert not missing, f"unclassified routes: {missing}"
    for actor in ACTORS:  # sign everyone in and issue tokens before any snapshot
        world.client(actor)
        world.bearer(actor)
    forms = {
        actor: page_token(world.client(actor))
        if actor != "anonymous"
        else csrf_token(world.client(actor).get("/login").get_data(as_text=True))
        for actor in ACTORS
    }
    writes: list[str] = []

    def watch(_conn, _cursor, statement, _params, _context, _many):
        match = WRITE.match(statement)
        if match and match.group(2).lower() not in WRITABLE_ON_GET:
            writes.append(match.group(2))

    sa.event.listen(db.engine, "before_cursor_execute", watch)
    snapshot = Snapshot(app)
    failures: list[str] = []
    checked = 0
    try:
        for rule, method in routes(app):
            path = build_path(app, rule, world.args)
            api = path.startswith(("/api/", "/fhir/"))  # bearer tokens, never cookies
            query = {name: world.args[arg] for name, arg in QUERY.get(rule.endpoint, {}).items()}
            for actor in ACTORS:
                expected = expectation(rule.endpoint, method, actor)
                writes.clear()
                if api:
                    client = app.test_client()  # the API never takes cookies
                    kwargs = {"headers": world.bearer(actor)}
                    if method != "GET":
                        kwargs["json"] = {}
                else:
                    client = world.client(actor)
                    token = forms[actor]
                    kwargs = {"headers": {"X-CSRFToken": token}}
                    if method != "GET":
                        kwargs["data"] = {"csrf_token": token}
                if method != "GET":
                    snapshot.take()
                    cookie = client.get_cookie("session")
                response = client.open(path, method=method, query_string=query, **kwargs)
                if method != "GET":
                    snapshot.restore()
                    if cookie is not None:
                        client.set_cookie("session", cookie.value)
                checked += 1
                where = f"{method} {rule.rule} as {actor}"
                if not verdict(expected, response, api):
                    failures.append(f"{where}: expected {expected}, got {response.status_code}")
                problems = header_problems(response)
                if problems:
                    failures.append(f"{where}: {', '.join(problems)}")
                if method == "GET" and writes:
                    failures.append(f"{where}: a GET wrote to {sorted(set(writes))}")
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", watch)
    assert not failures, "\n".join(failures)
    assert checked == len(list(routes(app))) * len(ACTORS)


def test_the_api_never_takes_a_cookie(world):
    client = world.client("admin")
    assert client.get("/api/v1/me").status_code == 401
    assert client.get(f"/api/v1/visits/{world.args['visit_id']}").status_code == 401
