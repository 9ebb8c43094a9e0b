"""The OpenAPI 3.1 description of API.md, built from small helpers and served as JSON."""

from __future__ import annotations

from typing import Any

from flask import jsonify

from clinic.domain.alarms import RESOLVED_REASONS
from clinic.services.site_settings import SITE_LIMITS, TIME_ZONES
from clinic.web.api import bp
from clinic.web.api.places import SITE_MINUTES, SITE_NUMBERS, VITAL_THRESHOLDS

Schema = dict[str, Any]

ROLES = ["front_desk", "nurse", "practitioner", "admin"]
RULES = [
    "chair_busy",
    "recovery_full",
    "nurse_capacity",
    "no_nurse_on_shift",
    "no_practitioner_on_site",
    "outside_opening_hours",
    "patient_overlap",
    "too_soon_after_last_infusion",
    "not_cleared",
    "in_the_past",
]
# Account rules (clinic.domain.accounts): a 409 on PATCH /users/{id} names one of these.
ACCOUNT_RULES = ["own_admin_role", "last_active_admin"]
STATUSES = ["booked", "checked_in", "infusing", "recovering", "discharged", "cancelled", "no_show"]
EVENT_TYPES = [
    "check_in",
    "start_infusion",
    "end_infusion",
    "extend_observation",
    "discharge",
    "no_show",
    "cancel",
]
FLAGS = ["bp_high", "bp_critical", "hr_high", "hr_low", "spo2_low", "bp_above_baseline"]
DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
# status -> (component name, error code, when it happens)
ERRORS = {
    400: ("BadRequest", "bad_request", "The body is not JSON, or not a JSON object."),
    401: ("Unauthorized", "unauthorized", "No token, an unknown token, or a disabled user."),
    403: ("Forbidden", "forbidden", "The caller's role may not do this."),
    404: (
        "NotFound",
        "not_found",
        "No such object (also for objects of a site the caller may not see).",
    ),
    405: ("MethodNotAllowed", "method_not_allowed", "The path does not take this method."),
    409: (
        "Conflict",
        "conflict",
        "A booking rule or capacity would be broken (every broken rule is listed in "
        "`reasons`), an illegal state transition, or a duplicate MRN or e-mail.",
    ),
    422: (
        "Invalid",
        "invalid",
        "A field is missing, of the wrong type or out of range; `fields` says which.",
    ),
}


# ---------------------------------------------------------------- schema helpers


def ref(name: str) -> Schema:
    """Point to a component schema."""
    return {"$ref": f"#/components/schemas/{name}"}


def nullable(schema: Schema) -> Schema:
    """Allow null besides the schema."""
    return {"anyOf": [schema, {"type": "null"}]}


def string(description: str = "", **extra: Any) -> Schema:
    """A string, with an optional format, enum or length."""
    return {"type": "string", **({"description": description} if description else {}), **extra}


def integer(description: str = "", **extra: Any) -> Schema:
    """A whole number, with optional bounds."""
    return {"type": "integer", **({"description": description} if description else {}), **extra}


def number(description: str = "", **extra: Any) -> Schema:
    """A number, with optional bounds."""
    return {"type": "number", **({"description": description} if description else {}), **extra}


def boolean(description: str = "") -> Schema:
    """True or false."""
    return {"type": "boolean", **({"description": description} if description else {})}


def instant(description: str = "") -> Schema:
    """An ISO 8601 instant: with an offset in requests, UTC in answers."""
    return string(description or "ISO 8601 instant with an offset.", format="date-time")


def day(description: str = "") -> Schema:
    """A YYYY-MM-DD local calendar date."""
    return string(description or "YYYY-MM-DD, the site's local day.", format="date")


def identifier(description: str = "") -> Schema:
    """An object id."""
    return integer(description, minimum=1)


def array(items: Schema, description: str = "") -> Schema:
    """A list of items."""
    return {
        "type": "array",
        "items": items,
        **({"description": description} if description else {}),
    }


def obj(properties: dict[str, Schema], required: list[str] | None = None, **extra: Any) -> Schema:
    """An object with named properties."""
    schema: Schema = {"type": "object", "properties": properties, **extra}
    if required:
        schema["required"] = required
    return schema


def answer_object(properties: dict[str, Schema]) -> Schema:
    """An answer object: every property is always present."""
    return obj(properties, list(properties))


def limited(setting: str) -> Schema:
    """A whole-number site setting, bounded by the service's table of limits."""
    limit = SITE_LIMITS[setting]
    return integer(limit.unit.capitalize() + ".", minimum=limit.low, maximum=limit.high)


