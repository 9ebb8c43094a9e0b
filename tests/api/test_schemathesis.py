"""A bounded schemathesis run over the whole served OpenAPI document, through the WSGI app,
as an administrator and as the front desk: no 5xx and no answer outside the document.

Fixed seed and a fixed number of examples per operation, so a run is repeatable and stays
well under three minutes on a small machine.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, seed, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from tests.conftest import issue_token

pytestmark = pytest.mark.slow

SEED = 20261127
EXAMPLES_PER_OPERATION = 8
CHECKS = [not_a_server_error, response_schema_conformance]


def run_operation(operation, headers: dict[str, str], found: list[str]) -> int:
    """Send the operation's generated cases; record every failed check; return the count."""
    sent = 0

    @seed(SEED)
    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        database=None,
        deadline=None,
        derandomize=False,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy())
    def send(case) -> None:
        nonlocal sent
        sent += 1
        response = case.call(headers=headers)
        try:
            case.validate_response(response, checks=CHECKS, headers=headers)
        except Exception as failure:  # a failed check: keep it and go on
            request = f"{case.method} {case.formatted_path} {case.query or ''} {case.body!r}"
            found.append(f"{request[:300]} -> {response.status_code}: {failure}"[:1500])

    send()
    return sent


def test_the_whole_api_holds_its_document_for_an_admin_and_the_front_desk(app, clinic):
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    callers = {
        "admin": {"Authorization": f"Bearer {issue_token(clinic.admin)}"},
        "front_desk": {"Authorization": f"Bearer {issue_token(clinic.clerk)}"},
    }
    found: list[str] = []
    operations = sent = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1
        for headers in callers.values():
            sent += run_operation(operation, headers, found)
    print(f"schemathesis: {operations} operations, {sent} requests")
    assert operations >= 30  # the whole document, not a part of it
    assert sent >= operations * 2
    assert not found, f"{len(found)} failed checks:\n" + "\n\n".join(found[:20])
