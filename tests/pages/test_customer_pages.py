"""AppTest of app_pages/customers.py: the list, creating, importing, and one customer's view, per role."""

from __future__ import annotations

from dataclasses import asdict
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from portal import AS_OF, app_as
from streamlit.testing.v1 import AppTest

from billing import customer_overview
from billing import customers as customer_service
from billing.invoices import list_invoices
from billing.permissions import SYSTEM
from billing.store.db import Database
from billing.store.schema import audit_events, customers
from ui import format as fmt
from ui.tables import Column, display_frame, export_frame, pdf_totals

PAGE = "app_pages/customers.py"


def count(db: Database, table: sa.Table) -> int:
    with db.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


def by_label(elements: Any, label: str) -> Any:
    return next(e for e in elements if e.label == label)


def fill_customer(at: AppTest, **values: str) -> None:
    for label, value in values.items():
        by_label(at.text_input, label).set_value(value)
    by_label(at.button, "Create customer").click()
    at.run()


def table_text(at: AppTest) -> str:
    return "\n".join(df.value.to_csv() for df in at.dataframe)


def customer_with_open_balance(db: Database) -> tuple[int, customer_overview.OpenBalance]:
    with db.connect() as conn:
        ids = conn.execute(sa.text(
            "SELECT customer_id FROM invoices WHERE status = 'issued' AND kind = 'invoice' "
            "AND payable - paid_amount - credited_amount > 0 GROUP BY customer_id ORDER BY customer_id LIMIT 1"
        )).scalars().all()
    [balance] = customer_overview.open_balances(db, SYSTEM, ids[0], AS_OF)
    return ids[0], balance


def customer_opened(db: Database, role: str) -> tuple[int, AppTest]:
    """A customer with an open balance, their page opened by `role`."""
    customer_id, _ = customer_with_open_balance(db)
    at = app_as(role)
    at.switch_page(PAGE)
    at.query_params["customer"] = str(customer_id)
    at.run()
    return customer_id, at


@pytest.mark.parametrize("role", ["admin", "accountant", "analyst"])
def test_list_renders_for_every_role(db: Database, role: str) -> None:
    at = app_as(role, PAGE)
    assert not at.exception and not at.error
    assert "1–50 of 1,000" in [c.value for c in at.caption]
    writes = role != "analyst"
    assert [t.label for t in at.tabs] == (["All customers", "New customer", "Import CSV"] if writes
                                          else ["All customers"])
    assert bool(at.get("form")) is writes


def test_search_narrows_the_list(db: Database) -> None:
    at = app_as("analyst", PAGE)
    by_label(at.text_input, "Search").set_value("billing932@").run()
    assert "1–1 of 1" in [c.value for c in at.caption]
    assert customer_service.get_customer(db, SYSTEM, 932)["name"] in table_text(at)


def test_accountant_creates_a_customer_that_then_is_listed(db: Database) -> None:
    at = app_as("accountant", PAGE)
    fill_customer(at, **{"Name *": "Zeta Widgets Ltd", "Billing email": "ap@zeta.example", "VAT ID": "GB 980 7806 84"})
    assert not at.exception and not at.error
    assert [t.value for t in at.title] == ["Zeta Widgets Ltd"]  # the new customer's view opens
    at.query_params.clear()
    at.run()
    by_label(at.text_input, "Search").set_value("zeta widgets").run()
    assert "Zeta Widgets Ltd" in table_text(at)


@pytest.mark.parametrize(("values", "message"), [
    ({"Name *": ""}, "Name: this is required"),
    ({"Name *": "Bad Mail GmbH", "Billing email": "not an email"}, "is not an email address"),
])
def test_invalid_customer_shows_the_problem_and_writes_nothing(db: Database, values: dict[str, str],
                                                               message: str) -> None:
    before = count(db, customers), count(db, audit_events)
    at = app_as("accountant", PAGE)
    fill_customer(at, **values)
    assert not at.exception
    assert any(message in e.value for e in at.error)
    assert (count(db, customers), count(db, audit_events)) == before


@pytest.mark.parametrize("role", ["admin", "analyst"])
def test_customer_view_shows_the_open_balance(db: Database, role: str) -> None:
    customer_id, balance = customer_with_open_balance(db)
    at = app_as(role)
    at.switch_page(PAGE)
    at.query_params["customer"] = str(customer_id)
    at.run()
    assert not at.exception and not at.error
    metrics = {m.label: m.value for m in at.metric}
    assert metrics[f"Outstanding ({balance.currency})"] == fmt.money(balance.outstanding, balance.currency)
    assert metrics[f"Overdue ({balance.currency})"] == fmt.money(balance.overdue, balance.currency)
    assert f"Credit ({balance.currency})" in metrics
    buttons = {b.label for b in at.button}
    if role == "analyst":
        assert not buttons & {"New invoice", "Record payment", "Archive", "Delete", "Save changes"}
        assert not at.get("form")
    else:
        assert {"New invoice", "Record payment", "Archive", "Delete", "Save changes"} <= buttons
    # A click on an open invoice opens it on the invoices page.
    grid = at.dataframe[0]
    number = grid.value.iloc[0]["Invoice"]
    at.session_state[grid.key] = {"selection": {"rows": [0], "columns": [], "cells": []}}
    at.run()
    assert not at.exception and at.subheader.values[0] == f"Invoice {number}"


