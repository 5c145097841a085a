"""Property-based API tests (schemathesis over the app's OpenAPI spec): whatever the inputs
allowed by the schema, as an admin (API token), no endpoint answers with a server error and
every JSON answer matches its declared response schema."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error, response_schema_conformance

from citycarbon.store import users
from citycarbon.web.app import create_app
from tests.web_fixtures import SETTINGS

APP = create_app(SETTINGS)
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)


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
def test_api_has_no_server_errors(case, admin_token):
    case.call_and_validate(
        headers={"Authorization": f"Bearer {admin_token}"},
        checks=[not_a_server_error, response_schema_conformance],
    )
