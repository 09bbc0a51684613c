"""AppTest of the invoices page: list, editor with live totals, view, and the actions behind confirmations."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from portal import ROOT, copy_portal, download_payload, ok, open_page, sign_in_link
from streamlit.runtime.media_file_manager import MediaFileManager
from streamlit.testing.v1 import AppTest

from billing import auth_keys, catalog, customers, invoices, logic, payments, settings, users
from billing.money import format_money
from billing.permissions import ROLES, SYSTEM
from billing.references import creditor_reference, format_reference
from billing.store.db import Database, forget_database, get_database
from billing.store.schema import company, metadata
from billing.store.schema import customers as customer_table

PAGE = "app_pages/invoices.py"


@dataclass(frozen=True)
class Portal:
    db: Database
    s19: int
    s7: int
    product: int  # "Consulting hour", EUR 120.00 per hour at 19 %
    acme: int  # an EUR customer on 14-day terms


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory, portal_template: Path) -> tuple[Path, Portal]:
    """Users, two tax rates, a product and a customer, built once and copied by every test (~0.05 s)."""
    folder = tmp_path_factory.mktemp("template")
    db = get_database(copy_portal(portal_template, folder))
    s19 = catalog.create_tax_rate(db, SYSTEM, {"name": "VAT 19%", "category": "S", "percent": "19"})
    s7 = catalog.create_tax_rate(db, SYSTEM, {"name": "VAT 7%", "category": "S", "percent": "7"})
    product = catalog.create_product(db, SYSTEM, {"name": "Consulting hour", "sku": "C-1", "unit": "h",
                                                  "unit_price": "120.00", "currency": "EUR", "tax_rate_id": s19})
    acme = customers.create_customer(db, SYSTEM, {"name": "Acme GmbH", "currency": "EUR", "terms_days": 14,
                                                  "address": "Hauptstr. 1\n10115 Berlin"})
    forget_database(db.url)
    return folder, Portal(db, s19, s7, product, acme)


@pytest.fixture
def portal(database_copy: Callable[[Path], Database], template: tuple[Path, Portal]) -> Portal:
    """A copy of the template database, which the app under test opens."""
    folder, ids = template
    return replace(ids, db=database_copy(folder))


def issued_invoice(portal: Portal, *prices: str) -> int:
    lines = [{"description": f"Work {n}", "quantity": "2", "unit_price": price, "tax_rate_id": portal.s19}
             for n, price in enumerate(prices or ("100.00",), start=1)]
    invoice_id = invoices.create_draft(portal.db, SYSTEM, {"customer_id": portal.acme, "lines": lines})
    invoices.issue_invoice(portal.db, SYSTEM, invoice_id, today=date.today())
    return invoice_id


def open_invoice(role: str, invoice_id: int | str) -> AppTest:
    return open_page(role, PAGE, invoice=invoice_id)


def snapshot(db: Database) -> dict[str, list[tuple[Any, ...]]]:
    with db.connect() as conn:
        return {t.name: [tuple(r) for r in conn.execute(sa.select(t)).all()] for t in metadata.sorted_tables}


def shown(at: AppTest) -> str:
    """Everything written as markdown, with the escapes for user data removed."""
    return "\n".join(m.value.replace("\\", "") for m in at.markdown)


def labels(at: AppTest) -> set[str]:
    return {b.label for b in at.button}


@pytest.mark.parametrize("role", ROLES)
def test_every_role_sees_the_list_and_an_invoice(demo_db: Database, role: str) -> None:
    at = ok(open_page(role, PAGE))
    assert "Invoices" in at.title.values
    at.segmented_control(key="inv_status").set_value("overdue").run()
    grid = at.dataframe[0]
    # the page's today is the company's (Europe/Berlin): between 23:00 and 24:00 UTC a day after date.today()
    _, overdue = invoices.list_invoices(demo_db, SYSTEM, settings.company_today(demo_db), status="overdue", limit=1)
    assert ok(at).caption.values[0].endswith(f"of {overdue:,}")
    at.session_state[grid.key] = {"selection": {"rows": [0], "columns": [], "cells": []}}  # a click on row 1
    ok(at.run())
    number = grid.value.iloc[0]["Number"]
    assert at.subheader.values == [f"Invoice {number}"] and at.query_params["invoice"]
    assert ("Credit note…" in labels(at)) == (role != "analyst")
    assert ("Record payment" in labels(at)) == (role != "analyst")


def test_analyst_reads_but_cannot_change(portal: Portal) -> None:
    invoice_id = issued_invoice(portal)
    at = ok(open_invoice("analyst", invoice_id))
    assert not labels(at) & {"Issue…", "Void…", "Credit note…", "Record payment", "Duplicate", "Edit", "Delete…"}
    assert [d.key for d in at.get("download_button")] == ["pdf"]
    draft_id = invoices.create_draft(portal.db, SYSTEM, {"customer_id": portal.acme, "lines": [
        {"description": "Work", "quantity": "1", "unit_price": "10", "tax_rate_id": portal.s19}]})
    at.query_params["invoice"] = str(draft_id)
    ok(at.run())
    assert not labels(at) & {"Issue…", "Edit", "Delete…"}
    at.query_params.clear()
    at.query_params["edit"] = "new"
    ok(at.run())
    assert "New invoice" not in labels(at) and "ie_save" not in {b.key for b in at.button}


def test_accountant_creates_a_draft_with_live_totals_saves_and_issues(portal: Portal) -> None:
    at = ok(open_page("accountant", PAGE))
    at.button[[b.label for b in at.button].index("New invoice")].click().run()
    at.selectbox(key="ie_customer").select(portal.acme).run()
    at.selectbox(key="ie_l0_product").select(portal.product).run()
    assert at.text_input(key="ie_l0_price").value == "120.00"
    at.text_input(key="ie_l0_qty").input("3")
    at.text_input(key="ie_l0_disc").input("10%")
    at.button(key="ie_add_line").click().run()
    at.text_input(key="ie_l1_desc").input("Printed brochures")
    at.text_input(key="ie_l1_qty").input("100")
    at.text_input(key="ie_l1_price").input("2.45")
    at.selectbox(key="ie_l1_tax").select(portal.s7)
    ok(at.run())

    expected = logic.compute_totals([
        logic.Line(quantity=Decimal(3), net_price=Decimal("120"), vat_rate=Decimal(19), discount_percent=Decimal(10)),
        logic.Line(quantity=Decimal(100), net_price=Decimal("2.45"), vat_rate=Decimal(7)),
    ], currency="EUR")
    text = shown(at)
    for amount in [*expected.line_nets, expected.tax_exclusive, expected.payable,
                   *(entry.tax for entry in expected.tax_breakdown)]:
        assert format_money(amount, "EUR") in text
    assert "VAT 19% on €324.00" in text and "VAT 7% on €245.00" in text

    at.button(key="ie_save").click().run()
    ok(at)
    invoice_id = int(at.query_params["invoice"])
    assert at.subheader.values == ["Draft invoice"]
    assert invoices.get_invoice(portal.db, SYSTEM, invoice_id, date.today()).totals == expected

    at.button(key="issue").click().run()
    assert "Issue invoice" in labels(at)
    at.button(key="confirm_issue").click().run()
    number = invoices.get_invoice(portal.db, SYSTEM, invoice_id, date.today()).header.number
    assert number and ok(at).subheader.values == [f"Invoice {number}"]
    assert [t.value for t in at.toast] == ["Invoice issued"]


def test_an_input_error_shows_the_domain_message_next_to_the_totals(portal: Portal) -> None:
    at = open_page("accountant", PAGE, edit="new")
    at.selectbox(key="ie_customer").select(portal.acme)
    at.text_input(key="ie_l0_desc").input("Work")
    at.text_input(key="ie_l0_price").input("12,5.0")
    at.run()
    assert not at.exception
    assert [e.value for e in at.error] == ["Line 1, unit price: Amount '12,5.0' is not a number. "
                                           "Use a dot for decimals, e.g. 1234.50."]
    at.text_input(key="ie_l0_price").input("12.50").run()
    assert not at.error and "€14.88" in shown(at)  # 12.50 + 19 % VAT


def test_a_discount_the_editor_cannot_read_is_named_by_its_line_and_nothing_is_saved(portal: Portal) -> None:
    at = open_page("accountant", PAGE, edit="new")
    at.selectbox(key="ie_customer").select(portal.acme)
    at.text_input(key="ie_l0_desc").input("Work")
    at.text_input(key="ie_l0_price").input("100")
    at.text_input(key="ie_l0_disc").input("10% + 5%")
    at.run()
    message = ("Line 1, discount: A discount is a percentage, an amount or both, such as 10%, 5.00 or 10% + 5.00: "
               "'10% + 5%' is not.")
    assert not at.exception and [e.value for e in at.error] == [message]
    drafts = invoices.list_invoices(portal.db, SYSTEM, as_of=date.today())[1]
    at.button(key="ie_save").click().run()
    assert not at.exception and [e.value for e in at.error] == [message, message]  # the totals, and the refusal
    assert invoices.list_invoices(portal.db, SYSTEM, as_of=date.today())[1] == drafts
    at.text_input(key="ie_l0_disc").input("10% + 5.00").run()
    assert not at.error and "€101.15" in shown(at)  # 100 - 10 - 5 = 85, + 19 % VAT


def test_the_customers_page_can_start_a_draft_for_a_customer(portal: Portal) -> None:
    at = AppTest.from_file(str(ROOT / "app.py"))
    at.session_state["auth_username"] = "accountant"
    at.session_state["new_invoice_customer"] = portal.acme  # what the customers page sets
    at.switch_page(PAGE).run()
    assert ok(at).title.values == ["New invoice"]
    assert at.selectbox(key="ie_customer").value == portal.acme


def test_editing_a_draft_keeps_its_lines_and_deleting_it_asks_first(portal: Portal) -> None:
    draft_id = invoices.create_draft(portal.db, SYSTEM, {"customer_id": portal.acme, "notes": "Thanks!", "lines": [
        {"description": "Work", "quantity": "1.5", "unit_price": "80", "discount_amount": "5",
         "tax_rate_id": portal.s7}]})
    at = ok(open_invoice("accountant", draft_id))
    at.button(key="edit").click().run()
    assert at.text_input(key="ie_l0_qty").value == "1.5" and at.text_input(key="ie_l0_disc").value == "5.00"
    at.text_input(key="ie_l0_qty").input("2")
    at.button(key="ie_save").click().run()
    assert invoices.get_invoice(portal.db, SYSTEM, draft_id, date.today()).totals.line_total == Decimal("155.00")
    at.button(key="delete").click().run()
    at.button(key="confirm_delete").click().run()
    assert ok(at).query_params == {} and [t.value for t in at.toast] == ["Draft deleted"]


def test_void_without_a_reason_is_refused_and_changes_nothing(portal: Portal) -> None:
    invoice_id = issued_invoice(portal)
    at = open_invoice("accountant", invoice_id)
    at.button(key="void").click().run()
    before = snapshot(portal.db)
    at.button(key="confirm_void").click().run()
    assert [e.value for e in at.error] == ["Please give a reason for voiding the invoice."]
    assert snapshot(portal.db) == before
    at.text_area(key="void_reason").input("Issued to the wrong customer")
    at.button(key="confirm_void").click().run()
    assert invoices.get_invoice(portal.db, SYSTEM, invoice_id, date.today()).status == "void"
    voided_on = format(settings.company_today(portal.db), "%d %b %Y")  # the company's date (Europe/Berlin)
    assert ok(at).warning.values == [f"Voided on {voided_on}: Issued to the wrong customer"]


def test_a_credit_note_for_chosen_lines_reduces_the_balance(portal: Portal) -> None:
    invoice_id = issued_invoice(portal, "100.00", "50.00")  # 2 x 100 + 2 x 50, 19 % VAT: 357.00
    at = open_invoice("accountant", invoice_id)
    at.button(key="credit").click().run()
    at.radio(key="credit_scope").set_value("lines").run()
    at.text_input(key="credit_qty_1").input("1")
    at.text_input(key="credit_reason").input("One hour not delivered")
    at.run()
    assert "Credit note total: **€119.00** (€100.00 + VAT €19.00)" in shown(at)
    at.text_input(key="credit_qty_2").input("3").run()
    at.button(key="confirm_credit").click().run()
    assert [e.value for e in at.error] == ["Line 2 (Work 2): at most 2 can be credited."]
    at.text_input(key="credit_qty_2").input("")
    at.button(key="confirm_credit").click().run()
    view = invoices.get_invoice(portal.db, SYSTEM, invoice_id, date.today())
    assert view.balance == Decimal("238.00") and view.status == "partially_paid"
    assert ok(at).metric[0].value == "€238.00"
    assert view.credit_notes[0].number in shown(at)


def test_lines_are_credited_at_the_vat_rate_the_invoice_charged(portal: Portal) -> None:
    invoice_id = issued_invoice(portal)  # 2 x 100.00 at 19 %: 238.00
    catalog.update_tax_rate(portal.db, SYSTEM, portal.s19, {"name": "VAT 16%", "category": "S", "percent": "16"})
    at = open_invoice("accountant", invoice_id)
    at.button(key="credit").click().run()
    at.radio(key="credit_scope").set_value("lines").run()
    at.text_input(key="credit_qty_1").input("2").run()
    assert "Credit note total: **€238.00** (€200.00 + VAT €38.00)" in shown(at)
    at.button(key="confirm_credit").click().run()
    assert ok(at).metric[0].value == "€0.00"


def test_the_whole_invoice_can_be_credited(portal: Portal) -> None:
    invoice_id = issued_invoice(portal)
    at = open_invoice("accountant", invoice_id)
    at.button(key="credit").click().run()
    at.button(key="confirm_credit").click().run()
    assert ok(at).metric[0].value == "€0.00"
    view = invoices.get_invoice(portal.db, SYSTEM, invoice_id, date.today())
    assert view.status == "credited"
    note = view.credit_notes[0]
    at.button(key=f"open_credit_{note.id}").click().run()
    assert ok(at).subheader.values == [f"Credit note {note.number}"] and at.metric[0].value == "€238.00"
    assert {"Credit note…", "Void…", "Duplicate", "Record payment"}.isdisjoint(labels(at))


def drafts(portal: Portal) -> list[int]:
    rows, _ = invoices.list_invoices(portal.db, SYSTEM, as_of=date.today(), status=logic.DRAFT)
    return sorted(row.id for row in rows)


def captions(at: AppTest) -> str:
    return "\n".join(c.value for c in at.caption)


def test_duplicate_opens_an_unsaved_copy_and_cancel_leaves_nothing_behind(portal: Portal) -> None:
    invoice_id = issued_invoice(portal, "70.00")
    before = snapshot(portal.db)
    at = open_invoice("accountant", invoice_id)
    at.button(key="duplicate").click().run()
    assert ok(at).title.values == ["New invoice"] and at.query_params["edit"] == "new"
    assert at.text_input(key="ie_l0_price").value == "70.00" and at.selectbox(key="ie_customer").value == portal.acme
    at.button(key="ie_cancel").click().run()
    assert ok(at).query_params == {} and snapshot(portal.db) == before


def test_a_changed_copy_is_saved_as_a_draft_and_its_cancel_deletes_it(portal: Portal) -> None:
    invoice_id = issued_invoice(portal, "70.00")
    at = open_invoice("accountant", invoice_id)
    at.button(key="duplicate").click().run()
    at.text_input(key="ie_l0_qty").input("5").run()
    [draft_id] = drafts(portal)
    assert ok(at).query_params["edit"] == str(draft_id) and "Saved as draft" in captions(at)
    assert invoices.get_invoice(portal.db, SYSTEM, draft_id, date.today()).totals.line_total == Decimal("350.00")
    at.button(key="ie_cancel").click().run()
    assert ok(at).query_params == {} and drafts(portal) == []


def test_a_new_invoice_is_saved_as_a_draft_as_it_is_typed_and_reopens_by_its_url(portal: Portal) -> None:
    at = open_page("accountant", PAGE, edit="new")
    assert "Choose a customer" in captions(at) and drafts(portal) == []
    at.selectbox(key="ie_customer").select(portal.acme).run()
    at.text_input(key="ie_l0_desc").input("Workshop").run()
    assert "Not saved yet: Line 1, unit price" in captions(at) and drafts(portal) == []
    at.text_input(key="ie_l0_price").input("12.5").run()
    [draft_id] = drafts(portal)
    assert "Saved as draft" in captions(at)
    at.text_input(key="ie_l0_price").input("250").run()
    assert ok(at).query_params["edit"] == str(draft_id) and drafts(portal) == [draft_id]
    stored = invoices.get_invoice(portal.db, SYSTEM, draft_id, date.today())
    assert [(line.description, line.unit_price) for line in stored.lines] == [("Workshop", Decimal("250.00"))]
    again = ok(open_page("accountant", PAGE, edit=draft_id))  # a reload: a new session on the same URL
    assert again.text_input(key="ie_l0_desc").value == "Workshop"


def test_cancel_gives_an_edited_draft_back_its_content_from_when_it_was_opened(portal: Portal) -> None:
    draft_id = invoices.create_draft(portal.db, SYSTEM, {"customer_id": portal.acme, "lines": [
        {"description": "Work", "quantity": "1", "unit_price": "80", "tax_rate_id": portal.s7}]})
    at = open_page("accountant", PAGE, edit=draft_id)
    at.text_input(key="ie_l0_qty").input("3").run()
    assert invoices.get_invoice(portal.db, SYSTEM, draft_id, date.today()).totals.line_total == Decimal("240.00")
    at.button(key="ie_cancel").click().run()
    assert ok(at).query_params == {"invoice": str(draft_id)}
    assert invoices.get_invoice(portal.db, SYSTEM, draft_id, date.today()).totals.line_total == Decimal("80.00")


def test_an_unknown_invoice_is_a_message_not_a_traceback(portal: Portal) -> None:
    at = open_invoice("accountant", 999_999)
    assert not at.exception and [e.value for e in at.error] == ["Invoice 999999 does not exist."]


def test_editing_an_unknown_invoice_is_a_message_not_an_exception_box(portal: Portal) -> None:
    at = open_page("accountant", PAGE, edit=99_999)
    assert not at.exception, at.exception  # was Streamlit's raw exception box (the editor is a fragment)
    assert [e.value for e in at.error] == ["Invoice 99999 does not exist."]
    at.button(key="ie_back").click().run()
    assert [e.value for e in at.error] == ["Invoice 99999 does not exist."] and "invoice" in at.query_params


def test_editing_an_issued_invoice_says_it_can_no_longer_change(portal: Portal) -> None:
    at = open_page("accountant", PAGE, edit=issued_invoice(portal))
    assert not at.exception, at.exception
    assert [e.value for e in at.error] == [
        "This invoice has been issued and can no longer be changed. Issue a credit note instead."]


def test_the_pdf_download_is_a_pdf(portal: Portal, downloads: list[MediaFileManager]) -> None:
    at = ok(open_invoice("analyst", issued_invoice(portal)))
    button = next(d for d in at.get("download_button") if d.key == "pdf")
    assert button.proto.deferred_file_id and not button.proto.url  # made on click, after a live check
    assert download_payload(downloads, at, "pdf").startswith(b"%PDF")


def test_the_einvoice_download_is_checked_xml_and_a_refusal_is_in_words(portal: Portal,
                                                                        downloads: list[MediaFileManager]) -> None:
    from billing.einvoice.reader import read_invoice
    from billing.einvoice.validation import validate_bytes

    invoice_id = issued_invoice(portal)
    at = ok(open_invoice("analyst", invoice_id))
    assert "Buyer country (BT-55)" in at.warning.values[0]  # Acme has no country: refused, in words
    customer = customers.create_customer(portal.db, SYSTEM, {"name": "Beta GmbH", "currency": "EUR",
                                                             "country": "DE", "address": "Ring 2\n50667 Köln"})
    lines = [{"description": "Work", "quantity": "2", "unit_price": "100.00", "tax_rate_id": portal.s19}]
    other = invoices.create_draft(portal.db, SYSTEM, {"customer_id": customer, "lines": lines})
    invoices.issue_invoice(portal.db, SYSTEM, other, today=date.today())
    at.query_params["invoice"] = str(other)
    ok(at.run())
    button = next(d for d in at.get("download_button") if d.key == "einvoice_download")
    assert button.proto.deferred_file_id and not button.proto.url  # made on click, after a live check
    xml = download_payload(downloads, at, "einvoice_download")
    assert validate_bytes(xml).valid and read_invoice(xml).totals.payable == Decimal("238.00")
    at.selectbox(key="einvoice_format").set_value("xrechnung-cii")
    ok(at.run())
    assert at.warning.values[0].replace("\\", "").startswith(
        "An e-invoice in XRechnung 3.0 (CII) needs: Leitweg-ID (buyer reference, BT-10)")
    assert "einvoice_download" not in {d.key for d in at.get("download_button")}


def test_a_button_callback_that_finds_the_session_ended_shows_the_sign_in_form(portal: Portal) -> None:
    """'Add line' reads the tax rates in its callback, before the script and app.py's gate run."""
    token, expires = auth_keys.issue_token("k" * 64, "accountant", timedelta(hours=1))
    users.start_session(portal.db, "accountant", token, expires)
    draft_id = invoices.create_draft(portal.db, SYSTEM, {"customer_id": portal.acme, "lines": [
        {"description": "Work", "quantity": "1", "unit_price": "10.00", "tax_rate_id": portal.s19}]})
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=30)
    at.session_state["auth_username"], at.session_state["auth_token"] = "accountant", token  # a browser's sign-in
    at.query_params["edit"] = str(draft_id)
    ok(at.switch_page(PAGE).run())
    users.end_session(portal.db, token)  # signed out in another tab
    next(b for b in at.button if b.label == "Add line").click().run()
    assert not at.exception
    assert sign_in_link(at) is not None and "Add line" not in {b.label for b in at.button}
    assert [i.value for i in at.info] == ["Your session has ended. Please sign in again."]


