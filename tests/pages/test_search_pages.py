"""AppTest of the search page and the customer list's balances, on demo data."""

from __future__ import annotations

import sqlalchemy as sa
from portal import ok, open_page

from billing import customer_overview, customers, search
from billing.permissions import SYSTEM
from billing.store.db import Database
from billing.store.schema import invoices, payments
from ui import format as fmt

PAGE = "app_pages/search.py"


def test_search_finds_customers_invoices_and_payments_at_once(demo_db: Database) -> None:
    with demo_db.connect() as conn:
        number = conn.execute(sa.select(invoices.c.number).where(invoices.c.number.is_not(None)).limit(1)).scalar_one()
        reference = conn.execute(sa.select(payments.c.reference).where(payments.c.reference != "").limit(1)
                                 ).scalar_one()
    at = ok(open_page("accountant", PAGE, q=number))
    links = [link.label for link in at.get("page_link")]
    assert number in links
    at.text_input(key="search:text").input(reference).run()
    assert reference in [link.label for link in at.get("page_link")]
    results = search.search_everything(demo_db, SYSTEM, reference)
    assert results.payments and all(reference.lower() in hit.title.lower() for hit in results.payments)


def test_a_customer_name_finds_the_customer(demo_db: Database) -> None:
    rows, _ = customers.search_customers(demo_db, SYSTEM, "", limit=1)
    name = str(rows[0]["name"])
    at = ok(open_page("analyst", PAGE, q=name))
    assert name in [link.label for link in at.get("page_link")]
    assert any(s.value.startswith("Customers (") for s in at.subheader)


def test_nothing_found_and_too_short_are_said(demo_db: Database) -> None:
    at = ok(open_page("accountant", PAGE, q="zzzz-no-such-thing"))
    assert "Nothing found" in at.info[0].value
    at.text_input(key="search:text").input("z").run()
    assert any("at least two characters" in c.value for c in at.caption)


def test_the_customer_list_shows_each_balance(demo_db: Database) -> None:
    at = ok(open_page("accountant", "app_pages/customers.py"))
    frame = at.dataframe[0].value
    assert "Balance" in frame.columns
    rows, _ = customers.search_customers(demo_db, SYSTEM, "", limit=len(frame))
    first = customer_overview.with_balances(demo_db, SYSTEM, rows)[0]
    assert frame["Balance"].iloc[0] == fmt.money(first["balance"], first["currency"])
    assert any(row["balance"] > 0 for row in customer_overview.with_balances(demo_db, SYSTEM, rows))
