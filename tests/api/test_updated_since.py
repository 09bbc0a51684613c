"""`updated_since` on the invoice, credit note and payment lists: what changed since a moment (created, issued,
paid, credited, reversed), in the lists' stable order."""

from __future__ import annotations

import time
from collections.abc import Callable

from api_harness import Seeded
from fastapi.testclient import TestClient
from test_document_routes import V1, draft_body, issued

from billing.store.db import utcnow

Headers = dict[str, str]


def moment() -> str:
    time.sleep(0.002)  # the stored times have microseconds: what follows is strictly later
    return utcnow().isoformat() + "Z"


def ids(client: TestClient, headers: Headers, path: str) -> list[int]:
    answer = client.get(f"{V1}/{path}", headers=headers)
    assert answer.status_code == 200, answer.text
    return [item["id"] for item in answer.json()["data"]]


def test_invoices_changed_since(client: TestClient, seeded: Seeded, auth: Callable[[str], Headers]) -> None:
    admin = auth("admin")
    old, other = issued(client, admin, seeded, "10.00"), issued(client, admin, seeded, "20.00")
    since = moment()
    assert ids(client, admin, f"invoices?updated_since={since}") == []
    draft = client.post(f"{V1}/invoices", headers=admin, json=draft_body(seeded, "5.00")).json()
    paid = client.post(f"{V1}/payments", headers=admin, json={
        "customer_id": seeded.customer_id, "currency": "EUR", "amount": "11.90", "received_on": "2026-11-03",
        "method": "bank_transfer", "allocate": [{"invoice_id": old["id"], "amount": "11.90"}]})
    assert paid.status_code == 201, paid.text
    assert ids(client, admin, f"invoices?updated_since={since}") == [draft["id"], old["id"]]  # newest id first
    assert ids(client, admin, f"invoices?updated_since={since}&limit=1&starting_after={draft['id']}") == [old["id"]]
    later = moment()
    credit = client.post(f"{V1}/invoices/{other['id']}/credit", headers=admin, json={"reason": "returned"}).json()
    assert ids(client, admin, f"invoices?updated_since={later}") == [credit["id"], other["id"]]
    assert ids(client, admin, f"credit-notes?updated_since={later}") == [credit["id"]]
    assert ids(client, admin, f"invoices?updated_since={moment()}") == []


def test_payments_changed_since(client: TestClient, seeded: Seeded, auth: Callable[[str], Headers]) -> None:
    admin = auth("admin")
    invoice = issued(client, admin, seeded, "100.00")
    unallocated = client.post(f"{V1}/payments", headers=admin, json={
        "customer_id": seeded.customer_id, "currency": "EUR", "amount": "10.00", "received_on": "2026-11-03",
        "method": "cash"}).json()
    quiet = client.post(f"{V1}/payments", headers=admin, json={
        "customer_id": seeded.customer_id, "currency": "EUR", "amount": "5.00", "received_on": "2026-11-03",
        "method": "cash", "allocate": [{"invoice_id": invoice["id"], "amount": "5.00"}]}).json()
    since = moment()
    assert ids(client, admin, f"payments?updated_since={since}") == []
    reversal = client.post(f"{V1}/payments/{unallocated['id']}/reverse", headers=admin,
                           json={"reason": "bounced"}).json()
    assert ids(client, admin, f"payments?updated_since={since}") == [reversal["id"], unallocated["id"]]
    assert quiet["id"] not in ids(client, admin, f"payments?updated_since={since}&method=cash")


def test_a_bad_updated_since_is_refused(client: TestClient, auth: Callable[[str], Headers]) -> None:
    for path in ("invoices", "credit-notes", "payments"):
        answer = client.get(f"{V1}/{path}?updated_since=yesterday", headers=auth("admin"))
        assert answer.status_code == 422 and answer.json()["param"] == "updated_since", answer.text