def test_an_open_invoice_shows_how_to_pay_it_and_a_paid_one_does_not(portal: Portal) -> None:
    with portal.db.engine.begin() as conn:
        conn.execute(company.update().values(iban="DE89370400440532013000", bic="COBADEFFXXX"))
    invoice_id = issued_invoice(portal)
    number = invoices.get_invoice(portal.db, SYSTEM, invoice_id, as_of=date.today()).header.number
    assert number is not None
    at = ok(open_invoice("analyst", invoice_id))
    assert "Payment details" in at.caption.values
    reference = format_reference(creditor_reference(number))
    for expected in ["IBAN **DE89 3704 0044 0532 0130 00** · BIC COBADEFFXXX", f"Reference **{reference}**",
                     "The PDF carries a payment QR code for the amount due."]:
        assert expected in shown(at)
    payments.record_payment(portal.db, SYSTEM, {"customer_id": portal.acme, "amount": "238.00", "currency": "EUR",
                                                "received_on": date.today()}, allocate=[(invoice_id, "238.00")])
    at = ok(open_invoice("analyst", invoice_id))
    assert "Payment details" not in at.caption.values and reference not in shown(at)


def test_a_direct_debit_invoice_says_it_is_collected_and_offers_no_account_to_pay_to(portal: Portal) -> None:
    with portal.db.engine.begin() as conn:
        conn.execute(company.update().values(iban="DE89370400440532013000", creditor_id="DE98ZZZ09999999999"))
        conn.execute(customer_table.update().where(customer_table.c.id == portal.acme)
                     .values(iban="DE02120300000000202051"))
    invoice_id = invoices.create_draft(portal.db, SYSTEM, {
        "customer_id": portal.acme, "payment_means": "direct_debit", "mandate_reference": "M-0815",
        "lines": [{"description": "Work", "quantity": "1", "unit_price": "100.00", "tax_rate_id": portal.s19}]})
    invoices.issue_invoice(portal.db, SYSTEM, invoice_id, today=date.today())
    text = shown(ok(open_invoice("analyst", invoice_id)))
    for expected in ["Collected by **SEPA direct debit** from IBAN **DE02 1203 0000 0000 2020 51**",
                     "Mandate reference **M-0815**", "Creditor identifier **DE98ZZZ09999999999**"]:
        assert expected in text
    assert "DE89 3704" not in text and "payment QR code" not in text


