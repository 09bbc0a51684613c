"""Domain records (pydantic v2): what the services accept and return.

Money fields are Decimal parsed from strings; floats are refused. `parse` turns pydantic's
errors into one `ValidationError` whose message names the field, in words a user understands.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import pydantic
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, field_validator

from billing import bank_accounts, discounts, i18n
from billing.errors import ValidationError
from billing.logic import EXEMPTION_REASON_CATEGORIES, VAT_CATEGORIES, ZERO_RATE_CATEGORIES, date_problem
from billing.money import check_currency, check_decimals, to_decimal
from billing.text import text_problem

if TYPE_CHECKING:
    from billing.documents import InvoiceDocument

M = TypeVar("M", bound=BaseModel)


def _exact(value: Any) -> Decimal:
    if isinstance(value, float):
        raise ValidationError("Amounts must be entered as text or whole numbers, not floating point.")
    return to_decimal("" if value is None else value)


Dec = Annotated[Decimal, BeforeValidator(_exact)]


def _text(max_len: int) -> Any:
    return Field(default="", max_length=max_len)


def _one_line(value: str) -> str:
    """A name, number or code: one line, no control characters (a stray quote in a CSV file would
    otherwise pull the rows after it into one customer's name), nothing an e-invoice cannot carry."""
    problem = text_problem(value, multiline=False)
    if problem:
        raise ValidationError(problem)
    return value


def _lines_of_text(value: str) -> str:
    """An address, a description or a note: line breaks and tabs are fine, other control characters are not."""
    problem = text_problem(value, multiline=True)
    if problem:
        raise ValidationError(problem)
    return value


OneLine = Annotated[str, AfterValidator(_one_line)]
Lines = Annotated[str, AfterValidator(_lines_of_text)]
# A bank account's codes as typed ('de89 3704 ...'), checked and kept compact and upper case.
Iban = Annotated[str, AfterValidator(bank_accounts.compact_iban)]
Bic = Annotated[str, AfterValidator(bank_accounts.compact_bic)]


def _in_books(value: date) -> date:
    """A date the books take (billing.logic.FIRST_DATE to LAST_DATE)."""
    problem = date_problem(value)
    if problem:
        raise ValidationError(problem)
    return value


BookDate = Annotated[date, AfterValidator(_in_books)]


class Record(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid", frozen=True)


class CustomerIn(Record):
    """A customer as entered: who to bill, in which currency and language, on which terms."""

    name: OneLine = Field(min_length=1, max_length=200)
    email: OneLine = _text(200)
    address: Lines = _text(1000)
    country: OneLine = _text(2)
    tax_id: OneLine = _text(50)
    currency: str = "EUR"
    terms_days: int = Field(default=30, ge=0, le=365)
    notes: Lines = _text(4000)
    language: str = "en"

    @field_validator("currency")
    @classmethod
    def _currency(cls, value: str) -> str:
        return check_currency(value)

    @field_validator("language")
    @classmethod
    def _language(cls, value: str) -> str:
        return i18n.check_language(value)

    @field_validator("email")
    @classmethod
    def _email(cls, value: str) -> str:
        if value and ("@" not in value or " " in value):
            raise ValidationError(f"'{value}' is not an email address.")
        return value

    @field_validator("country")
    @classmethod
    def _country(cls, value: str) -> str:
        if value and (len(value) != 2 or not value.isalpha()):
            raise ValidationError("Country must be a two-letter code such as DE or US.")
        return value.upper()


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


class InvoiceDraftIn(Record):
    """A draft invoice: editable until issued. Dates may be left empty until issue."""

    customer_id: int
    currency: str | None = None  # defaults to the customer's currency
    issue_date: BookDate | None = None
    due_date: BookDate | None = None
    notes: Lines = _text(4000)
    lines: list[LineIn] = Field(default_factory=list, max_length=500)
    allowance_charges: list[AllowanceChargeIn] = Field(default_factory=list, max_length=20)

    @field_validator("currency")
    @classmethod
    def _currency(cls, value: str | None) -> str | None:
        return None if value is None else check_currency(value)

    @classmethod
    def from_stored(cls, document: InvoiceDocument) -> InvoiceDraftIn:
        """The editable input behind a stored document (for the editor and for duplicating): its customer,
        currency, notes, lines and allowances/charges; the dates are left empty."""
        return parse(cls, {
            "customer_id": document.header.customer_id, "currency": document.header.currency,
            "notes": document.header.notes,
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


class CompanyIn(Record):
    """The company profile printed on every invoice."""

    legal_name: OneLine = Field(min_length=1, max_length=200)
    address: Lines = _text(1000)
    country: OneLine = _text(2)
    tax_id: OneLine = _text(50)
    email: OneLine = _text(200)
    bank_details: Lines = _text(500)
    iban: Iban = _text(50)  # '' when no payment QR code is wanted
    bic: Bic = _text(20)
    base_currency: str = "EUR"
    timezone: str = "UTC"
    default_terms_days: int = Field(default=30, ge=0, le=365)
    page_size: str = "A4"

    @field_validator("base_currency")
    @classmethod
    def _currency(cls, value: str) -> str:
        return check_currency(value)

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
                "bic": "BIC"}


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
