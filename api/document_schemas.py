"""What the API takes and answers for invoices, credit notes, payments and statements: money as decimal strings."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import ConfigDict, Field

from api.schemas import Amount, DecimalIn, In, Optional, Out, Time
from billing.models import AllowanceChargeIn, BookDate, LineIn, Lines, OneLine

# A date in JSON is text: strict mode would refuse it (the rest of a body stays strict).
Day = Annotated[BookDate, Field(strict=False, description="ISO 8601 date (2026-01-31)")]
Text = Annotated[Lines, Field(max_length=4000)]
Method = Literal["bank_transfer", "card", "cash", "cheque", "direct_debit", "other"]
# BT-81 of an invoice: "" (credit transfer when the company has an IBAN), credit transfer, SEPA direct debit.
Means = Literal["", "credit_transfer", "direct_debit"]


# --- invoices in ---------------------------------------------------------------------------------

class LineCreate(LineIn):
    """An invoice line (billing.models.LineIn): quantity, prices and discounts as decimal strings."""

    model_config = ConfigDict(strict=True)
    quantity: DecimalIn
    unit_price: DecimalIn
    base_quantity: DecimalIn = Decimal(1)
    discount_percent: DecimalIn = Decimal(0)
    discount_amount: DecimalIn = Decimal(0)


class AllowanceChargeCreate(AllowanceChargeIn):
    """A document-level discount (is_charge false) or charge: an amount or a percent of the lines' net total."""

    model_config = ConfigDict(strict=True)
    amount: DecimalIn | None = None
    percent: DecimalIn | None = None


class InvoiceCreate(In):
    """A new draft invoice; the currency defaults to the customer's, the dates may wait until it is issued."""

    customer_id: int = Field(ge=1)
    currency: str | None = Field(default=None, min_length=3, max_length=3)
    issue_date: Day | None = None
    due_date: Day | None = None
    notes: Text = ""
    lines: list[LineCreate] = Field(min_length=1, max_length=500)
    allowance_charges: list[AllowanceChargeCreate] = Field(default_factory=list, max_length=20)
    buyer_reference: OneLine = Field(default="", max_length=200, description="BT-10; the Leitweg-ID for XRechnung")
    order_reference: OneLine = Field(default="", max_length=200, description="BT-13, the purchase order")
    delivery_date: Day | None = None
    period_start: Day | None = None
    period_end: Day | None = None
    payment_means: Means = ""
    mandate_reference: OneLine = Field(default="", max_length=35, description="BT-89, for a direct debit")
    payment_terms: Text = ""
    exemption_reason: OneLine = Field(default="", max_length=300, description="BT-120")
    exemption_code: OneLine = Field(default="", max_length=30, description="BT-121, a VATEX code")


class InvoicePatch(In):
    """The fields of a draft to change; `lines` and `allowance_charges`, when given, replace the old ones."""

    customer_id: Annotated[int, Field(ge=1)] | Optional = None
    currency: Annotated[str, Field(min_length=3, max_length=3)] | Optional = None
    issue_date: Day | None = None
    due_date: Day | None = None
    notes: Text | Optional = None
    lines: Annotated[list[LineCreate], Field(min_length=1, max_length=500)] | Optional = None
    allowance_charges: Annotated[list[AllowanceChargeCreate], Field(max_length=20)] | Optional = None
    buyer_reference: Annotated[OneLine, Field(max_length=200)] | Optional = None
    order_reference: Annotated[OneLine, Field(max_length=200)] | Optional = None
    delivery_date: Day | None = None
    period_start: Day | None = None
    period_end: Day | None = None
    payment_means: Means | Optional = None
    mandate_reference: Annotated[OneLine, Field(max_length=35)] | Optional = None
    payment_terms: Text | Optional = None
    exemption_reason: Annotated[OneLine, Field(max_length=300)] | Optional = None
    exemption_code: Annotated[OneLine, Field(max_length=30)] | Optional = None


class IssueIn(In):
    """Issue a draft: dated `issue_date` (default: the draft's date, else today); due on `due_date` (default:
    the draft's, else the customer's terms)."""

    issue_date: Day | None = None
    due_date: Day | None = None


class VoidIn(In):
    reason: Lines = Field(min_length=1, max_length=500)


class CreditQuantity(In):
    line: int = Field(ge=1, le=500, description="The position of the invoice line (1, 2, ...)")
    quantity: DecimalIn


class CreditIn(In):
    """A credit note: the whole invoice (neither `quantities` nor `lines`), quantities of its lines, or free lines
    (a goodwill credit at the VAT the invoice charged)."""

    reason: Text = ""
    quantities: Annotated[list[CreditQuantity], Field(min_length=1, max_length=500)] | Optional = None
    lines: Annotated[list[LineCreate], Field(min_length=1, max_length=500)] | Optional = None


# --- documents out -------------------------------------------------------------------------------

class LineOut(Out):
    position: int
    product_id: int | None
    description: str
    quantity: Amount
    unit: str
    unit_price: Amount
    base_quantity: Amount
    discount_percent: Amount
    discount_amount: Amount
    charge_amount: Amount
    tax_rate_id: int | None
    vat_category: str
    vat_rate: Amount
    net_amount: Amount
    credits_line: int | None


class AllowanceChargeOut(Out):
    position: int
    is_charge: bool
    reason: str
    amount: Amount | None
    percent: Amount | None
    tax_rate_id: int | None
    vat_category: str
    vat_rate: Amount


