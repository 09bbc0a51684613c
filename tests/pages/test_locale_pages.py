"""AppTest of what issue 13's language and VAT help add to the pages: the customer's language on the customer
page, the VAT help in the invoice editor."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest
from portal import app_as, copy_portal, ok, open_page

from billing import catalog, customers, invoices
from billing.permissions import SYSTEM
from billing.store.db import Database, forget_database, get_database

INVOICES = "app_pages/invoices.py"
CUSTOMERS = "app_pages/customers.py"


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory, portal_template: Path) -> Path:
    folder = tmp_path_factory.mktemp("locale")
    db = get_database(copy_portal(portal_template, folder))
    catalog.create_tax_rate(db, SYSTEM, {"name": "VAT 19%", "category": "S", "percent": "19"})
    customers.create_customer(db, SYSTEM, {"name": "Société Exemple SA", "country": "FR", "tax_id": "FR40303265045",
                                           "language": "fr"})
    customers.create_customer(db, SYSTEM, {"name": "Jeanne Dupont", "country": "FR"})
    customers.create_customer(db, SYSTEM, {"name": "Müller KG", "country": "DE", "tax_id": "DE136695976"})
    forget_database(db.url)
    return folder


@pytest.fixture
def db(database_copy: Callable[[Path], Database], template: Path) -> Database:
    return database_copy(template)


def customer_id(db: Database, name: str) -> int:
    rows, _ = customers.search_customers(db, SYSTEM, name)
    return int(rows[0]["id"])


def test_reverse_charge_is_offered_for_a_business_in_another_eu_country(db: Database) -> None:
    at = open_page("accountant", INVOICES, edit="new")
    at.selectbox(key="ie_customer").select(customer_id(db, "Société")).run()
    ok(at)
    text = "\n".join(m.value for m in at.markdown)
    assert "reverse charge" in text and "AE" in text
    assert any("Autoliquidation" in c.value for c in at.caption)  # the text printed, in the customer's French
    offered = [b.label for b in at.button if b.key == "ie_vat_help_create"]
    assert offered == ["Create the reverse-charge rate and use it"]


def test_the_owner_creates_the_reverse_charge_rate_and_every_line_takes_it(db: Database) -> None:
    at = open_page("admin", INVOICES, edit="new")
    at.selectbox(key="ie_customer").select(customer_id(db, "Société")).run()
    at.button(key="ie_vat_help_create").click().run()
    ok(at)
    rate = next(r for r in catalog.list_tax_rates(db, SYSTEM) if r["category"] == "AE")
    assert "Article 196" in rate["exemption_reason"]
    at.run()
    assert at.button(key="ie_vat_help").label == "Use reverse charge on every line"
    assert [s.value for s in at.selectbox if s.key and s.key.endswith("_tax")] == [rate["id"]]


def test_a_consumer_abroad_gets_a_note_and_a_domestic_customer_none(db: Database) -> None:
    at = open_page("accountant", INVOICES, edit="new")
    at.selectbox(key="ie_customer").select(customer_id(db, "Jeanne")).run()
    assert any("consumer in FR" in i.value for i in at.info)
    at.selectbox(key="ie_customer").select(customer_id(db, "Müller")).run()
    assert not any("consumer" in i.value for i in at.info)
    assert not [b for b in at.button if b.key in ("ie_vat_help", "ie_vat_help_create")]


def test_the_customer_page_edits_the_language(db: Database) -> None:
    cid = customer_id(db, "Müller")
    at = ok(open_page("accountant", CUSTOMERS, customer=cid))
    assert any("Documents in English" in c.value for c in at.caption)
    language = next(s for s in at.selectbox if s.label == "Language of documents")
    language.select("de")
    next(b for b in at.button if b.label == "Save changes").click().run()
    ok(at)
    assert customers.get_customer(db, SYSTEM, cid)["language"] == "de"


def test_the_audit_log_names_documents_by_number(db: Database) -> None:
    rate = catalog.list_tax_rates(db, SYSTEM)[0]["id"]
    invoice_id = invoices.create_draft(db, SYSTEM, {"customer_id": customer_id(db, "Müller"), "lines": [
        {"description": "Work", "quantity": "1", "unit_price": "100.00", "tax_rate_id": rate}]})
    number = invoices.issue_invoice(db, SYSTEM, invoice_id, today=date.today())
    at = ok(app_as("admin", "app_pages/audit_log.py"))
    table = at.dataframe[0].value
    shown = dict(zip(table["Action"], table["Number / name"], strict=True))
    assert shown["Invoice issued"] == number and number.startswith("INV")
    assert shown["Draft created"] == number  # the record is named as it is now
    assert "Müller KG" in table["Number / name"].tolist()
