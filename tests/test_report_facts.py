"""The data kept with each write for the reports (sales and collection facts, activity dates, is_open)
equals what `verify` recomputes from the documents in SQL, for any lines: rounding ties, discounts, several VAT
rates, products and free text, currencies with 0 and 2 decimals, partial and full credit notes."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from billing import credit_notes, invoices, payments, reports
from billing.catalog import create_product
from billing.permissions import SYSTEM
from billing.reports import ReportFilters
from billing.store import facts
from billing.store.db import Database
from billing.verify import verify_database
from tests.conftest import ADMIN, TODAY, Billed, Seed, Templates, copy_template, database_url, line


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory, templates: Templates) -> Iterator[tuple[Database, Seed]]:
    path = copy_template(templates.seeded, tmp_path_factory.mktemp("facts") / "facts.duckdb")
    database = Database(database_url(Path(path)))
    yield database, templates.seed
    database.dispose()


# Prices and quantities chosen to land on half-cent (and half-yen) ties after the VAT percentage.
PRICES = st.sampled_from(["0.05", "0.25", "1.15", "2.50", "12.345", "19.99", "33.33", "0.5", "1.005"])
QUANTITIES = st.sampled_from(["1", "2", "3", "0.5", "1.5", "7", "0.25"])
DISCOUNTS = st.sampled_from(["0", "0", "5", "12.5", "33.3333"])
LINE = st.tuples(PRICES, QUANTITIES, DISCOUNTS, st.integers(0, 2), st.booleans())


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=st.lists(LINE, min_size=1, max_size=6), jpy=st.booleans(), credit=st.sampled_from(["none", "part", "all"]),
       paid=st.sampled_from(["0", "0.01", "1"]))
def test_facts_written_with_each_write_equal_the_sql_recomputation(
        shared: tuple[Database, Seed], lines: list[tuple[str, str, str, int, bool]], jpy: bool, credit: str,
        paid: str) -> None:
    db, seed = shared
    customer = seed.jpy if jpy else seed.acme
    rates = (seed.s19, seed.s7, seed.e0)
    entered = [line(rates[rate], quantity, price if not jpy else str(int(Decimal(price) * 100)),
                    discount_percent=discount, **({"product_id": seed.product} if product and not jpy else {}))
               for price, quantity, discount, rate, product in lines]
    invoice_id = invoices.create_draft(db, ADMIN, {"customer_id": customer, "lines": entered})
    invoices.issue_invoice(db, ADMIN, invoice_id, today=TODAY)
    payable = invoices.get_invoice(db, ADMIN, invoice_id, as_of=TODAY).totals.payable
    amount = min(Decimal(paid) if not jpy else Decimal(paid) * 100, payable)
    if amount > 0:
        payments.record_payment(db, ADMIN, {"customer_id": customer, "amount": amount,
                                            "currency": "JPY" if jpy else "EUR", "received_on": TODAY},
                                allocate=[(invoice_id, amount)])
    if credit == "all":
        credit_notes.create_credit_note(db, ADMIN, invoice_id, TODAY)
    elif credit == "part":
        credit_notes.create_credit_note(db, ADMIN, invoice_id, TODAY, lines=[entered[0]])
    report = verify_database(db, SYSTEM)  # the facts, the activity dates and is_open among the rest
    assert report.ok, report.problems


def test_collected_with_a_product_filter_counts_each_document_once(db: Database, seeded: Seed) -> None:
    """Money allocated to documents with any of the chosen products, each allocation counted once
    however many of the products the document has; undone allocations count negative."""
    gadget = create_product(db, ADMIN, {"name": "Gadget", "sku": "G-1", "unit": "pcs", "unit_price": "10.00",
                                        "currency": "EUR", "tax_rate_id": seeded.s7})
    widget = seeded.product
    both = invoices.create_draft(db, ADMIN, {"customer_id": seeded.acme, "lines": [
        line(seeded.s19, "1", "49.90", product_id=widget), line(seeded.s7, "2", "10.00", product_id=gadget),
        line(seeded.e0, "1", "5.00")]})
    invoices.issue_invoice(db, ADMIN, both, today=TODAY)
    only_gadget = invoices.create_draft(db, ADMIN, {"customer_id": seeded.acme, "lines": [
        line(seeded.s7, "3", "10.00", product_id=gadget)]})
    invoices.issue_invoice(db, ADMIN, only_gadget, today=TODAY)
    neither = invoices.create_draft(db, ADMIN, {"customer_id": seeded.acme, "lines": [line(seeded.s19)]})
    invoices.issue_invoice(db, ADMIN, neither, today=TODAY)

    def pay(amount: str, invoice_id: int, on: date) -> int:
        return payments.record_payment(db, ADMIN, {"customer_id": seeded.acme, "amount": amount, "currency": "EUR",
                                                   "received_on": on}, allocate=[(invoice_id, amount)])

    pay("40.00", both, TODAY)
    pay("5.00", both, TODAY)
    bounced = pay("7.00", only_gadget, TODAY)
    pay("50.00", neither, TODAY)
    pay("3.00", only_gadget, date(2025, 4, 2))
    payments.reverse_payment(db, ADMIN, bounced, date(2025, 4, 3), "Bounced")

    def collected(*product_ids: int) -> dict[date, Decimal]:
        filters = ReportFilters(date(2025, 3, 1), date(2025, 4, 30), product_ids=product_ids, currencies=("EUR",))
        frame = reports.revenue_series(db, ADMIN, filters, "month", as_of=TODAY)
        return {row["period"]: row["collected"] for row in frame.to_dict("records")}

    march, april = date(2025, 3, 1), date(2025, 4, 1)
    assert collected(widget) == {march: Decimal("45.00"), april: Decimal("0.00")}
    assert collected(gadget) == {march: Decimal("52.00"), april: Decimal("-4.00")}
    assert collected(widget, gadget) == {march: Decimal("52.00"), april: Decimal("-4.00")}
    dashboard = reports.dashboard(db, ADMIN, ReportFilters(march, date(2025, 3, 31), product_ids=(widget, gadget)),
                                  TODAY)
    assert list(dashboard["collected"]) == [Decimal("52.00")]


def test_verify_names_the_documents_whose_report_data_differs(db: Database, seeded: Seed, billed: Billed) -> None:
    """One pass over each side finds rows lost from the report data and rows added to it, each way per table."""
    payments.record_payment(db, ADMIN, {"customer_id": seeded.acme, "amount": "59.50", "currency": "EUR",
                                        "received_on": TODAY}, allocate=[(billed.b, "59.50")])
    with db.engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM sales_facts WHERE invoice_id = :a AND dimension = 'product'"),
                     {"a": billed.a})
        conn.execute(sa.text("INSERT INTO sales_facts SELECT * FROM sales_facts WHERE invoice_id = :c"),
                     {"c": billed.c})
        conn.execute(sa.text("UPDATE collection_facts SET amount = amount + 1 WHERE invoice_id = :b"),
                     {"b": billed.b})
    with db.connect() as conn:
        problems = facts.maintained_problems(conn)
    assert problems == [f"document {billed.a}: rows missing from sales_facts",
                        f"document {billed.c}: rows unexpected in sales_facts",
                        f"document {billed.b}: rows missing from collection_facts",
                        f"document {billed.b}: rows unexpected in collection_facts"]
    assert verify_database(db, SYSTEM).problems == problems
