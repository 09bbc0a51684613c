"""schemathesis (v4) over every operation of the OpenAPI schema, in-process, as an admin with a valid token:
no 5xx, every response as its schema says, negative data refused with a 4xx."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from api_harness import Seeded, mounted
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from portal import PASSWORD, copy_portal

from billing.store.db import forget_database, get_database

# A few examples per operation keep the whole run under a minute on a busy machine.
EXAMPLES = 8


@pytest.fixture(scope="module")
def fuzzed(api_template: tuple[Path, Seeded], tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One database for the module's examples, the app on it; the admin's token."""
    folder = tmp_path_factory.mktemp("fuzz")
    url = copy_portal(api_template[0], folder)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("BILLING_DATABASE_URL", url)
        get_database(url)
        with TestClient(APP) as client:
            answer = client.post("/api/v1/auth/token", json={"username": "admin", "password": PASSWORD})
            assert answer.status_code == 200, answer.text
            yield answer.json()["access_token"]
    forget_database(url)


APP = mounted()
schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", APP)


@schema.parametrize()
# Derandomized: CI runs the same examples every time (a random run once failed GET /v1/users in the whole
# suite and never again in 20 reruns); widen EXAMPLES or drop derandomize locally to explore.
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_every_operation_keeps_its_schema(case: schemathesis.Case, fuzzed: str) -> None:
    if case.operation.path == "/v1/users/{username}" and case.method == "patch":
        # Disabling or demoting the admin whose token the fuzzer holds would end the run's rights.
        case.path_parameters = {"username": "analyst"}
    # Not positive_data_acceptance: business rules refuse some requests the schema cannot describe (a tax
    # rate id that does not exist, a SKU taken, category S at 0 %), with a 4xx problem as they should.
    case.call_and_validate(headers={"Authorization": f"Bearer {fuzzed}"},
                           excluded_checks=[schemathesis.checks.positive_data_acceptance])
