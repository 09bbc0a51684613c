"""GET /v1/invoices/{id}/einvoice and /v1/credit-notes/{id}/einvoice: the format asked for, or the customer's."""

from __future__ import annotations

from collections.abc import Callable

from api_harness import Seeded
from fastapi.testclient import TestClient
from test_document_routes import V1, Headers, issued
from test_errors import assert_problem


def test_an_invoice_in_the_format_asked_for(client: TestClient, seeded: Seeded,
                                             auth: Callable[[str], Headers]) -> None:
    invoice = issued(client, auth("accountant"), seeded, "250.00")
    answer = client.get(f"{V1}/invoices/{invoice['id']}/einvoice", params={"format": "ubl"}, headers=auth("analyst"))
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("application/xml")
    assert f"<cbc:ID>{invoice['number']}</cbc:ID>" in answer.text
    assert f'filename="{invoice["number"]}-ubl.xml"' in answer.headers["content-disposition"]


def test_the_customers_preferred_format_is_the_default(client: TestClient, seeded: Seeded,
                                                       auth: Callable[[str], Headers]) -> None:
    headers = auth("accountant")
    invoice = issued(client, headers, seeded, "100.00")
    url = f"{V1}/invoices/{invoice['id']}/einvoice"
    assert_problem(client.get(url, headers=headers), 422, "validation_error", "format")
    patched = client.patch(f"{V1}/customers/{seeded.customer_id}", headers=headers, json={"einvoice_format": "facturx"})
    assert patched.status_code == 200 and patched.json()["einvoice_format"] == "facturx"
    answer = client.get(url, headers=headers)
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/pdf"
    assert answer.content.startswith(b"%PDF") and b"factur-x.xml" in answer.content


def test_the_customers_iban_for_direct_debit_is_read_and_written(client: TestClient, seeded: Seeded,
                                                                   auth: Callable[[str], Headers]) -> None:
    headers = auth("accountant")
    url = f"{V1}/customers/{seeded.customer_id}"
    patched = client.patch(url, headers=headers, json={"iban": "de02 1203 0000 0000 2020 51"})
    assert patched.status_code == 200 and patched.json()["iban"] == "DE02120300000000202051"
    assert client.get(url, headers=headers).json()["iban"] == "DE02120300000000202051"
    problem = assert_problem(client.patch(url, headers=headers, json={"iban": "DE03120300000000202051"}), 422,
                             "validation_error")
    assert "IBAN: the check digits are wrong" in str(problem)


def test_a_credit_note_has_its_own_route(client: TestClient, seeded: Seeded, auth: Callable[[str], Headers]) -> None:
    headers = auth("accountant")
    invoice = issued(client, headers, seeded, "80.00")
    credit = client.post(f"{V1}/invoices/{invoice['id']}/credit", headers=headers, json={})
    assert credit.status_code == 201, credit.text
    note = credit.json()
    answer = client.get(f"{V1}/credit-notes/{note['id']}/einvoice", params={"format": "cii"}, headers=headers)
    assert answer.status_code == 200 and b"<ram:TypeCode>381</ram:TypeCode>" in answer.content
    assert_problem(client.get(f"{V1}/credit-notes/{invoice['id']}/einvoice", params={"format": "cii"},
                              headers=headers), 404, "not_found")
    assert_problem(client.get(f"{V1}/invoices/{invoice['id']}/einvoice", params={"format": "edifact"},
                              headers=headers), 422, "invalid_field", "format")
