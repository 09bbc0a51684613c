"""Pure money math and lifecycle rules, following EN 16931: plain values in, plain values out.

No I/O and no clock here: callers pass `as_of`/`today`. Every total the product shows, stores,
prints or reports comes from `compute_totals`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from billing.errors import StateError, ValidationError
from billing.money import HUNDRED, ZERO, plain_number, round_money

# EN 16931 VAT category codes (UNCL5305 subset) and whether they carry a positive rate.
VAT_CATEGORIES: dict[str, str] = {
    "S": "Standard rate",
    "Z": "Zero rated goods",
    "E": "Exempt from tax",
    "AE": "VAT reverse charge",
    "K": "Intra-community supply",
    "G": "Export outside the EU",
    "O": "Outside the scope of VAT",
    "L": "Canary Islands IGIC",
    "M": "Ceuta and Melilla IPSI",
}
ZERO_RATE_CATEGORIES = frozenset({"Z", "E", "AE", "K", "G", "O"})
EXEMPTION_REASON_CATEGORIES = frozenset({"E", "AE", "K", "G", "O"})


@dataclass(frozen=True, slots=True)
class Line:
    """One invoice line (BG-25).

    quantity (BT-129), net_price (BT-146, after any price discount), base_quantity (BT-149).
    Line allowances: `discount_percent` of quantity x price, and/or a fixed `discount_amount`;
    `charge_amount` is a line charge. `net_amount`, when given, is taken as the line net as stated
    (documents imported from elsewhere whose lines were computed with other rules).
    """

    quantity: Decimal
    net_price: Decimal
    vat_category: str = "S"
    vat_rate: Decimal = ZERO
    base_quantity: Decimal = Decimal(1)
    discount_percent: Decimal = ZERO
    discount_amount: Decimal = ZERO
    charge_amount: Decimal = ZERO
    net_amount: Decimal | None = None


@dataclass(frozen=True, slots=True)
class AllowanceCharge:
    """A document-level allowance (BG-20) or charge (BG-21) with its VAT category and rate.

    Either `amount` is given, or `percent` of `base_amount` (default: the sum of line nets).
    """

    is_charge: bool
    vat_category: str
    vat_rate: Decimal
    amount: Decimal | None = None
    percent: Decimal | None = None
    base_amount: Decimal | None = None
    reason: str = ""


@dataclass(frozen=True, slots=True)
class TaxSubtotal:
    """One entry of the VAT breakdown (BG-23)."""

    vat_category: str
    vat_rate: Decimal
    taxable: Decimal
    tax: Decimal


@dataclass(frozen=True, slots=True)
class Totals:
    """Document totals (BG-22) named after their EN 16931 business terms."""

    currency: str
    line_nets: tuple[Decimal, ...]
    line_total: Decimal  # BT-106
    allowance_total: Decimal  # BT-107
    charge_total: Decimal  # BT-108
    tax_exclusive: Decimal  # BT-109
    tax_total: Decimal  # BT-110
    tax_inclusive: Decimal  # BT-112
    prepaid: Decimal  # BT-113
    rounding: Decimal  # BT-114
    payable: Decimal  # BT-115
    tax_breakdown: tuple[TaxSubtotal, ...] = field(default_factory=tuple)


def net_price(gross_price: Decimal, price_discount: Decimal = ZERO) -> Decimal:
    """Item net price (BT-146) = gross price (BT-148) - price discount (BT-147)."""
    return gross_price - price_discount


def line_net(line: Line, currency: str) -> Decimal:
    """Line net amount (BT-131), rounded once to the currency's minor unit.

    quantity x net price / base quantity - allowances + charges (Peppol BIS 3 rule R120).
    """
    if line.net_amount is not None:
        return round_money(line.net_amount, currency)
    if line.base_quantity <= 0:
        raise ValidationError("Base quantity must be greater than zero.")
    gross = line.quantity * line.net_price / line.base_quantity
    # The line allowance (BT-136) is itself an amount in the currency: round it before subtracting,
    # so the exported allowance and the line net agree with rule R120 to the cent.
    allowance = round_money(gross * line.discount_percent / HUNDRED + line.discount_amount, currency)
    return round_money(gross - allowance + line.charge_amount, currency)


def _allowance_charge_amount(item: AllowanceCharge, line_total: Decimal, currency: str) -> Decimal:
    if item.amount is not None:
        return round_money(item.amount, currency)
    if item.percent is None:
        raise ValidationError("A document allowance or charge needs an amount or a percentage.")
    base = line_total if item.base_amount is None else item.base_amount
    return round_money(base * item.percent / HUNDRED, currency)


def _check_category_rate(category: str, rate: Decimal) -> None:
    if category not in VAT_CATEGORIES:
        raise ValidationError(f"Unknown VAT category '{category}'.")
    if category in ZERO_RATE_CATEGORIES and rate != 0:
        raise ValidationError(f"VAT category {category} must have a rate of 0%.")


def rate_key(rate: Decimal) -> Decimal:
    """One key per rate whatever its scale (19 == 19.00), printable without an exponent."""
    normal = rate.normalize()
    return normal.quantize(Decimal(1)) if normal == normal.to_integral_value() else normal


def compute_totals(
    lines: Sequence[Line],
    allowance_charges: Iterable[AllowanceCharge] = (),
    currency: str = "EUR",
    prepaid: Decimal = ZERO,
    rounding: Decimal = ZERO,
) -> Totals:
    """Compute every EN 16931 document total and the VAT breakdown.

    The VAT of each (category, rate) is its taxable amount x rate, rounded ONCE per entry
    (not per line), so a document with many small lines does not drift by cents.
    """
    nets = tuple(line_net(line, currency) for line in lines)
    line_total = sum(nets, ZERO)
    taxable: dict[tuple[str, Decimal], Decimal] = {}
    for line, net in zip(lines, nets, strict=True):
        _check_category_rate(line.vat_category, line.vat_rate)
        key = (line.vat_category, rate_key(line.vat_rate))
        taxable[key] = taxable.get(key, ZERO) + net
    allowance_total = charge_total = ZERO
    for item in allowance_charges:
        _check_category_rate(item.vat_category, item.vat_rate)
        amount = _allowance_charge_amount(item, line_total, currency)
        key = (item.vat_category, rate_key(item.vat_rate))
        if item.is_charge:
            charge_total += amount
            taxable[key] = taxable.get(key, ZERO) + amount
        else:
            allowance_total += amount
            taxable[key] = taxable.get(key, ZERO) - amount
    breakdown = tuple(
        TaxSubtotal(
            vat_category=category,
            vat_rate=rate,
            taxable=round_money(base, currency),
            tax=round_money(base * rate / HUNDRED, currency),
        )
        for (category, rate), base in sorted(taxable.items(), key=lambda kv: (kv[0][0], kv[0][1]))
    )
    tax_exclusive = round_money(line_total - allowance_total + charge_total, currency)
    tax_total = round_money(sum((entry.tax for entry in breakdown), ZERO), currency)
    tax_inclusive = tax_exclusive + tax_total
    # Round prepaid and rounding before using them, so BT-115 = BT-112 - BT-113 + BT-114 holds for
    # the figures as shown (BR-CO-16), not only for the unrounded inputs.
    prepaid = round_money(prepaid, currency)
    rounding = round_money(rounding, currency)
    return Totals(
        currency=currency,
        line_nets=nets,
        line_total=round_money(line_total, currency),
        allowance_total=round_money(allowance_total, currency),
        charge_total=round_money(charge_total, currency),
        tax_exclusive=tax_exclusive,
        tax_total=tax_total,
        tax_inclusive=tax_inclusive,
        prepaid=prepaid,
        rounding=rounding,
        payable=round_money(tax_inclusive - prepaid + rounding, currency),
        tax_breakdown=breakdown,
    )


# --- Lifecycle rules -------------------------------------------------------------------------

# The stored status of a document, and its kind.
DRAFT, ISSUED, VOID = "draft", "issued", "void"
INVOICE, CREDIT_NOTE = "invoice", "credit_note"
# Display statuses of an issued invoice (`display_status`); an issued credit note displays as CREDIT_NOTE.
UNPAID, PARTIALLY_PAID, PAID, CREDITED, OVERDUE = "unpaid", "partially_paid", "paid", "credited", "overdue"
# A list filter, not a display status: every issued invoice with a balance.
OPEN = "open"


def payment_status(payable: Decimal, allocated: Decimal, credited: Decimal) -> str:
    """Derived payment status of an issued invoice: unpaid, partially paid or paid."""
    balance = payable - allocated - credited
    if balance <= 0:
        return PAID
    if allocated + credited > 0:
        return PARTIALLY_PAID
    return UNPAID


def invoice_balance(payable: Decimal, allocated: Decimal, credited: Decimal) -> Decimal:
    """What the customer still owes on an invoice: payable - payments allocated - credit notes."""
    return payable - allocated - credited


def is_overdue(status: str, balance: Decimal, due_date: date | None, as_of: date) -> bool:
    return status == ISSUED and balance > 0 and due_date is not None and due_date < as_of


def display_status(doc_status: str, payable: Decimal, allocated: Decimal, credited: Decimal,
                   due_date: date | None, as_of: date) -> str:
    """One status word for lists: draft, void, credited, paid, partially_paid, overdue or unpaid.

    "credited" is an invoice settled entirely by credit notes: nothing was paid, so "paid" would mislead.
    """
    if doc_status != ISSUED:
        return doc_status
    status = payment_status(payable, allocated, credited)
    if status == PAID and allocated == 0 and credited > 0:
        return CREDITED
    balance = invoice_balance(payable, allocated, credited)
    if status != PAID and is_overdue(doc_status, balance, due_date, as_of):
        return OVERDUE
    return status


def document_display_status(kind: str, doc_status: str, payable: Decimal, allocated: Decimal, credited: Decimal,
                            due_date: date | None, as_of: date) -> str:
    """`display_status` of an invoice; an issued credit note is shown as a credit note (it is settled, not paid)."""
    if kind == CREDIT_NOTE:
        return CREDIT_NOTE if doc_status == ISSUED else doc_status
    return display_status(doc_status, payable, allocated, credited, due_date, as_of)


# The dates the books take: of documents (issued, due, credited, voided), of payments, refunds, reversals
# and allocations, and the days reports are asked about. A fixed span, not "today plus or minus n years": the
# rule needs no clock and a document never becomes invalid by growing old. 2000-2099 holds any business this
# portal serves, invoices brought over from an older system included, and refuses a mistyped year (0202,
# 9999) that would otherwise overflow date arithmetic (9999-12-31 + 30 days of terms) or report as a date
# centuries away; within it a numbering pattern's {YY} is never ambiguous.
FIRST_DATE = date(2000, 1, 1)
LAST_DATE = date(2099, 12, 31)


def date_problem(value: date) -> str | None:
    """Why the books refuse the date ("must be between 2000-01-01 and 2099-12-31, not 9999-12-31"), or None."""
    if FIRST_DATE <= value <= LAST_DATE:
        return None
    return f"must be between {FIRST_DATE.isoformat()} and {LAST_DATE.isoformat()}, not {value.isoformat()}"


def check_date(value: date, what: str) -> date:
    """The date, if the books take it; otherwise a ValidationError about `what` ("The issue date")."""
    problem = date_problem(value)
    if problem:
        raise ValidationError(f"{what} {problem}.")
    return value


def due_date_for(issue_date: date, terms_days: int, due_date: date | None = None) -> date:
    """Due date = issue date + payment terms, unless one is given (never before the issue date); both dates
    within the span the books take."""
    check_date(issue_date, "The issue date")
    if due_date is None:
        return check_date(issue_date + timedelta(days=terms_days), "The due date")
    check_due_date(issue_date, due_date)
    return check_date(due_date, "The due date")


def check_due_date(issue_date: date | None, due_date: date | None) -> None:
    """A document never falls due before it is issued (either date may still be open on a draft)."""
    if issue_date is not None and due_date is not None and due_date < issue_date:
        raise ValidationError("The due date cannot be before the issue date.")


def check_can_edit(status: str) -> None:
    if status != DRAFT:
        raise StateError(
            "This invoice has been issued and can no longer be changed. Issue a credit note instead."
        )


def void_problem(status: str, allocated: Decimal, credited: Decimal, credits_invoice: bool = False) -> str | None:
    """Why a document cannot be voided, or None: only an issued invoice nothing was paid or credited on can
    be (`credits_invoice`: it is a credit note of an invoice, which is corrected by a new invoice instead)."""
    if status != ISSUED:
        return "Only an issued invoice can be voided."
    if allocated != 0 or credited != 0:
        return "This invoice has payments or credit notes against it and cannot be voided."
    if credits_invoice:
        return "A credit note cannot be voided; issue a new invoice instead."
    return None


def can_void(status: str, allocated: Decimal, credited: Decimal, credits_invoice: bool = False) -> bool:
    return void_problem(status, allocated, credited, credits_invoice) is None


def check_can_void(status: str, allocated: Decimal, credited: Decimal, reason: str,
                   credits_invoice: bool = False) -> None:
    problem = void_problem(status, allocated, credited, credits_invoice)
    if problem:
        raise StateError(problem)
    if not reason.strip():
        raise ValidationError("Please give a reason for voiding the invoice.")


def creditable_amount(payable: Decimal, credited: Decimal) -> Decimal:
    """What credit notes may still credit on an invoice: its payable less what they already credited."""
    return payable - credited


def can_credit(kind: str, status: str, payable: Decimal, credited: Decimal) -> bool:
    """Whether a credit note can (still) be issued against a document: an issued invoice not credited in full."""
    return kind == INVOICE and status == ISSUED and creditable_amount(payable, credited) > 0


def can_credit_whole(credited: Decimal) -> bool:
    """The whole invoice can be credited at once only while no credit note took part of it."""
    return credited == 0


def creditable_quantity(invoiced: Decimal, already_credited: Decimal) -> Decimal:
    """How much of an invoice line's quantity credit notes may still credit."""
    return invoiced - already_credited


