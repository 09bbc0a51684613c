"""Products and tax rates (billing.catalog)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from billing import catalog, invoices
from billing.errors import NotFoundError, ValidationError
from billing.store.db import Database
from tests.conftest import ADMIN, ANALYST, TODAY, Billed, Seed, Shared, assert_refused, draft, line

D = Decimal


def test_seeded_tax_rates(db: Database, seeded: Seed) -> None:
    rates = {row["id"]: (row["category"], row["percent"], row["exemption_reason"])
             for row in catalog.list_tax_rates(db, ANALYST)}
    assert rates == {seeded.s19: ("S", D("19"), ""), seeded.s7: ("S", D("7"), ""),
                     seeded.e0: ("E", D("0"), "Exempt under section 4 UStG")}


def test_tax_rate_with_decimals_and_inactive(db: Database) -> None:
    rate_id = catalog.create_tax_rate(db, ADMIN, {"name": "Swiss", "category": "s", "percent": "8.1",
                                                  "active": False})
    assert catalog.list_tax_rates(db, ADMIN, active_only=True) == []
    [row] = catalog.list_tax_rates(db, ADMIN)
    assert (row["id"], row["category"], row["percent"], row["active"]) == (rate_id, "S", D("8.1"), False)


@pytest.mark.parametrize(
    ("data", "match"),
    [
        pytest.param({"name": "S0", "category": "S", "percent": "0"}, "above 0%", id="standard-at-zero"),
        pytest.param({"name": "E5", "category": "E", "percent": "5", "exemption_reason": "x"}, "rate of 0%",
                     id="exempt-with-rate"),
        pytest.param({"name": "E", "category": "E", "percent": "0"}, "exemption reason", id="exempt-no-reason"),
        pytest.param({"name": "Q", "category": "Q", "percent": "5"}, "Unknown VAT category", id="unknown-category"),
        pytest.param({"name": "100", "category": "S", "percent": "100"}, "below 100%", id="hundred"),
        pytest.param({"name": "neg", "category": "S", "percent": "-1"}, "at least 0%", id="negative"),
        pytest.param({"name": "many", "category": "S", "percent": "7.12345"}, "more than 4 decimal",
                     id="five-decimals"),
        pytest.param({"name": "f", "category": "S", "percent": 19.0}, "floating point", id="float"),
        pytest.param({"name": "", "category": "S", "percent": "19"}, "Name", id="no-name"),
    ],
)
def test_bad_tax_rate_is_refused(refusals: Shared, data: dict[str, Any], match: str) -> None:
    db = refusals.db
    assert_refused(db, lambda: catalog.create_tax_rate(db, ADMIN, data), ValidationError, match=match)


def test_changing_a_rate_leaves_issued_invoices_alone(db: Database, seeded: Seed, billed: Billed) -> None:
    catalog.update_tax_rate(db, ADMIN, seeded.s19, {"name": "Standard 20%", "category": "S", "percent": "20"})
    v = invoices.get_invoice(db, ADMIN, billed.a, as_of=TODAY)
    assert (v.lines[0].vat_rate, v.header.tax_total, v.header.payable) == (D("19"), D("19.00"), D("119.00"))
    assert v.totals.payable == D("119.00")
    new = invoices.get_invoice(db, ADMIN, draft(db, seeded.acme, line(seeded.s19)), as_of=TODAY)
    assert new.header.payable == D("120.00")


def test_update_unknown_tax_rate(refusals: Shared) -> None:
    db = refusals.db
    assert_refused(db, lambda: catalog.update_tax_rate(db, ADMIN, 999, {"name": "X", "percent": "5"}),
                   NotFoundError)


def test_product_create_list_update_archive(db: Database, seeded: Seed) -> None:
    [row] = catalog.list_products(db, ANALYST)
    assert (row["id"], row["sku"], row["unit_price"], row["tax_rate_id"]) == (seeded.product, "W-1", D("49.90"),
                                                                               seeded.s19)
    data = {"name": "Gadget", "sku": "G-1", "unit_price": "0.123456", "tax_rate_id": seeded.s7}
    gadget = catalog.create_product(db, ADMIN, data)
    assert [p["name"] for p in catalog.list_products(db, ADMIN)] == ["Gadget", "Widget"]
    catalog.update_product(db, ADMIN, gadget, {**data, "unit_price": "2.50"}, archived=True)
    assert [p["name"] for p in catalog.list_products(db, ADMIN)] == ["Widget"]
    archived = [p for p in catalog.list_products(db, ADMIN, include_archived=True) if p["id"] == gadget]
    assert (archived[0]["unit_price"], archived[0]["archived"]) == (D("2.50"), True)


@pytest.mark.parametrize(
    ("data", "match"),
    [
        pytest.param({"sku": "W-1"}, "already exists", id="duplicate-sku"),
        pytest.param({"tax_rate_id": 999}, "Tax rate 999", id="unknown-tax-rate"),
        pytest.param({"unit_price": "1.1234567"}, "more than 6 decimal", id="seven-decimals"),
        pytest.param({"unit_price": "-1.00"}, "negative", id="negative-price"),
        pytest.param({"unit_price": "NaN"}, "not a number", id="nan"),
        pytest.param({"unit_price": "abc"}, "not a number", id="abc"),
        pytest.param({"unit_price": 9.99}, "floating point", id="float"),
        pytest.param({"unit_price": "5000000000000"}, "too large", id="beyond-column"),
        pytest.param({"unit_price": "100000000000000000000"}, "too large", id="1e20"),
        pytest.param({"currency": "XYZ"}, "Unknown currency", id="unknown-currency"),
        pytest.param({"sku": ""}, "Sku", id="no-sku"),
    ],
)
def test_bad_product_is_refused(refusals: Shared, data: dict[str, Any], match: str) -> None:
    db, seeded = refusals.db, refusals.seed
    product = {"name": "Gadget", "sku": "G-1", "unit_price": "9.99", "tax_rate_id": seeded.s19, **data}
    assert_refused(db, lambda: catalog.create_product(db, ADMIN, product), ValidationError, match=match)


def test_update_product_refuses_a_taken_sku(db: Database, seeded: Seed) -> None:
    gadget = catalog.create_product(db, ADMIN, {"name": "Gadget", "sku": "G-1", "unit_price": "1",
                                                "tax_rate_id": seeded.s19})
    assert_refused(db, lambda: catalog.update_product(db, ADMIN, gadget, {
        "name": "Gadget", "sku": "W-1", "unit_price": "1", "tax_rate_id": seeded.s19}), ValidationError)
    assert_refused(db, lambda: catalog.update_product(db, ADMIN, 999, {
        "name": "Gadget", "sku": "X", "unit_price": "1", "tax_rate_id": seeded.s19}), NotFoundError)


def test_product_line_on_an_invoice(db: Database, seeded: Seed) -> None:
    invoice_id = draft(db, seeded.acme, line(seeded.s19, "3", "49.90", "Widget", product_id=seeded.product,
                                             unit="pcs"))
    v = invoices.get_invoice(db, ADMIN, invoice_id, as_of=TODAY)
    assert (v.lines[0].product_id, v.lines[0].unit, v.header.payable) == (seeded.product, "pcs",
                                                                                   D("178.14"))  # 149.70 + 28.44


@pytest.mark.parametrize("price", ["123456789012.345678", "999999999999.999999", "0.000001"])
def test_a_price_is_stored_exactly_never_through_a_float(db: Database, seeded: Seed, price: str) -> None:
    product_id = catalog.create_product(db, ADMIN, {"name": "Precise", "sku": "P-1", "unit_price": price,
                                                    "tax_rate_id": seeded.s19})
    [row] = [p for p in catalog.list_products(db, ADMIN) if p["id"] == product_id]
    assert row["unit_price"] == Decimal(price)  # a float would give ...345673 or refuse 999999999999.999999
