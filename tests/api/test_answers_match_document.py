"""Real answers of every operation, a success and an error each, hold the served document.

The operations come from the document itself: one without a case here fails the test, so
neither the document nor the answers can drift away from each other.
"""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from clinic.extensions import db
from clinic.models import Notification
from clinic.notify import webhook
from clinic.services import calendar_feeds, courses, tokens, treatment_types, waitlist
from clinic.services.events import record_event
from clinic.types import utcnow
from tests.conftest import MONDAY, add_baseline, chicago, issue_token
from tests.rems_sessions import SPRAVATO as SPRAVATO_SETTINGS
from tests.rems_sessions import rems_type, session

METHODS = ("get", "post", "patch", "put", "delete")
# (who: "admin", "clerk" ... or None, path with its query, JSON body or another method)
Request = tuple[str | None, str, Any]


@pytest.fixture
def world(clinic, make_visit, make_shift, frozen):
    """A visit booked for later today, one checked in, a notification, a spare shift."""
    booked = make_visit(clinic.clerk, clinic.patient, chicago(MONDAY, 10))
    present = make_visit(clinic.clerk, clinic.new_patient(mrn="MRN-2"), chicago(MONDAY, 8))
    record_event(clinic.nurse, present.id, "check_in", utcnow())
    add_baseline(present.id, utcnow())  # the pre-dose reading its start needs
    alarm = Notification(
        kind="discharge_due", visit_id=present.id, site_id=clinic.site.id, due_at=utcnow()
    )
    db.session.add(alarm)
    db.session.commit()
    rems = rems_visit(clinic, make_visit)
    ids = {
        "site": clinic.site.id,
        "chair": clinic.chairs[0].id,
        "type": clinic.site.default_treatment_type_id,
        "user": clinic.clerk.id,
        "patient": clinic.patient.id,
        "clearance": clinic.patient.clearances[0].id,
        "booked": booked.id,
        "present": present.id,
        "notification": alarm.id,
        "shift": make_shift(clinic.site, "nurse").id,
        "token": tokens.issue(clinic.nurse, utcnow(), name="Spare")[0].id,
        "rems": rems.id,
    }
    ids["present_start"] = present.infusion_start.isoformat()
    course_patient = clinic.new_patient(mrn="MRN-5")
    first = chicago(MONDAY + timedelta(days=3), 14)
    requests = courses.plan_requests(clinic.clerk, course_patient.id, None, first, {0, 3}, 3)
    course_visits = courses.book_course(clinic.clerk, requests, utcnow())
    course = courses.course_of(course_visits)
    assert course is not None
    ids["course"] = course.id
    ids["course_patient"] = course_patient.id
    ids["course_second"], ids["course_third"] = course_visits[1].id, course_visits[2].id
    entries = [
        waitlist.add_entry(
            clinic.clerk, clinic.patient.id, clinic.site.id, MONDAY, MONDAY, "any", "", utcnow()
        )
        for _ in range(2)
    ]
    ids["entry"], ids["entry2"] = entries[0].id, entries[1].id
    ids["feed"] = calendar_feeds.create(clinic.nurse, clinic.site.id, clinic.nurse.id, utcnow())[
        0
    ].id
    ids["offer"] = waitlist.create_offer(
        clinic.clerk, clinic.chairs[1].id, chicago(MONDAY, 15), [entries[0].id], 15, utcnow()
    ).offer.id
    rems_patient = clinic.new_patient(mrn="MRN-3")
    discharged = utcnow() - timedelta(days=2)
    ids["rems_session"] = session(
        rems_patient, clinic.chairs[2], rems_type(clinic.site), discharged
    ).id
    return clinic, ids


def waitlist_body(ids: dict[str, Any], patient: int) -> dict[str, Any]:
    """A waitlist entry for the patient over the coming week."""
    return {
        "patient_id": patient,
        "site_id": ids["site"],
        "earliest_on": MONDAY.isoformat(),
        "latest_on": (MONDAY + timedelta(days=6)).isoformat(),
        "part_of_day": "any",
    }


