"""The report data written with each write (sales and collection facts, activity dates) equals what
`verify` recomputes from the documents in SQL, for any lines: rounding ties, discounts, several VAT
rates, products and free text, currencies with 0 and 2 decimals, partial and full credit notes."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from billing import invoices, payments
from billing.store import reports as report_store
from billing.store.db import Database
from tests.conftest import ADMIN, TODAY, Seed, Templates, copy_template, database_url, line


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
        invoices.create_credit_note(db, ADMIN, invoice_id, TODAY)
    elif credit == "part":
        invoices.create_credit_note(db, ADMIN, invoice_id, TODAY, lines=[entered[0]])
    with db.connect() as conn:
        assert report_store.maintained_problems(conn) == []
