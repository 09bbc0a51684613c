"""What an e-invoice says, as typed and frozen records (EN 16931 business terms; every amount a Decimal)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

# UNTDID 1001 document types that are credit notes (BT-3); the others are invoices of some kind.
CREDIT_NOTE_TYPES = frozenset({"81", "83", "261", "262", "296", "308", "381", "396", "420", "458", "532"})


@dataclass(frozen=True, slots=True)
class Address:
    """A postal address: street (BT-35/50), additional line (BT-36/51), city (BT-37/52), post code (BT-38/53),
    country subdivision (BT-39/54), country code (BT-40/55). Empty strings where the file says nothing."""

    street: str = ""
    additional: str = ""
    city: str = ""
    postcode: str = ""
    subdivision: str = ""
    country: str = ""

    def lines(self) -> tuple[str, ...]:
        """The address as printed, one line per part that is there."""
        town = " ".join(part for part in (self.postcode, self.city) if part)
        return tuple(part for part in (self.street, self.additional, town, self.subdivision, self.country) if part)


@dataclass(frozen=True, slots=True)
class Party:
    """Seller (BG-4) or buyer (BG-7): name (BT-27/44), VAT identifier (BT-31/48), legal registration id
    (BT-30/47), postal address, electronic address (BT-34/49) and its scheme (EAS code, e.g. 0088, 0204, EM)."""

    name: str
    vat_id: str = ""
    legal_id: str = ""
    address: Address = Address()
    electronic_address: str = ""
    electronic_scheme: str = ""


@dataclass(frozen=True, slots=True)
class Line:
    """An invoice line (BG-25): id (BT-126), item name (BT-153), quantity (BT-129) and unit code (BT-130),
    net price (BT-146) per base quantity (BT-149), line net amount (BT-131), VAT category (BT-151) and rate (BT-152)."""

    id: str
    name: str
    quantity: Decimal
    unit_code: str
    net_price: Decimal | None
    net_amount: Decimal
    vat_category: str
    vat_rate: Decimal | None
    base_quantity: Decimal | None = None


@dataclass(frozen=True, slots=True)
class AllowanceCharge:
    """A document-level allowance (BG-20) or charge (BG-21): amount (BT-92/99), base amount (BT-93/100),
    percentage (BT-94/101), VAT category (BT-95/102) and rate (BT-96/103), reason (BT-97/104) and code (BT-98/105)."""

    is_charge: bool
    amount: Decimal
    vat_category: str
    vat_rate: Decimal | None
    reason: str = ""
    reason_code: str = ""
    base_amount: Decimal | None = None
    percent: Decimal | None = None


@dataclass(frozen=True, slots=True)
class VatBreakdown:
    """One VAT breakdown line (BG-23): category (BT-118), rate (BT-119), taxable amount (BT-116), VAT amount
    (BT-117), exemption reason text (BT-120) and code (BT-121)."""

    category: str
    rate: Decimal | None
    taxable: Decimal
    tax: Decimal
    exemption_reason: str = ""
    exemption_code: str = ""


@dataclass(frozen=True, slots=True)
class Totals:
    """The document totals (BG-22), as the file states them: sum of line net amounts (BT-106), allowances
    (BT-107), charges (BT-108), total without VAT (BT-109), VAT total (BT-110; in the VAT accounting currency
    BT-111), total with VAT (BT-112), paid amount (BT-113), rounding (BT-114), amount due (BT-115).
    An optional total the file leaves out is None."""

    line_total: Decimal
    tax_exclusive: Decimal
    tax_inclusive: Decimal
    payable: Decimal
    allowances: Decimal | None = None
    charges: Decimal | None = None
    tax_total: Decimal | None = None
    tax_total_accounting: Decimal | None = None
    prepaid: Decimal | None = None
    rounding: Decimal | None = None


@dataclass(frozen=True, slots=True)
class ParsedInvoice:
    """An e-invoice read back: syntax (UBL Invoice, UBL CreditNote, CII), number (BT-1), type code (BT-3),
    issue date (BT-2), due date (BT-9), currency (BT-5), seller and buyer, buyer reference / Leitweg-ID (BT-10),
    lines, document allowances and charges, VAT breakdown and totals."""

    syntax: str
    number: str
    type_code: str
    issue_date: date | None
    due_date: date | None
    currency: str
    seller: Party
    buyer: Party
    buyer_reference: str
    lines: tuple[Line, ...]
    allowances_charges: tuple[AllowanceCharge, ...]
    vat_breakdown: tuple[VatBreakdown, ...]
    totals: Totals

    @property
    def is_credit_note(self) -> bool:
        return self.syntax == "UBL CreditNote" or self.type_code in CREDIT_NOTE_TYPES

    @property
    def kind(self) -> str:
        """'credit_note' or 'invoice'."""
        return "credit_note" if self.is_credit_note else "invoice"
