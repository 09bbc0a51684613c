"""For each role, every operation over the API: the allowed ones work, the others are 403, by access token and
by API key, exactly as the permission table says for the portal."""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from typing import Any

import pytest
from api_harness import Seeded
from fastapi.testclient import TestClient
from test_document_roles import DOCUMENT_OPERATIONS
from test_webhook_routes import WEBHOOK_OPERATIONS

from billing.permissions import PERMISSIONS, ROLES

Headers = dict[str, str]
_serial = itertools.count()


def unique() -> int:
    return next(_serial)


# (method, path with {customer} {product} {rate} {user}, body maker or None, the permission it needs)
OPERATIONS: list[tuple[str, str, Callable[[], dict[str, Any]] | None, str]] = [
    ("GET", "/customers", None, "customers.read"),
    ("POST", "/customers", lambda: {"name": f"New {unique()}", "currency": "EUR"}, "customers.write"),
    ("GET", "/customers/{customer}", None, "customers.read"),
    ("PATCH", "/customers/{customer}", lambda: {"notes": f"call first {unique()}"}, "customers.write"),
    ("POST", "/customers/{customer}/archive", None, "customers.write"),
    ("POST", "/customers/{customer}/unarchive", None, "customers.write"),
    ("GET", "/customers/{customer}/balances", None, "invoices.read"),
    ("GET", "/products", None, "products.read"),
    ("POST", "/products", lambda: {"name": "Audit day", "sku": f"AUD-{unique()}", "unit_price": "900.00",
                                   "currency": "EUR", "tax_rate_id": 1}, "products.write"),
    ("GET", "/products/{product}", None, "products.read"),
    ("PATCH", "/products/{product}", lambda: {"unit_price": "125.00"}, "products.write"),
    ("GET", "/tax-rates", None, "products.read"),
    ("POST", "/tax-rates", lambda: {"name": f"Reduced {unique()}", "category": "S", "percent": "7"}, "products.write"),
    ("GET", "/tax-rates/{rate}", None, "products.read"),
    ("PATCH", "/tax-rates/{rate}", lambda: {"name": "Standard"}, "products.write"),
    ("GET", "/reports/aging?as_of=2026-11-30", None, "reports.read"),
    ("GET", "/reports/revenue?date_from=2026-01-01&date_to=2026-12-31", None, "reports.read"),
    ("GET", "/reports/tax?date_from=2026-01-01&date_to=2026-12-31", None, "reports.read"),
    ("GET", "/users", None, "users.manage"),
    ("POST", "/users", lambda: {"username": f"clerk{unique()}", "password": "a long enough passphrase 7",
                                "role": "analyst"}, "users.manage"),
    ("GET", "/users/{user}", None, "users.manage"),
    ("PATCH", "/users/{user}", lambda: {"active": True}, "users.manage"),
    ("GET", "/audit-events", None, "audit.read"),
]


def call(client: TestClient, headers: Headers, seeded: Seeded, method: str, path: str,
         body: Callable[[], dict[str, Any]] | None) -> Any:
    url = "/api/v1" + path.format(customer=seeded.customer_id, product=seeded.product_id, rate=seeded.tax_rate_id,
                                  user="analyst")
    return client.request(method, url, headers=headers, json=body() if body else None)


@pytest.mark.parametrize("credential", ["token", "key"])
@pytest.mark.parametrize("role", ROLES)
def test_each_role_may_do_over_the_api_what_the_permission_table_allows(
        client: TestClient, seeded: Seeded, auth: Callable[[str], Headers], key_auth: Callable[[str], Headers],
        role: str, credential: str) -> None:
    headers = auth(role) if credential == "token" else key_auth(role)
    for method, path, body, permission in OPERATIONS:
        answer = call(client, headers, seeded, method, path, body)
        if permission in PERMISSIONS[role]:
            assert answer.status_code in (200, 201), (method, path, answer.text)
        else:
            assert answer.status_code == 403, (method, path, answer.text)
            assert answer.json()["code"] == "forbidden"


def test_every_operation_of_the_api_is_in_the_matrix(client: TestClient) -> None:
    schema = client.get("/api/v1/openapi.json").json()
    documented = {(method.upper(), path) for path, item in schema["paths"].items() for method in item}
    names = {"customer": "customer_id", "product": "product_id", "rate": "rate_id", "user": "username",
             "draft": "invoice_id", "issued": "invoice_id", "credit_note": "credit_note_id", "payment": "payment_id",
             "endpoint": "endpoint_id", "delivery": "delivery_id"}
    covered = {(method, "/v1" + re.sub(r"{(\w+)}", lambda m: "{" + names[m[1]] + "}", path.split("?")[0]))
               for method, path, _, _ in [*OPERATIONS, *DOCUMENT_OPERATIONS, *WEBHOOK_OPERATIONS]}
    assert documented - {("POST", "/v1/auth/token")} == covered


def test_writes_over_the_api_are_audited_with_an_api_actor(client: TestClient, seeded: Seeded,
                                                           auth: Callable[[str], Headers],
                                                           key_auth: Callable[[str], Headers]) -> None:
    client.post("/api/v1/customers", headers=auth("accountant"), json={"name": "By token", "currency": "EUR"})
    keyed = key_auth("accountant")
    client.post("/api/v1/customers", headers=keyed, json={"name": "By key", "currency": "EUR"})
    events = client.get("/api/v1/audit-events?entity=customer&action=customer.create",
                        headers=auth("admin")).json()["data"]
    key_id = keyed["Authorization"].split("_")[1]
    assert [e["actor"] for e in events[:2]] == [f"api:accountant:{key_id}", "api:accountant"]
