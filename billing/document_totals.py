"""The rows of a document's totals, in order, for the screen and the PDF alike: each formats the amounts."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from billing import logic
from billing.money import ZERO, plain_number


@dataclass(frozen=True)
class TotalRow:
    """One row of the totals.

    label: what the row is ("Net amount", "VAT 19%", "Balance due").
    amount: the amount as shown, signed: what is taken off (discounts, paid, credited) is negative.
    strong: the row that matters (the total, what is still due), shown bold.
    taxable: on a VAT row, the amount that VAT is charged on; None on every other row.
    """

    label: str
    amount: Decimal
    strong: bool = False
    taxable: Decimal | None = None


def vat_label(category: str, rate: Decimal) -> str:
    """'VAT 19%' for the standard rate, else the category's name and its rate: 'Zero rated goods (0%)'."""
    percent = plain_number(logic.rate_key(rate))
    return f"VAT {percent}%" if category == "S" else f"{logic.VAT_CATEGORIES.get(category, category)} ({percent}%)"


def total_rows(totals: logic.Totals, *, kind: str, status: str, paid: Decimal = ZERO, credited: Decimal = ZERO,
               balance: Decimal = ZERO) -> list[TotalRow]:
    """Lines, discounts and charges, net amount, VAT per rate, total; then, on an issued invoice, what was
    paid and credited and the balance due.

    `status` is the document's stored or display status: a draft or a void document owes nothing, so it
    has no balance rows, and neither has a credit note (it is settled, not paid). `paid`, `credited` and
    `balance` are the invoice's.
    """
    rows = [TotalRow("Lines", totals.line_total)]
    if totals.allowance_total:
        rows.append(TotalRow("Discounts", -totals.allowance_total))
    if totals.charge_total:
        rows.append(TotalRow("Charges", totals.charge_total))
    rows.append(TotalRow("Net amount", totals.tax_exclusive))
    rows += [TotalRow(vat_label(entry.vat_category, entry.vat_rate), entry.tax, taxable=entry.taxable)
             for entry in totals.tax_breakdown]
    rows.append(TotalRow("Total", totals.tax_inclusive, strong=True))
    if totals.prepaid:
        rows.append(TotalRow("Prepaid", -totals.prepaid))
    if totals.rounding:
        rows.append(TotalRow("Rounding", totals.rounding))
    if totals.prepaid or totals.rounding:
        rows.append(TotalRow("Amount payable", totals.payable, strong=True))
    if kind != logic.INVOICE or status in (logic.DRAFT, logic.VOID):
        return rows
    if paid:
        rows.append(TotalRow("Paid", -paid))
    if credited:
        rows.append(TotalRow("Credited", -credited))
    rows.append(TotalRow("Balance due", balance, strong=True))
    return rows
