"""Property-based API tests (schemathesis over the app's OpenAPI spec): whatever the inputs
allowed by the schema, as an admin (API token), no endpoint answers with a server error, every
answer's status code and content type (JSON, CSV, Excel, PDF) are documented, every JSON answer
matches its declared response schema, inputs the schema refuses are refused, and inputs it
allows are not refused as invalid (422): the schema says what the API accepts."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    negative_data_rejection,
    not_a_server_error,
    positive_data_acceptance,
    response_schema_conformance,
    status_code_conformance,
)

from citycarbon.store import users
from citycarbon.web.app import create_app
from tests.web_fixtures import SETTINGS

APP = create_app(SETTINGS)
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)
CHECKS = [
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
    content_type_conformance,
    negative_data_rejection,
]
#: Operations whose acceptance depends on what the schema cannot state, so a schema-valid
#: request may be refused: the type of an upload is its file name's suffix; a user's scope code
#: and a token's owner must exist; a scenario measure's full year follows its start year.
DATA_DEPENDENT = {
    ("POST", "/api/v1/uploads"),
    ("POST", "/api/partner/events"),  # signed requests: no generated body carries a signature
    ("POST", "/api/partner/consents"),
    ("POST", "/api/partner/residents/export"),
    ("POST", "/api/partner/residents/erase"),
    ("POST", "/api/partner/redemptions"),
    ("POST", "/api/partner/donations"),
    ("POST", "/api/v1/users"),
    ("POST", "/api/v1/tokens"),
    ("POST", "/api/v1/scenarios"),
}


@pytest.fixture(scope="module")
def admin_token(web_home) -> str:
    return users.create_token("admin", "schemathesis", actor="test")[1]


@schema.parametrize()
@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_api_conforms_to_its_schema(case, admin_token):
    key = (case.operation.method.upper(), case.operation.path)
    case.call_and_validate(
        headers={"Authorization": f"Bearer {admin_token}"},
        checks=CHECKS + ([] if key in DATA_DEPENDENT else [positive_data_acceptance]),
    )