SMS_REPLY = {"from": "+15125550123", "body": "C"}


def rems_visit(clinic, make_visit):
    """Book a REMS session (a certified site, an enrolled patient) for later today."""
    spravato = treatment_types.save_type(None, clinic.site, SPRAVATO_SETTINGS, now=utcnow())
    patient = clinic.new_patient(mrn="MRN-4")
    clinic.site.rems_certified_on = patient.rems_enrolled_on = MONDAY
    patient.rems_patient_id = "RP-1003"
    clinic.site.rems_authorized_representative = "Dr. Rivera"
    db.session.commit()
    return make_visit(clinic.clerk, patient, chicago(MONDAY, 12), treatment_type_id=spravato.id)


def cases(ids: dict[str, int]) -> dict[tuple[str, str], tuple[Request, Request]]:
    """Return (success, error) requests for every operation, keyed as the document names it."""
    site, patient, visit = ids["site"], ids["patient"], ids["booked"]
    clearance = f"/patients/{patient}/clearances/{ids['clearance']}"
    start = chicago(MONDAY + timedelta(days=2), 9).isoformat()
    end = chicago(MONDAY + timedelta(days=2), 17).isoformat()
    return {
        ("get", "/sites"): (("clerk", "/sites", None), ("clerk", "/sites", "POST")),
        ("post", "/sites"): (
            ("admin", "/sites", {"name": "Dallas", "opening_hours": {"mon": ["08:00", "18:00"]}}),
            ("admin", "/sites", {"nurse_ratio": 0}),
        ),
        ("get", "/sites/{id}"): (("clerk", f"/sites/{site}", None), ("clerk", "/sites/999", None)),
        ("patch", "/sites/{id}"): (
            ("admin", f"/sites/{site}", {"infusion_minutes": {"max": 90}}),
            ("clerk", f"/sites/{site}", {"nurse_ratio": 5}),
        ),
        ("get", "/treatment-types"): (
            ("nurse", f"/treatment-types?site_id={site}", None),
            ("nurse", "/treatment-types?site_id=999", None),
        ),
        ("post", "/treatment-types"): (
            (
                "admin",
                "/treatment-types",
                {
                    "site_id": site,
                    "name": "Spravato",
                    "kind": "esketamine",
                    "administration_minutes": {"min": 10, "max": 15, "default": 15},
                    "observation_minutes": {"min": 120, "default": 120},
                    "observation_from": "administration_start",
                    "rems": True,
                },
            ),
            ("admin", "/treatment-types", {"site_id": site, "kind": "lozenge"}),
        ),
        ("patch", "/treatment-types/{id}"): (
            ("admin", f"/treatment-types/{ids['type']}", {"name": "IV ketamine 0.5 mg/kg"}),
            ("clerk", f"/treatment-types/{ids['type']}", {"name": "Mine"}),
        ),
        ("get", "/chairs"): (
            ("clerk", f"/chairs?site_id={site}", None),
            ("clerk", "/chairs?site_id=x", None),
        ),
        ("post", "/chairs"): (
            ("admin", "/chairs", {"site_id": site, "name": "Bay 1", "kind": "recovery_bay"}),
            ("admin", "/chairs", {"site_id": site, "kind": "sofa"}),
        ),
        ("patch", "/chairs/{id}"): (
            ("admin", f"/chairs/{ids['chair']}", {"name": "Window chair"}),
            ("admin", "/chairs/999", {"name": "Nowhere"}),
        ),
        ("get", "/shifts"): (
            ("clerk", f"/shifts?site_id={site}&date={MONDAY}", None),
            ("clerk", "/shifts?date=30-11-2026", None),
        ),
        ("post", "/shifts"): (
            (
                "admin",
                "/shifts",
                {
                    "site_id": site,
                    "user_id": ids["user"],
                    "role": "nurse",
                    "starts_at": start,
                    "ends_at": end,
                },
            ),
            ("admin", "/shifts", {"site_id": site, "starts_at": "tomorrow"}),
        ),
        ("delete", "/shifts/{id}"): (
            ("admin", f"/shifts/{ids['shift']}", None),
            ("clerk", f"/shifts/{ids['shift']}", None),
        ),
        ("get", "/me"): (("nurse", "/me", None), (None, "/me", None)),
        ("get", "/users"): (("admin", "/users", None), ("nurse", "/users", None)),
        ("post", "/users"): (
            ("admin", "/users", {"email": "new@clinic.test", "name": "New", "role": "nurse"}),
            ("admin", "/users", {"email": "new@clinic.test", "role": "janitor"}),
        ),
        ("patch", "/users/{id}"): (
            ("admin", f"/users/{ids['user']}", {"name": "Desk"}),
            ("admin", "/users/9999", {"name": "Nobody"}),
        ),
        ("get", "/tokens"): (
            ("nurse", "/tokens", None),
            ("nurse", f"/tokens?user_id={ids['user']}", None),
        ),
        ("delete", "/tokens/{id}"): (
            ("nurse", f"/tokens/{ids['token']}", None),
            ("nurse", "/tokens/9999", None),
        ),
        ("post", "/calendar-feeds"): (
            ("admin", "/calendar-feeds", {"site_id": site}),
            ("nurse", "/calendar-feeds", {"site_id": site, "user_id": ids["user"]}),
        ),
        ("delete", "/calendar-feeds/{id}"): (
            ("nurse", f"/calendar-feeds/{ids['feed']}", None),
            ("nurse", "/calendar-feeds/9999", None),
        ),
        ("get", "/patients"): (("clerk", "/patients?q=MRN", None), (None, "/patients", None)),
        ("post", "/patients"): (
            (
                "clerk",
                "/patients",
                {
                    "mrn": "MRN-9",
                    "given_name": "Ada",
                    "family_name": "Lee",
                    "birth_date": "1980-04-02",
                },
            ),
            ("clerk", "/patients", ["not", "an", "object"]),
        ),
        ("get", "/patients/{id}"): (
            ("clerk", f"/patients/{patient}", None),
            ("clerk", "/patients/9999", None),
        ),
        ("patch", "/patients/{id}"): (
            ("clerk", f"/patients/{patient}", {"phone": "+15125550100"}),
            ("nurse", f"/patients/{patient}", {"phone": "+15125550100"}),
        ),
        ("post", "/patients/{id}/rems-enrollment"): (
            (
                "practitioner",
                f"/patients/{patient}/rems-enrollment",
                {"enrolled_on": str(MONDAY), "rems_patient_id": "RP-1001"},
            ),
            ("practitioner", f"/patients/{patient}/rems-enrollment", {"enrolled_on": "soon"}),
        ),
        ("get", "/patients/{id}/clearances"): (
            ("clerk", f"/patients/{patient}/clearances", None),
            ("clerk", "/patients/9999/clearances", None),
        ),
        ("post", "/patients/{id}/clearances"): (
            (
                "practitioner",
                f"/patients/{patient}/clearances",
                {
                    "evaluated_on": str(MONDAY),
                    "valid_until": str(MONDAY + timedelta(days=90)),
                    "cleared": True,
                    "consent_signed": True,
                },
            ),
            ("practitioner", f"/patients/{patient}/clearances", {"cleared": "yes"}),
        ),
        ("patch", "/patients/{id}/clearances/{clearance_id}"): (
            ("practitioner", clearance, {"notes": "Seen again."}),
            ("practitioner", clearance, {"colour": "blue"}),
        ),
        ("post", "/patients/{id}/clearances/{clearance_id}/void"): (
            ("practitioner", f"{clearance}/void", {"reason": "Entered for the wrong patient."}),
            ("clerk", f"{clearance}/void", {"reason": "No."}),
        ),
        ("get", "/availability"): (
            ("clerk", f"/availability?site_id={site}&date={MONDAY}&limit=3", None),
            ("clerk", "/availability?days=99", None),
        ),
        ("get", "/visits"): (
            ("clerk", f"/visits?site_id={site}&date={MONDAY}", None),
            ("clerk", "/visits?site_id=9999", None),
        ),
        ("post", "/visits"): (
            ("clerk", "/visits", {"patient_id": patient, "infusion_start": start}),
            ("clerk", "/visits", {"patient_id": patient, "infusion_start": ids["present_start"]}),
        ),
        ("get", "/visits/{id}"): (
            ("nurse", f"/visits/{visit}", None),
            ("nurse", "/visits/0", None),
        ),
        ("patch", "/visits/{id}"): (
            ("clerk", f"/visits/{visit}", {"infusion_start": chicago(MONDAY, 11).isoformat()}),
            ("clerk", f"/visits/{visit}", {"infusion_start": "2026-11-30T11:00:00"}),
        ),
        ("get", "/visits/{id}/messages"): (
            ("clerk", f"/visits/{visit}/messages", None),
            ("clerk", "/visits/9999/messages", None),
        ),
        ("post", "/visits/{id}/events"): (
            ("nurse", f"/visits/{ids['present']}/events", {"type": "start_infusion"}),
            ("nurse", f"/visits/{visit}/events", {"type": "discharge"}),
        ),
        ("post", "/visits/{id}/measures"): (
            (
                "nurse",
                f"/visits/{ids['present']}/measures",
                {"instrument": "phq9", "answers": [1, 1, 1, 1, 1, 1, 1, 1, 0]},
            ),
            ("nurse", f"/visits/{ids['present']}/measures", {"instrument": "phq9", "answers": [9]}),
        ),
        ("post", "/visits/{id}/screening-review"): (
            (
                "practitioner",
                f"/visits/{ids['present']}/screening-review",
                {"decision": "proceed", "note": "Reviewed."},
            ),
            ("practitioner", f"/visits/{ids['present']}/screening-review", {"decision": "x"}),
        ),
        ("post", "/visits/{id}/kiosk-link"): (
            ("nurse", f"/visits/{ids['present']}/kiosk-link", {}),
            ("clerk", f"/visits/{ids['present']}/kiosk-link", {}),
        ),
        ("get", "/patients/{id}/outcomes"): (
            ("nurse", f"/patients/{patient}/outcomes", None),
            ("nurse", "/patients/9999/outcomes", None),
        ),
        ("get", "/visits/{id}/observations"): (
            ("nurse", f"/visits/{ids['present']}/observations", None),
            ("admin", "/visits/9999/observations", None),
        ),
        ("post", "/visits/{id}/observations"): (
            (
                "nurse",
                f"/visits/{ids['present']}/observations",
                {"systolic": 128, "diastolic": 82, "heart_rate": 72, "spo2": 98, "moaas": 3},
            ),
            ("nurse", f"/visits/{ids['present']}/observations", {"systolic": 400}),
        ),
        ("get", "/visits/{id}/doses"): (
            ("nurse", f"/visits/{ids['present']}/doses", None),
            ("admin", "/visits/9999/doses", None),
        ),
        ("post", "/visits/{id}/doses"): (
            (
                "nurse",
                f"/visits/{ids['present']}/doses",
                {"drug": "Ketamine", "dose_mg": 40.5, "lot": "KT-2291", "route": "IV"},
            ),
            ("clerk", f"/visits/{ids['present']}/doses", {"drug": "Ketamine"}),
        ),
        ("get", "/visits/{id}/rems-form"): (
            ("clerk", f"/visits/{ids['rems']}/rems-form", None),
            ("nurse", f"/visits/{visit}/rems-form", None),
        ),
        ("patch", "/visits/{id}/rems"): (
            ("nurse", f"/visits/{ids['rems']}/rems", {"ready_to_leave_minutes": 60}),
            ("nurse", f"/visits/{ids['rems']}/rems", {"ready_to_leave_minutes": -1}),
        ),
        ("get", "/dashboard"): (
            ("nurse", f"/dashboard?site_id={site}", None),
            ("nurse", "/dashboard?site_id=-1", None),
        ),
        ("get", "/notifications"): (
            ("nurse", "/notifications?unacknowledged=1", None),
            ("nurse", "/notifications?unacknowledged=maybe", None),
        ),
        ("post", "/notifications/{id}/ack"): (
            ("nurse", f"/notifications/{ids['notification']}/ack", None),
            ("clerk", f"/notifications/{ids['notification']}/ack", None),
        ),
        ("post", "/visits/{id}/rems-submission"): (
            (
                "nurse",
                f"/visits/{ids['rems_session']}/rems-submission",
                {"method": "online", "confirmation": "RX-1", "submitted_at": utcnow().isoformat()},
            ),
            ("nurse", f"/visits/{visit}/rems-submission", {"method": "email"}),
        ),
        ("get", "/rems/submissions"): (
            ("admin", f"/rems/submissions?site_id={site}&status=due", None),
            ("nurse", "/rems/submissions?status=late", None),
        ),
        ("post", "/courses"): (
            (
                "clerk",
                "/courses",
                {
                    "patient_id": patient,
                    "first_start": start,
                    "weekdays": [2, 4],
                    "count": 2,
                    "dry_run": True,
                },
            ),
            ("clerk", "/courses", {"patient_id": patient, "weekdays": [], "count": 99}),
        ),
        ("get", "/courses"): (
            ("nurse", f"/courses?patient_id={ids['course_patient']}", None),
            ("nurse", "/courses", None),
        ),
        ("get", "/courses/{id}"): (
            ("nurse", f"/courses/{ids['course']}", None),
            ("nurse", "/courses/9999", None),
        ),
        ("post", "/courses/{id}/reschedule"): (
            (
                "clerk",
                f"/courses/{ids['course']}/reschedule",
                {
                    "from_visit_id": ids["course_third"],
                    "scope": "this",
                    "infusion_start": chicago(MONDAY + timedelta(days=11), 14).isoformat(),
                },
            ),
            ("clerk", f"/courses/{ids['course']}/reschedule", {"scope": "all"}),
        ),
        ("post", "/courses/{id}/cancel"): (
            (
                "clerk",
                f"/courses/{ids['course']}/cancel",
                {"from_visit_id": ids["course_second"], "scope": "this", "reason": "Away"},
            ),
            ("nurse", f"/courses/{ids['course']}/cancel", {"scope": "this"}),
        ),
        ("post", "/courses/{id}/visits"): (
            (
                "clerk",
                f"/courses/{ids['course']}/visits",
                {"infusion_start": chicago(MONDAY + timedelta(days=8), 14).isoformat()},
            ),
            ("admin", f"/courses/{ids['course']}/visits", {}),
        ),
        ("put", "/patients/{id}/plan"): (
            ("clerk", f"/patients/{patient}/plan", {"every_days": 28, "next_due_on": "2026-12-10"}),
            ("nurse", f"/patients/{patient}/plan", {"every_days": 28, "next_due_on": "2026-12-10"}),
        ),
        ("get", "/recalls"): (
            ("clerk", f"/recalls?site_id={site}&within_days=14", None),
            ("clerk", f"/recalls?site_id={site}&within_days=-1", None),
        ),
        ("post", "/waitlist"): (
            ("clerk", "/waitlist", waitlist_body(ids, patient)),
            ("clerk", "/waitlist", waitlist_body(ids, patient) | {"part_of_day": "night"}),
        ),
        ("get", "/waitlist"): (
            ("clerk", f"/waitlist?site_id={site}", None),
            ("clerk", "/waitlist?site_id=9999", None),
        ),
        ("delete", "/waitlist/{id}"): (
            ("clerk", f"/waitlist/{ids['entry']}", None),
            ("clerk", "/waitlist/9999", None),
        ),
        ("get", "/waitlist/matches"): (
            (
                "clerk",
                f"/waitlist/matches?site_id={site}&chair_id={ids['chair']}"
                f"&infusion_start={start.replace('+', '%2B')}",
                None,
            ),
            ("clerk", f"/waitlist/matches?site_id={site}", None),
        ),
        ("post", "/waitlist/offers"): (
            (
                "clerk",
                "/waitlist/offers",
                {"chair_id": ids["chair"], "infusion_start": start, "entry_ids": [ids["entry2"]]},
            ),
            ("admin", "/waitlist/offers", {"chair_id": ids["chair"]}),
        ),
        ("get", "/waitlist/offers/{id}"): (
            ("clerk", f"/waitlist/offers/{ids['offer']}", None),
            ("clerk", "/waitlist/offers/9999", None),
        ),
        **{
            ("get", f"/reports/{kind}"): (
                (
                    "practitioner",
                    f"/reports/{kind}?site_id={site}&from=2026-11-01&to=2026-11-30",
                    None,
                ),
                ("admin", f"/reports/{kind}?site_id={site}&from=2026-11-30&to=2026-11-01", None),
            )
            for kind in ("utilisation", "attendance", "cycle-times", "alerts")
        },
        ("get", "/healthz"): ((None, "/healthz", None), (None, "/healthz", "POST")),
        ("post", "/sms/inbound"): (
            ("sms_gateway", "/sms/inbound", SMS_REPLY),
            ("clerk", "/sms/inbound", SMS_REPLY),
        ),
        ("get", "/openapi.json"): ((None, "/openapi.json", None), (None, "/openapi.json", "POST")),
        ("get", "/docs"): ((None, "/docs", None), (None, "/docs", "POST")),
    }


