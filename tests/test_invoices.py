"""Invoices and credit notes (billing.invoices) against a real DuckDB file: drafts, issue, void, credit."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest

from billing import credit_notes, customers, invoices, payments
from billing.documents import InvoiceDocument
from billing.errors import BillingError, NotFoundError, StateError, ValidationError
from billing.logic import TaxSubtotal
from billing.store.db import Database
from tests.conftest import (
    ADMIN,
    TODAY,
    Billed,
    Seed,
    Shared,
    assert_refused,
    draft,
    header,
    issued,
    line,
    snapshot,
)

D = Decimal


def view(db: Database, invoice_id: int, as_of: date = TODAY) -> InvoiceDocument:
    return invoices.get_invoice(db, ADMIN, invoice_id, as_of=as_of)


def pay(db: Database, customer_id: int, amount: str, allocate: Any = None, currency: str = "EUR") -> int:
    return payments.record_payment(db, ADMIN, {"customer_id": customer_id, "amount": amount, "currency": currency,
                                               "received_on": TODAY}, allocate=allocate)


# --- drafts -------------------------------------------------------------------------------------


def test_create_draft_prices_lines_and_stores_the_vat_breakdown(db: Database, seeded: Seed) -> None:
    invoice_id = draft(db, seeded.acme,
                       line(seeded.s19, "2", "49.95", "Widget"),
                       line(seeded.s7, "1", "10.00", "Book"),
                       line(seeded.e0, "1", "5.00", "Insurance"))
    v = view(db, invoice_id)
    assert v.status == "draft"
    assert v.header.number is None
    assert v.header.currency == "EUR"
    assert [row.net_amount for row in v.lines] == [D("99.90"), D("10.00"), D("5.00")]
    assert v.header.line_total == D("114.90")
    assert v.header.tax_total == D("19.68")  # 18.981 -> 18.98 and 0.70
    assert v.header.payable == D("134.58")
    assert v.totals.tax_breakdown == (
        TaxSubtotal("E", D("0"), D("5.00"), D("0.00")),
        TaxSubtotal("S", D("7"), D("10.00"), D("0.70")),
        TaxSubtotal("S", D("19"), D("99.90"), D("18.98")),
    )
    assert v.balance == D("134.58")


def full_draft(seeded: Seed, customer: str) -> dict[str, Any]:
    """A draft with every kind of line and an exempt one, an allowance and a charge, notes and a buyer reference."""
    return {"customer_id": getattr(seeded, customer), "notes": "Thanks", "buyer_reference": "PO-7",
            "lines": [line(seeded.s19, "2", "49.955", "Widget"), line(seeded.e0, "1.5", "10.00", "Exempt service"),
                      {**line(seeded.s7, "3", "7.10", "Book"), "discount_percent": "10", "product_id": seeded.product}],
            "allowance_charges": [{"percent": "5", "tax_rate_id": seeded.s19, "reason": "Loyalty"},
                                  {"is_charge": True, "amount": "2", "tax_rate_id": seeded.s7}]}


@pytest.mark.parametrize("customer", ["acme", "jpy"])
def test_a_created_draft_is_shown_as_it_reads_back(db: Database, seeded: Seed, customer: str) -> None:
    # The API answers with create_draft_shown instead of reading the draft again: it must be what get_invoice reads
    # (lines in order, the VAT breakdown by category and rate, the exemption reason, money in the minor unit).
    document = invoices.create_draft_shown(db, ADMIN, full_draft(seeded, customer), TODAY)
    assert document == view(db, document.id)
    assert document.exemption_reasons and document.status == "draft"


@pytest.mark.parametrize("customer", ["acme", "jpy"])
def test_an_issued_invoice_is_shown_as_it_reads_back(db: Database, seeded: Seed, customer: str) -> None:
    # The API answers with issue_invoice_shown instead of reading the invoice again: it must be what get_invoice
    # reads (number, dates, frozen seller and buyer, lines with their nets, VAT breakdown, exemption reasons).
    invoice_id = invoices.create_draft(db, ADMIN, full_draft(seeded, customer))
    document = invoices.issue_invoice_shown(db, ADMIN, invoice_id, TODAY, due_date=TODAY + timedelta(days=30))
    assert document == view(db, invoice_id)
    assert document.header.number and document.status == "unpaid" and document.exemption_reasons
    assert document.seller is not None and document.seller.name


def test_draft_currency_defaults_to_the_customers(db: Database, seeded: Seed) -> None:
    invoice_id = draft(db, seeded.jpy, line(seeded.s19, "3", "333.5"))
    v = view(db, invoice_id)
    assert v.header.currency == "JPY"
    assert v.header.line_total == D("1001")  # 1000.5 rounds half up to whole yen
    assert v.header.tax_total == D("190")  # 1001 x 19 % = 190.19
    assert v.header.payable == D("1191")


def test_document_allowance_and_charge(db: Database, seeded: Seed) -> None:
    invoice_id = draft(db, seeded.acme, line(seeded.s19, "1", "200.00"),
                       allowance_charges=[{"percent": "10", "tax_rate_id": seeded.s19, "reason": "Loyalty"},
                                           {"is_charge": True, "amount": "12.50", "tax_rate_id": seeded.s19}])
    h = header(db, invoice_id)
    assert (h.allowance_total, h.charge_total, h.tax_exclusive) == (D("20.00"), D("12.50"), D("192.50"))
    assert h.tax_total == D("36.58")  # 192.50 x 19 % = 36.575
    assert h.payable == D("229.08")


def test_update_draft_replaces_lines_and_totals(db: Database, seeded: Seed) -> None:
    invoice_id = draft(db, seeded.acme, line(seeded.s19), line(seeded.s7, "2", "3.00"))
    invoices.update_draft(db, ADMIN, invoice_id, {"customer_id": seeded.beta, "notes": "Revised",
                                                  "lines": [line(seeded.s7, "3", "4.115", "Pens")]})
    v = view(db, invoice_id)
    assert v.header.customer_id == seeded.beta
    assert v.header.notes == "Revised"
    assert [(row.position, row.description, row.net_amount) for row in v.lines] == [(1, "Pens", D("12.35"))]
    assert v.header.tax_total == D("0.86")  # 3 x 4.115 = 12.345 -> 12.35; x 7 % = 0.8645 -> 0.86
    assert v.header.payable == D("13.21")


def test_delete_draft_removes_it_entirely(db: Database, seeded: Seed) -> None:
    before = snapshot(db)
    invoice_id = draft(db, seeded.acme, line(seeded.s19), allowance_charges=[
        {"amount": "5.00", "tax_rate_id": seeded.s19}])
    invoices.delete_draft(db, ADMIN, invoice_id)
    after = snapshot(db)
    for table in ("invoices", "invoice_lines", "invoice_allowances", "invoice_taxes"):
        assert after[table] == before[table] == []
    with pytest.raises(NotFoundError):
        view(db, invoice_id)


def test_a_negative_line_on_a_positive_invoice_is_fine(db: Database, seeded: Seed) -> None:
    invoice_id = issued(db, seeded.acme, line(seeded.s19, "1", "100.00"),
                        line(seeded.s19, "-1", "20.00", "Returned item"))
    h = header(db, invoice_id)
    assert h.line_total == D("80.00")
    assert h.payable == D("95.20")
    assert h.number == "INV-2025-00001"


def test_preview_totals_matches_what_is_stored(db: Database, seeded: Seed) -> None:
    data = {"customer_id": seeded.acme, "lines": [line(seeded.s19, "3", "4.115"), line(seeded.s7, "1", "0.99")]}
    preview = invoices.preview_totals(db, ADMIN, data)
    h = header(db, invoices.create_draft(db, ADMIN, data))
    assert preview.payable == h.payable == D("15.76")  # 12.35 + 2.35 VAT, 0.99 + 0.07 VAT


# --- issued invoices are immutable --------------------------------------------------------------


def test_issued_invoice_cannot_be_updated(db: Database, seeded: Seed, billed: Billed) -> None:
    invoice_id = billed.a
    assert_refused(db, lambda: invoices.update_draft(
        db, ADMIN, invoice_id, {"customer_id": seeded.acme, "lines": [line(seeded.s19, "2")]}), StateError)


def test_issued_invoice_cannot_be_deleted(db: Database, seeded: Seed, billed: Billed) -> None:
    invoice_id = billed.a
    assert_refused(db, lambda: invoices.delete_draft(db, ADMIN, invoice_id), StateError)


def test_issued_invoice_cannot_be_issued_again(db: Database, seeded: Seed, billed: Billed) -> None:
    invoice_id = billed.a
    assert_refused(db, lambda: invoices.issue_invoice(db, ADMIN, invoice_id, today=TODAY), StateError,
                   match="INV-2025-00001")


def test_void_invoice_cannot_be_edited(db: Database, seeded: Seed, billed: Billed) -> None:
    invoice_id = billed.a
    invoices.void_invoice(db, ADMIN, invoice_id, "Wrong customer", today=TODAY)
    assert_refused(db, lambda: invoices.update_draft(
        db, ADMIN, invoice_id, {"customer_id": seeded.acme, "lines": [line(seeded.s19)]}), StateError)
    assert_refused(db, lambda: invoices.delete_draft(db, ADMIN, invoice_id), StateError)


# --- issue: numbers and dates -------------------------------------------------------------------


def test_issue_numbers_are_gapless_in_order_of_issue(db: Database, seeded: Seed) -> None:
    first, second, third = (draft(db, seeded.acme, line(seeded.s19)) for _ in range(3))
    deleted = draft(db, seeded.acme, line(seeded.s19))
    invoices.delete_draft(db, ADMIN, deleted)
    assert invoices.issue_invoice(db, ADMIN, third, today=TODAY) == "INV-2025-00001"
    assert invoices.issue_invoice(db, ADMIN, first, today=TODAY) == "INV-2025-00002"
    assert invoices.issue_invoice(db, ADMIN, second, today=date(2026, 1, 2)) == "INV-2026-00003"
    assert header(db, second).issue_date == date(2026, 1, 2)


def test_a_refused_issue_gives_no_number_away(db: Database, seeded: Seed) -> None:
    refused = draft(db, seeded.beta, line(seeded.s19))
    customers.set_archived(db, ADMIN, seeded.beta)
    assert_refused(db, lambda: invoices.issue_invoice(db, ADMIN, refused, today=TODAY), ValidationError,
                   match="archived")
    assert invoices.issue_invoice(db, ADMIN, draft(db, seeded.acme, line(seeded.s19)), today=TODAY) \
        == "INV-2025-00001"


def test_issue_freezes_dates_status_and_totals(db: Database, seeded: Seed) -> None:
    invoice_id = draft(db, seeded.acme, line(seeded.s19, "3", "4.115"))
    invoices.issue_invoice(db, ADMIN, invoice_id, today=TODAY)
    h = header(db, invoice_id)
    assert h.status == "issued"
    assert h.issue_date == TODAY
    assert h.due_date == date(2025, 3, 24)  # Acme: 14 days
    assert h.issued_at is not None
    assert (h.tax_exclusive, h.tax_total, h.payable) == (D("12.35"), D("2.35"), D("14.70"))


@pytest.mark.parametrize(
    ("customer", "draft_dates", "issue_args", "expected_issue", "expected_due"),
    [
        pytest.param("acme", {}, {}, TODAY, date(2025, 3, 24), id="terms-14"),
        pytest.param("beta", {}, {}, TODAY, date(2025, 4, 9), id="terms-30"),
        pytest.param("acme", {}, {"issue_date": date(2025, 2, 20)}, date(2025, 2, 20), date(2025, 3, 6),
                     id="backdated"),
        pytest.param("acme", {}, {"due_date": date(2025, 5, 1)}, TODAY, date(2025, 5, 1), id="due-given"),
        pytest.param("acme", {"issue_date": "2025-03-01", "due_date": "2025-03-31"}, {}, date(2025, 3, 1),
                     date(2025, 3, 31), id="dates-on-draft"),
        pytest.param("acme", {"issue_date": "2025-03-01"}, {}, date(2025, 3, 1), date(2025, 3, 15),
                     id="issue-date-on-draft"),
        pytest.param("acme", {}, {"due_date": TODAY}, TODAY, TODAY, id="due-on-issue-day"),
    ],
)
def test_due_date_is_issue_plus_terms_unless_given(db: Database, seeded: Seed, customer: str,
                                                   draft_dates: dict[str, str], issue_args: dict[str, date],
                                                   expected_issue: date, expected_due: date) -> None:
    invoice_id = draft(db, getattr(seeded, customer), line(seeded.s19), **draft_dates)
    invoices.issue_invoice(db, ADMIN, invoice_id, today=TODAY, **issue_args)
    h = header(db, invoice_id)
    assert (h.issue_date, h.due_date) == (expected_issue, expected_due)


def test_due_before_issue_is_refused_on_the_draft(db: Database, seeded: Seed) -> None:
    assert_refused(db, lambda: draft(db, seeded.acme, line(seeded.s19), issue_date="2025-03-10",
                                     due_date="2025-03-09"), ValidationError, match="due date")


def test_due_before_issue_is_refused_at_issue(db: Database, seeded: Seed) -> None:
    invoice_id = draft(db, seeded.acme, line(seeded.s19))
    assert_refused(db, lambda: invoices.issue_invoice(db, ADMIN, invoice_id, today=TODAY,
                                                      due_date=date(2025, 3, 9)), ValidationError, match="due date")
    assert header(db, invoice_id).status == "draft"


def test_issue_of_unknown_invoice(db: Database, seeded: Seed) -> None:
    assert_refused(db, lambda: invoices.issue_invoice(db, ADMIN, 999, today=TODAY), NotFoundError)


def test_duplicate_makes_a_new_draft(db: Database, seeded: Seed) -> None:
    original = issued(db, seeded.acme, line(seeded.s19, "2", "10.00"), line(seeded.e0, "1", "1.00"),
                      allowance_charges=[{"amount": "1.00", "tax_rate_id": seeded.s19}])
    copy = invoices.duplicate_invoice(db, ADMIN, original)
    a, b = view(db, original), view(db, copy)
    assert b.status == "draft"
    assert b.header.number is None
    assert b.header.payable == a.header.payable == D("23.61")  # 19.00 + 3.61 VAT + 1.00 exempt
    assert [row.description for row in b.lines] == [row.description for row in a.lines]


# --- bad input: refused, readable, nothing written ---------------------------------------------

BAD_DRAFTS: list[Any] = [
    pytest.param(lambda s: {"lines": [line(s.s19, quantity="0")]}, "quantity cannot be zero", id="zero-quantity"),
    pytest.param(lambda s: {"lines": [line(s.s19, quantity="0.0000")]}, "zero", id="zero-quantity-decimals"),
    pytest.param(lambda s: {"lines": [line(s.s19, "1", "10.00"), line(s.s19, "-2", "10.00")]}, "negative",
                 id="negative-total"),
    pytest.param(lambda s: {"lines": [line(s.s19, "-1", "10.00")]}, "credit note", id="only-a-return"),
    pytest.param(lambda s: {"lines": [line(s.s19, discount_amount="1.234")]}, "more than 2 decimal",
                 id="discount-3-decimals-eur"),
    pytest.param(lambda s: {"customer_id": s.jpy, "lines": [line(s.s19, "1", "1000", discount_amount="1.5")]},
                 "more than 0 decimal", id="discount-decimals-jpy"),
    pytest.param(lambda s: {"lines": [line(s.s19, "1", "100.00")],
                            "allowance_charges": [{"amount": "1.234", "tax_rate_id": s.s19}]},
                 "more than 2 decimal", id="allowance-3-decimals"),
    pytest.param(lambda s: {"lines": [line(s.s19, "1", "1000.00")],
                            "allowance_charges": [{"percent": "10.123456", "tax_rate_id": s.s19}]},
                 "more than 4 decimal", id="allowance-percent-6-decimals"),
    pytest.param(lambda s: {"lines": [line(s.s19, "1.23456", "1.00")]}, "more than 4 decimal",
                 id="quantity-5-decimals"),
    pytest.param(lambda s: {"lines": [line(s.s19, "1", "1.1234567")]}, "more than 6 decimal",
                 id="price-7-decimals"),
    pytest.param(lambda s: {"lines": [line(s.s19, unit_price="NaN")]}, "not a number", id="nan"),
    pytest.param(lambda s: {"lines": [line(s.s19, unit_price="Infinity")]}, "not a number", id="infinity"),
    pytest.param(lambda s: {"lines": [line(s.s19, quantity="-inf")]}, "not a number", id="minus-inf"),
    pytest.param(lambda s: {"lines": [line(s.s19, unit_price="abc")]}, "not a number", id="abc"),
    pytest.param(lambda s: {"lines": [line(s.s19, unit_price="")]}, "not a number", id="empty-price"),
    pytest.param(lambda s: {"lines": [line(s.s19, unit_price=D("NaN"))]}, "finite", id="decimal-nan"),
    pytest.param(lambda s: {"lines": [line(s.s19, unit_price=D("1E+20"))]}, "too large", id="decimal-1e20"),
    pytest.param(lambda s: {"lines": [line(s.s19, unit_price="100000000000000000000")]}, "too large",
                 id="price-1e20"),
    pytest.param(lambda s: {"lines": [line(s.s19, quantity="100000000000000")]}, "too large", id="quantity-1e14"),
    pytest.param(lambda s: {"lines": [line(s.s19, "1", "5000000000000")]}, "too large",
                 id="price-beyond-column"),
    pytest.param(lambda s: {"lines": [line(s.s19, "99999999999", "99999999")]}, "too large", id="total-too-large"),
    pytest.param(lambda s: {"lines": [line(s.s19, "10000000000000", "100000000000"),
                                      line(s.s19, "-10000000000000", "100000000000"), line(s.s19)]},
                 "too large", id="line-too-large-total-small"),
    pytest.param(lambda s: {"lines": [line(s.s19, unit_price=1.5)]}, "floating point", id="float-price"),
    pytest.param(lambda s: {"lines": [line(s.s19, quantity=2.0)]}, "floating point", id="float-quantity"),
    pytest.param(lambda s: {"lines": [line(s.s19, discount_amount=0.1)]}, "floating point", id="float-discount"),
    pytest.param(lambda s: {"lines": []}, "at least one line", id="empty-invoice"),
    pytest.param(lambda s: {"customer_id": 999, "lines": [line(s.s19)]}, "does not exist", id="unknown-customer"),
    pytest.param(lambda s: {"currency": "XYZ", "lines": [line(s.s19)]}, "Unknown currency", id="unknown-currency"),
    pytest.param(lambda s: {"lines": [line(999)]}, "Tax rate 999", id="unknown-tax-rate"),
    pytest.param(lambda s: {"lines": [line(s.s19, product_id=999)]}, "product 999", id="unknown-product"),
    pytest.param(lambda s: {"lines": [line(s.s19, description="")]}, "Description", id="no-description"),
    pytest.param(lambda s: {"lines": [line(s.s19, discount_percent="101")]}, "between 0% and 100%",
                 id="discount-over-100"),
    pytest.param(lambda s: {"lines": [line(s.s19, discount_amount="-1.00")]}, "negative", id="negative-discount"),
    pytest.param(lambda s: {"lines": [line(s.s19)], "allowance_charges": [{"tax_rate_id": s.s19}]},
                 "amount or a percentage", id="allowance-without-amount"),
    pytest.param(lambda s: {"lines": [line(s.s19)], "issue_date": "2025-03-10", "due_date": "2025-01-01"},
                 "due date", id="due-before-issue"),
    pytest.param(lambda s: {"lines": [line(s.s19)], "issue_date": "0001-01-01"},
                 "Issue date: must be between 2000-01-01 and 2099-12-31, not 0001-01-01", id="issued-in-year-1"),
    pytest.param(lambda s: {"lines": [line(s.s19)], "issue_date": "9999-12-31"},
                 "Issue date: must be between 2000-01-01 and 2099-12-31", id="issued-in-9999"),
    pytest.param(lambda s: {"lines": [line(s.s19)], "due_date": "2100-01-01"},
                 "Due date: must be between 2000-01-01 and 2099-12-31", id="due-after-2099"),
]


@pytest.mark.parametrize(("make", "match"), BAD_DRAFTS)
def test_bad_draft_is_refused_and_nothing_is_written(refusals: Shared, make: Any, match: str) -> None:
    db, seeded = refusals.db, refusals.seed
    data = {"customer_id": seeded.acme, **make(seeded)}
    error = assert_refused(db, lambda: invoices.create_draft(db, ADMIN, data), ValidationError)
    assert match.lower() in str(error).lower()


@pytest.mark.parametrize(("make", "match"), BAD_DRAFTS[:8])
def test_bad_update_is_refused_and_the_draft_is_unchanged(db: Database, seeded: Seed, make: Any,
                                                         match: str) -> None:
    invoice_id = draft(db, seeded.acme, line(seeded.s19))
    data = {"customer_id": seeded.acme, **make(seeded)}
    error = assert_refused(db, lambda: invoices.update_draft(db, ADMIN, invoice_id, data), ValidationError)
    assert match.lower() in str(error).lower()


def test_archived_customer_cannot_be_invoiced(db: Database, seeded: Seed) -> None:
    customers.set_archived(db, ADMIN, seeded.beta)
    assert_refused(db, lambda: draft(db, seeded.beta, line(seeded.s19)), ValidationError, match="archived")


def test_line_error_names_the_line(db: Database, seeded: Seed) -> None:
    error = assert_refused(db, lambda: draft(db, seeded.acme, line(seeded.s19),
                                             line(seeded.s19, discount_amount="0.001")), ValidationError)
    assert str(error).startswith("Line 2")


# --- void ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("reason", ["", "   "])
def test_void_needs_a_reason(db: Database, seeded: Seed, billed: Billed, reason: str) -> None:
    invoice_id = billed.a
    assert_refused(db, lambda: invoices.void_invoice(db, ADMIN, invoice_id, reason, today=TODAY), ValidationError,
                   match="reason")


def test_void_keeps_the_number_and_numbering_continues(db: Database, seeded: Seed) -> None:
    invoice_id = issued(db, seeded.acme, line(seeded.s19))
    invoices.void_invoice(db, ADMIN, invoice_id, "  Sent to the wrong customer ", today=date(2025, 3, 11))
    v = view(db, invoice_id)
    assert v.status == "void"
    assert v.header.number == "INV-2025-00001"
    assert v.header.void_reason == "Sent to the wrong customer"
    assert v.header.voided_on == date(2025, 3, 11)
    assert invoices.issue_invoice(db, ADMIN, draft(db, seeded.acme, line(seeded.s19)), today=TODAY) \
        == "INV-2025-00002"


def test_void_refused_when_something_was_paid(db: Database, seeded: Seed, billed: Billed) -> None:
    invoice_id = billed.a
    pay(db, seeded.acme, "10.00", [(invoice_id, "10.00")])
    assert_refused(db, lambda: invoices.void_invoice(db, ADMIN, invoice_id, "Oops", today=TODAY), StateError,
                   match="payments or credit notes")


def test_void_refused_when_something_was_credited(db: Database, seeded: Seed) -> None:
    invoice_id = issued(db, seeded.acme, line(seeded.s19), line(seeded.s19, "1", "50.00"))
    credit_notes.create_credit_note(db, ADMIN, invoice_id, TODAY, lines=[line(seeded.s19, "1", "50.00")])
    assert_refused(db, lambda: invoices.void_invoice(db, ADMIN, invoice_id, "Oops", today=TODAY), StateError)


def test_void_allowed_again_once_the_payment_is_reversed(db: Database, seeded: Seed, billed: Billed) -> None:
    invoice_id = billed.a
    payment_id = pay(db, seeded.acme, "119.00", [(invoice_id, "119.00")])
    payments.reverse_payment(db, ADMIN, payment_id, TODAY, "Bounced")
    invoices.void_invoice(db, ADMIN, invoice_id, "Customer cancelled", today=TODAY)
    assert view(db, invoice_id).status == "void"


@pytest.mark.parametrize("state", ["draft", "void"])
def test_void_only_an_issued_invoice(db: Database, seeded: Seed, state: str) -> None:
    invoice_id = draft(db, seeded.acme, line(seeded.s19))
    if state == "void":
        invoices.issue_invoice(db, ADMIN, invoice_id, today=TODAY)
        invoices.void_invoice(db, ADMIN, invoice_id, "First", today=TODAY)
    assert_refused(db, lambda: invoices.void_invoice(db, ADMIN, invoice_id, "Again", today=TODAY), StateError)


def test_a_credit_note_cannot_be_voided(db: Database, seeded: Seed, billed: Billed) -> None:
    invoice_id = billed.a
    credit_id = credit_notes.create_credit_note(db, ADMIN, invoice_id, TODAY)
    assert_refused(db, lambda: invoices.void_invoice(db, ADMIN, credit_id, "No", today=TODAY), StateError)


# --- credit notes -------------------------------------------------------------------------------


def test_full_credit_note(db: Database, seeded: Seed) -> None:
    invoice_id = issued(db, seeded.acme, line(seeded.s19, "2", "49.95"), line(seeded.s7, "1", "10.00"),
                        allowance_charges=[{"amount": "5.00", "tax_rate_id": seeded.s19}])
    credit_id = credit_notes.create_credit_note(db, ADMIN, invoice_id, date(2025, 3, 12), reason="Returned")
    invoice, credit = view(db, invoice_id), view(db, credit_id)
    assert credit.header.number == "CN-2025-00001"
    assert credit.header.kind == "credit_note"
    assert credit.header.credited_invoice_id == invoice_id
    assert credit.header.issue_date == date(2025, 3, 12)
    assert credit.header.notes == "Returned"
    assert credit.status == "credit_note"
    # 99.90 + 10.00 - 5.00 = 104.90; VAT 94.90 x 19 % = 18.031 -> 18.03, 10.00 x 7 % = 0.70
    assert credit.header.payable == invoice.header.payable == D("123.63")
    assert credit.totals.tax_breakdown == invoice.totals.tax_breakdown
    assert [row.net_amount for row in credit.lines] == [D("99.90"), D("10.00")]
    assert invoice.header.credited_amount == D("123.63")
    assert invoice.balance == D("0.00")
    assert invoice.status == "credited"
    assert [cn.number for cn in invoice.credit_notes] == ["CN-2025-00001"]
    assert credit.credited_invoice is not None and credit.credited_invoice.id == invoice_id


def test_credit_notes_have_their_own_series(db: Database, seeded: Seed) -> None:
    first = issued(db, seeded.acme, line(seeded.s19))
    second = issued(db, seeded.acme, line(seeded.s19))
    credit_numbers = [header(db, credit_notes.create_credit_note(db, ADMIN, i, TODAY)).number
                      for i in (second, first)]
    assert credit_numbers == ["CN-2025-00001", "CN-2025-00002"]
    assert invoices.issue_invoice(db, ADMIN, draft(db, seeded.acme, line(seeded.s19)), today=TODAY) \
        == "INV-2025-00003"


def test_partial_credit_note_updates_balance_and_status(db: Database, seeded: Seed) -> None:
    invoice_id = issued(db, seeded.acme, line(seeded.s19, "1", "100.00"), line(seeded.s19, "1", "50.00"))
    assert header(db, invoice_id).payable == D("178.50")
    credit_id = credit_notes.create_credit_note(db, ADMIN, invoice_id, TODAY, lines=[line(seeded.s19, "1", "50.00")])
    assert header(db, credit_id).payable == D("59.50")
    v = view(db, invoice_id)
    assert v.header.credited_amount == D("59.50")
    assert v.balance == D("119.00")
    assert v.status == "partially_paid"


def test_second_full_credit_is_refused(db: Database, seeded: Seed, billed: Billed) -> None:
    invoice_id = billed.a
    credit_notes.create_credit_note(db, ADMIN, invoice_id, TODAY)
    assert_refused(db, lambda: credit_notes.create_credit_note(db, ADMIN, invoice_id, TODAY), ValidationError)


def test_full_credit_after_a_partial_one_is_refused(db: Database, seeded: Seed) -> None:
    invoice_id = issued(db, seeded.acme, line(seeded.s19, "2", "50.00"))
    credit_notes.create_credit_note(db, ADMIN, invoice_id, TODAY, lines=[line(seeded.s19, "1", "50.00")])
    assert_refused(db, lambda: credit_notes.create_credit_note(db, ADMIN, invoice_id, TODAY), ValidationError,
                   match="already credited")


def test_each_line_is_credited_at_most_its_invoiced_quantity_across_credit_notes(db: Database,
                                                                                 seeded: Seed) -> None:
    invoice_id = issued(db, seeded.acme, line(seeded.s19, "3", "100.00", discount_amount="30.00"),
                        line(seeded.s7, "2", "10.00", description="Travel"))  # 270.00 + 20.00 -> 342.70
    preview = credit_notes.preview_credit_note(db, ADMIN, invoice_id, {1: "1"})
    first = credit_notes.create_credit_note(db, ADMIN, invoice_id, TODAY, quantities={1: "1"})
    assert preview.payable == header(db, first).payable == D("107.10")  # 100 - 10 (a third of the discount)
    credit_notes.create_credit_note(db, ADMIN, invoice_id, TODAY, quantities={1: "1", 2: "2"})
    error = assert_refused(db, lambda: credit_notes.create_credit_note(db, ADMIN, invoice_id, TODAY,
                                                                   quantities={1: "1.5"}), ValidationError)
    assert str(error) == "Line 1 (Consulting): 2 of 3 already credited; at most 1 more can be credited."
    assert_refused(db, lambda: credit_notes.create_credit_note(db, ADMIN, invoice_id, TODAY, quantities={2: "0.01"}),
                   ValidationError, match="at most 0 more")
    assert_refused(db, lambda: credit_notes.preview_credit_note(db, ADMIN, invoice_id, {1: "-1"}), ValidationError)
    assert_refused(db, lambda: credit_notes.create_credit_note(db, ADMIN, invoice_id, TODAY, quantities={7: "1"}),
                   ValidationError, match="no line 7")
    credit_notes.create_credit_note(db, ADMIN, invoice_id, TODAY, quantities={1: "1"})
    v = view(db, invoice_id)
    # The three thirds of the fixed discount were rounded separately, yet add up to the invoice exactly.
    assert (v.balance, v.header.credited_amount) == (D("0.00"), D("342.70"))


def test_a_whole_credit_leaves_no_line_to_credit(db: Database, seeded: Seed, billed: Billed) -> None:
    credit_notes.create_credit_note(db, ADMIN, billed.a, TODAY)
    assert_refused(db, lambda: credit_notes.create_credit_note(db, ADMIN, billed.a, TODAY, quantities={1: "1"}),
                   ValidationError, match="1 of 1 already credited")
    assert_refused(db, lambda: credit_notes.create_credit_note(db, ADMIN, billed.b, TODAY, quantities={1: "1"},
                                                           lines=[line(seeded.s19)]), ValidationError)


def test_partial_credit_over_the_remainder_is_refused(db: Database, seeded: Seed) -> None:
    invoice_id = issued(db, seeded.acme, line(seeded.s19, "1", "100.00"), line(seeded.s19, "1", "50.00"))
    credit_notes.create_credit_note(db, ADMIN, invoice_id, TODAY, lines=[line(seeded.s19, "1", "50.00")])
    error = assert_refused(db, lambda: credit_notes.create_credit_note(
        db, ADMIN, invoice_id, TODAY, lines=[line(seeded.s19, "1", "100.01")]), ValidationError)
    assert "(119.01)" in str(error) and "(119.00)" in str(error)
    # Exactly what remains is fine, and then nothing remains.
    credit_notes.create_credit_note(db, ADMIN, invoice_id, TODAY, lines=[line(seeded.s19, "1", "100.00")])
    assert view(db, invoice_id).balance == D("0.00")
    assert_refused(db, lambda: credit_notes.create_credit_note(
        db, ADMIN, invoice_id, TODAY, lines=[line(seeded.s19, "1", "0.01")]), ValidationError)


@pytest.mark.parametrize(
    ("lines", "match"),
    [
        pytest.param(lambda s: [line(s.s19, "-1", "10.00")], "positive", id="negative-credit"),
        pytest.param(lambda s: [], "positive", id="no-lines"),
        pytest.param(lambda s: [line(s.s19, discount_amount="0.001")], "more than 2 decimal", id="discount-decimals"),
        pytest.param(lambda s: [line(s.s19, quantity="0")], "zero", id="zero-quantity"),
        pytest.param(lambda s: [line(s.s19, unit_price="NaN")], "not a number", id="nan"),
    ],
)
def test_bad_credit_note_lines_are_refused(db: Database, seeded: Seed, billed: Billed, lines: Any, match: str) -> None:
    invoice_id = billed.a
    error = assert_refused(db, lambda: credit_notes.create_credit_note(db, ADMIN, invoice_id, TODAY,
                                                                   lines=lines(seeded)), BillingError)
    assert match.lower() in str(error).lower()


@pytest.mark.parametrize("state", ["draft", "void", "credit_note"])
def test_only_an_issued_invoice_can_be_credited(db: Database, seeded: Seed, state: str) -> None:
    invoice_id = draft(db, seeded.acme, line(seeded.s19))
    target = invoice_id
    if state != "draft":
        invoices.issue_invoice(db, ADMIN, invoice_id, today=TODAY)
    if state == "void":
        invoices.void_invoice(db, ADMIN, invoice_id, "Mistake", today=TODAY)
    if state == "credit_note":
        target = credit_notes.create_credit_note(db, ADMIN, invoice_id, TODAY, lines=[line(seeded.s19, "1", "1.00")])
    assert_refused(db, lambda: credit_notes.create_credit_note(db, ADMIN, target, TODAY), StateError)


def test_crediting_a_paid_invoice_releases_the_payment_into_credit(db: Database, seeded: Seed, billed: Billed) -> None:
    invoice_id = billed.a
    payment_id = pay(db, seeded.acme, "119.00", [(invoice_id, "119.00")])
    assert view(db, invoice_id).status == "paid"
    credit_notes.create_credit_note(db, ADMIN, invoice_id, TODAY)
    v = view(db, invoice_id)
    assert (v.header.paid_amount, v.header.credited_amount, v.balance) == (D("0.00"), D("119.00"), D("0.00"))
    assert payments.customer_credit(db, ADMIN, seeded.acme) == {"EUR": D("119.00")}
    assert payments.get_payment(db, ADMIN, payment_id)["allocations"] == []
    # The credit can be paid back ...
    payments.refund_credit(db, ADMIN, seeded.acme, "EUR", "19.00", TODAY)
    assert payments.customer_credit(db, ADMIN, seeded.acme) == {"EUR": D("100.00")}
    # ... or put against another invoice.
    other = billed.b
    payments.apply_credit(db, ADMIN, seeded.acme, "EUR", other, "59.50", TODAY)
    assert view(db, other).status == "paid"
    assert payments.customer_credit(db, ADMIN, seeded.acme) == {"EUR": D("40.50")}


def test_partial_credit_of_a_partly_paid_invoice_releases_only_the_excess(db: Database, seeded: Seed) -> None:
    invoice_id = issued(db, seeded.acme, line(seeded.s19, "1", "100.00"), line(seeded.s19, "1", "50.00"))
    pay(db, seeded.acme, "150.00", [(invoice_id, "150.00")])
    credit_notes.create_credit_note(db, ADMIN, invoice_id, TODAY, lines=[line(seeded.s19, "1", "50.00")])
    v = view(db, invoice_id)
    # 178.50 payable, 59.50 credited: only 119.00 can stay paid, 31.00 becomes credit.
    assert (v.header.paid_amount, v.header.credited_amount, v.balance) == (D("119.00"), D("59.50"), D("0.00"))
    assert v.status == "paid"
    assert payments.customer_credit(db, ADMIN, seeded.acme) == {"EUR": D("31.00")}


def test_credit_without_payment_releases_nothing(db: Database, seeded: Seed) -> None:
    invoice_id = issued(db, seeded.acme, line(seeded.s19, "1", "100.00"), line(seeded.s19, "1", "50.00"))
    pay(db, seeded.acme, "100.00", [(invoice_id, "100.00")])
    credit_notes.create_credit_note(db, ADMIN, invoice_id, TODAY, lines=[line(seeded.s19, "1", "50.00")])
    v = view(db, invoice_id)
    assert (v.header.paid_amount, v.balance, v.status) == (D("100.00"), D("19.00"), "partially_paid")
    assert payments.customer_credit(db, ADMIN, seeded.acme) == {}


# --- lists and display status -------------------------------------------------------------------


def test_list_invoices_with_display_status(db: Database, seeded: Seed) -> None:
    unpaid = issued(db, seeded.acme, line(seeded.s19))
    partial = issued(db, seeded.acme, line(seeded.s19))
    paid = issued(db, seeded.acme, line(seeded.s19))
    draft_id = draft(db, seeded.acme, line(seeded.s19))
    pay(db, seeded.acme, "128.00", [(partial, "9.00"), (paid, "119.00")])
    rows, total = invoices.list_invoices(db, ADMIN, as_of=TODAY)
    status = {row.id: (row.display_status, row.balance) for row in rows}
    assert total == 4
    assert status == {unpaid: ("unpaid", D("119.00")), partial: ("partially_paid", D("110.00")),
                      paid: ("paid", D("0.00")), draft_id: ("draft", D("119.00"))}
    late = date(2025, 3, 25)
    rows, total = invoices.list_invoices(db, ADMIN, as_of=late, status="overdue")
    assert sorted(row.id for row in rows) == [unpaid, partial]
    assert {row.display_status for row in rows} == {"overdue"}


def test_the_view_carries_the_exemption_reason_of_its_tax_rates(db: Database, seeded: Seed) -> None:
    invoice_id = issued(db, seeded.acme, line(seeded.s19), line(seeded.e0, "1", "20.00"))
    assert view(db, invoice_id).exemption_reasons == {"E": "Exempt under section 4 UStG"}
    assert view(db, issued(db, seeded.acme, line(seeded.s19))).exemption_reasons == {}


# --- the list's status filter agrees with each row's status ---------------------------------------

STATUS_FILTERS = ["draft", "unpaid", "partially_paid", "paid", "overdue", "credited", "void"]


def test_every_status_filter_lists_exactly_the_documents_showing_that_status(db: Database, seeded: Seed,
                                                                             billed: Billed) -> None:
    # billed: a (119.00, due 03-24), b (59.50, due 03-10), c (23.80, due 04-30), issued on TODAY
    acme, rate = seeded.acme, seeded.s19
    draft(db, acme, line(rate))
    overdue, credited, void = (issued(db, acme, line(rate)) for _ in range(3))
    partly_paid, partly_credited = (issued(db, acme, line(rate), due_date="2025-04-30") for _ in range(2))
    payments.record_payment(db, ADMIN, {"customer_id": acme, "amount": "119.00", "currency": "EUR",
                                        "received_on": TODAY}, [(billed.a, "119.00")])  # a: paid
    payments.record_payment(db, ADMIN, {"customer_id": acme, "amount": "19.00", "currency": "EUR",
                                        "received_on": TODAY}, [(partly_paid, "19.00")])
    credit_notes.create_credit_note(db, ADMIN, credited, TODAY)  # credited in full, nothing paid
    credit_notes.create_credit_note(db, ADMIN, partly_credited, TODAY, quantities={1: "0.5"})
    invoices.void_invoice(db, ADMIN, void, "Sent twice", today=TODAY)
    later = date(2025, 4, 20)  # b, overdue and the three untouched ones are past due; c is not
    everything, total = invoices.list_invoices(db, ADMIN, later, limit=100)
    shown = {row.id: row.display_status for row in everything}
    assert total == len(shown) == 11  # 3 billed + a draft + 5 issued + 2 credit notes
    assert set(shown.values()) == {*STATUS_FILTERS, "credit_note"}  # every kind of document is there
    assert shown[billed.c] == "unpaid" and shown[overdue] == "overdue" and shown[credited] == "credited"
    assert shown[partly_paid] == shown[partly_credited] == "partially_paid"
    for status in STATUS_FILTERS:
        rows, count = invoices.list_invoices(db, ADMIN, later, status=status, limit=100)
        assert {row.id for row in rows} == {i for i, s in shown.items() if s == status}, status
        assert count == len(rows), status
    notes, _ = invoices.list_invoices(db, ADMIN, later, kind="credit_note", limit=100)
    assert {row.id for row in notes} == {i for i, s in shown.items() if s == "credit_note"}


# --- dates the books do not take -------------------------------------------------------------------

@pytest.mark.parametrize(("dates", "match"), [
    ({"today": date(9999, 12, 31)}, "The issue date must be between 2000-01-01 and 2099-12-31"),  # was OverflowError
    ({"today": date(1, 1, 1)}, "The issue date must be between"),
    ({"today": TODAY, "issue_date": date(1999, 12, 31)}, "The issue date must be between"),
    ({"today": date(2099, 12, 31)}, "The due date must be between 2000-01-01 and 2099-12-31, not 2100-01-14"),
    ({"today": TODAY, "due_date": date(2100, 1, 1)}, "The due date must be between"),
])
def test_issuing_outside_the_books_is_refused_and_takes_no_number(db: Database, seeded: Seed,
                                                                 dates: dict[str, date], match: str) -> None:
    invoice_id = draft(db, seeded.acme, line(seeded.s19))
    assert_refused(db, lambda: invoices.issue_invoice(db, ADMIN, invoice_id, **dates), ValidationError, match=match)
    assert header(db, invoice_id).status == "draft"


@pytest.mark.parametrize("day", [date(1, 1, 1), date(9999, 12, 31)])
def test_crediting_or_voiding_on_a_day_outside_the_books_is_refused(refusals: Shared, day: date) -> None:
    db, invoice_id = refusals.db, refusals.bill.a
    assert_refused(db, lambda: credit_notes.create_credit_note(db, ADMIN, invoice_id, today=day), ValidationError,
                   match="The credit note date must be between 2000-01-01 and 2099-12-31")
    assert_refused(db, lambda: invoices.void_invoice(db, ADMIN, invoice_id, "typo", today=day), ValidationError,
                   match="The void date must be between 2000-01-01 and 2099-12-31")


def test_many_documents_read_together_are_read_as_one_by_one(db: Database, seeded: Seed, billed: Billed) -> None:
    pay(db, seeded.acme, "59.50", allocate=[(billed.b, "59.50")])
    note = credit_notes.create_credit_note(db, ADMIN, billed.c, TODAY)
    with_draft = draft(db, seeded.acme, line(seeded.s19, "2", "10.00"))
    ids = [billed.a, billed.b, billed.c, note, with_draft, 999_999]
    together = invoices.get_invoices(db, ADMIN, ids, as_of=TODAY)
    assert list(together) != [] and set(together) == set(ids) - {999_999}  # an unknown id is left out
    for invoice_id, document in together.items():
        assert document == view(db, invoice_id)
    assert together[note].credited_invoice is not None and together[billed.b].header.paid_amount == D("59.50")