class VatOut(Out):
    vat_category: str
    vat_rate: Amount
    taxable: Amount
    tax: Amount


class TotalsOut(Out):
    """The EN 16931 document totals (BT-106 to BT-115)."""

    line_total: Amount
    allowance_total: Amount
    charge_total: Amount
    tax_exclusive: Amount
    tax_total: Amount
    tax_inclusive: Amount
    prepaid: Amount
    rounding: Amount
    payable: Amount


class CreditNoteRefOut(Out):
    id: int
    number: str | None
    issue_date: date | None
    payable: Amount
    status: str


class InvoiceAllocationOut(Out):
    id: int
    payment_id: int
    amount: Amount
    allocated_on: date
    method: str
    reference: str
    received_on: date


class PartyOut(Out):
    """Seller or buyer as the document shows them (frozen when it was issued): name, e-mail, the printed address
    and its parts, country, VAT ID, tax number, registration, electronic address and scheme, seller contact."""

    name: str
    email: str = ""
    address: str = ""
    street: str = ""
    additional_line: str = ""
    city: str = ""
    postcode: str = ""
    subdivision: str = ""
    country: str = ""
    tax_id: str = ""
    tax_registration: str = ""
    legal_id: str = ""
    electronic_address: str = ""
    electronic_scheme: str = ""
    contact_name: str = ""
    contact_phone: str = ""
    contact_email: str = ""


class DocumentHead(Out):
    """What every document answer starts with. `status`: draft, unpaid, partially_paid, overdue, paid, credited,
    void (invoices), credit_note (an issued credit note); `stored_status`: draft, issued or void."""

    id: int
    kind: Literal["invoice", "credit_note"]
    number: str | None
    status: str
    stored_status: str
    customer_id: int
    customer: str
    currency: str
    issue_date: date | None
    due_date: date | None


class InvoiceSummaryOut(DocumentHead):
    """A document in a list."""

    tax_exclusive: Amount
    tax_total: Amount
    payable: Amount
    paid_amount: Amount
    credited_amount: Amount
    balance: Amount


class InvoiceOut(DocumentHead):
    """An invoice or credit note as stored, money at its currency's minor unit."""

    notes: str
    void_reason: str
    voided_on: date | None
    credited_invoice_id: int | None
    credited_invoice_number: str | None
    lines: list[LineOut]
    allowance_charges: list[AllowanceChargeOut]
    vat_breakdown: list[VatOut]
    totals: TotalsOut
    paid_amount: Amount
    credited_amount: Amount
    balance: Amount
    credit_notes: list[CreditNoteRefOut]
    allocations: list[InvoiceAllocationOut]
    created_at: Time
    issued_at: Time | None
    buyer_reference: str = ""
    order_reference: str = ""
    delivery_date: date | None = None
    period_start: date | None = None
    period_end: date | None = None
    payment_means: str = ""
    mandate_reference: str = ""
    payment_terms: str = ""
    exemption_reason: str = ""
    exemption_code: str = ""
    seller: PartyOut | None = None
    buyer: PartyOut | None = None


# --- payments ------------------------------------------------------------------------------------

class PaymentAllocationIn(In):
    invoice_id: int = Field(ge=1)
    amount: DecimalIn


class PaymentCreate(In):
    """Money received. `allocate`: "auto" (oldest due first), explicit allocations, or none (all stays customer
    credit); what is not allocated stays customer credit."""

    customer_id: int = Field(ge=1)
    amount: DecimalIn
    currency: str = Field(min_length=3, max_length=3)
    received_on: Day
    method: Method = "bank_transfer"
    reference: OneLine = Field(default="", max_length=200)
    allocate: Literal["auto"] | Annotated[list[PaymentAllocationIn], Field(max_length=500)] | None = None


class ReverseIn(In):
    reason: Lines = Field(min_length=1, max_length=200)
    reversed_on: Day | None = None


class RefundIn(In):
    """Pay back customer credit in the payment's currency (default: what is left unallocated of this payment)."""

    amount: DecimalIn | None = None
    refunded_on: Day | None = None
    method: Method = "bank_transfer"
    reference: OneLine = Field(default="", max_length=200)


class PaymentSummaryOut(Out):
    """A payment (`kind` payment), a refund or a reversal (negative amounts)."""

    id: int
    kind: Literal["payment", "refund", "reversal"]
    received_on: date
    customer_id: int
    customer: str
    currency: str
    amount: Amount
    allocated: Amount
    unallocated: Amount
    method: str
    reference: str
    reversed: bool


class PaymentAllocationOut(Out):
    invoice_id: int
    number: str | None
    amount: Amount


class PaymentOut(Out):
    id: int
    kind: Literal["payment", "refund", "reversal"]
    customer_id: int
    currency: str
    amount: Amount
    received_on: date
    method: str
    reference: str
    reverses_payment_id: int | None
    reversed: bool
    allocations: list[PaymentAllocationOut]
    created_at: Time
    created_by: str


# --- statements ----------------------------------------------------------------------------------

class StatementEntryOut(Out):
    date: date
    kind: str
    number: str | None
    description: str
    debit: Amount
    credit: Amount
    balance: Amount


class StatementOut(Out):
    """What a customer owes in one currency over a period: opening balance, entries with a running balance,
    closing balance (negative: the customer has credit)."""

    customer_id: int
    customer: str
    currency: str
    date_from: date
    date_to: date
    opening_balance: Amount
    entries: list[StatementEntryOut]
    closing_balance: Amount
    notes: list[str]