def nested_limits(keys: dict[str, Any], description: str = "") -> Schema:
    """An object of limited settings (objects within objects); a PATCH may give some keys."""
    properties = {
        key: nested_limits(setting) if isinstance(setting, dict) else limited(setting)
        for key, setting in keys.items()
    }
    return obj(
        properties,
        additionalProperties=False,
        **({"description": description} if description else {}),
    )


# ---------------------------------------------------------------- operation helpers


def json_content(schema: Schema) -> dict[str, Any]:
    """A JSON media type holding the schema."""
    return {"application/json": {"schema": schema}}


def body(schema: Schema, description: str = "") -> dict[str, Any]:
    """A required JSON request body."""
    return {"required": True, "description": description, "content": json_content(schema)}


def ok(schema: Schema, description: str) -> dict[str, Any]:
    """A successful JSON answer."""
    return {"description": description, "content": json_content(schema)}


def path_id(what: str) -> dict[str, Any]:
    """The {id} path parameter."""
    return {
        "name": "id",
        "in": "path",
        "required": True,
        "description": f"The {what}'s id.",
        "schema": identifier(),
    }


def query(name: str, schema: Schema, description: str, required: bool = False) -> dict[str, Any]:
    """A query parameter."""
    return {
        "name": name,
        "in": "query",
        "required": required,
        "description": description,
        "schema": schema,
    }


def operation(
    summary: str,
    tag: str,
    responses: dict[int, dict[str, Any]],
    errors: tuple[int, ...] = (),
    request: dict[str, Any] | None = None,
    parameters: list[dict[str, Any]] | None = None,
    roles: str = "",
    public: bool = False,
    operation_id: str = "",
) -> dict[str, Any]:
    """Describe one operation: its answers, its errors and who may call it."""
    description = summary + (f"\n\nRoles: {roles}." if roles else "")
    op: dict[str, Any] = {
        "summary": summary,
        "description": description,
        "operationId": operation_id,
        "tags": [tag],
        "responses": {str(status): value for status, value in responses.items()},
    }
    if request is not None:
        op["requestBody"] = request
        errors = (400, *errors)
    if parameters:
        op["parameters"] = parameters
    if public:
        op["security"] = []
    else:
        errors = (401, *errors)
    for status in sorted(set(errors)):
        op["responses"][str(status)] = {"$ref": f"#/components/responses/{ERRORS[status][0]}"}
    return op


# ---------------------------------------------------------------- schemas


