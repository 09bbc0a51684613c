"""AppTest of the bank statements page: upload a statement, review the proposals, confirm one or all sure ones,
split a line, mark one as not a customer payment; user data shown as typed; analysts have no such page."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from portal import copy_portal, download_payload, ok, open_page
from streamlit.testing.v1 import AppTest

from billing import catalog, customers, invoices, payments
from billing.bank import decisions, service
from billing.permissions import SYSTEM, Actor
from billing.store.bank_schema import bank_decisions
from billing.store.db import Database, forget_database, get_database
from billing.store.schema import payments as payments_table
from ui.pages import pages_for

PAGE = "app_pages/bank.py"
DATA = Path(__file__).parents[1] / "data" / "bank"


@dataclass(frozen=True)
class Portal:
    db: Database
    acme: int
    invoices: tuple[int, int, int]  # INV-2025-00001..3: 119.00, 59.50, 23.80


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory, portal_template: Path) -> tuple[Path, Portal]:
    """The invoices the sample statements pay (tests/data/bank), built once and copied by every test."""
    folder = tmp_path_factory.mktemp("bank_template")
    db = get_database(copy_portal(portal_template, folder))
    s19 = catalog.create_tax_rate(db, SYSTEM, {"name": "VAT 19%", "category": "S", "percent": "19"})
    acme = customers.create_customer(db, SYSTEM, {"name": "Acme GmbH", "currency": "EUR", "terms_days": 14})
    ids = []
    for price in ("100.00", "50.00", "20.00"):
        invoice_id = invoices.create_draft(db, SYSTEM, {"customer_id": acme, "lines": [
            {"description": "Work", "quantity": "1", "unit_price": price, "tax_rate_id": s19}]})
        invoices.issue_invoice(db, SYSTEM, invoice_id, today=date(2025, 3, 10))
        ids.append(invoice_id)
    forget_database(db.url)
    return folder, Portal(db, acme, (ids[0], ids[1], ids[2]))


@pytest.fixture
def portal(database_copy: Callable[[Path], Database], template: tuple[Path, Portal]) -> Portal:
    folder, ids = template
    return replace(ids, db=database_copy(folder))


def upload(at: AppTest, name: str, content: bytes | None = None) -> AppTest:
    at.file_uploader(key="bank_upload").set_value((name, content or (DATA / name).read_bytes(), "text/plain"))
    at.run()
    next(b for b in at.button if b.label == "Import").click()
    return at.run()


def count(db: Database, table: sa.Table) -> int:
    with db.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


def select_row(at: AppTest, row: int) -> AppTest:
    [key] = [k for k in at.session_state if k.startswith("bank_lines:grid:")]
    at.session_state[key] = {"selection": {"rows": [row], "columns": [], "cells": []}}
    return at.run()


def test_only_admin_and_accountant_have_the_page() -> None:
    assert [any(p.script == PAGE for p in pages_for(Actor(role, role))) for role in ("admin", "accountant",
                                                                                      "analyst")] == [True, True, False]


def test_upload_then_confirm_all_sure_matches(portal: Portal) -> None:
    at = ok(upload(ok(open_page("accountant", PAGE)), "camt053.xml"))
    assert any("6 new line(s) imported, 0 already there" in s.value for s in at.success)
    table = at.dataframe[0].value
    assert len(table) == 6 and "RF81 INV2 0250 0001 found in the text" in table.to_csv()
    assert "INV-2025-00001 €119.00" in table.to_csv()
    assert count(portal.db, payments_table) == 0  # nothing recorded unasked
    button = next(b for b in at.button if b.label.startswith("Confirm all sure matches (3)"))
    ok(button.click().run())
    assert count(portal.db, payments_table) == 3 and count(portal.db, bank_decisions) == 3
    assert not at.toggle  # only the owner may switch auto-confirm on
    again = ok(upload(at, "camt053.xml"))
    assert any("0 new line(s) imported, 6 already there" in s.value for s in again.success)
    decided = ok(at.segmented_control(key="bank_view").set_value("Decided").run()).dataframe[0].value
    assert len(decided) == 3 and list(decided.columns)[-1] == "Decided"
    assert sorted(decided["Decided"].str.split().str[0]) == ["Payment"] * 3


def test_a_malformed_file_is_refused_with_its_line(portal: Portal) -> None:
    bad = (DATA / "mt940.sta").read_bytes().replace(b"-\r\n", b"-\r\ngarbage here\r\n")
    at = upload(open_page("accountant", PAGE), "bad.sta", bad)
    assert not at.exception
    assert [e.value.replace("\u2060", "") for e in at.error] == [
        "Line 16: 'garbage here' is not an MT940 field (fields start with a tag such as :61:)."]
    assert service.list_lines(portal.db, SYSTEM)[1] == 0


def test_confirm_one_line_split_another_and_mark_a_fee(portal: Portal) -> None:
    service.import_statement(portal.db, SYSTEM, (DATA / "mt940.sta").read_bytes(), "mt940.sta")
    at = select_row(ok(open_page("accountant", PAGE)), 0)
    ok(next(b for b in at.button if b.label == "Confirm").click().run())
    assert count(portal.db, payments_table) == 1
    at = select_row(at, 0)  # the batch transfer, now first of the lines to review
    at.text_input(key=next(k for k in at.session_state if str(k).startswith("bank_split_amt_") and
                           str(k).endswith("_1"))).input("20.00")
    ok(next(b for b in at.button if b.label == "Record payment to these invoices").click().run())
    with portal.db.connect() as conn:
        amounts = conn.execute(sa.text("SELECT invoice_id, amount FROM allocations ORDER BY id")).all()
    assert [(i, Decimal(a)) for i, a in amounts] == [(portal.invoices[0], Decimal("119")),
                                                     (portal.invoices[1], Decimal("59.5")),
                                                     (portal.invoices[2], Decimal("20"))]
    at = select_row(at, 0)  # the bank fee
    ok(next(b for b in at.button if b.label == "Mark").click().run())
    assert service.list_lines(portal.db, SYSTEM, undecided=True)[1] == 0


def test_the_owner_switches_auto_confirm_on(portal: Portal) -> None:
    at = ok(open_page("admin", PAGE))
    ok(at.toggle(key="bank_auto_confirm").set_value(True).run())
    assert service.auto_confirm(portal.db, SYSTEM)
    ok(upload(at, "camt053.xml"))
    assert count(portal.db, payments_table) == 3


def test_user_data_is_shown_as_typed(portal: Portal) -> None:
    payload = "**bold** [link](http://evil.example) $x$ :red[red]"
    data = (DATA / "mt940.sta").read_bytes().replace(b"?32Acme GmbH", b"?32" + payload.encode())
    service.import_statement(portal.db, SYSTEM, data, "x.sta")
    at = select_row(ok(open_page("accountant", PAGE)), 0)
    shown = "\n".join(m.value for m in at.markdown)
    assert "\\*\\*bold\\*\\*" in shown and "\\[link\\]" in shown and "\\$x\\$" in shown


def test_a_stale_tab_records_nothing_for_a_line_another_user_decided(portal: Portal) -> None:
    service.import_statement(portal.db, SYSTEM, (DATA / "mt940.sta").read_bytes(), "mt940.sta")
    at = select_row(ok(open_page("accountant", PAGE)), 0)  # this tab shows the first line, 119.00 for INV-..-00001
    first = service.list_lines(portal.db, SYSTEM, limit=1)[0][0]
    decisions.mark_not_payment(portal.db, Actor("admin", "admin"), int(first["id"]), "other_income")
    ok(next(b for b in at.button if b.label == "Confirm").click().run())
    assert [w.value for w in at.warning] == ["The line of €119.00 from Acme GmbH was decided meanwhile by admin "
                                             "(Other income); nothing was recorded from this tab."]
    assert count(portal.db, payments_table) == 0
    assert not [b for b in at.button if b.label == "Confirm"]  # no other line's panel took its place


def test_confirm_all_with_a_sure_line_open_raises_no_alarm(portal: Portal) -> None:
    service.import_statement(portal.db, SYSTEM, (DATA / "camt053.xml").read_bytes(), "camt053.xml")
    at = select_row(ok(open_page("accountant", PAGE)), 0)  # a sure line, which Confirm all decides
    ok(next(b for b in at.button if b.label.startswith("Confirm all sure matches")).click().run())
    assert [s.value for s in at.success] == ["3 payment(s) recorded."] and not at.warning
    assert not [b for b in at.button if b.label == "Confirm"]  # no line open


def test_confirm_in_a_stale_tab_whose_line_was_matched_again_records_nothing(portal: Portal) -> None:
    service.import_statement(portal.db, SYSTEM, (DATA / "mt940.sta").read_bytes(), "mt940.sta")
    at = select_row(ok(open_page("accountant", PAGE)), 0)
    payments.record_payment(portal.db, SYSTEM, {"customer_id": portal.acme, "currency": "EUR", "amount": "119.00",
                                                "received_on": date(2025, 3, 11), "method": "cash"},
                            [(portal.invoices[0], "119.00")])
    service.rematch(portal.db, SYSTEM)  # another user: the first line no longer pays INV-2025-00001
    next(b for b in at.button if b.label == "Confirm").click().run()
    assert not at.exception
    assert [e.value for e in at.error] == ["This line was matched again since you looked at it, and its proposal "
                                           "changed: look at the new one; nothing was recorded."]
    assert count(portal.db, payments_table) == 1 and count(portal.db, bank_decisions) == 0


def test_formulas_in_statement_text_are_exported_as_text(portal: Portal, downloads: list[Any]) -> None:
    formulas = ['=HYPERLINK("http://evil.example","x")', "@SUM(1+1)", "+1+1", "-1+1"]
    rows = "".join(f"12.03.2025;-4,90;{name};{text}\r\n" for name, text in zip(formulas[::-1], formulas, strict=True))
    service.save_mapping(portal.db, SYSTEM, {"bank": "Formula Bank", "account_iban": "DE89370400440532013000",
                                             "columns": {"booking_date": "Datum", "amount": "Betrag",
                                                         "counterparty_name": "Name", "remittance": "Text"}})
    mapping = service.get_mapping(portal.db, SYSTEM, "Formula Bank")
    data = f"Datum;Betrag;Name;Text\r\n{rows}".encode()
    assert service.import_statement(portal.db, SYSTEM, data, "f.csv", mapping).lines_new == 4
    at = ok(open_page("accountant", PAGE))
    exported = download_payload(downloads, at, "bank_lines:csv").decode("utf-8-sig")
    table = list(csv.reader(io.StringIO(exported)))
    header = table[0]
    texts = [row[header.index("Text")] for row in table[1:]]
    names = [row[header.index("From / to")] for row in table[1:]]
    assert sorted(texts) == sorted(names) == sorted("'" + f for f in formulas)
    assert {row[header.index("Amount")] for row in table[1:]} == {"-4.90"}  # a number stays a number