def check_credit_quantity(quantity: Decimal, invoiced: Decimal, already_credited: Decimal, line: str) -> None:
    """Credit at most what is left of an invoice line (`line`: 'Line 2 (Consulting)' for the message), with
    the sign it was invoiced with."""
    left = creditable_quantity(invoiced, already_credited)
    if quantity * invoiced < 0 or abs(quantity) > abs(left):
        done = f"{plain_number(already_credited)} of {plain_number(invoiced)} already credited; " \
            if already_credited else ""
        raise ValidationError(f"{line}: {done}at most {plain_number(left)} "
                              f"{'more ' if already_credited else ''}can be credited.")


def check_credit_amount(credit_payable: Decimal, remaining: Decimal) -> None:
    """A credit note may never credit more than remains creditable on its invoice."""
    if credit_payable <= 0:
        raise ValidationError("A credit note must credit a positive amount.")
    if credit_payable > remaining:
        raise ValidationError(
            f"The credit note ({credit_payable}) is more than remains to be credited"
            f" on the invoice ({remaining})."
        )


def delivery_date_at_issue(seller_country: str, delivery_date: date | None, period_start: date | None,
                           issue_date: date) -> date | None:
    """The delivery date (BT-72) an invoice is issued with. A German seller's invoice must state when it
    delivered (§14 (4) no. 6 UStG): without a delivery date or an invoicing period it is the issue date, as
    "delivery date = invoice date" says on paper. Elsewhere it stays as entered (none is fine)."""
    if delivery_date is None and period_start is None and seller_country.upper() == "DE":
        return issue_date
    return delivery_date


