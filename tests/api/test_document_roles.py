"""For each role, every invoice, credit note, payment and statement operation: the allowed ones work, the others
are 403, by access token and by API key (each call on records of its own, made by the system)."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from api_harness import Seeded
from fastapi.testclient import TestClient

from billing import credit_notes, invoices, payments
from billing.permissions import PERMISSIONS, ROLES, SYSTEM
from billing.store.db import Database

Headers = dict[str, str]
ON = date(2026, 11, 2)
_serial = itertools.count()

# (method, path with {customer} {draft} {issued} {credit_note} {payment}, body maker or None, the permission)
DOCUMENT_OPERATIONS: list[tuple[str, str, Callable[[Seeded], dict[str, Any]] | None, str]] = [
    ("GET", "/invoices", None, "invoices.read"),
    ("POST", "/invoices", lambda s: {"customer_id": s.customer_id, "lines": [
        {"description": "Setup", "quantity": "2", "unit_price": "45.00", "tax_rate_id": s.tax_rate_id}]},
     "invoices.write"),
    ("GET", "/invoices/{issued}", None, "invoices.read"),
    ("PATCH", "/invoices/{draft}", lambda s: {"notes": f"PO {next(_serial)}"}, "invoices.write"),
    ("DELETE", "/invoices/{draft}", None, "invoices.write"),
    ("POST", "/invoices/{draft}/issue", lambda s: {"issue_date": "2026-11-03"}, "invoices.write"),
    ("POST", "/invoices/{issued}/void", lambda s: {"reason": "sent twice"}, "invoices.write"),
    ("POST", "/invoices/{issued}/credit", lambda s: {"reason": "returned"}, "invoices.write"),
    ("POST", "/invoices/{issued}/duplicate", None, "invoices.write"),
    ("GET", "/invoices/{issued}/pdf", None, "invoices.read"),
    ("GET", "/invoices/{issued}/einvoice?format=cii", None, "invoices.read"),
    ("GET", "/credit-notes/{credit_note}/einvoice?format=ubl", None, "invoices.read"),
    ("GET", "/credit-notes", None, "invoices.read"),
    ("GET", "/credit-notes/{credit_note}", None, "invoices.read"),
    ("GET", "/payments", None, "payments.read"),
    ("POST", "/payments", lambda s: {"customer_id": s.customer_id, "amount": "10.00", "currency": "EUR",
                                     "received_on": "2026-11-20", "allocate": "auto"}, "payments.write"),
    ("GET", "/payments/{payment}", None, "payments.read"),
    ("POST", "/payments/{payment}/reverse", lambda s: {"reason": "bounced"}, "payments.write"),
    ("POST", "/payments/{payment}/refund", None, "payments.write"),
    ("GET", "/customers/{customer}/statement?from=2026-01-01&to=2026-12-31", None, "reports.read"),
]


class Records(dict[str, int]):
    """The ids a path names, each record made by the system when a path first asks for it."""

    def __init__(self, db: Database, seeded: Seeded) -> None:
        super().__init__(customer=seeded.customer_id)
        self.db, self.seeded = db, seeded

    def __missing__(self, name: str) -> int:
        db, seeded = self.db, self.seeded
        line = {"description": "Audit", "quantity": "1", "unit_price": "80.00", "tax_rate_id": seeded.tax_rate_id}
        if name == "payment":
            value = payments.record_payment(db, SYSTEM, {"customer_id": seeded.customer_id, "amount": "50.00",
                                                         "currency": "EUR", "received_on": ON})
        else:
            value = invoices.create_draft(db, SYSTEM, {"customer_id": seeded.customer_id, "lines": [line]})
            if name != "draft":
                invoices.issue_invoice(db, SYSTEM, value, today=ON)
            if name == "credit_note":
                value = credit_notes.create_credit_note(db, SYSTEM, value, ON)
        self[name] = value
        return value


@pytest.mark.parametrize("credential", ["token", "key"])
@pytest.mark.parametrize("role", ROLES)
def test_each_role_may_do_with_documents_and_money_what_the_permission_table_allows(
        client: TestClient, api_db: Database, seeded: Seeded, auth: Callable[[str], Headers],
        key_auth: Callable[[str], Headers], role: str, credential: str) -> None:
    headers = auth(role) if credential == "token" else key_auth(role)
    for method, path, body, permission in DOCUMENT_OPERATIONS:
        url = "/api/v1" + path.format_map(Records(api_db, seeded))
        answer = client.request(method, url, headers=headers, json=body(seeded) if body else None)
        if permission in PERMISSIONS[role]:
            assert answer.status_code in (200, 201, 204), (method, path, answer.text)
        else:
            assert answer.status_code == 403, (method, path, answer.text)
            assert answer.json()["code"] == "forbidden"
