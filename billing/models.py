"""Domain records (pydantic v2): what the services accept and return.

Money fields are Decimal parsed from strings; floats are refused. `parse` turns pydantic's
errors into one `ValidationError` whose message names the field, in words a user understands.
"""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

import pydantic
from pydantic import BaseModel, Field, field_validator, model_validator

from billing import discounts, i18n
from billing.addresses import AddressParts, split_reliably
from billing.einvoice.schemes import eas_codes
from billing.errors import ValidationError
from billing.logic import EXEMPTION_REASON_CATEGORIES, VAT_CATEGORIES, ZERO_RATE_CATEGORIES
from billing.model_types import Bic as Bic
from billing.model_types import BookDate as BookDate
from billing.model_types import CreditorId as CreditorId
from billing.model_types import Dec as Dec
from billing.model_types import Iban as Iban
from billing.model_types import Lines as Lines
from billing.model_types import OneLine as OneLine
from billing.model_types import Record as Record
from billing.model_types import email_address, with_compact_vat_id
from billing.model_types import text_field as _text
from billing.money import check_currency, check_decimals

if TYPE_CHECKING:
    from billing.documents import InvoiceDocument

M = TypeVar("M", bound=BaseModel)


class PartyIn(Record):
    """What seller and buyer have alike: the structured postal address (BT-35..39 / BT-50..54; `address` is its
    printed text, kept as typed for an address entered before the parts existed), the legal registration id
    (BT-30/47), a tax registration that is not a VAT identifier, and the electronic address with its EAS scheme
    (BT-34/49)."""

    address: Lines = _text(1000)
    street: OneLine = _text(200)
    additional_line: OneLine = _text(200)
    city: OneLine = _text(100)
    postcode: OneLine = _text(20)
    subdivision: OneLine = _text(100)
    legal_id: OneLine = _text(50)
    tax_registration: OneLine = _text(50)
    electronic_address: OneLine = _text(200)
    electronic_scheme: OneLine = _text(4)
    email: OneLine = _text(200)
    country: OneLine = _text(2)
    tax_id: OneLine = _text(50)  # the VAT identifier (BT-31/48), checked and compact
    VAT_FIELD: ClassVar[str] = "VAT ID"  # how a message names it

    @model_validator(mode="before")
    @classmethod
    def _vat_id(cls, data: Any) -> Any:
        return with_compact_vat_id(data, cls.VAT_FIELD)

    @field_validator("email")
    @classmethod
    def _email(cls, value: str) -> str:
        return email_address(value)

    @field_validator("country")
    @classmethod
    def _country(cls, value: str) -> str:
        if value and (len(value) != 2 or not value.isalpha()):
            raise ValidationError("Country must be a two-letter code such as DE or US.")
        return value.upper()

    @model_validator(mode="before")
    @classmethod
    def _address_parts(cls, data: Any) -> Any:
        """The printed text follows the parts; text alone (an old client, an import) is split where that is sure."""
        if not isinstance(data, dict):
            return data
        names = ("street", "additional_line", "city", "postcode", "subdivision")
        given = {name: str(data.get(name) or "").strip() for name in names}
        parts = AddressParts(**given)
        if parts.is_empty:
            split = split_reliably(str(data.get("address") or ""))
            return data if split is None else {**data, **{name: getattr(split, name) for name in names}}
        return {**data, "address": parts.text(str(data.get("country") or ""))}

    @model_validator(mode="after")
    def _scheme(self) -> PartyIn:
        if self.electronic_scheme and self.electronic_scheme not in eas_codes():
            raise ValidationError(f"Electronic address scheme: '{self.electronic_scheme}' is not in the EAS code "
                                  "list (for example 0088 GLN, 0204 Leitweg-ID, 9930 DE VAT, EM e-mail).")
        if bool(self.electronic_address) != bool(self.electronic_scheme):
            raise ValidationError("Electronic address: give the address and its scheme together (BT-34/BT-49).")
        return self

    def address_parts(self) -> AddressParts:
        return AddressParts(street=self.street, additional_line=self.additional_line, city=self.city,
                            postcode=self.postcode, subdivision=self.subdivision)


# The e-invoice formats a customer may prefer (billing.einvoice.export.FORMATS; "" for none).
EINVOICE_FORMATS = ("ubl", "cii", "peppol", "xrechnung-ubl", "xrechnung-cii", "facturx")


