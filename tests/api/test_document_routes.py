"""Invoices, credit notes, payments and statements over the API: the whole flow with exact amounts, drafts,
actions, refusals as problem details, idempotent creation, the PDF."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import pypdf
import pytest
from api_harness import Seeded
from fastapi.testclient import TestClient
from test_errors import assert_problem

from billing.store.db import Database

Headers = dict[str, str]
V1 = "/api/v1"


def draft_body(seeded: Seeded, *prices: str, **extra: Any) -> dict[str, Any]:
    return {"customer_id": seeded.customer_id, **extra,
            "lines": [{"description": f"Work {i}", "quantity": "1", "unit_price": price,
                       "tax_rate_id": seeded.tax_rate_id} for i, price in enumerate(prices or ("100.00",), 1)]}


def issued(client: TestClient, headers: Headers, seeded: Seeded, *prices: str) -> dict[str, Any]:
    draft = client.post(f"{V1}/invoices", headers=headers, json=draft_body(seeded, *prices))
    assert draft.status_code == 201, draft.text
    answer = client.post(f"{V1}/invoices/{draft.json()['id']}/issue", headers=headers,
                         json={"issue_date": "2026-11-02"})
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def count(db: Database, table: str) -> int:
    with db.connect() as conn:
        return int(conn.exec_driver_sql(f"SELECT count(*) FROM {table}").scalar_one())


def test_create_issue_pay_and_the_statement_with_exact_amounts(client: TestClient, seeded: Seeded,
                                                               auth: Callable[[str], Headers]) -> None:
    headers = auth("accountant")
    draft = client.post(f"{V1}/invoices", headers=headers, json=draft_body(seeded, "100.00"))
    assert draft.status_code == 201, draft.text
    body = draft.json()
    assert (body["status"], body["number"], body["totals"]["payable"], body["balance"]) == ("draft", None, "119.00",
                                                                                          "119.00")
    assert body["vat_breakdown"] == [{"vat_category": "S", "vat_rate": "19.00", "taxable": "100.00", "tax": "19.00"}]
    invoice = client.post(f"{V1}/invoices/{body['id']}/issue", headers=headers,
                          json={"issue_date": "2026-11-02", "due_date": "2026-12-02"}).json()
    assert invoice["number"] and invoice["stored_status"] == "issued" and invoice["due_date"] == "2026-12-02"
    assert invoice == client.get(f"{V1}/invoices/{body['id']}", headers=headers).json()  # answered, not read back
    payment = client.post(f"{V1}/payments", headers=headers,
                          json={"customer_id": seeded.customer_id, "amount": "119.00", "currency": "EUR",
                                "received_on": "2026-11-20", "reference": "bank 77", "allocate": "auto"})
    assert payment.status_code == 201, payment.text
    assert payment.json()["allocations"] == [{"invoice_id": invoice["id"], "number": invoice["number"],
                                              "amount": "119.00"}]
    paid = client.get(f"{V1}/invoices/{invoice['id']}", headers=headers).json()
    assert (paid["status"], paid["balance"], paid["paid_amount"]) == ("paid", "0.00", "119.00")
    assert [a["amount"] for a in paid["allocations"]] == ["119.00"]
    statement = client.get(f"{V1}/customers/{seeded.customer_id}/statement?from=2026-11-01&to=2026-11-30",
                           headers=headers)
    assert statement.status_code == 200, statement.text
    entries = statement.json()["entries"]
    assert [(e["kind"], e["number"], e["debit"], e["credit"], e["balance"]) for e in entries] == [
        ("invoice", invoice["number"], "119.00", "0.00", "119.00"), ("payment", None, "0.00", "119.00", "0.00")]
    assert statement.json()["closing_balance"] == "0.00"


def test_list_filters_and_cursor_pages_in_a_stable_order(client: TestClient, seeded: Seeded,
                                                         auth: Callable[[str], Headers]) -> None:
    headers = auth("accountant")
    ids = [issued(client, headers, seeded, f"{10 + i}.00")["id"] for i in range(3)]
    client.post(f"{V1}/invoices/{ids[0]}/credit", headers=headers, json={"reason": "returned"})
    first = client.get(f"{V1}/invoices?limit=2&kind=invoice", headers=headers).json()
    second = client.get(f"{V1}/invoices?limit=2&kind=invoice&starting_after={first['next_cursor']}",
                        headers=headers).json()
    assert [row["id"] for row in first["data"] + second["data"]] == ids[::-1] and not second["has_more"]
    credited = client.get(f"{V1}/invoices?status=credited", headers=headers).json()["data"]
    assert [row["id"] for row in credited] == [ids[0]] and credited[0]["balance"] == "0.00"
    notes = client.get(f"{V1}/credit-notes", headers=headers).json()["data"]
    assert [(n["kind"], n["payable"], n["status"]) for n in notes] == [("credit_note", "11.90", "credit_note")]
    note = client.get(f"{V1}/credit-notes/{notes[0]['id']}", headers=headers).json()
    assert note["credited_invoice_id"] == ids[0] and note["lines"][0]["credits_line"] == 1
    assert client.get(f"{V1}/credit-notes/{ids[1]}", headers=headers).status_code == 404


def test_drafts_change_duplicate_delete_and_the_actions_of_an_issued_invoice(
        client: TestClient, seeded: Seeded, auth: Callable[[str], Headers]) -> None:
    headers = auth("admin")
    draft = client.post(f"{V1}/invoices", headers=headers, json=draft_body(seeded, "10.00", notes="first")).json()
    changed = client.patch(f"{V1}/invoices/{draft['id']}", headers=headers,
                           json={"lines": draft_body(seeded, "20.00", "30.00")["lines"], "due_date": "2026-12-31"})
    assert changed.status_code == 200, changed.text
    assert (changed.json()["totals"]["tax_exclusive"], changed.json()["notes"]) == ("50.00", "first")
    copy = client.post(f"{V1}/invoices/{draft['id']}/duplicate", headers=headers).json()
    assert copy["status"] == "draft" and [line["unit_price"] for line in copy["lines"]] == ["20.00", "30.00"]
    assert client.delete(f"{V1}/invoices/{copy['id']}", headers=headers).status_code == 204
    assert client.get(f"{V1}/invoices/{copy['id']}", headers=headers).status_code == 404
    invoice = issued(client, headers, seeded, "40.00", "60.00")
    assert_problem(client.patch(f"{V1}/invoices/{invoice['id']}", headers=headers, json={"notes": "x"}),
                   409, "invalid_state")
    assert_problem(client.delete(f"{V1}/invoices/{invoice['id']}", headers=headers), 409, "invalid_state")
    part = client.post(f"{V1}/invoices/{invoice['id']}/credit", headers=headers,
                       json={"quantities": [{"line": 2, "quantity": "0.5"}]})
    assert part.status_code == 201, part.text
    assert part.json()["totals"]["payable"] == "35.70"
    assert client.get(f"{V1}/invoices/{invoice['id']}", headers=headers).json()["balance"] == "83.30"
    other = issued(client, headers, seeded, "5.00")
    voided = client.post(f"{V1}/invoices/{other['id']}/void", headers=headers, json={"reason": "wrong customer"})
    assert (voided.json()["status"], voided.json()["void_reason"], voided.json()["number"]) == (
        "void", "wrong customer", other["number"])


def test_reverse_and_refund_a_payment(client: TestClient, seeded: Seeded, auth: Callable[[str], Headers]) -> None:
    headers = auth("accountant")
    invoice = issued(client, headers, seeded, "100.00")
    paid = client.post(f"{V1}/payments", headers=headers,
                       json={"customer_id": seeded.customer_id, "amount": "150.00", "currency": "EUR",
                             "received_on": "2026-11-20", "method": "card",
                             "allocate": [{"invoice_id": invoice["id"], "amount": "119.00"}]}).json()
    refund = client.post(f"{V1}/payments/{paid['id']}/refund", headers=headers, json={"refunded_on": "2026-11-21"})
    assert refund.status_code == 201, refund.text
    assert (refund.json()["kind"], refund.json()["amount"]) == ("refund", "-31.00")
    listed = client.get(f"{V1}/payments?customer_id={seeded.customer_id}", headers=headers).json()["data"]
    assert [(p["kind"], p["amount"], p["unallocated"]) for p in listed] == [("refund", "-31.00", "-31.00"),
                                                                          ("payment", "150.00", "31.00")]
    assert_problem(client.post(f"{V1}/payments/{paid['id']}/reverse", headers=headers, json={"reason": "bounced"}),
                   409, "invalid_state")  # part of it was refunded
    second = client.post(f"{V1}/payments", headers=headers,
                         json={"customer_id": seeded.customer_id, "amount": "20.00", "currency": "EUR",
                               "received_on": "2026-11-22"}).json()
    reversal = client.post(f"{V1}/payments/{second['id']}/reverse", headers=headers,
                           json={"reason": "bounced", "reversed_on": "2026-11-23"})
    assert reversal.status_code == 201, reversal.text
    assert (reversal.json()["kind"], reversal.json()["amount"], reversal.json()["reverses_payment_id"]) == (
        "reversal", "-20.00", second["id"])
    assert client.get(f"{V1}/payments/{second['id']}", headers=headers).json()["reversed"] is True


@pytest.mark.parametrize(("path", "body"), [
    ("/invoices", lambda s: {**draft_body(s), "po_number": "4711"}),
    ("/payments", lambda s: {"customer_id": s.customer_id, "amount": "1.00", "currency": "EUR",
                             "received_on": "2026-11-20", "bank": "x"}),
])
def test_unknown_fields_are_refused(client: TestClient, seeded: Seeded, auth: Callable[[str], Headers], path: str,
                                    body: Callable[[Seeded], dict[str, Any]]) -> None:
    answer = client.post(V1 + path, headers=auth("admin"), json=body(seeded))
    assert_problem(answer, 422, "unknown_field", "po_number" if path == "/invoices" else "bank")


@pytest.mark.parametrize(("text", "param", "body"), [
    ("a\u0000b", "lines.0.description", lambda s, t: {**draft_body(s), "lines": [{
        "description": t, "quantity": "1", "unit_price": "1.00", "tax_rate_id": s.tax_rate_id}]}),
    ("n\u0007o", "notes", lambda s, t: {**draft_body(s), "notes": t}),
    ("x\ufffey", "notes", lambda s, t: {**draft_body(s), "notes": t}),
    ("r\u202ex", "allowance_charges.0.reason", lambda s, t: {**draft_body(s), "allowance_charges": [
        {"reason": t, "amount": "1.00", "tax_rate_id": s.tax_rate_id}]}),
])
def test_control_characters_in_an_invoices_text_are_refused(
        client: TestClient, seeded: Seeded, api_db: Database, auth: Callable[[str], Headers], text: str, param: str,
        body: Callable[[Seeded, str], dict[str, Any]]) -> None:
    before = count(api_db, "invoices")
    answer = client.post(f"{V1}/invoices", headers=auth("admin"), json=body(seeded, text))
    assert_problem(answer, 422, "invalid_field", param)
    assert count(api_db, "invoices") == before


def test_refusals_name_the_field(client: TestClient, seeded: Seeded, api_db: Database,
                                 auth: Callable[[str], Headers]) -> None:
    headers = auth("admin")
    no_lines = client.post(f"{V1}/invoices", headers=headers, json={**draft_body(seeded), "lines": []})
    assert_problem(no_lines, 422, "invalid_field", "lines")
    as_float = client.post(f"{V1}/invoices", headers=headers, json={
        **draft_body(seeded), "lines": [{"description": "x", "quantity": 1.5, "unit_price": "1.00",
                                         "tax_rate_id": seeded.tax_rate_id}]})
    assert_problem(as_float, 422, "invalid_field", "lines.0.quantity")
    zero = client.post(f"{V1}/invoices", headers=headers, json={
        **draft_body(seeded), "lines": [{"description": "x", "quantity": "0", "unit_price": "1.00",
                                         "tax_rate_id": seeded.tax_rate_id}]})
    assert_problem(zero, 422, "invalid_field", "lines.0.quantity")
    draft = client.post(f"{V1}/invoices", headers=headers, json=draft_body(seeded)).json()
    with api_db.connect() as conn:  # a draft left without lines (by an older version): it cannot be issued
        conn.exec_driver_sql("DELETE FROM invoice_lines WHERE invoice_id = ?", (draft["id"],))
        conn.commit()
    body = assert_problem(client.post(f"{V1}/invoices/{draft['id']}/issue", headers=headers), 422,
                          "validation_error", "lines")
    assert "at least one line" in str(body["detail"])
    assert_problem(client.get(f"{V1}/invoices/999999", headers=headers), 404, "not_found")
    assert_problem(client.get(f"{V1}/invoices/%0Ax", headers=headers), 422, "invalid_field", "invoice_id")
    assert_problem(client.get(f"{V1}/invoices?status=lost", headers=headers), 422, "invalid_field", "status")


def test_a_repeated_post_creates_one_invoice_and_one_payment(client: TestClient, seeded: Seeded, api_db: Database,
                                                             auth: Callable[[str], Headers]) -> None:
    headers = {**auth("accountant"), "Idempotency-Key": "shop-order-1"}
    before = count(api_db, "invoices")
    first = client.post(f"{V1}/invoices", headers=headers, json=draft_body(seeded, "9.99"))
    again = client.post(f"{V1}/invoices", headers=headers, json=draft_body(seeded, "9.99"))
    assert (first.status_code, again.status_code, again.headers["Idempotent-Replayed"]) == (201, 201, "true")
    assert again.json() == first.json() and count(api_db, "invoices") == before + 1
    conflict = client.post(f"{V1}/invoices", headers=headers, json=draft_body(seeded, "10.99"))
    assert_problem(conflict, 409, "idempotency_key_reused")
    pay = {"customer_id": seeded.customer_id, "amount": "5.00", "currency": "EUR", "received_on": "2026-11-20"}
    keyed = {**auth("accountant"), "Idempotency-Key": "bank-line-9"}
    payments_before = count(api_db, "payments")
    assert client.post(f"{V1}/payments", headers=keyed, json=pay).status_code == 201
    replay = client.post(f"{V1}/payments", headers=keyed, json=pay)
    assert replay.status_code == 201 and replay.headers["Idempotent-Replayed"] == "true"
    assert count(api_db, "payments") == payments_before + 1
    assert_problem(client.post(f"{V1}/payments", headers=keyed, json={**pay, "amount": "6.00"}),
                   409, "idempotency_key_reused")


def test_the_pdf_is_a_real_pdf_with_the_number(client: TestClient, seeded: Seeded,
                                               auth: Callable[[str], Headers]) -> None:
    invoice = issued(client, auth("accountant"), seeded, "250.00")
    answer = client.get(f"{V1}/invoices/{invoice['id']}/pdf", headers=auth("analyst"))
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/pdf"
    assert answer.content.startswith(b"%PDF")
    text = "".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(answer.content)).pages)
    assert invoice["number"] in text and "297.50" in text
    assert f'filename="{invoice["number"]}.pdf"' in answer.headers["content-disposition"]


def test_writes_are_audited_with_the_api_actor(client: TestClient, seeded: Seeded,
                                               key_auth: Callable[[str], Headers],
                                               auth: Callable[[str], Headers]) -> None:
    keyed = key_auth("accountant")
    invoice = issued(client, keyed, seeded, "1.00")
    events = client.get(f"{V1}/audit-events?entity=invoice", headers=auth("admin")).json()["data"]
    key_id = keyed["Authorization"].split("_")[1]
    assert [(e["action"], e["actor"]) for e in events[:2]] == [("invoice.issue", f"api:accountant:{key_id}"),
                                                               ("invoice.create_draft", f"api:accountant:{key_id}")]
    assert all(str(e["entity_id"]) == str(invoice["id"]) for e in events[:2])
