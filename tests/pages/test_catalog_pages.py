"""AppTest of app_pages/products.py and app_pages/tax_rates.py, per role: lists, forms, edits, import."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from portal import app_as
from streamlit.testing.v1 import AppTest

from billing import catalog
from billing.permissions import SYSTEM
from billing.store.db import Database
from billing.store.schema import audit_events, products, tax_rates

PRODUCTS, TAX_RATES = "app_pages/products.py", "app_pages/tax_rates.py"


def state(db: Database) -> list[int]:
    """How many products, tax rates and audit events there are: unchanged when nothing was written."""
    with db.connect() as conn:
        return [int(conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one())
                for t in (products, tax_rates, audit_events)]


def by_label(elements: Any, label: str) -> Any:
    return next(e for e in elements if e.label == label)


def submit(at: AppTest, button: str, **values: str) -> AppTest:
    for label, value in values.items():
        by_label(at.text_input, label).set_value(value)
    by_label(at.button, button).click()
    return at.run()


def select_row(at: AppTest, table: str, row: int) -> AppTest:
    """What a click on a row of a paged_table does: the grid's selection state names the row."""
    [key] = [k for k in at.session_state if k.startswith(f"{table}:grid:")]
    at.session_state[key] = {"selection": {"rows": [row], "columns": [], "cells": []}}
    return at.run()


def table_text(at: AppTest) -> str:
    return "\n".join(df.value.to_csv() for df in at.dataframe)


@pytest.mark.parametrize("script", [PRODUCTS, TAX_RATES])
@pytest.mark.parametrize("role", ["admin", "accountant", "analyst"])
def test_pages_render_for_every_role(db: Database, script: str, role: str) -> None:
    at = app_as(role, script)
    assert not at.exception and not at.error
    assert at.dataframe
    assert bool(at.get("form")) is (role != "analyst")  # the analyst reads, never writes
    if role == "analyst":
        select_row(at, Path(script).stem, 0)
        assert not at.get("form") and not [b for b in at.button if b.label in ("Archive", "Save changes")]


def test_accountant_creates_a_product_that_then_is_listed(db: Database) -> None:
    at = app_as("accountant", PRODUCTS)
    submit(at, "Create product",
           **{"Name *": "Onboarding workshop", "SKU *": "ONB-1", "Unit price (net) *": "1,250.50"})
    assert not at.exception and not at.error
    assert "ONB-1" in table_text(at) and "€1,250.50" in table_text(at)
    [created] = [p for p in catalog.list_products(db, SYSTEM) if p["sku"] == "ONB-1"]
    assert str(created["unit_price"].normalize()) == "1250.5"


@pytest.mark.parametrize(("values", "message"), [
    ({"Name *": "", "SKU *": "X-1", "Unit price (net) *": "10"}, "Name: this is required"),
    ({"Name *": "Thing", "SKU *": "X-1", "Unit price (net) *": "1,234"}, "ambiguous"),
    ({"Name *": "Thing", "SKU *": "X-1", "Unit price (net) *": "ten"}, "is not a number"),
    ({"Name *": "Thing", "SKU *": "SKU-0001", "Unit price (net) *": "10"}, "already exists"),
])
def test_invalid_product_shows_the_problem_and_writes_nothing(db: Database, values: dict[str, str],
                                                              message: str) -> None:
    before = state(db)
    at = submit(app_as("accountant", PRODUCTS), "Create product", **values)
    assert not at.exception
    assert any(message in e.value for e in at.error), [e.value for e in at.error]
    assert state(db) == before


def test_select_a_product_to_edit_and_archive_it(db: Database) -> None:
    at = select_row(app_as("accountant", PRODUCTS), "products", 0)
    name = at.subheader[0].value
    submit(at, "Save changes", **{"Unit price (net) *": "0.0125"})
    assert not at.exception and not at.error
    assert "€0.0125" in table_text(at)
    select_row(at, "products", 0)
    by_label(at.button, "Archive").click().run()
    at.button(key="products:confirmed").click().run()
    assert not at.exception and not at.error
    assert name not in table_text(at)
    assert [p["archived"] for p in catalog.list_products(db, SYSTEM, include_archived=True) if p["name"] == name] \
        == [True]


def test_product_import_lists_the_bad_rows_and_writes_nothing(db: Database) -> None:
    before = state(db)
    at = app_as("admin", PRODUCTS)
    at.file_uploader[0].upload("products.csv", b"name,sku,unit_price,currency,tax_rate_id\n"
                                               b"Good,G-1,10.00,EUR,1\nBad,B-1,10.00,XXQ,1\n"
                                               b"Dup,SKU-0001,5,EUR,1\n").run()
    by_label(at.button, "Import").click()
    at.run()
    assert not at.exception
    assert any("Nothing was imported" in e.value for e in at.error)
    assert at.dataframe[-1].value["Row"].tolist() == [3]
    assert "XXQ" in at.dataframe[-1].value["Problem"][0]
    assert state(db) == before


def test_accountant_creates_a_tax_rate(db: Database) -> None:
    at = app_as("accountant", TAX_RATES)
    by_label(at.selectbox, "VAT category (EN 16931)").set_value("E")
    submit(at, "Create tax rate", **{"Name *": "Medical (exempt)", "Rate in percent *": "0",
                                     "Exemption reason": "Exempt under section 4 UStG"})
    assert not at.exception and not at.error
    assert "Medical (exempt)" in table_text(at) and "E · Exempt from tax" in table_text(at)


@pytest.mark.parametrize(("category", "values", "message"), [
    ("E", {"Name *": "Exempt", "Rate in percent *": "0"}, "needs an exemption reason"),
    ("S", {"Name *": "Zero standard", "Rate in percent *": "0"}, "needs a rate above 0%"),
    ("Z", {"Name *": "Zero", "Rate in percent *": "5"}, "must have a rate of 0%"),
    ("S", {"Name *": "Huge", "Rate in percent *": "150"}, "below 100%"),
    ("S", {"Name *": "", "Rate in percent *": "19"}, "Name: this is required"),
])
def test_invalid_tax_rate_shows_the_problem_and_writes_nothing(db: Database, category: str,
                                                               values: dict[str, str], message: str) -> None:
    before = state(db)
    at = app_as("accountant", TAX_RATES)
    by_label(at.selectbox, "VAT category (EN 16931)").set_value(category)
    submit(at, "Create tax rate", **values)
    assert not at.exception
    assert any(message in e.value for e in at.error), [e.value for e in at.error]
    assert state(db) == before


def test_select_a_tax_rate_to_edit_it(db: Database) -> None:
    at = select_row(app_as("admin", TAX_RATES), "tax_rates", 1)
    assert at.subheader[0].value == "VAT 7% (reduced)"
    by_label(at.checkbox, "Active (offered for new products and invoice lines)").uncheck()
    submit(at, "Save changes", **{"Rate in percent *": "7.5"})
    assert not at.exception and not at.error
    rate = next(r for r in catalog.list_tax_rates(db, SYSTEM) if r["name"] == "VAT 7% (reduced)")
    assert (rate["percent"], rate["active"]) == (Decimal("7.5"), False)