def operations(document: dict[str, Any]) -> list[tuple[str, str]]:
    """Return every (method, path) of the document."""
    return [(m, path) for path, item in document["paths"].items() for m in METHODS if m in item]


def answer_spec(document: dict[str, Any], op: dict[str, Any], status: int) -> dict[str, Any]:
    """Return the documented answer for a status (or the default one), references resolved."""
    spec = op["responses"].get(str(status)) or op["responses"].get("default")
    assert spec is not None, f"status {status} is not documented"
    if "$ref" in spec:
        spec = document["components"]["responses"][spec["$ref"].rsplit("/", 1)[1]]
    return spec


def check(document: dict[str, Any], op: dict[str, Any], response) -> list[str]:
    """Return what in the answer the document does not describe."""
    spec = answer_spec(document, op, response.status_code)
    content = spec.get("content", {})
    if not content:
        return []
    if response.mimetype not in content:
        return [f"{response.mimetype} is not among {sorted(content)}"]
    schema = content[response.mimetype].get("schema")
    if schema is None:
        return []
    validator = Draft202012Validator({**schema, "components": document["components"]})
    return [error.message for error in validator.iter_errors(response.get_json())]


def test_every_operation_answers_as_the_document_says(client, world):
    clinic, ids = world
    document = client.get("/api/v1/openapi.json").get_json()
    headers = {
        name: {"Authorization": f"Bearer {issue_token(getattr(clinic, attr))}"}
        for name, attr in {
            "admin": "admin",
            "clerk": "clerk",
            "nurse": "nurse",
            "practitioner": "practitioner",
        }.items()
    }
    # The SMS gateway signs its posts instead of a bearer token.
    client.application.config.update(SMS_PROVIDER="webhook", SMS_WEBHOOK_SECRET="sms-secret")
    raw = client.application.json.dumps(SMS_REPLY).encode()
    stamp = str(int(time.time()))
    headers["sms_gateway"] = {
        "X-Infusion-Timestamp": stamp,
        "X-Infusion-Signature": webhook.signature("sms-secret", stamp, raw),
    }
    table = cases(ids)
    missing = [op for op in operations(document) if op not in table]
    assert missing == [], "operations without a case here"
    problems: list[str] = []
    for method, path in operations(document):
        op = document["paths"][path][method]
        for kind, (who, url, body) in zip(("success", "error"), table[method, path], strict=True):
            verb = body if isinstance(body, str) else method.upper()
            response = client.open(
                "/api/v1" + url,
                method=verb,
                json=None if isinstance(body, str) else body,
                headers=headers.get(who, {}),
            )
            good = response.status_code < 400 if kind == "success" else response.status_code >= 400
            if not good:
                problems.append(
                    f"{method} {path} {kind}: {response.status_code} {response.data[:200]!r}"
                )
            problems += [f"{method} {path} {kind}: {p}" for p in check(document, op, response)]
    assert problems == []
