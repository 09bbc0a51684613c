"""What the API answers (and the few inputs that are its own): pydantic models, money as decimal strings."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer, WithJsonSchema
from pydantic.json_schema import SkipJsonSchema

from billing.models import AuditEvent, CustomerIn, ProductIn, TaxRateIn

T = TypeVar("T")


def decimal_text(value: Decimal) -> str:
    """A decimal as JSON text with at least two decimals ("12.30", "0.125"), never a float."""
    normal = value.normalize()
    exponent = normal.as_tuple().exponent
    if isinstance(exponent, int) and exponent > -2:
        normal = normal.quantize(Decimal("0.01"))
    return format(normal, "f")


# Amounts, prices and rates go out as strings: a JSON number is a float to most clients.
Amount = Annotated[Decimal, PlainSerializer(decimal_text, return_type=str),
                   WithJsonSchema({"type": "string", "pattern": r"^-?[0-9]+\.[0-9]+$", "examples": ["12.30"]},
                                  mode="serialization")]


_DECIMAL = r"^-?[0-9]{1,12}(\.[0-9]{1,6})?$"  # [0-9], not \d: "١٢.٣٠" is no amount


def _decimal_string(value: Any) -> Decimal:
    if not isinstance(value, str) or not re.fullmatch(_DECIMAL, value):
        raise ValueError('must be a decimal number written as a string, such as "12.30"')
    return Decimal(value)


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


# Amounts in: a string ("12.30"), never a JSON number (a float to most clients); then billing.models' checks.
DecimalIn = Annotated[Decimal, BeforeValidator(_decimal_string),
                      WithJsonSchema({"type": "string", "pattern": _DECIMAL, "examples": ["12.30"]})]
# The store keeps naive UTC; the API says so ("2026-01-31T09:30:00Z").
Time = Annotated[datetime, AfterValidator(_utc)]
# A field a PATCH may leave out, but not set to null.
Optional = SkipJsonSchema[None]


class Out(BaseModel):
    """A response body."""

    model_config = ConfigDict(from_attributes=True)


class In(BaseModel):
    """A request body of the API's own: unknown fields are refused, never dropped."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, strict=True)


class Page(Out, Generic[T]):
    """One page of a list in a stable order: pass `next_cursor` as `starting_after` for the next one."""

    data: list[T]
    has_more: bool
    next_cursor: str | None = None


class Problem(BaseModel):
    """An error (RFC 9457 problem details): `code` for machines, `detail` for people, `param` the field."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    code: str
    param: str | None = None
    request_id: str
    errors: list[dict[str, Any]] | None = None


class TokenRequest(In):
    username: str = Field(min_length=1, max_length=100)
    password: str = Field(min_length=1, max_length=1000)


class TokenOut(Out):
    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 (the OAuth 2 token type)
    expires_in: int
    expires_at: Time
    role: str


class CustomerCreate(CustomerIn):
    """A new customer (billing.models.CustomerIn; types checked strictly: no 1 for true, no "30" for 30)."""

    model_config = ConfigDict(strict=True)


class ProductCreate(ProductIn):
    """A new product (billing.models.ProductIn), its unit price a decimal string."""

    model_config = ConfigDict(strict=True)
    unit_price: DecimalIn


class TaxRateCreate(TaxRateIn):
    """A new tax rate (billing.models.TaxRateIn), its percent a decimal string ("19" or "7.5")."""

    model_config = ConfigDict(strict=True)
    percent: DecimalIn = Decimal(0)


class CustomerOut(Out):
    id: int
    name: str
    email: str
    address: str
    country: str
    tax_id: str
    currency: str
    terms_days: int
    notes: str
    einvoice_format: str
    language: str
    archived: bool
    created_at: Time
    updated_at: Time | None
    # The structured address and identifiers (EN 16931 BT-47..55; `address` is the printed text of the parts)
    street: str = ""
    additional_line: str = ""
    city: str = ""
    postcode: str = ""
    subdivision: str = ""
    legal_id: str = ""
    tax_registration: str = ""
    electronic_address: str = ""
    electronic_scheme: str = ""
    iban: str = ""  # the account its SEPA direct debit mandate debits (BT-91)


class CustomerPatch(In):
    """The fields to change; the others keep their values."""

    name: str | Optional = None
    email: str | Optional = None
    address: str | Optional = None
    country: str | Optional = None
    tax_id: str | Optional = None
    currency: str | Optional = None
    terms_days: int | Optional = None
    notes: str | Optional = None
    einvoice_format: str | Optional = None
    street: str | Optional = None
    additional_line: str | Optional = None
    city: str | Optional = None
    postcode: str | Optional = None
    subdivision: str | Optional = None
    legal_id: str | Optional = None
    tax_registration: str | Optional = None
    electronic_address: str | Optional = None
    electronic_scheme: str | Optional = None
    language: str | Optional = None
    iban: str | Optional = None


class BalanceOut(Out):
    currency: str
    outstanding: Amount
    overdue: Amount
    open_count: int
    overdue_count: int


class TaxRateOut(Out):
    id: int
    name: str
    category: str
    percent: Amount
    exemption_reason: str
    active: bool


class TaxRatePatch(In):
    name: str | Optional = None
    category: str | Optional = None
    percent: DecimalIn | Optional = None
    exemption_reason: str | Optional = None
    active: bool | Optional = None


class ProductOut(Out):
    id: int
    name: str
    sku: str
    unit: str
    unit_price: Amount
    currency: str
    tax_rate_id: int
    archived: bool


class ProductPatch(In):
    name: str | Optional = None
    sku: str | Optional = None
    unit: str | Optional = None
    unit_price: DecimalIn | Optional = None
    currency: str | Optional = None
    tax_rate_id: int | Optional = None
    archived: bool | Optional = None


class AgingRow(Out):
    currency: str
    buckets: dict[str, Amount]
    total: Amount
    open_invoices: int


class RevenueRow(Out):
    period: date
    currency: str
    group: str
    group_id: str | None
    invoiced: Amount
    net: Amount
    collected: Amount


class TaxReportRow(Out):
    currency: str
    vat_category: str
    vat_rate: Amount
    category_name: str
    documents: int
    invoices_taxable: Amount
    invoices_tax: Amount
    credit_taxable: Amount
    credit_tax: Amount
    taxable: Amount
    tax: Amount


Role = Literal["admin", "accountant", "analyst"]


class UserOut(Out):
    username: str
    name: str
    email: str
    role: str
    active: bool


class UserIn(In):
    username: str = Field(min_length=1, max_length=40)
    password: str = Field(min_length=1, max_length=1000)
    role: Role
    name: str = Field(default="", max_length=200)
    email: str = Field(default="", max_length=200)


class UserPatch(In):
    role: Role | Optional = None
    active: bool | Optional = None
    password: Annotated[str, Field(min_length=1, max_length=1000)] | Optional = None


class AuditEventOut(AuditEvent):
    """An audit event (billing.models.AuditEvent), its time in UTC."""

    occurred_at: Time