def schemas() -> dict[str, Schema]:
    """Return every component schema."""
    span = nullable(
        array(string(pattern=r"^(([01]\d|2[0-3]):[0-5]\d|24:00)$"), "[open, close] local time")
        | {"minItems": 2, "maxItems": 2}
    )
    hours = obj({name: span for name in DAYS}, additionalProperties=False)
    site_settings = {
        "name": string(maxLength=120),
        "timezone": string(
            "IANA time zone.", enum=sorted(TIME_ZONES), examples=["America/Chicago"]
        ),
        "opening_hours": hours,
        **{name: limited(name) for name in SITE_NUMBERS},
        "require_practitioner_on_site": boolean(),
        **{name: nested_limits(keys) for name, keys in SITE_MINUTES.items()},
        "recovery_mode": string(enum=["chair", "bay"]),
        "vital_thresholds": nested_limits(
            VITAL_THRESHOLDS,
            "Vital-sign limits: a reading at or over bp_high / bp_critical (systolic or "
            "diastolic), over hr_high, under hr_low or spo2_low, or more than "
            "bp_above_baseline_percent over the visit's first reading is flagged.",
        ),
    }
    chair_fields = {
        "name": string(maxLength=60),
        "kind": string(enum=["chair", "recovery_bay"]),
        "active": boolean(),
    }
    user_fields = {
        "email": string(format="email"),
        "name": string(maxLength=120),
        "role": string(enum=ROLES),
        "active": boolean(),
        "site_ids": array(identifier()),
    }
    patient_fields = {
        "site_id": identifier("Home site."),
        "mrn": string("Medical record number, unique.", maxLength=40),
        "given_name": string(maxLength=100),
        "family_name": string(maxLength=100),
        "birth_date": string(format="date"),
        "phone": nullable(string(maxLength=40)),
        "email": nullable(string(maxLength=254)),
        "weight_kg": nullable(number(minimum=1, maximum=500)),
        "escort_name": nullable(string(maxLength=120)),
        "escort_phone": nullable(string(maxLength=40)),
    }
    clearance_fields = {
        "evaluated_on": string(format="date"),
        "valid_until": string(format="date"),
        "cleared": boolean(),
        "consent_signed": boolean(),
        "contraindications": array(string()),
        "notes": string(),
    }
    observation_fields = {
        "at": instant("When measured; defaults to now; at most 12 hours ago and 2 minutes ahead."),
        "systolic": integer(minimum=40, maximum=300),
        "diastolic": integer("Lower than systolic.", minimum=20, maximum=200),
        "heart_rate": integer(minimum=20, maximum=250),
        "spo2": integer(minimum=50, maximum=100),
        "respiratory_rate": nullable(integer(minimum=4, maximum=60)),
        "dissociation": nullable(integer(minimum=0, maximum=4)),
        "nausea": nullable(integer(minimum=0, maximum=3)),
        "dizziness": nullable(integer(minimum=0, maximum=3)),
        "note": string(maxLength=1000),
    }
    due_item = obj(
        {
            "kind": string(enum=["baseline", "peak", "recovery", "pre_discharge"]),
            "due_at": instant(),
            "state": string(enum=["done", "due", "missed", "upcoming"]),
            "reading_at": nullable(instant("The reading that satisfied it.")),
        },
        ["kind", "due_at", "state", "reading_at"],
    )
    visit_plan = {
        "infusion_start": instant(),
        "chair_id": identifier("Without it a free chair is chosen."),
        "infusion_minutes": integer(minimum=1),
        "observation_minutes": integer(minimum=0),
    }
    return {
        "Error": obj(
            {
                "error": string(
                    enum=[code for _, code, _ in ERRORS.values()],
                    description="A machine-readable code.",
                ),
                "message": string("A sentence for people."),
                "fields": obj(
                    {},
                    additionalProperties=array(string()),
                    description="What is wrong with each field (may be empty).",
                ),
                "reasons": array(ref("Reason"), "Every broken booking rule (409 only)."),
                "visit_ids": array(
                    identifier(), "The active visits that still need a chair (409 only)."
                ),
                "alternatives": array(
                    ref("Slot"),
                    "A refused booking or reschedule (409): the closest bookable slots for "
                    "this patient, closest first: the same time in another chair, then the "
                    "nearest times that day (later first), then the same time on the nearest "
                    "days. At most 10.",
                ),
            },
            ["error", "message", "fields"],
        ),
        "Reason": answer_object({"rule": string(enum=RULES + ACCOUNT_RULES), "message": string()}),
        "ApiToken": answer_object(
            {
                "id": identifier(),
                "user_id": identifier(),
                "name": string(maxLength=80),
                "created_at": instant(),
                "expires_at": instant(),
                "last_used_at": nullable(instant("Written at most once a minute.")),
                "revoked_at": nullable(instant()),
                "status": string(enum=["active", "expired", "revoked"]),
            }
        ),
        "Site": answer_object({"id": identifier(), **site_settings}),
        "SiteInput": obj(
            site_settings,
            ["name"],
            description="On creation `name` is required; a PATCH takes any subset.",
        ),
        "Chair": answer_object({"id": identifier(), "site_id": identifier(), **chair_fields}),
        "ChairInput": obj(
            {"site_id": identifier(), **chair_fields},
            ["site_id", "name"],
            description="On creation `site_id` and `name` are required.",
        ),
        "Shift": answer_object(
            {
                "id": identifier(),
                "site_id": identifier(),
                "user_id": identifier(),
                "role": string(enum=["nurse", "practitioner", "front_desk"]),
                "starts_at": instant(),
                "ends_at": instant(),
            }
        ),
        "ShiftInput": obj(
            {
                "site_id": identifier(),
                "user_id": identifier(),
                "role": string(
                    "Defaults to the user's role.", enum=["nurse", "practitioner", "front_desk"]
                ),
                "starts_at": instant(),
                "ends_at": instant(),
            },
            ["site_id", "user_id", "starts_at", "ends_at"],
        ),
        "User": answer_object({"id": identifier(), **user_fields}),
        "UserInput": obj(
            {**user_fields, "password": string(minLength=12)},
            ["email", "name", "role"],
            description="On creation email, name and role are required.",
        ),
        "Patient": answer_object({"id": identifier(), **patient_fields}),
        "PatientInput": obj(
            patient_fields,
            ["mrn", "given_name", "family_name", "birth_date"],
            description="`site_id` is required when the caller works at several sites.",
        ),
        "Clearance": answer_object(
            {
                "id": identifier(),
                "patient_id": identifier(),
                **clearance_fields,
                "practitioner_id": identifier(),
                "corrected_at": nullable(instant("The latest correction.")),
                "corrected_by_id": nullable(identifier()),
                "voided": boolean("A voided clearance clears nobody."),
                "voided_at": nullable(instant()),
                "voided_by_id": nullable(identifier()),
                "void_reason": nullable(string()),
            }
        ),
        "ClearanceInput": obj(
            clearance_fields, ["evaluated_on", "valid_until", "cleared", "consent_signed"]
        ),
        "ClearanceChange": obj(
            clearance_fields,
            additionalProperties=False,
            description="Any subset of the fields; the others stay.",
        ),
        "ClearanceVoid": obj(
            {"reason": string("Why the clearance is void.", minLength=1, maxLength=1000)},
            ["reason"],
        ),
        "Slot": answer_object(
            {
                "chair_id": identifier(),
                "infusion_start": instant(),
                "infusion_end": instant(),
                "observation_end": instant(),
            }
        ),
        "Availability": answer_object({"slots": array(ref("Slot"))}),
        "VisitEvent": obj(
            {
                "type": string(enum=EVENT_TYPES),
                "at": instant(),
                "by": nullable(identifier("The user who recorded it.")),
                "recorded_at": instant(),
            },
            ["type", "at", "by", "recorded_at"],
            additionalProperties=True,
            description="Extra data of the event (reason, minutes, checklist...) follows.",
        ),
        "Visit": obj(
            {
                "id": identifier(),
                "patient_id": identifier(),
                "site_id": identifier(),
                "chair_id": identifier(),
                "recovery_chair_id": nullable(identifier()),
                "status": string(enum=STATUSES),
                "infusion_start": instant(),
                "infusion_end": instant(),
                "observation_end": instant(),
                "infusion_minutes": integer(),
                "observation_minutes": integer(),
                "checked_in_at": nullable(instant()),
                "infusion_started_at": nullable(instant()),
                "infusion_ended_at": nullable(instant()),
                "discharged_at": nullable(instant()),
                "discharge_due_at": nullable(instant()),
                "cancel_reason": nullable(string()),
                "notes": string(),
                "events": array(ref("VisitEvent")),
            },
            [
                "id",
                "patient_id",
                "site_id",
                "chair_id",
                "recovery_chair_id",
                "status",
                "infusion_start",
                "infusion_end",
                "observation_end",
                "infusion_minutes",
                "observation_minutes",
                "checked_in_at",
                "infusion_started_at",
                "infusion_ended_at",
                "discharged_at",
                "discharge_due_at",
                "cancel_reason",
                "events",
            ],
        ),
        "VisitInput": obj(
            {
                "patient_id": identifier(),
                "site_id": identifier(),
                **visit_plan,
                "notes": string(),
            },
            ["patient_id", "infusion_start"],
        ),
        "VisitChange": obj(visit_plan, description="Reschedule a booked visit."),
        "EventInput": obj(
            {
                "type": string(enum=EVENT_TYPES),
                "at": instant(
                    "Defaults to now; at most 12 hours in the past, 2 minutes in the future, "
                    "never before the visit's previous event."
                ),
                "minutes": integer("extend_observation.", minimum=1, maximum=240),
                "reason": string("extend_observation and cancel."),
                "checklist": obj(
                    {
                        "padss": integer(minimum=0, maximum=10),
                        "escort_name": string(),
                        "vitals_stable": boolean(),
                    },
                    ["padss", "escort_name", "vitals_stable"],
                    description="discharge.",
                ),
                "override_reason": string("discharge before discharge_due_at (practitioner)."),
            },
            ["type"],
        ),
        "ObservationInput": obj(
            observation_fields, ["systolic", "diastolic", "heart_rate", "spo2"]
        ),
        "Observation": obj(
            {
                "id": identifier(),
                "visit_id": identifier(),
                "at": instant(),
                "recorded_at": instant(),
                "by": nullable(identifier("The user who recorded it.")),
                **{k: v for k, v in observation_fields.items() if k != "at"},
                "flags": array(
                    string(enum=FLAGS),
                    "Computed when recorded from the site's thresholds; bp_above_baseline "
                    "compares with the visit's first reading.",
                ),
            },
            [
                "id",
                "visit_id",
                "at",
                "recorded_at",
                "by",
                "systolic",
                "diastolic",
                "heart_rate",
                "spo2",
                "respiratory_rate",
                "dissociation",
                "nausea",
                "dizziness",
                "note",
                "flags",
            ],
            additionalProperties=True,
        ),
        "DueReading": due_item,
        "DashboardVisit": obj(
            {
                "id": identifier(),
                "patient_label": string(),
                "chair": string(),
                "status": string(enum=["checked_in", "infusing", "recovering"]),
                "infusion_started_at": nullable(instant()),
                "infusion_ended_at": nullable(instant()),
                "discharge_due_at": nullable(instant()),
                "seconds_to_discharge_due": nullable(integer()),
                "overdue": boolean(),
                "latest_observation": nullable(ref("Observation")),
                "flags": array(string(enum=FLAGS)),
                "vitals_due": array(ref("DueReading"), "The scheduled readings due now."),
                "countdown": string(
                    enum=["none", "ok", "amber", "due", "overdue"],
                    description="Amber from amber_minutes before due; red (due) at due.",
                ),
                "chair_id": identifier(),
                "recovery_chair": nullable(string("Where the patient recovers.")),
                "recovery_chair_id": nullable(identifier()),
                "checked_in_at": nullable(instant()),
                "infusion_start": instant("Planned."),
                "infusion_end": instant("Planned."),
                "infusion_minutes": integer(),
                "observation_minutes": integer(),
                "extension_minutes": integer(),
                "phase_started_at": nullable(instant()),
                "minutes_in_phase": nullable(integer()),
                "vitals_next": nullable(ref("DueReading")),
                "vitals_missed": array(ref("DueReading")),
                "expected_chair_release": instant("When the chair is now expected free."),
                "next_chair_booking_at": nullable(instant()),
                "chair_clash_minutes": integer(
                    "Minutes the expected release runs into the chair's next booking."
                ),
                "next_bay_booking_at": nullable(instant("Bay mode.")),
                "bay_clash_minutes": integer("Bay mode: the same for the recovery bay."),
            },
            [
                "id",
                "patient_label",
                "chair",
                "status",
                "infusion_started_at",
                "infusion_ended_at",
                "discharge_due_at",
                "seconds_to_discharge_due",
                "overdue",
                "latest_observation",
                "flags",
                "vitals_due",
            ],
        ),
        "Dashboard": obj(
            {
                "server_time": instant(
                    "The server's clock: the client counts down to each discharge_due_at "
                    "from it, corrected for its own clock's difference."
                ),
                "visits": array(ref("DashboardVisit")),
                "site_id": identifier(),
                "overdue_after_minutes": integer(),
                "amber_minutes": integer(),
            },
            ["server_time", "visits"],
        ),
        "Notification": answer_object(
            {
                "id": identifier(),
                "kind": string(enum=["discharge_due", "discharge_overdue"]),
                "visit_id": identifier(),
                "site_id": identifier(),
                "due_at": instant(),
                "created_at": instant(),
                "acknowledged_at": nullable(instant()),
                "acknowledged_by": nullable(identifier()),
                "resolved_at": nullable(
                    instant(
                        "When the alarm's condition went (null while it holds): the alert "
                        "then leaves every screen, acknowledged or not."
                    )
                ),
                "resolved_reason": nullable(
                    string(
                        "Why it went: the observation was extended past the due instant, "
                        "the patient left recovery, or a site setting moved the instant.",
                        enum=list(RESOLVED_REASONS),
                    )
                ),
            }
        ),
        "Health": answer_object(
            {
                "database": string(enum=["ok", "unavailable"]),
                "scheduler": answer_object(
                    {
                        "alive": boolean("False when the heartbeat is older than 60 seconds."),
                        "last_heartbeat": nullable(instant()),
                    }
                ),
            }
        ),
    }