class CustomerIn(PartyIn):
    """A customer as entered: who to bill, in which currency and language, on which terms, in which e-invoice
    format, and the account its invoices paid by SEPA direct debit are debited from."""

    VAT_FIELD: ClassVar[str] = "Customer VAT ID (BT-48)"
    name: OneLine = Field(min_length=1, max_length=200)
    currency: str = "EUR"
    terms_days: int = Field(default=30, ge=0, le=365)
    notes: Lines = _text(4000)
    einvoice_format: str = ""
    language: str = "en"  # of its documents and e-mails (billing.i18n)
    iban: Iban = _text(50)  # the account its SEPA direct debit mandate lets the company debit (BT-91)

    @field_validator("language")
    @classmethod
    def _language(cls, value: str) -> str:
        return i18n.check_language(value)

    @field_validator("currency")
    @classmethod
    def _currency(cls, value: str) -> str:
        return check_currency(value)

    @field_validator("einvoice_format")
    @classmethod
    def _einvoice_format(cls, value: str) -> str:
        if value not in ("", *EINVOICE_FORMATS):
            raise ValidationError(f"Unknown e-invoice format {value!r}: choose from {', '.join(EINVOICE_FORMATS)} "
                                  "(or none).")
        return value


class TaxRateIn(Record):
    """A VAT rate: EN 16931 category, percent and the exemption reason where the category needs one."""

    name: OneLine = Field(min_length=1, max_length=100)
    category: str = "S"
    percent: Dec = Decimal(0)
    exemption_reason: OneLine = _text(300)
    active: bool = True

    @field_validator("category")
    @classmethod
    def _category(cls, value: str) -> str:
        if value.upper() not in VAT_CATEGORIES:
            raise ValidationError(f"Unknown VAT category '{value}'. Use one of {', '.join(VAT_CATEGORIES)}.")
        return value.upper()

    @field_validator("percent")
    @classmethod
    def _percent(cls, value: Decimal) -> Decimal:
        if value < 0 or value >= 100:
            raise ValidationError("A tax rate must be at least 0% and below 100%.")
        return check_decimals(value, 4, "tax rate")

    def model_post_init(self, _context: Any) -> None:
        if self.category in ZERO_RATE_CATEGORIES and self.percent != 0:
            raise ValidationError(f"VAT category {self.category} must have a rate of 0%.")
        if self.category == "S" and self.percent == 0:
            raise ValidationError("The standard-rated category S needs a rate above 0%.")
        if self.category in EXEMPTION_REASON_CATEGORIES and not self.exemption_reason:
            raise ValidationError(f"VAT category {self.category} needs an exemption reason on the invoice.")


class ProductIn(Record):
    """A product or service that can be picked on an invoice line."""

    name: OneLine = Field(min_length=1, max_length=200)
    sku: OneLine = Field(min_length=1, max_length=64)
    unit: OneLine = Field(default="pcs", max_length=20)
    unit_price: Dec
    currency: str = "EUR"
    tax_rate_id: int

    @field_validator("unit_price")
    @classmethod
    def _price(cls, value: Decimal) -> Decimal:
        if value < 0:
            raise ValidationError("A unit price cannot be negative.")
        return check_decimals(value, 6, "unit price")

    @field_validator("currency")
    @classmethod
    def _currency(cls, value: str) -> str:
        return check_currency(value)


class LineIn(Record):
    """An invoice line as entered. Either a product (its price and tax filled in) or free text."""

    description: Lines = Field(min_length=1, max_length=500)
    quantity: Dec
    unit_price: Dec
    tax_rate_id: int
    unit: OneLine = Field(default="", max_length=20)
    product_id: int | None = None
    base_quantity: Dec = Decimal(1)
    discount_percent: Dec = Decimal(0)
    discount_amount: Dec = Decimal(0)

    @field_validator("quantity")
    @classmethod
    def _quantity(cls, value: Decimal) -> Decimal:
        if value == 0:
            raise ValidationError("A line quantity cannot be zero.")
        return check_decimals(value, 4, "quantity")

    @field_validator("unit_price")
    @classmethod
    def _price(cls, value: Decimal) -> Decimal:
        return check_decimals(value, 6, "unit price")

    @field_validator("base_quantity")
    @classmethod
    def _base(cls, value: Decimal) -> Decimal:
        if value <= 0:
            raise ValidationError("The base quantity must be greater than zero.")
        return check_decimals(value, 4, "base quantity")

    @field_validator("discount_percent")
    @classmethod
    def _discount_percent(cls, value: Decimal) -> Decimal:
        return discounts.check_percent(value)

    @field_validator("discount_amount")
    @classmethod
    def _discount_amount(cls, value: Decimal) -> Decimal:
        return discounts.check_amount(value)


