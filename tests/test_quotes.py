"""billing.quotes: numbering, the status flow, expiry, the customer's answer, conversion to the cent, the PDF."""

from __future__ import annotations

import io
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pypdf import PdfReader

from billing import invoices, quotes
from billing.dispatch import send_requests
from billing.errors import PermissionDeniedError, StateError, ValidationError
from billing.store.db import Database
from tests.conftest import ADMIN, ANALYST, Seed, assert_refused, line

ON = date(2025, 3, 10)


def quote(seed: Seed, *lines: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"customer_id": seed.acme, "notes": "Offer for the spring",
            "lines": list(lines) or [line(seed.s19, "3", "33.33"), line(seed.s7, "1", "0.05", "Stamp")], **extra}


def test_the_flow_from_draft_to_invoice(db: Database, seeded: Seed) -> None:
    quote_id = quotes.create_quote(db, ADMIN, quote(seeded))
    assert quotes.get_quote(db, ADMIN, quote_id).status == "draft"
    assert quotes.send_quote(db, ADMIN, quote_id, ON) == "QUO-2025-00001"
    sent = quotes.get_quote(db, ADMIN, quote_id)
    assert (sent.status, sent.quote_date, sent.valid_until) == ("sent", ON, ON + timedelta(days=30))
    with db.connect() as conn:
        assert send_requests(conn, "quote", quote_id) == [("quote-2025-03-10", ON)]
    quotes.accept_quote(db, ADMIN, quote_id, ON + timedelta(days=3))
    invoice_id = quotes.convert_quote(db, ADMIN, quote_id)
    document = invoices.get_invoice(db, ADMIN, invoice_id, as_of=ON)
    # 3 x 33.33 = 99.99 + 19 % = 19.00 (18.9981); 0.05 + 7 % = 0.00 (0.0035): 119.04
    assert document.header.payable == Decimal("119.04") == sent.totals.payable
    assert document.header.status == "draft" and document.header.notes == "Offer for the spring"
    converted = quotes.get_quote(db, ADMIN, quote_id)
    assert (converted.status, converted.invoice_id) == ("converted", invoice_id)
    assert_refused(db, lambda: quotes.convert_quote(db, ADMIN, quote_id), StateError, "converted")


def test_a_second_quote_takes_the_next_number_and_invoices_keep_theirs(db: Database, seeded: Seed) -> None:
    first, second = (quotes.create_quote(db, ADMIN, quote(seeded)) for _ in range(2))
    quotes.send_quote(db, ADMIN, first, ON)
    assert quotes.send_quote(db, ADMIN, second, ON) == "QUO-2025-00002"
    invoice_id = quotes.convert_quote(db, ADMIN, second)
    assert invoices.issue_invoice(db, ADMIN, invoice_id, today=ON) == "INV-2025-00001"


def test_expiry_and_declining(db: Database, seeded: Seed) -> None:
    late = quotes.create_quote(db, ADMIN, quote(seeded, valid_until="2025-03-20"))
    declined = quotes.create_quote(db, ADMIN, quote(seeded))
    for quote_id in (late, declined):
        quotes.send_quote(db, ADMIN, quote_id, ON)
    quotes.decline_quote(db, ADMIN, declined, ON)
    assert quotes.expire_quotes(db, ADMIN, date(2025, 3, 20)) == []
    assert_refused(db, lambda: quotes.accept_quote(db, ADMIN, late, date(2025, 3, 21)), StateError, "expired on")
    assert quotes.expire_quotes(db, ADMIN, date(2025, 3, 21)) == [late]
    assert {row["id"]: row["status"] for row in quotes.list_quotes(db, ADMIN)} == {late: "expired",
                                                                                     declined: "declined"}
    assert_refused(db, lambda: quotes.convert_quote(db, ADMIN, late), StateError, "expired")


def test_the_customer_answers_through_the_link(db: Database, seeded: Seed) -> None:
    yes, no = (quotes.create_quote(db, ADMIN, quote(seeded)) for _ in range(2))
    for quote_id in (yes, no):
        quotes.send_quote(db, ADMIN, quote_id, ON)
    quotes.accept_quote_by_customer(db, yes, ON, link="L1")
    quotes.decline_quote_by_customer(db, no, ON, link="L2")
    assert quotes.get_quote(db, ADMIN, yes).status == "accepted"
    assert quotes.get_quote(db, ADMIN, no).status == "declined"
    assert_refused(db, lambda: quotes.accept_quote_by_customer(db, no, ON, link="L2"), StateError, "declined")


def test_a_changed_tax_rate_refuses_a_conversion_that_would_change_the_total(db: Database, seeded: Seed) -> None:
    from billing import catalog

    quote_id = quotes.create_quote(db, ADMIN, quote(seeded))
    quotes.send_quote(db, ADMIN, quote_id, ON)
    catalog.update_tax_rate(db, ADMIN, seeded.s19, {"name": "Standard 20%", "category": "S", "percent": "20"})
    assert_refused(db, lambda: quotes.convert_quote(db, ADMIN, quote_id), StateError, "would become")


def test_the_pdf_is_a_quote(db: Database, seeded: Seed) -> None:
    quote_id = quotes.create_quote(db, ADMIN, quote(seeded))
    quotes.send_quote(db, ADMIN, quote_id, ON)
    data = quotes.quote_pdf(db, ADMIN, quote_id)
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)
    assert "QUOTE" in text and "QUO-2025-00001" in text and "Valid until" in text and "119.04" in text
    assert "INVOICE" not in text


@pytest.mark.parametrize(("extra", "message"), [
    ({"lines": []}, "at least one line"),
    ({"valid_until": "2025-03-01", "issue_date": "2025-03-10"}, "before its own date"),
    ({"customer_id": 999}, "does not exist"),
    ({"valid_until": "someday"}, "Valid until"),
])
def test_bad_quotes_are_refused_with_a_message(db: Database, seeded: Seed, extra: dict[str, Any],
                                               message: str) -> None:
    assert_refused(db, lambda: quotes.create_quote(db, ADMIN, quote(seeded, **extra)), ValidationError, message)


def test_an_analyst_may_read_but_not_write(db: Database, seeded: Seed) -> None:
    assert quotes.list_quotes(db, ANALYST) == []
    with pytest.raises(PermissionDeniedError):
        quotes.create_quote(db, ANALYST, quote(seeded))


AMOUNTS = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("99999"), places=2)
QUANTITIES = st.decimals(min_value=Decimal("0.001"), max_value=Decimal("500"), places=3)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(QUANTITIES, AMOUNTS, st.sampled_from(["s19", "s7", "e0"]),
                          st.decimals(min_value=0, max_value=50, places=1)), min_size=1, max_size=6))
def test_a_converted_quote_keeps_its_totals_to_the_cent(db: Database, seeded: Seed,
                                                         rows: list[tuple[Decimal, Decimal, str, Decimal]]) -> None:
    lines = [line(getattr(seeded, rate), str(quantity), str(price), discount_percent=str(discount))
             for quantity, price, rate, discount in rows]
    quote_id = quotes.create_quote(db, ADMIN, quote(seeded, *lines))
    quotes.send_quote(db, ADMIN, quote_id, ON)
    quotes.accept_quote(db, ADMIN, quote_id, ON)
    expected = quotes.get_quote(db, ADMIN, quote_id).totals
    document = invoices.get_invoice(db, ADMIN, quotes.convert_quote(db, ADMIN, quote_id), as_of=ON)
    assert document.totals == expected
    assert document.header.payable == expected.payable