def allocate_oldest_first(
    amount: Decimal, open_items: Sequence[tuple[int, date, Decimal]], first: int | None = None
) -> list[tuple[int, Decimal]]:
    """Split `amount` over open invoices (id, due date, balance), oldest due first; the invoice `first`
    (the one the payment was recorded from), if given, before all others.

    Returns (invoice id, allocated amount) pairs whose sum is min(amount, total open) exactly.
    """
    remaining = amount
    allocations: list[tuple[int, Decimal]] = []
    for invoice_id, _due, balance in sorted(open_items, key=lambda item: (item[0] != first, item[1], item[0])):
        if remaining <= 0:
            break
        if balance <= 0:
            continue
        take = min(balance, remaining)
        allocations.append((invoice_id, take))
        remaining -= take
    return allocations


_SEQ = re.compile(r"\{SEQ(?::0?(\d+))?\}")
MAX_SEQ_WIDTH = 12  # {SEQ:012}: a wider padding is a typing mistake (and {SEQ:0999999999} would fill the memory)


def format_number(pattern: str, seq: int, issue_date: date) -> str:
    """Render a numbering pattern such as `INV-{YYYY}-{SEQ:05}`."""
    text = pattern.replace("{YYYY}", f"{issue_date.year:04d}").replace("{YY}", f"{issue_date.year % 100:02d}")
    text = text.replace("{MM}", f"{issue_date.month:02d}")
    match = _SEQ.search(text)
    if match is None:
        raise ValidationError("A numbering pattern must contain {SEQ} or {SEQ:05}.")
    digits = (match.group(1) or "0").lstrip("0") or "0"
    if len(digits) > 2 or int(digits) > MAX_SEQ_WIDTH:
        raise ValidationError(f"{{SEQ}} can be padded with zeros to at most {MAX_SEQ_WIDTH} digits ({{SEQ:05}}: 5).")
    return text[: match.start()] + f"{seq:0{int(digits)}d}" + text[match.end():]


def check_pattern(pattern: str) -> str:
    format_number(pattern, 1, date(2000, 1, 1))
    if len(pattern) > 40:
        raise ValidationError("A numbering pattern can be at most 40 characters long.")
    return pattern
