"""What every answer looks like: problem details for failures, decimal strings for money, cursor pages."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from api_harness import Seeded, mounted
from fastapi.testclient import TestClient

from api.ratelimit import TokenBuckets
from billing import customers
from billing.permissions import SYSTEM
from billing.store.db import Database, utcnow

Headers = dict[str, str]
PROBLEM_FIELDS = {"type", "title", "status", "detail", "code", "param", "request_id"}


def assert_problem(answer: object, status: int, code: str, param: str | None = None) -> dict[str, object]:
    assert answer.status_code == status, answer.text  # type: ignore[attr-defined]
    assert answer.headers["content-type"] == "application/problem+json"  # type: ignore[attr-defined]
    body: dict[str, object] = answer.json()  # type: ignore[attr-defined]
    assert set(body) >= PROBLEM_FIELDS and body["status"] == status and body["code"] == code
    assert body["param"] == param
    assert body["request_id"] == answer.headers["X-Request-Id"]  # type: ignore[attr-defined]
    assert "Traceback" not in answer.text and "<html" not in answer.text.lower()  # type: ignore[attr-defined]
    return body


def test_an_unknown_field_is_refused_not_dropped(client: TestClient, auth: Callable[[str], Headers]) -> None:
    answer = client.post("/api/v1/customers", headers=auth("admin"),
                         json={"name": "Vandelay", "currency": "EUR", "vat_number": "DE1"})
    assert_problem(answer, 422, "unknown_field", "vat_number")
    patch = client.patch("/api/v1/customers/1", headers=auth("admin"), json={"nickname": "V"})
    assert_problem(patch, 422, "unknown_field", "nickname")
    query = client.get("/api/v1/customers?colour=red", headers=auth("admin"))
    assert_problem(query, 422, "unknown_field", "colour")


def test_a_field_error_names_the_field(client: TestClient, auth: Callable[[str], Headers]) -> None:
    answer = client.post("/api/v1/customers", headers=auth("admin"), json={"name": "X", "currency": "EUR",
                                                                          "terms_days": "30"})
    assert_problem(answer, 422, "invalid_field", "terms_days")
    assert_problem(client.get("/api/v1/customers?limit=101", headers=auth("admin")), 422, "invalid_field", "limit")
    assert_problem(client.get("/api/v1/reports/aging?as_of=1999-12-31", headers=auth("admin")), 422,
                   "validation_error", "as_of")


def test_money_goes_out_as_decimal_strings(client: TestClient, seeded: Seeded, auth: Callable[[str], Headers]) -> None:
    product = client.get(f"/api/v1/products/{seeded.product_id}", headers=auth("analyst")).json()
    rate = client.get(f"/api/v1/tax-rates/{seeded.tax_rate_id}", headers=auth("analyst")).json()
    assert (product["unit_price"], rate["percent"]) == ("120.50", "19.00")
    created = client.post("/api/v1/products", headers=auth("admin"), json={
        "name": "Tiny", "sku": "T-1", "unit_price": "0.125", "currency": "EUR", "tax_rate_id": seeded.tax_rate_id})
    assert created.json()["unit_price"] == "0.125"
    as_number = client.post("/api/v1/products", headers=auth("admin"), json={
        "name": "Float", "sku": "F-1", "unit_price": 0.1, "currency": "EUR", "tax_rate_id": seeded.tax_rate_id})
    assert_problem(as_number, 422, "invalid_field", "unit_price")
    balances = client.get(f"/api/v1/customers/{seeded.customer_id}/balances", headers=auth("analyst"))
    assert balances.status_code == 200 and balances.json() == []


def test_an_unexpected_failure_says_nothing_more(client: TestClient, auth: Callable[[str], Headers],
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("secret internals /srv/billing")

    monkeypatch.setattr(customers, "get_customer", broken)
    answer = client.get("/api/v1/customers/1", headers=auth("admin"))
    body = assert_problem(answer, 500, "internal_error")
    assert "secret" not in answer.text and body["request_id"] in str(body["detail"])


def test_unknown_paths_and_methods_are_problems_too(client: TestClient, auth: Callable[[str], Headers]) -> None:
    assert_problem(client.get("/api/v1/nothing-here", headers=auth("admin")), 404, "not_found")
    answer = client.delete("/api/v1/customers/1", headers=auth("admin"))
    assert_problem(answer, 405, "method_not_allowed")
    assert set(answer.headers["Allow"].split(", ")) == {"GET", "PATCH"}
    assert_problem(client.get("/api/v1/customers/999999", headers=auth("admin")), 404, "not_found")
    broken = client.post("/api/v1/customers", headers={**auth("admin"), "Content-Type": "application/json"},
                         content=b"{not json")
    assert broken.status_code in (400, 422) and broken.headers["content-type"] == "application/problem+json"


def test_a_client_over_its_rate_gets_429_with_retry_after(api_db: Database) -> None:
    with TestClient(mounted(TokenBuckets(rate=0.5, burst=3))) as client:
        token = client.post("/api/v1/auth/token", json={"username": "analyst",
                                                        "password": "purple tugboat jingles at noon"}).json()
        headers = {"Authorization": f"Bearer {token['access_token']}"}
        statuses = [client.get("/api/v1/products", headers=headers).status_code for _ in range(4)]
        assert statuses == [200, 200, 200, 429]
        answer = client.get("/api/v1/products", headers=headers)
        assert_problem(answer, 429, "rate_limited")
        assert 1 <= int(answer.headers["Retry-After"]) <= 2


def test_pages_follow_the_cursor_in_a_stable_order(client: TestClient, api_db: Database,
                                                   auth: Callable[[str], Headers]) -> None:
    for number in range(5):
        customers.create_customer(api_db, SYSTEM, {"name": f"Page {number}", "currency": "USD"})
    seen: list[int] = []
    cursor = None
    while True:
        query = "currency=USD&limit=2" + (f"&starting_after={cursor}" if cursor else "")
        page = client.get(f"/api/v1/customers?{query}", headers=auth("analyst")).json()
        seen += [c["id"] for c in page["data"]]
        if not page["has_more"]:
            assert page["next_cursor"] is None
            break
        cursor = page["next_cursor"]
    assert len(seen) == 5 and seen == sorted(seen)


def test_updated_since_lists_what_changed(client: TestClient, api_db: Database, seeded: Seeded,
                                          auth: Callable[[str], Headers]) -> None:
    since = (utcnow() + timedelta(milliseconds=1)).isoformat() + "Z"
    assert client.get(f"/api/v1/customers?updated_since={since}", headers=auth("admin")).json()["data"] == []
    client.patch(f"/api/v1/customers/{seeded.customer_id}", headers=auth("admin"), json={"notes": "VIP"})
    changed = client.get(f"/api/v1/customers?updated_since={since}", headers=auth("admin")).json()["data"]
    assert [(c["id"], c["notes"], c["name"]) for c in changed] == [(seeded.customer_id, "VIP", "Globex GmbH")]
    assert changed[0]["updated_at"].endswith("Z")


def test_the_openapi_document_and_docs_are_served(client: TestClient) -> None:
    schema = client.get("/api/v1/openapi.json").json()
    assert schema["openapi"].startswith("3.1")
    assert client.get("/api/docs").status_code == 200
