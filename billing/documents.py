"""Typed records of stored invoices and credit notes: header, lines, allowances/charges, VAT breakdown."""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import astuple, dataclass, field, fields, replace
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TypedDict, TypeVar

from billing import logic
from billing.money import MONEY_FIELDS, round_money

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

R = TypeVar("R", bound="DataclassInstance")
DIRECT_DEBIT = "direct_debit"  # the payment means (BT-81, models.PAYMENT_MEANS) of a SEPA direct debit


@functools.cache
def _field_names(cls: type[DataclassInstance]) -> tuple[str, ...]:
    # dataclasses.fields() builds its tuple anew on every call: a bulk export reads ~20 records per document.
    return tuple(f.name for f in fields(cls))


@functools.cache
def _money_names(cls: type[DataclassInstance]) -> tuple[str, ...]:
    return tuple(name for name in _field_names(cls) if name in MONEY_FIELDS)


def quantized(record: R, currency: str) -> R:
    """The record with its money fields rounded to the currency's minor unit (the store keeps 4 decimals):
    the values a document shows and prints."""
    changes = {name: round_money(value, currency) for name in _money_names(type(record))
               if isinstance(value := getattr(record, name), Decimal)}
    return replace(record, **changes) if changes else record


def from_row(cls: type[R], row: Mapping[Any, Any]) -> R:
    """A record of `cls` from a stored row: the columns it holds (a row may carry more, e.g. `invoice_id`; a field
    the row lacks keeps its default)."""
    names = _field_names(cls)
    try:  # the usual case, and fast: `name in row` is slow on SQLAlchemy's rows
        return cls(**{name: row[name] for name in names})
    except KeyError:  # SQLAlchemy's NoSuchColumnError is a KeyError too
        return cls(**{name: row[name] for name in names if name in row})


@dataclass(frozen=True, slots=True)
class SealedHeader:
    """The header columns of an issued or voided document that its seal covers and `verify` recomputes
    (`store.integrity.HEADER_COLUMNS`), described on `InvoiceHeader`."""

    id: int
    kind: str
    number: str | None
    status: str
    customer_id: int
    currency: str
    issue_date: date | None
    due_date: date | None
    credited_invoice_id: int | None
    line_total: Decimal
    allowance_total: Decimal
    charge_total: Decimal
    tax_exclusive: Decimal
    tax_total: Decimal
    tax_inclusive: Decimal
    prepaid: Decimal
    rounding: Decimal
    payable: Decimal


@dataclass(frozen=True, slots=True)
class InvoiceHeader(SealedHeader):
    """The stored header of an invoice or credit note (one row of the `invoices` table).

    Attributes:
      id, kind (logic.INVOICE or logic.CREDIT_NOTE), series (numbering series code), number (None while
        a draft), status (logic.DRAFT, ISSUED or VOID), customer_id, currency (ISO 4217).
      issue_date, due_date: None on a draft that has none yet. credited_invoice_id: on a credit note,
        the invoice it credits.
      notes, void_reason: free text. voided_on: the void date.
      line_total .. payable: the EN 16931 document totals (BT-106 to BT-115) as stored at save or issue.
      paid_amount, credited_amount: the maintained sums of allocations and credit notes against it.
      created_at, issued_at, created_by: when and by whom. first_activity_on, last_activity_on: the span of
        what moved its balance. is_open: whether a balance remains (None before migration 3 ran).
    """

    series: str
    notes: str
    void_reason: str
    paid_amount: Decimal
    credited_amount: Decimal
    created_at: datetime
    issued_at: datetime | None
    voided_on: date | None
    created_by: str
    first_activity_on: date | None = None
    last_activity_on: date | None = None
    is_open: bool | None = None
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

    @property
    def is_credit_note(self) -> bool:
        return self.kind == logic.CREDIT_NOTE


class HeaderValues(TypedDict, total=False):
    """Header columns a service writes: all of them for a new document, the changed ones for a saved draft, an
    issue or a void (`store.invoices.insert_header` / `update_header`); each means what it means on
    `InvoiceHeader`. The paid and credited sums move only through `store.invoices.add_to_amounts`."""

    kind: str
    series: str
    number: str | None
    status: str
    customer_id: int
    currency: str
    issue_date: date | None
    due_date: date | None
    credited_invoice_id: int | None
    notes: str
    void_reason: str
    voided_on: date
    line_total: Decimal
    allowance_total: Decimal
    charge_total: Decimal
    tax_exclusive: Decimal
    tax_total: Decimal
    tax_inclusive: Decimal
    prepaid: Decimal
    rounding: Decimal
    payable: Decimal
    paid_amount: Decimal
    credited_amount: Decimal
    created_at: datetime
    issued_at: datetime
    created_by: str
    buyer_reference: str
    order_reference: str
    delivery_date: date | None
    period_start: date | None
    period_end: date | None
    payment_means: str
    mandate_reference: str
    payment_terms: str
    exemption_reason: str
    exemption_code: str


