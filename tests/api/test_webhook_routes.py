"""Webhook routes (admin only): register an endpoint (its secret answered once), change, roll, delete; deliveries
with their attempts, resend; a delivery reaches a receiver on 127.0.0.1 signed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from api_harness import Seeded
from fastapi.testclient import TestClient

from billing.permissions import PERMISSIONS, ROLES
from billing.store.db import Database
from billing.webhooks import worker
from tests.webhook_receiver import receiver

Headers = dict[str, str]
HOOK = "https://hooks.example.com/billing"

# (method, path with {endpoint} {delivery}, body or None, the permission it needs); the DELETE comes last
WEBHOOK_OPERATIONS: list[tuple[str, str, dict[str, Any] | None, str]] = [
    ("GET", "/webhook-endpoints", None, "webhooks.manage"),
    ("POST", "/webhook-endpoints", {"url": HOOK, "events": ["invoice.paid"]}, "webhooks.manage"),
    ("GET", "/webhook-endpoints/{endpoint}", None, "webhooks.manage"),
    ("PATCH", "/webhook-endpoints/{endpoint}", {"description": "ERP"}, "webhooks.manage"),
    ("POST", "/webhook-endpoints/{endpoint}/roll-secret", None, "webhooks.manage"),
    ("GET", "/webhook-deliveries", None, "webhooks.manage"),
    ("GET", "/webhook-deliveries/{delivery}", None, "webhooks.manage"),
    ("POST", "/webhook-deliveries/{delivery}/resend", None, "webhooks.manage"),
    ("DELETE", "/webhook-endpoints/{endpoint}", None, "webhooks.manage"),
]


def issue(client: TestClient, headers: Headers, seeded: Seeded) -> int:
    draft = client.post("/api/v1/invoices", headers=headers, json={"customer_id": seeded.customer_id, "lines": [
        {"description": "Setup", "quantity": "1", "unit_price": "100.00", "tax_rate_id": seeded.tax_rate_id}]})
    assert draft.status_code == 201, draft.text
    issued = client.post(f"/api/v1/invoices/{draft.json()['id']}/issue", headers=headers, json={})
    assert issued.status_code == 200, issued.text
    return int(draft.json()["id"])


def with_a_delivery(client: TestClient, admin: Headers, seeded: Seeded, url: str = HOOK) -> tuple[dict[str, Any], int]:
    created = client.post("/api/v1/webhook-endpoints", headers=admin,
                          json={"url": url, "events": ["invoice.issued"], "description": "ERP"})
    assert created.status_code == 201, created.text
    issue(client, admin, seeded)
    [delivery] = client.get("/api/v1/webhook-deliveries", headers=admin).json()["data"]
    return created.json(), int(delivery["id"])


@pytest.mark.parametrize("role", ROLES)
def test_only_an_admin_manages_webhooks(client: TestClient, seeded: Seeded, auth: Callable[[str], Headers],
                                        key_auth: Callable[[str], Headers], role: str) -> None:
    endpoint, delivery_id = with_a_delivery(client, auth("admin"), seeded)
    for headers in (auth(role), key_auth(role)):
        for method, path, body, permission in WEBHOOK_OPERATIONS:
            if method == "DELETE" and headers is auth(role):
                continue  # the endpoint is deleted once, by the API key
            url = "/api/v1" + path.format(endpoint=endpoint["id"], delivery=delivery_id)
            answer = client.request(method, url, headers=headers, json=body)
            if permission in PERMISSIONS[role]:
                assert answer.status_code in (200, 201, 204), (method, path, answer.text)
            else:
                assert answer.status_code == 403, (method, path, answer.text)


def test_the_secret_is_answered_once(client: TestClient, seeded: Seeded, auth: Callable[[str], Headers]) -> None:
    admin = auth("admin")
    endpoint, _ = with_a_delivery(client, admin, seeded)
    assert endpoint["secret"].startswith("whsec_") and endpoint["events"] == ["invoice.issued"]
    again = client.get(f"/api/v1/webhook-endpoints/{endpoint['id']}", headers=admin).json()
    assert "secret" not in again and again["secret_hint"] == endpoint["secret"][:10]
    rolled = client.post(f"/api/v1/webhook-endpoints/{endpoint['id']}/roll-secret", headers=admin).json()
    assert rolled["secret"] != endpoint["secret"]


@pytest.mark.parametrize(("body", "param"), [
    ({"url": "ftp://example.com/", "events": ["invoice.paid"]}, "url"),
    ({"url": "http://127.0.0.1:9/", "events": ["invoice.paid"]}, "url"),
    ({"url": HOOK, "events": []}, "events"),
    ({"url": HOOK, "events": ["invoice.eaten"]}, "events"),
    ({"url": HOOK, "events": ["invoice.paid"], "secret": "mine"}, "secret"),
])
def test_bad_endpoints_are_refused(client: TestClient, auth: Callable[[str], Headers], body: dict[str, Any],
                                   param: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BILLING_WEBHOOKS_ALLOW_PRIVATE", raising=False)
    answer = client.post("/api/v1/webhook-endpoints", headers=auth("admin"), json=body)
    assert answer.status_code == 422, answer.text
    assert answer.json()["param"].startswith(param)


def test_a_delivery_its_attempts_and_a_resend(client: TestClient, api_db: Database, seeded: Seeded,
                                              auth: Callable[[str], Headers], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BILLING_WEBHOOKS_ALLOW_PRIVATE", "1")
    admin = auth("admin")
    with receiver() as got:
        endpoint, delivery_id = with_a_delivery(client, admin, seeded, got.url)
        got.secret = endpoint["secret"]
        got.status = 503
        worker.run_once(api_db)
        failing = client.get(f"/api/v1/webhook-deliveries/{delivery_id}", headers=admin).json()
        assert (failing["status"], failing["attempts"], failing["last_status"]) == ("pending", 1, 503)
        assert failing["tries"][0]["status_code"] == 503 and failing["next_attempt_at"].endswith("Z")
        got.status = 200
        resent = client.post(f"/api/v1/webhook-deliveries/{delivery_id}/resend", headers=admin)
        assert resent.status_code == 200, resent.text
        worker.run_once(api_db)
        done = client.get(f"/api/v1/webhook-deliveries/{delivery_id}", headers=admin).json()
    assert done["status"] == "delivered" and [t["status_code"] for t in done["tries"]] == [503, 200]
    assert [item.event["id"] for item in got.received] == [done["event_id"]] * 2
    assert all(item.signed for item in got.received)
    assert done["data"]["payable"] == "119.00"
    listed = client.get("/api/v1/webhook-deliveries?status=delivered&type=invoice.issued&limit=1",
                        headers=admin).json()
    assert [item["id"] for item in listed["data"]] == [delivery_id] and not listed["has_more"]


def test_the_routes_are_in_the_openapi_document(client: TestClient) -> None:
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    assert {"/v1/webhook-endpoints", "/v1/webhook-endpoints/{endpoint_id}", "/v1/webhook-deliveries",
            "/v1/webhook-deliveries/{delivery_id}/resend"} <= set(paths)