def test_issuing_checks_the_customers_einvoice_format_and_lists_each_failed_rule(portal: Portal) -> None:
    current = customers.get_customer(portal.db, SYSTEM, portal.acme)
    customers.update_customer(portal.db, SYSTEM, portal.acme, {
        **{key: current[key] for key in ("name", "address", "currency", "terms_days")},
        "einvoice_format": "xrechnung-cii"})
    invoice_id = invoices.create_draft(portal.db, SYSTEM, {"customer_id": portal.acme, "lines": [
        {"description": "Work", "quantity": "1", "unit_price": "100.00", "tax_rate_id": portal.s19}]})
    at = ok(open_invoice("accountant", invoice_id))
    at.button(key="issue").click().run()
    (error,) = at.error
    assert "The customer receives e-invoices as **XRechnung 3.0 (CII)**" in error.value
    assert "Leitweg-ID (buyer reference, BT-10)" in error.value and "Buyer country (BT-55)" in error.value
    assert at.button(key="confirm_issue").disabled
    assert invoices.get_invoice(portal.db, SYSTEM, invoice_id, date.today()).header.status == logic.DRAFT


def test_the_einvoice_download_offers_the_customers_format_first(portal: Portal) -> None:
    current = customers.get_customer(portal.db, SYSTEM, portal.acme)
    customers.update_customer(portal.db, SYSTEM, portal.acme, {
        **{key: current[key] for key in ("name", "address", "currency", "terms_days")}, "einvoice_format": "cii"})
    at = ok(open_invoice("accountant", issued_invoice(portal)))
    assert at.selectbox(key="einvoice_format").options[0] == "UN/CEFACT CII (EN 16931) (the customer's format)"