def total_values(totals: logic.Totals) -> HeaderValues:
    """The header's total columns as `totals` gives them."""
    return HeaderValues(line_total=totals.line_total, allowance_total=totals.allowance_total,
                        charge_total=totals.charge_total, tax_exclusive=totals.tax_exclusive,
                        tax_total=totals.tax_total, tax_inclusive=totals.tax_inclusive, prepaid=totals.prepaid,
                        rounding=totals.rounding, payable=totals.payable)


@dataclass(frozen=True, slots=True)
class StoredLine:
    """A stored document line (BG-25, one row of `invoice_lines`).

    Attributes:
      position: 1, 2, ... in document order. product_id: the catalogue product, None for free text.
      description, unit: as printed. quantity (BT-129), unit_price (BT-146), base_quantity (BT-149).
      discount_percent, discount_amount: the line allowance; charge_amount: a line charge.
      tax_rate_id: the tax rate picked (None on old imported documents); vat_category, vat_rate: what it
        charged. net_amount: the line net (BT-131) stored with the totals (zero until computed).
      credits_line: on a credit note, the position of the invoice line it credits (None for a free line).
    """

    position: int
    product_id: int | None
    description: str
    quantity: Decimal
    unit: str
    unit_price: Decimal
    base_quantity: Decimal
    discount_percent: Decimal
    discount_amount: Decimal
    charge_amount: Decimal
    tax_rate_id: int | None
    vat_category: str
    vat_rate: Decimal
    net_amount: Decimal
    credits_line: int | None = None

    def to_logic(self) -> logic.Line:
        """The line as `logic.compute_totals` takes it (its net computed again, not taken as stored)."""
        return logic.Line(quantity=self.quantity, net_price=self.unit_price, vat_category=self.vat_category,
                          vat_rate=self.vat_rate, base_quantity=self.base_quantity,
                          discount_percent=self.discount_percent, discount_amount=self.discount_amount,
                          charge_amount=self.charge_amount)


@dataclass(frozen=True, slots=True)
class StoredAllowanceCharge:
    """A stored document-level allowance (BG-20) or charge (BG-21), one row of `invoice_allowances`.

    Attributes:
      position: 1, 2, ... in document order. is_charge: a charge (True) or an allowance (False).
      reason: as printed. amount or percent (of the lines' net total): exactly one is set.
      tax_rate_id: the tax rate picked; vat_category, vat_rate: what it is taxed at.
    """

    position: int
    is_charge: bool
    reason: str
    amount: Decimal | None
    percent: Decimal | None
    tax_rate_id: int | None
    vat_category: str
    vat_rate: Decimal


    def to_logic(self, base_amount: Decimal | None = None) -> logic.AllowanceCharge:
        """As `logic.compute_totals` takes it; `base_amount` for a percentage (default: the lines' net total)."""
        return logic.AllowanceCharge(is_charge=self.is_charge, vat_category=self.vat_category,
                                     vat_rate=self.vat_rate, amount=self.amount, percent=self.percent,
                                     base_amount=base_amount, reason=self.reason)


@dataclass(frozen=True, slots=True)
class StoredTax:
    """One entry of a document's stored VAT breakdown (BG-23, one row of `invoice_taxes`).

    Attributes: vat_category, vat_rate (percent), taxable (BT-116) and tax (BT-117) amounts.
    """

    vat_category: str
    vat_rate: Decimal
    taxable: Decimal
    tax: Decimal


    @classmethod
    def from_logic(cls, entry: logic.TaxSubtotal) -> StoredTax:
        return cls(vat_category=entry.vat_category, vat_rate=entry.vat_rate, taxable=entry.taxable, tax=entry.tax)

    def to_logic(self) -> logic.TaxSubtotal:
        """As `logic.compute_totals` gives it: the rate by `logic.rate_key` (19.0000 -> 19)."""
        return logic.TaxSubtotal(vat_category=self.vat_category, vat_rate=logic.rate_key(self.vat_rate),
                                 taxable=self.taxable, tax=self.tax)


def computed_totals(lines: Sequence[StoredLine], allowance_charges: Sequence[StoredAllowanceCharge],
                    currency: str) -> logic.Totals:
    """The totals stored lines and allowances/charges give (`logic.compute_totals`): what is stored when a
    draft is saved or issued, and what `verify` checks the stored totals against."""
    return logic.compute_totals([line.to_logic() for line in lines],
                                [item.to_logic() for item in allowance_charges], currency)


def stored_totals(header: InvoiceHeader, lines: Sequence[StoredLine], taxes: Sequence[StoredTax]) -> logic.Totals:
    """The totals a document stored (header, line nets, VAT breakdown), in the shape `compute_totals` gives
    them: what it shows and prints. `verify` checks them against a recomputation."""
    return logic.Totals(
        currency=header.currency, line_nets=tuple(line.net_amount for line in lines),
        line_total=header.line_total, allowance_total=header.allowance_total, charge_total=header.charge_total,
        tax_exclusive=header.tax_exclusive, tax_total=header.tax_total, tax_inclusive=header.tax_inclusive,
        prepaid=header.prepaid, rounding=header.rounding, payable=header.payable,
        tax_breakdown=tuple(sorted((tax.to_logic() for tax in taxes), key=lambda t: (t.vat_category, t.vat_rate))))