def error_responses() -> dict[str, Any]:
    """Return the shared error answers, one per status."""
    return {
        name: {
            "description": f"{status} {code}: {when}",
            "content": {
                "application/json": {
                    "schema": ref("Error"),
                    "example": {"error": code, "message": when, "fields": {}},
                }
            },
        }
        for status, (name, code, when) in ERRORS.items()
    }


# ---------------------------------------------------------------- paths


def paths() -> dict[str, dict[str, Any]]:
    """Return every path of API.md with its operations."""
    clearance_id = {
        "name": "clearance_id",
        "in": "path",
        "required": True,
        "description": "The clearance's id.",
        "schema": integer(minimum=1),
    }
    site_query = query("site_id", identifier(), "Only this site (one of the caller's).")
    day_query = query("date", day(), "Only this local day of the site.")
    admin = "admin"
    everyone = "front_desk, nurse, practitioner, admin"
    editors = "front_desk, practitioner"
    bookers = "front_desk, nurse, practitioner"
    clinical = "nurse, practitioner"
    return {
        "/sites": {
            "get": operation(
                "List the sites the caller may see.",
                "sites",
                {200: ok(array(ref("Site")), "The sites.")},
                roles=everyone,
                operation_id="listSites",
            ),
            "post": operation(
                "Create a site; unnamed settings take their defaults.",
                "sites",
                {201: ok(ref("Site"), "The new site.")},
                (403, 422),
                body(ref("SiteInput")),
                roles=admin,
                operation_id="createSite",
            ),
        },
        "/sites/{id}": {
            "parameters": [path_id("site")],
            "get": operation(
                "Show a site.",
                "sites",
                {200: ok(ref("Site"), "The site.")},
                (404,),
                roles=everyone,
                operation_id="getSite",
            ),
            "patch": operation(
                "Change any subset of a site's settings; the others stay. Nested minutes "
                "and opening hours change only the keys given.",
                "sites",
                {200: ok(ref("Site"), "The changed site.")},
                (403, 404, 422),
                body(ref("SiteInput")),
                roles=admin,
                operation_id="updateSite",
            ),
        },
        "/chairs": {
            "get": operation(
                "List the chairs and recovery bays of the caller's sites.",
                "chairs",
                {200: ok(array(ref("Chair")), "The chairs.")},
                (404, 422),
                parameters=[site_query],
                roles=everyone,
                operation_id="listChairs",
            ),
            "post": operation(
                "Add a chair or recovery bay to a site.",
                "chairs",
                {201: ok(ref("Chair"), "The new chair.")},
                (403, 404, 422),
                body(ref("ChairInput")),
                roles=admin,
                operation_id="createChair",
            ),
        },
        "/chairs/{id}": {
            "parameters": [path_id("chair")],
            "patch": operation(
                "Rename, retype or (de)activate a chair. Taking a chair out of service "
                "(`active: false`) or changing its kind while active visits still need it is "
                "a 409 whose body lists them in `visit_ids`.",
                "chairs",
                {200: ok(ref("Chair"), "The changed chair.")},
                (403, 404, 409, 422),
                body(ref("ChairInput")),
                roles=admin,
                operation_id="updateChair",
            ),
        },
        "/shifts": {
            "get": operation(
                "List who is on duty.",
                "shifts",
                {200: ok(array(ref("Shift")), "The shifts.")},
                (404, 422),
                parameters=[site_query, day_query],
                roles=everyone,
                operation_id="listShifts",
            ),
            "post": operation(
                "Put someone on duty at a site.",
                "shifts",
                {201: ok(ref("Shift"), "The new shift.")},
                (403, 404, 422),
                body(ref("ShiftInput")),
                roles=admin,
                operation_id="createShift",
            ),
        },
        "/shifts/{id}": {
            "parameters": [path_id("shift")],
            "delete": operation(
                "Take a shift off the roster.",
                "shifts",
                {204: {"description": "Deleted; no body."}},
                (403, 404),
                roles=admin,
                operation_id="deleteShift",
            ),
        },
        "/users": {
            "get": operation(
                "List every user.",
                "users",
                {200: ok(array(ref("User")), "The users.")},
                (403,),
                roles=admin,
                operation_id="listUsers",
            ),
            "post": operation(
                "Create a user; a duplicate e-mail is a 409.",
                "users",
                {201: ok(ref("User"), "The new user.")},
                (403, 409, 422),
                body(ref("UserInput")),
                roles=admin,
                operation_id="createUser",
            ),
        },
        "/users/{id}": {
            "parameters": [path_id("user")],
            "patch": operation(
                "Change a user's e-mail, name, role, sites, activity or password. A new "
                "password, disabling or a new role revokes the user's API tokens. 409 with "
                "`reasons` for an administrator's own role or activity (`own_admin_role`) and "
                "for the last active administrator (`last_active_admin`).",
                "users",
                {200: ok(ref("User"), "The changed user.")},
                (403, 404, 409, 422),
                body(ref("UserInput")),
                roles=admin,
                operation_id="updateUser",
            ),
        },
        "/tokens": {
            "get": operation(
                "List the caller's API tokens, newest first (an admin may name a user).",
                "tokens",
                {200: ok(array(ref("ApiToken")), "The tokens, revoked and expired included.")},
                (403, 404, 422),
                parameters=[query("user_id", identifier(), "Another user's tokens (admin only).")],
                roles=everyone,
                operation_id="listTokens",
            )
        },
        "/tokens/{id}": {
            "parameters": [path_id("token")],
            "delete": operation(
                "Revoke an API token: the caller's own, or (admin) anyone's.",
                "tokens",
                {200: ok(ref("ApiToken"), "The revoked token.")},
                (404,),
                roles=everyone,
                operation_id="revokeToken",
            ),
        },
        "/me": {
            "get": operation(
                "Show the caller.",
                "users",
                {200: ok(ref("User"), "The caller.")},
                roles=everyone,
                operation_id="getMe",
            )
        },
        "/patients": {
            "get": operation(
                "Find patients of the caller's sites by name or MRN prefix.",
                "patients",
                {200: ok(array(ref("Patient")), "The patients found.")},
                parameters=[query("q", string(maxLength=100), "Words to match.")],
                roles=everyone,
                operation_id="searchPatients",
            ),
            "post": operation(
                "Register a patient; a duplicate MRN is a 409.",
                "patients",
                {201: ok(ref("Patient"), "The new patient.")},
                (403, 404, 409, 422),
                body(ref("PatientInput")),
                roles=editors,
                operation_id="createPatient",
            ),
        },
        "/patients/{id}": {
            "parameters": [path_id("patient")],
            "get": operation(
                "Show a patient.",
                "patients",
                {200: ok(ref("Patient"), "The patient.")},
                (404,),
                roles=everyone,
                operation_id="getPatient",
            ),
            "patch": operation(
                "Change some of a patient's details; the others stay.",
                "patients",
                {200: ok(ref("Patient"), "The changed patient.")},
                (403, 404, 409, 422),
                body(ref("PatientInput")),
                roles=editors,
                operation_id="updatePatient",
            ),
        },
        "/patients/{id}/clearances": {
            "parameters": [path_id("patient")],
            "get": operation(
                "List a patient's clearances, latest first.",
                "patients",
                {200: ok(array(ref("Clearance")), "The clearances.")},
                (404,),
                roles=everyone,
                operation_id="listClearances",
            ),
            "post": operation(
                "Record a practitioner's evaluation of a patient.",
                "patients",
                {201: ok(ref("Clearance"), "The new clearance.")},
                (403, 404, 422),
                body(ref("ClearanceInput")),
                roles="practitioner",
                operation_id="recordClearance",
            ),
        },
        "/patients/{id}/clearances/{clearance_id}": {
            "parameters": [path_id("patient"), clearance_id],
            "patch": operation(
                "Correct some fields of a clearance; the others stay. A voided clearance "
                "cannot be corrected (409).",
                "patients",
                {200: ok(ref("Clearance"), "The corrected clearance.")},
                (403, 404, 409, 422),
                body(ref("ClearanceChange")),
                roles="practitioner",
                operation_id="correctClearance",
            ),
        },
        "/patients/{id}/clearances/{clearance_id}/void": {
            "parameters": [path_id("patient"), clearance_id],
            "post": operation(
                "Void a clearance with a reason: it stays listed, marked void, and no longer "
                "clears the patient for booking. Voiding twice is a 409.",
                "patients",
                {200: ok(ref("Clearance"), "The voided clearance.")},
                (403, 404, 409, 422),
                body(ref("ClearanceVoid")),
                roles="practitioner",
                operation_id="voidClearance",
            ),
        },
        "/availability": {
            "get": operation(
                "Find bookable slots on a 15-minute grid of local time.",
                "visits",
                {200: ok(ref("Availability"), "The free slots, by start then chair.")},
                (404, 422),
                parameters=[
                    site_query,
                    day_query,
                    query("days", integer(minimum=1, default=1), "How many days."),
                    query("infusion_minutes", integer(minimum=1), "Default: the site's."),
                    query("observation_minutes", integer(minimum=0), "Default: the site's."),
                    query("limit", integer(minimum=1, default=50), "At most this many slots."),
                ],
                roles=everyone,
                operation_id="getAvailability",
            )
        },
        "/visits": {
            "get": operation(
                "List the visits of a local day.",
                "visits",
                {200: ok(array(ref("Visit")), "The visits.")},
                (404, 422),
                parameters=[site_query, day_query],
                roles=everyone,
                operation_id="listVisits",
            ),
            "post": operation(
                "Book a visit; a 409 lists every broken rule.",
                "visits",
                {
                    201: ok(ref("Visit"), "The new visit."),
                    200: ok(ref("Visit"), "A retry with the same Idempotency-Key."),
                },
                (403, 404, 409, 422),
                body(ref("VisitInput")),
                parameters=[
                    {
                        "name": "Idempotency-Key",
                        "in": "header",
                        "required": False,
                        "description": "Makes the request safe to retry.",
                        "schema": string(maxLength=200),
                    }
                ],
                roles=bookers,
                operation_id="bookVisit",
            ),
        },
        "/visits/{id}": {
            "parameters": [path_id("visit")],
            "get": operation(
                "Show a visit with its events.",
                "visits",
                {200: ok(ref("Visit"), "The visit.")},
                (404,),
                roles=everyone,
                operation_id="getVisit",
            ),
            "patch": operation(
                "Reschedule a booked visit under the same rules.",
                "visits",
                {200: ok(ref("Visit"), "The rescheduled visit.")},
                (403, 404, 409, 422),
                body(ref("VisitChange")),
                roles=bookers,
                operation_id="rescheduleVisit",
            ),
        },
        "/visits/{id}/events": {
            "parameters": [path_id("visit")],
            "post": operation(
                "Record what happened to a visit (a state transition).",
                "visits",
                {200: ok(ref("Visit"), "The visit after the event.")},
                (403, 404, 409, 422),
                body(ref("EventInput")),
                roles=f"{bookers} (check_in, no_show, cancel); {clinical} (the others)",
                operation_id="recordEvent",
            ),
        },
        "/visits/{id}/observations": {
            "parameters": [path_id("visit")],
            "get": operation(
                "List a visit's vital signs.",
                "visits",
                {200: ok(array(ref("Observation")), "The observations.")},
                (404,),
                roles=everyone,
                operation_id="listObservations",
            ),
            "post": operation(
                "Record vital signs; the answer carries their flags.",
                "visits",
                {201: ok(ref("Observation"), "The new observation.")},
                (403, 404, 409, 422),
                body(ref("ObservationInput")),
                roles=clinical,
                operation_id="recordObservation",
            ),
        },
        "/dashboard": {
            "get": operation(
                "Show the visits of a site that are checked in, infusing or recovering.",
                "visits",
                {
                    200: ok(
                        ref("Dashboard"),
                        "The dashboard, with an ETag over everything but server_time and "
                        "seconds_to_discharge_due, and an X-Server-Time header.",
                    ),
                    304: {
                        "description": "Unchanged since the ETag given in If-None-Match "
                        "(X-Server-Time still sent): poll every second or two cheaply."
                    },
                },
                (404, 422),
                parameters=[site_query],
                roles=everyone,
                operation_id="getDashboard",
            )
        },
        "/notifications": {
            "get": operation(
                "List discharge alarms.",
                "notifications",
                {200: ok(array(ref("Notification")), "The notifications.")},
                (404, 422),
                parameters=[
                    site_query,
                    query(
                        "unacknowledged",
                        integer(enum=[0, 1]),
                        "1: only the open ones, neither acknowledged nor resolved.",
                    ),
                ],
                roles=everyone,
                operation_id="listNotifications",
            )
        },
        "/notifications/{id}/ack": {
            "parameters": [path_id("notification")],
            "post": operation(
                "Acknowledge a notification.",
                "notifications",
                {200: ok(ref("Notification"), "The acknowledged notification.")},
                (403, 404),
                roles=clinical,
                operation_id="acknowledgeNotification",
            ),
        },
        "/healthz": {
            "get": operation(
                "Report the database and the scheduler's heartbeat (also at /healthz).",
                "health",
                {
                    200: ok(ref("Health"), "The database answers."),
                    503: ok(ref("Health"), "The database does not answer."),
                },
                public=True,
                operation_id="health",
            )
        },
        "/openapi.json": {
            "get": operation(
                "This document.",
                "health",
                {200: ok({"type": "object"}, "The OpenAPI document.")},
                public=True,
                operation_id="openapi",
            )
        },
    }


def document() -> dict[str, Any]:
    """Return the whole OpenAPI document."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Infusion Desk API",
            "version": "1",
            "description": (
                "Scheduling and recovery supervision for ketamine infusion clinics. Instants "
                "in requests need an offset (naive ones are 422); answers give UTC. Dates "
                "are the site's local day. Errors share one body: "
                '{"error", "message", "fields"}. Non-admin users see only their sites; '
                "anything else answers 404."
            ),
        },
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearer": []}],
        "tags": [
            {"name": name}
            for name in (
                *("sites", "chairs", "shifts", "users", "tokens", "patients"),
                *("visits", "notifications", "health"),
            )
        ],
        "paths": paths(),
        "components": {
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": (
                        "An API token (flask users token EMAIL); never a cookie. It "
                        "expires (90 days by default) and can be revoked."
                    ),
                }
            },
            "schemas": schemas(),
            "responses": error_responses(),
        },
    }


DOCUMENT = document()


@bp.get("/openapi.json")
def openapi():
    """Serve the OpenAPI document (no authentication)."""
    return jsonify(DOCUMENT)