class AllowanceChargeIn(Record):
    """A document-level allowance (discount) or charge (e.g. shipping), taxed at a given rate."""

    is_charge: bool = False
    reason: OneLine = Field(default="", max_length=200)
    amount: Dec | None = None
    percent: Dec | None = None
    tax_rate_id: int

    def model_post_init(self, _context: Any) -> None:
        if (self.amount is None) == (self.percent is None):
            raise ValidationError("A document discount or charge needs either an amount or a percentage.")
        if self.amount is not None and self.amount <= 0:
            raise ValidationError("A document discount or charge amount must be positive.")
        if self.percent is not None and not (0 < self.percent <= 100):
            raise ValidationError("A document discount or charge percentage must be above 0 and at most 100.")


# BT-81 as the editor offers it: '' (credit transfer when the company has an IBAN, else none), a credit transfer
# (UNTDID 4461 code 58, SEPA) or a SEPA direct debit (59).
PAYMENT_MEANS = ("", "credit_transfer", "direct_debit")
# The details a duplicate keeps (not the delivery date or period: those belong to the one delivery).
COPIED_DETAILS = ("buyer_reference", "order_reference", "payment_means", "mandate_reference", "payment_terms",
                  "exemption_reason", "exemption_code")


class InvoiceDraftIn(Record):
    """A draft invoice: editable until issued. Dates may be left empty until issue."""

    customer_id: int
    currency: str | None = None  # defaults to the customer's currency
    issue_date: BookDate | None = None
    due_date: BookDate | None = None
    notes: Lines = _text(4000)
    lines: list[LineIn] = Field(default_factory=list, max_length=500)
    allowance_charges: list[AllowanceChargeIn] = Field(default_factory=list, max_length=20)
    # "More details" (EN 16931 terms): what the buyer asked to see on the document, frozen when it is issued.
    buyer_reference: OneLine = _text(200)  # BT-10, the Leitweg-ID for a German public buyer
    order_reference: OneLine = _text(200)  # BT-13
    delivery_date: BookDate | None = None  # BT-72
    period_start: BookDate | None = None  # BG-14 (BT-73/74)
    period_end: BookDate | None = None
    payment_means: str = ""  # BT-81: PAYMENT_MEANS
    mandate_reference: OneLine = _text(35)  # BT-89, for a SEPA direct debit
    payment_terms: Lines = _text(1000)  # BT-20
    exemption_reason: OneLine = _text(300)  # BT-120, instead of the tax rate's
    exemption_code: OneLine = _text(30)  # BT-121, a VATEX code

    @field_validator("currency")
    @classmethod
    def _currency(cls, value: str | None) -> str | None:
        return None if value is None else check_currency(value)

    @field_validator("payment_means")
    @classmethod
    def _means(cls, value: str) -> str:
        if value not in PAYMENT_MEANS:
            raise ValidationError(f"Payment means must be one of: {', '.join(repr(m) for m in PAYMENT_MEANS)}.")
        return value

    @field_validator("exemption_code")
    @classmethod
    def _vatex(cls, value: str) -> str:
        if value and not re.fullmatch(r"VATEX-[A-Z]{2}-[0-9A-Z-]{1,20}", value.upper()):
            raise ValidationError("VAT exemption reason code (BT-121) must be a VATEX code such as VATEX-EU-IC.")
        return value.upper()

    @model_validator(mode="after")
    def _details(self) -> InvoiceDraftIn:
        if (self.period_start is None) != (self.period_end is None):
            raise ValidationError("Invoicing period (BG-14): give both its start and its end date.")
        if self.period_start and self.period_end and self.period_end < self.period_start:
            raise ValidationError("Invoicing period (BG-14): the end date is before the start date.")
        if self.payment_means == "direct_debit" and not self.mandate_reference:
            raise ValidationError("SEPA direct debit needs the mandate reference (BT-89).")
        return self

    @classmethod
    def from_stored(cls, document: InvoiceDocument) -> InvoiceDraftIn:
        """The editable input behind a stored document (for the editor and for duplicating): its customer,
        currency, notes, lines and allowances/charges; the dates are left empty."""
        return parse(cls, {
            "customer_id": document.header.customer_id, "currency": document.header.currency,
            "notes": document.header.notes, **{name: getattr(document.header, name) for name in COPIED_DETAILS},
            "lines": [{"description": line.description, "quantity": line.quantity, "unit_price": line.unit_price,
                       "unit": line.unit, "product_id": line.product_id, "base_quantity": line.base_quantity,
                       "discount_percent": line.discount_percent, "discount_amount": line.discount_amount,
                       "tax_rate_id": line.tax_rate_id} for line in document.lines],
            "allowance_charges": [{"is_charge": item.is_charge, "reason": item.reason, "amount": item.amount,
                                   "percent": item.percent, "tax_rate_id": item.tax_rate_id}
                                  for item in document.allowance_charges],
        })


