"""Seller and buyer frozen at issue: a later change of the customer or the company changes neither an issued
document's view, its PDF nor its e-invoice; a draft follows the profiles."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from billing import customers, invoices, settings
from billing.einvoice.export import export_document
from billing.pdf import render_invoice_pdf
from billing.store.db import Database
from tests.conftest import ADMIN, TODAY, Seed, draft, issued, line
from tests.test_pdf import pdf_text

COMPANY = {"legal_name": "Example GmbH", "street": "Hauptstraße 1", "postcode": "10115", "city": "Berlin",
           "country": "DE", "tax_id": "DE136695976", "email": "billing@example.de", "contact_name": "Erika Muster",
           "contact_phone": "+49 30 1234567", "iban": "DE89370400440532013000", "bic": "COBADEFFXXX",
           "electronic_address": "billing@example.de", "electronic_scheme": "EM",
           "base_currency": "EUR", "timezone": "Europe/Berlin"}
BUYER = {"name": "Stadt Köln", "email": "rechnung@stadt-koeln.example", "country": "DE", "street": "Domkloster 4",
         "postcode": "50667", "city": "Köln", "tax_id": "DE 811 569 869", "legal_id": "HRB 1234",
         "electronic_address": "05315-12345-67", "electronic_scheme": "0204", "currency": "EUR", "terms_days": 30}


@dataclass(frozen=True)
class Issued:
    db: Database
    customer: int
    invoice: int


@pytest.fixture
def issued_with_parties(db: Database, seeded: Seed) -> Issued:
    settings.save_company(db, ADMIN, COMPANY)
    customers.update_customer(db, ADMIN, seeded.acme, BUYER)
    invoice = issued(db, seeded.acme, line(seeded.s19, "2", "150.00"), buyer_reference="05315-12345-67",
                     delivery_date="2025-03-01")
    return Issued(db, seeded.acme, invoice)


def _change_everything(world: Issued) -> None:
    customers.update_customer(world.db, ADMIN, world.customer, {
        **BUYER, "name": "Stadt Köln (neu)", "street": "Willy-Brandt-Platz 2", "postcode": "50679",
        "tax_id": "DE 136 695 976", "email": "neu@stadt-koeln.example"})
    settings.save_company(world.db, ADMIN, {**COMPANY, "legal_name": "Example AG", "street": "Neue Straße 9",
                                            "contact_name": "Max Neu", "iban": "DE02120300000000202051"})


def _pdf(world: Issued, invoice_id: int) -> str:
    document = invoices.get_invoice(world.db, ADMIN, invoice_id, as_of=TODAY)
    return pdf_text(render_invoice_pdf(document, settings.get_company(world.db) or {}))


def test_an_issued_invoice_keeps_its_parties_in_view_pdf_and_xml(issued_with_parties: Issued) -> None:
    world = issued_with_parties
    view = invoices.get_invoice(world.db, ADMIN, world.invoice, as_of=TODAY)
    pdf = _pdf(world, world.invoice)
    xml = {fmt: export_document(world.db, ADMIN, world.invoice, fmt)[2] for fmt in ("xrechnung-ubl", "ubl", "cii")}
    assert "Domkloster 4" in pdf and "Example GmbH" in pdf and "VAT ID: DE811569869" in pdf
    _change_everything(world)
    again = invoices.get_invoice(world.db, ADMIN, world.invoice, as_of=TODAY)
    assert (again.customer, again.seller) == (view.customer, view.seller)
    assert again.customer.street == "Domkloster 4" and again.seller is not None
    assert again.seller.name == "Example GmbH"
    assert _pdf(world, world.invoice) == pdf
    for fmt, before in xml.items():
        assert export_document(world.db, ADMIN, world.invoice, fmt)[2] == before, fmt
    assert b"Willy-Brandt-Platz" not in xml["xrechnung-ubl"] and b"Domkloster 4" in xml["xrechnung-ubl"]


def test_a_draft_and_the_next_invoice_show_the_parties_as_they_are_now(issued_with_parties: Issued,
                                                                       seeded: Seed) -> None:
    world = issued_with_parties
    pending = draft(world.db, world.customer, line(seeded.s19))
    _change_everything(world)
    document = invoices.get_invoice(world.db, ADMIN, pending, as_of=TODAY)
    assert document.customer.street == "Willy-Brandt-Platz 2" and document.customer.tax_id == "DE136695976"
    assert document.seller is not None and document.seller.name == "Example AG"
    invoices.issue_invoice(world.db, ADMIN, pending, today=TODAY)
    assert "Willy-Brandt-Platz 2" in _pdf(world, pending) and "Example AG" in _pdf(world, pending)


def test_a_credit_note_freezes_the_parties_of_its_own_issue(issued_with_parties: Issued) -> None:
    from billing.credit_notes import create_credit_note

    world = issued_with_parties
    _change_everything(world)
    credit = create_credit_note(world.db, ADMIN, world.invoice, TODAY)
    customers.update_customer(world.db, ADMIN, world.customer, {**BUYER, "street": "Dritte Straße 3"})
    document = invoices.get_invoice(world.db, ADMIN, credit, as_of=TODAY)
    assert document.customer.street == "Willy-Brandt-Platz 2"
    assert document.header.buyer_reference == "05315-12345-67"  # carried over from the invoice it credits