def test_archive_asks_first_and_delete_is_refused_with_the_domain_message(db: Database) -> None:
    _, at = customer_opened(db, "accountant")
    by_label(at.button, "Delete").click().run()
    events = count(db, audit_events)
    at.button(key="customers:confirmed").click().run()
    assert any("cannot be deleted" in e.value for e in at.error)
    at.button(key="customers:cancel").click().run()
    by_label(at.button, "Archive").click().run()
    assert count(db, audit_events) == events  # nothing happens before the confirmation
    at.button(key="customers:confirmed").click().run()
    assert not at.exception
    assert "Archived" in at.caption[0].value
    assert "Unarchive" in {b.label for b in at.button}


def test_unknown_customer_link_shows_a_message(db: Database) -> None:
    at = app_as("analyst", PAGE)
    at.query_params["customer"] = "999999"
    at.run()
    assert [e.value for e in at.error] == ["Customer 999999 does not exist."]
    at.query_params["customer"] = "12345678901234567890123"
    at.run()
    assert not at.exception and at.warning and at.dataframe


def upload(at: AppTest, content: bytes) -> AppTest:
    at.file_uploader[0].upload("../../../tmp/evil.csv", content, "text/csv").run()
    by_label(at.button, "Import").click()
    return at.run()


def test_csv_import_lists_every_bad_row_and_writes_nothing(db: Database) -> None:
    before = count(db, customers), count(db, audit_events)
    at = upload(app_as("accountant", PAGE), b"name,email,currency\nGood Ltd,a@b.example,EUR\n"
                                              b"Bad Currency Ltd,,XXQ\n,,EUR\n")
    assert not at.exception
    assert any("Nothing was imported" in e.value and "2 problem" in e.value for e in at.error)
    problems = at.dataframe[-1].value
    assert problems["Row"].tolist() == [3, 4]
    assert problems["Column"].tolist() == ["Currency", "Name"]
    assert problems["Problem"][1] == "This is required"
    assert "XXQ" in problems["Problem"][0]
    assert (count(db, customers), count(db, audit_events)) == before


def test_csv_import_of_a_good_file_adds_every_row(db: Database) -> None:
    before = count(db, customers)
    at = upload(app_as("admin", PAGE), "name,country,currency\nÆrø Fisk ApS,DK,DKK\nOne More,,\n".encode())
    assert not at.exception and not at.error
    assert count(db, customers) == before + 2


def test_exports_keep_exact_amounts_and_total_one_currency_only(db: Database) -> None:
    customer_id, balance = customer_with_open_balance(db)
    listed, _ = list_invoices(db, SYSTEM, AS_OF, customer_id=customer_id, status="open", limit=1000)
    rows = [asdict(row) for row in listed]  # as the customer page hands them to its table
    columns = [Column("number", "Invoice"), Column("display_status", "Status", "status"),
               Column("balance", "Balance", "money")]
    frame = export_frame(rows, columns)
    assert list(frame.columns) == ["Invoice", "Status", "Balance", "Currency"]  # the currency travels along
    assert all(isinstance(value, Decimal) for value in frame["Balance"])
    assert pdf_totals(rows, frame, columns, ["balance"]) == {"Balance": balance.outstanding}
    mixed = [*rows, {**rows[0], "currency": "JPY" if balance.currency != "JPY" else "EUR"}]
    assert pdf_totals(mixed, export_frame(mixed, columns), columns, ["balance"]) == {}
    shown = display_frame(rows[:1], columns)
    assert shown["Balance"][0] == fmt.money(rows[0]["balance"], balance.currency)


def test_the_preferred_einvoice_format_is_edited_on_the_customer_page(db: Database) -> None:
    customer_id, at = customer_opened(db, "accountant")
    chooser = by_label(at.selectbox, "Preferred e-invoice format")
    assert chooser.value == "" and chooser.format_func("") == "None (PDF only)"
    chooser.select("xrechnung-ubl")
    by_label(at.button, "Save changes").click().run()
    assert not at.exception and not at.error
    assert customer_service.get_customer(db, SYSTEM, customer_id)["einvoice_format"] == "xrechnung-ubl"