@dataclass(frozen=True, slots=True)
class DocumentParty:
    """Seller or buyer as a document shows it (frozen onto the document when it is issued).

    Attributes:
      name, email; address (the printed text) and its parts street, additional_line, city, postcode, subdivision
        (BT-35..39 / BT-50..54), country (ISO code, BT-40/55); tax_id (the VAT identifier, BT-31/48, compact),
        tax_registration (BT-32), legal_id (BT-30/47), electronic_address and electronic_scheme (BT-34/49).
      The seller's contact_name, contact_phone, contact_email (BT-41..43), account iban, bic (BT-84/86),
        bank_details (printed as written) and SEPA creditor_id (BT-90). The buyer's iban is the account its SEPA
        direct debit mandate debits (BT-91).
    """

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
    iban: str = ""
    bic: str = ""
    bank_details: str = ""
    creditor_id: str = ""


@dataclass(frozen=True, slots=True)
class DocumentCustomer(DocumentParty):
    """The customer as a document shows it: the party (`DocumentParty`), with its id and terms_days (payment terms,
    for the due date proposed at issue) and language (of its documents, billing.i18n)."""

    id: int = 0
    terms_days: int = 0
    language: str = "en"


@dataclass(frozen=True, slots=True)
class CreditNoteRef:
    """A credit note of an invoice as its view lists it: id, number, issue_date, payable, status."""

    id: int
    number: str | None
    issue_date: date | None
    payable: Decimal
    status: str


@dataclass(frozen=True, slots=True)
class CreditedInvoiceRef:
    """The invoice a credit note credits: id and number."""

    id: int
    number: str | None


@dataclass(frozen=True, slots=True)
class InvoiceAllocation:
    """A payment allocated to an invoice as its view lists it.

    Attributes: id (of the allocation), payment_id, amount (negative when released by a credit note),
    allocated_on; method, reference and received_on of the payment.
    """

    id: int
    payment_id: int
    amount: Decimal
    allocated_on: date
    method: str
    reference: str
    received_on: date


@dataclass(frozen=True, slots=True)
class InvoiceListRow:
    """One row of the invoice list: a document with its customer's name, balance and display status.

    Attributes: id, kind, number, status (stored), customer_id, customer (name), currency, issue_date,
    due_date, tax_exclusive, tax_total, payable, paid_amount, credited_amount, balance (zero on a credit
    note), display_status (`logic.document_display_status`).
    """

    id: int
    kind: str
    number: str | None
    status: str
    customer_id: int
    customer: str
    currency: str
    issue_date: date | None
    due_date: date | None
    tax_exclusive: Decimal
    tax_total: Decimal
    payable: Decimal
    paid_amount: Decimal
    credited_amount: Decimal
    balance: Decimal
    display_status: str = ""


@dataclass(frozen=True, slots=True)
class InvoiceDocument:
    """Everything shown or printed about one invoice or credit note, as stored.

    Attributes:
      header, customer, lines, allowance_charges, taxes (the stored VAT breakdown): money at the currency's
        minor unit.
      totals: the stored totals in `logic.Totals` form (`stored_totals`). balance: what is still owed
        (zero on a credit note). status: the display status (`logic.document_display_status`).
      credit_notes, allocations: what was credited and paid on an invoice. credited_invoice: on a credit
        note, the invoice it credits.
      exemption_reasons: EN 16931 BT-120, why VAT is not charged, per category that needs a reason (E, AE,
        K, G, O), from the document's tax rates (or the document's own exemption_reason).
      seller: the company as the document shows it (frozen at issue), None when there is no company profile.
    """

    header: InvoiceHeader
    customer: DocumentCustomer
    lines: tuple[StoredLine, ...]
    allowance_charges: tuple[StoredAllowanceCharge, ...]
    taxes: tuple[StoredTax, ...]
    totals: logic.Totals
    balance: Decimal
    status: str
    credit_notes: tuple[CreditNoteRef, ...] = ()
    allocations: tuple[InvoiceAllocation, ...] = ()
    credited_invoice: CreditedInvoiceRef | None = None
    exemption_reasons: Mapping[str, str] = field(default_factory=dict)
    seller: DocumentParty | None = None

    @property
    def id(self) -> int:
        return self.header.id

    @property
    def currency(self) -> str:
        return self.header.currency

    @property
    def is_credit_note(self) -> bool:
        return self.header.is_credit_note

    def texts(self) -> list[str]:
        """Every text of the header, customer, lines, allowances/charges and credited invoice (the PDF picks
        its font cut by the characters they use)."""
        records: list[DataclassInstance] = [self.header, self.customer, *self.lines, *self.allowance_charges,
                                            *([self.credited_invoice] if self.credited_invoice else []),
                                            *([self.seller] if self.seller else [])]
        return [value for record in records for value in astuple(record) if isinstance(value, str)]
