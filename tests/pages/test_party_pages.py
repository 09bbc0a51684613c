"""AppTest of the party data: customer address parts and identifiers, the notice of addresses to complete, learned
IBANs, the company's contact in settings, and the editor's "More details"."""

from __future__ import annotations

from datetime import date
from typing import Any

import sqlalchemy as sa
from portal import app_as, ok, open_page
from streamlit.testing.v1 import AppTest

from billing import customer_accounts, customers, invoices, settings
from billing.permissions import SYSTEM
from billing.store.bank_schema import customer_ibans
from billing.store.db import Database, utcnow
from billing.store.schema import audit_events
from billing.store.schema import customers as customer_table

CUSTOMERS = "app_pages/customers.py"


def find(elements: Any, label: str) -> Any:
    matches = [e for e in elements if e.label == label]
    assert len(matches) == 1, f"{len(matches)} widgets labelled {label!r}"
    return matches[0]


def count(db: Database, table: sa.Table) -> int:
    with db.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


def new_customer(at: AppTest, **values: str) -> AppTest:
    for label, value in values.items():
        find(at.text_input, label).set_value(value)
    find(at.button, "Create customer").click()
    return at.run()


def test_a_customer_is_created_with_address_parts_and_a_checked_vat_id(db: Database) -> None:
    at = new_customer(app_as("accountant", CUSTOMERS), **{
        "Name *": "Stadt Köln", "Street and number": "Domkloster 4", "Post code": "50667", "City": "Köln",
        "VAT ID": "de 811 569 869", "Company registration": "HRB 1234",
        "IBAN for SEPA direct debit": "de02 1203 0000 0000 2020 51"})
    ok(at)
    [found], _ = customers.search_customers(db, SYSTEM, "Stadt Köln")
    row = customers.get_customer(db, SYSTEM, found["id"])
    assert (row["street"], row["postcode"], row["city"], row["tax_id"], row["legal_id"], row["iban"]) == (
        "Domkloster 4", "50667", "Köln", "DE811569869", "HRB 1234", "DE02120300000000202051")
    assert row["address"] == "Domkloster 4\n50667 Köln"


def test_a_wrong_vat_id_names_the_field_and_writes_nothing(db: Database) -> None:
    before = count(db, customer_table), count(db, audit_events)
    at = new_customer(app_as("accountant", CUSTOMERS), **{"Name *": "Wrong GmbH", "VAT ID": "DE 136 695 977"})
    assert not at.exception
    assert [e.value for e in at.error] == ["Customer VAT ID (BT-48): 'DE 136 695 977' is not a valid DE VAT number "
                                           "(its check digit is wrong)."]
    assert (count(db, customer_table), count(db, audit_events)) == before


def test_addresses_to_complete_are_listed_and_the_profile_asks_for_the_parts(db: Database) -> None:
    with db.engine.begin() as conn:  # as migration 10 leaves an address it could not split surely
        conn.execute(customer_table.update().where(customer_table.c.id == 7).values(
            address="Somewhere near the lake", street="", city="", postcode=""))
    at = ok(app_as("analyst", CUSTOMERS))
    [notice] = [e for e in at.expander if "need completing" in e.label]
    assert notice.label.endswith("1 customer address(es) need completing")
    name = customers.get_customer(db, SYSTEM, 7)["name"]
    assert [link.label for link in at.get("page_link")] == [name]
    at = ok(open_page("accountant", CUSTOMERS, customer=7))
    assert any("Somewhere near the lake" in w.value for w in at.warning)


def test_learned_ibans_are_shown_and_can_be_removed(db: Database) -> None:
    with db.engine.begin() as conn:
        conn.execute(customer_ibans.insert().values(customer_id=7, iban="DE89370400440532013000", learned_at=utcnow()))
    at = ok(open_page("accountant", CUSTOMERS, customer=7))
    assert any("DE89 3704 0044 0532 0130 00" in m.value for m in at.markdown)
    find(at.button, "Remove").click()
    ok(at.run())
    assert customer_accounts.learned_ibans(db, SYSTEM, 7) == []
    at = ok(open_page("analyst", CUSTOMERS, customer=7))
    assert not [b for b in at.button if b.label == "Remove"]


def test_settings_saves_the_address_parts_identifiers_and_contact(db: Database) -> None:
    at = app_as("admin", "app_pages/settings.py")
    for label, value in {"Street and number": "Friedrichstraße 10", "Post code": "10117", "City": "Berlin",
                         "Contact name": "Erika Muster", "Contact phone": "+49 30 1234567",
                         "Electronic address": "4000001123452",
                         "SEPA creditor identifier": "de98 zzz0 9999 9999 99"}.items():
        find(at.text_input, label).input(value)
    find(at.selectbox, "Electronic address scheme").select("0088")
    find(at.button, "Save company profile").click()
    ok(at.run())
    company = settings.get_company(db) or {}
    assert (company["street"], company["city"], company["contact_name"], company["electronic_scheme"],
            company["creditor_id"]) == ("Friedrichstraße 10", "Berlin", "Erika Muster", "0088", "DE98ZZZ09999999999")
    for label, value, error in [
        ("SEPA creditor identifier", "DE99ZZZ09999999999",
         "Creditor identifier (BT-90): the check digits are wrong (a character is mistyped, missing or extra)."),
        ("Electronic address", "", "Electronic address: give the address and its scheme together (BT-34/BT-49)."),
    ]:
        at = app_as("admin", "app_pages/settings.py")
        find(at.text_input, label).input(value)
        find(at.button, "Save company profile").click()
        at.run()
        assert [e.value for e in at.error] == [error]
    assert (settings.get_company(db) or {})["electronic_address"] == "4000001123452"
    assert (settings.get_company(db) or {})["creditor_id"] == "DE98ZZZ09999999999"


def test_the_editor_keeps_more_details_collapsed_and_saves_them(db: Database) -> None:
    at = ok(open_page("accountant", "app_pages/invoices.py", edit="new"))
    [details] = [e for e in at.expander if e.label == "More details"]
    at.selectbox(key="ie_customer").select(7)
    at.text_input(key="ie_l0_desc").input("Work")
    at.text_input(key="ie_l0_price").input("100")
    at.text_input(key="ie_d_buyer_reference").input("05315-12345-67")
    at.date_input(key="ie_d_delivery_date").set_value(date(2026, 11, 2))
    at.selectbox(key="ie_d_payment_means").select("direct_debit")
    at.run()
    assert not at.exception
    assert any("SEPA direct debit needs the mandate reference (BT-89)" in e.value for e in at.error)
    at.text_input(key="ie_d_mandate_reference").input("M-1")
    ok(at.run())
    at.button(key="ie_save").click().run()
    ok(at)
    header = invoices.get_invoice(db, SYSTEM, int(at.query_params["invoice"]), date.today()).header
    assert (header.buyer_reference, header.delivery_date, header.payment_means, header.mandate_reference) == (
        "05315-12345-67", date(2026, 11, 2), "direct_debit", "M-1")
    assert details.label == "More details"