class PaymentIn(Record):
    """Money received from a customer."""

    customer_id: int
    amount: Dec
    currency: str
    received_on: BookDate
    method: OneLine = Field(default="bank_transfer", max_length=40)
    reference: OneLine = _text(200)

    @field_validator("currency")
    @classmethod
    def _currency(cls, value: str) -> str:
        return check_currency(value)


class CompanyIn(PartyIn):
    """The company profile printed on every invoice; contact name, phone and e-mail are BT-41..43."""

    VAT_FIELD: ClassVar[str] = "Company VAT ID (BT-31)"
    legal_name: OneLine = Field(min_length=1, max_length=200)
    contact_name: OneLine = _text(200)
    contact_phone: OneLine = _text(50)
    contact_email: OneLine = _text(200)
    bank_details: Lines = _text(500)
    iban: Iban = _text(50)  # '' when no payment QR code is wanted
    bic: Bic = _text(20)
    creditor_id: CreditorId = _text(35)  # SEPA creditor identifier (BT-90), for invoices paid by direct debit
    base_currency: str = "EUR"
    timezone: str = "UTC"
    default_terms_days: int = Field(default=30, ge=0, le=365)
    page_size: str = "A4"

    @field_validator("base_currency")
    @classmethod
    def _currency(cls, value: str) -> str:
        return check_currency(value)

    @field_validator("contact_email")
    @classmethod
    def _contact_email(cls, value: str) -> str:
        return email_address(value)

    @field_validator("page_size")
    @classmethod
    def _page(cls, value: str) -> str:
        if value not in ("A4", "Letter"):
            raise ValidationError("Page size must be A4 or Letter.")
        return value

    @field_validator("timezone")
    @classmethod
    def _tz(cls, value: str) -> str:
        from zoneinfo import available_timezones

        if value not in available_timezones() and value != "UTC":
            raise ValidationError(f"Unknown time zone '{value}'.")
        return value


class AuditEvent(BaseModel):
    """One entry of the hash-chained audit trail."""

    id: int
    occurred_at: datetime
    actor: str
    action: str
    entity: str
    entity_id: str
    before: str | None
    after: str | None
    prev_hash: str
    hash: str


_FIELD_NAMES = {"terms_days": "payment terms", "tax_rate_id": "tax rate", "customer_id": "customer", "iban": "IBAN",
                "bic": "BIC", "creditor_id": "Creditor identifier (BT-90)"}


def friendly_message(error: Any) -> str:
    kind = error["type"]
    if kind == "missing" or (kind == "string_too_short" and error.get("ctx", {}).get("min_length") == 1):
        return "this is required"
    if kind == "string_too_long":
        return f"at most {error['ctx']['max_length']} characters"
    if kind in ("int_parsing", "int_type"):
        return "must be a whole number"
    if kind in ("date_parsing", "date_from_datetime_parsing", "date_type"):
        return "must be a date (YYYY-MM-DD)"
    if kind in ("greater_than_equal", "less_than_equal"):
        return str(error["msg"]).lower()
    return str(error["msg"]).removeprefix("Value error, ").rstrip(".")


def describe_error(loc: tuple[int | str, ...], message: str) -> str:
    """'lines', 1, 'quantity' -> 'Line 2, quantity: ...'"""
    parts: list[str] = []
    for index, part in enumerate(loc):
        if isinstance(part, int):
            owner = str(loc[index - 1]) if index else "item"
            parts[-1:] = [f"{'Line' if owner == 'lines' else 'Item'} {part + 1}"]
        else:
            parts.append(_FIELD_NAMES.get(part, part.replace("_", " ")))
    where = ", ".join(parts)
    return f"{where[:1].upper()}{where[1:]}: {message}" if where else message


def parse(model: type[M], data: M | dict[str, Any]) -> M:
    """Validate input into a model; pydantic errors become one readable ValidationError."""
    if isinstance(data, model):
        return data
    try:
        return model.model_validate(data)
    except pydantic.ValidationError as exc:
        problems = []
        for error in exc.errors()[:5]:
            problems.append(describe_error(error["loc"], friendly_message(error)))
        raise ValidationError("; ".join(problems) + ".") from None
