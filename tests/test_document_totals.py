"""The rows of a document's totals (billing.document_totals): labels, order, signs, which rows a document has."""

from __future__ import annotations

from decimal import Decimal

import pytest

from billing import logic
from billing.document_totals import TotalRow, total_rows, vat_label

D = Decimal

# 2 x 150 - 10% = 270 at 19%; 80 zero rated; a 10% document discount (35) and 12.50 shipping, both at 19%.
TOTALS = logic.compute_totals(
    [logic.Line(quantity=D(2), net_price=D("150.00"), vat_rate=D(19), discount_percent=D(10)),
     logic.Line(quantity=D(1), net_price=D("80.00"), vat_category="Z", vat_rate=D(0))],
    [logic.AllowanceCharge(is_charge=False, vat_category="S", vat_rate=D(19), percent=D(10)),
     logic.AllowanceCharge(is_charge=True, vat_category="S", vat_rate=D(19), amount=D("12.50"))], "EUR")
DOCUMENT = [  # every document: the draft, the void invoice and the credit note stop here
    TotalRow("Lines", D("350.00")),
    TotalRow("Discounts", D("-35.00")),
    TotalRow("Charges", D("12.50")),
    TotalRow("Net amount", D("327.50")),
    TotalRow("VAT 19%", D("47.03"), taxable=D("247.50")),  # 270 - 35 + 12.50, all at 19%
    TotalRow("Zero rated goods (0%)", D("0.00"), taxable=D("80.00")),
    TotalRow("Total", D("374.53"), strong=True),
]


def test_the_document_s_own_totals() -> None:
    # The expected rows restate the figures logic computed, so a change there shows up here as one place.
    vat = {entry.vat_category: entry for entry in TOTALS.tax_breakdown}
    assert (TOTALS.line_total, TOTALS.tax_exclusive, TOTALS.payable) == (D("350.00"), D("327.50"), D("374.53"))
    assert (vat["S"].taxable, vat["S"].tax, vat["Z"].taxable) == (D("247.50"), D("47.03"), D("80.00"))
    assert total_rows(TOTALS, kind=logic.INVOICE, status=logic.DRAFT) == DOCUMENT


@pytest.mark.parametrize(("kind", "status"), [
    (logic.INVOICE, logic.DRAFT), (logic.INVOICE, logic.VOID), (logic.CREDIT_NOTE, logic.ISSUED),
    (logic.CREDIT_NOTE, "credit_note"),  # the display status of a credit note
])
def test_a_document_that_owes_nothing_has_no_balance_rows(kind: str, status: str) -> None:
    rows = total_rows(TOTALS, kind=kind, status=status, paid=D(100), credited=D(50), balance=D("224.53"))
    assert rows == DOCUMENT


@pytest.mark.parametrize("status", [logic.ISSUED, logic.UNPAID, logic.PARTIALLY_PAID, logic.PAID, "overdue",
                                    logic.CREDITED])
def test_an_issued_invoice_ends_with_paid_credited_and_the_balance_due(status: str) -> None:
    rows = total_rows(TOTALS, kind=logic.INVOICE, status=status, paid=D(100), credited=D(50), balance=D("224.53"))
    assert rows == [*DOCUMENT, TotalRow("Paid", D(-100)), TotalRow("Credited", D(-50)),
                    TotalRow("Balance due", D("224.53"), strong=True)]


def test_what_was_not_paid_or_credited_is_left_out_but_the_balance_is_always_there() -> None:
    rows = total_rows(TOTALS, kind=logic.INVOICE, status=logic.ISSUED, balance=D("374.53"))
    assert rows[-2:] == [DOCUMENT[-1], TotalRow("Balance due", D("374.53"), strong=True)]
    settled = total_rows(TOTALS, kind=logic.INVOICE, status=logic.ISSUED, paid=D("374.53"))
    assert settled[-2:] == [TotalRow("Paid", D("-374.53")), TotalRow("Balance due", D(0), strong=True)]


def test_no_discount_or_charge_rows_without_them() -> None:
    totals = logic.compute_totals([logic.Line(quantity=D(1), net_price=D("10.00"), vat_rate=D("7"))], currency="EUR")
    assert [row.label for row in total_rows(totals, kind=logic.INVOICE, status=logic.DRAFT)] == [
        "Lines", "Net amount", "VAT 7%", "Total"]


def test_prepaid_and_rounding_come_before_the_amount_payable() -> None:
    totals = logic.compute_totals([logic.Line(quantity=D(1), net_price=D("10.00"), vat_rate=D(19))],
                                  currency="EUR", prepaid=D("5.00"), rounding=D("0.01"))
    rows = total_rows(totals, kind=logic.INVOICE, status=logic.ISSUED, paid=D("1.00"), balance=D("5.91"))
    assert rows[3:] == [TotalRow("Total", D("11.90"), strong=True), TotalRow("Prepaid", D("-5.00")),
                        TotalRow("Rounding", D("0.01")), TotalRow("Amount payable", D("6.91"), strong=True),
                        TotalRow("Paid", D("-1.00")), TotalRow("Balance due", D("5.91"), strong=True)]


@pytest.mark.parametrize(("category", "rate", "label"), [
    ("S", D("19.0000"), "VAT 19%"), ("S", D("7.5"), "VAT 7.5%"), ("Z", D(0), "Zero rated goods (0%)"),
    ("E", D("0.00"), "Exempt from tax (0%)"), ("?", D(0), "? (0%)"),
])
def test_vat_label(category: str, rate: Decimal, label: str) -> None:
    assert vat_label(category, rate) == label
