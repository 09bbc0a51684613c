"""Currencies and exact Decimal money: parsing, validation and the one rounding rule.

Money is Decimal built from strings, never float. Amounts are rounded half away from zero
(ROUND_HALF_UP in Python's decimal, which is symmetric for negatives) to the currency's ISO 4217
minor unit, as EN 16931 prescribes for document amounts.
"""

from __future__ import annotations

import functools
import math
import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from babel.numbers import format_currency, list_currencies

from billing.errors import ValidationError

ZERO = Decimal(0)
_PLAIN_NUMBER = re.compile(r"^[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)$", re.ASCII)
# "1,234" could be a thousand or one and a bit: refused. "12,35" is a decimal comma.
_AMBIGUOUS = re.compile(r"^[+-]?[0-9]{1,3},[0-9]{3}$", re.ASCII)
_DECIMAL_COMMA = re.compile(r"^[+-]?[0-9]+,[0-9]+$", re.ASCII)
_GROUPED = re.compile(r"^[+-]?[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]*)?$", re.ASCII)
HUNDRED = Decimal(100)

# Amounts are stored as DECIMAL(18, 4); keep a safe margin below its range.
MAX_AMOUNT = Decimal("100000000000000")  # 10^14

# ISO 4217 minor units where they differ from 2 (CLDR differs from ISO for some, e.g. IQD).
_MINOR_UNITS: dict[str, int] = {
    **dict.fromkeys(
        ["BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG",
         "RWF", "UGX", "UYI", "VND", "VUV", "XAF", "XOF", "XPF"],
        0,
    ),
    **dict.fromkeys(["BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"], 3),
    **dict.fromkeys(["CLF", "UYW"], 4),
}
_NOT_MONEY = {"XAG", "XAU", "XBA", "XBB", "XBC", "XBD", "XDR", "XPD", "XPT", "XSU", "XTS", "XUA", "XXX"}
KNOWN_CURRENCIES: frozenset[str] = frozenset(c for c in list_currencies() if c not in _NOT_MONEY)


def check_currency(code: str) -> str:
    """Return the upper-cased ISO 4217 code, or raise if it is not a known currency."""
    normalised = (code or "").strip().upper()
    if normalised not in KNOWN_CURRENCIES:
        raise ValidationError(f"Unknown currency '{code}'. Use a three-letter ISO 4217 code such as EUR.")
    return normalised


def minor_unit(currency: str) -> int:
    """Number of decimals of the currency's minor unit (EUR 2, JPY 0, KWD 3)."""
    return _MINOR_UNITS.get(currency.upper(), 2)


@functools.cache
def quantum(currency: str) -> Decimal:
    return Decimal(1).scaleb(-minor_unit(currency))


def round_money(amount: Decimal, currency: str) -> Decimal:
    """Round half away from zero to the currency's minor unit (the EN 16931 rule)."""
    return amount.quantize(quantum(currency), rounding=ROUND_HALF_UP)


def round_to(amount: Decimal, decimals: int) -> Decimal:
    """Round half away from zero to a fixed number of decimals."""
    return amount.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)


def to_decimal(value: object, field: str = "amount") -> Decimal:
    """Turn user input (str, int, Decimal) into a finite Decimal; floats are refused.

    A float would already have lost the exact value the user typed, so it is a programming error
    to pass one; strings are parsed exactly.
    """
    if isinstance(value, bool):
        raise ValidationError(f"{field.capitalize()} must be a number.")
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValidationError(f"{field.capitalize()} must be a finite number.")
        raise TypeError(f"{field}: floats are not accepted for money; pass a string or Decimal")
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, str):
        text = value.strip()
        if _AMBIGUOUS.match(text):
            whole, point = text.replace(",", ""), text.replace(",", ".")
            raise ValidationError(f"{field.capitalize()} '{value}' is ambiguous: write {whole} or {point}.")
        if _GROUPED.match(text):
            text = text.replace(",", "")
        elif _DECIMAL_COMMA.match(text):
            text = text.replace(",", ".")
        if not _PLAIN_NUMBER.match(text):
            hint = " Use a dot for decimals, e.g. 1234.50." if "," in text else ""
            raise ValidationError(f"{field.capitalize()} '{value}' is not a number.{hint}")
        try:
            result = Decimal(text)
        except InvalidOperation:  # pragma: no cover - the pattern admits only valid literals
            raise ValidationError(f"{field.capitalize()} '{value}' is not a number.") from None
    else:
        raise ValidationError(f"{field.capitalize()} must be a number.")
    if not result.is_finite():
        raise ValidationError(f"{field.capitalize()} must be a finite number, not {value}.")
    if abs(result) >= MAX_AMOUNT:
        raise ValidationError(f"{field.capitalize()} {value} is too large.")
    return result


def plain_number(value: Decimal) -> str:
    """A quantity or rate as a person types it: 2, 1.5, 19 (no trailing zeros, no exponent)."""
    return format(value.normalize(), "f")


def amount_text(value: Decimal | None, currency: str) -> str:
    """An amount as a person types it, with at least the currency's decimals (120.00, 0.125); None is ''."""
    if value is None:
        return ""
    digits = max(minor_unit(currency), decimals_of(value))
    return f"{value:.{digits}f}"


def decimals_of(value: Decimal) -> int:
    """How many decimals a Decimal carries once trailing zeros are dropped."""
    exponent = value.normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def check_decimals(value: Decimal, allowed: int, field: str) -> Decimal:
    if decimals_of(value) > allowed:
        raise ValidationError(
            f"{field.capitalize()} {value} has more than {allowed} decimal place{'s' if allowed != 1 else ''}."
        )
    return value


def parse_money(value: object, currency: str, field: str = "amount") -> Decimal:
    """Parse an amount in a currency: finite, in range, no more decimals than the minor unit."""
    amount = to_decimal(value, field)
    check_decimals(amount, minor_unit(currency), field)
    return round_money(amount, currency)


def format_money(amount: Decimal, currency: str, locale: str = "en_US") -> str:
    """Format an amount for display with the currency's symbol and minor unit (Babel)."""
    return format_currency(amount, currency, locale=locale, currency_digits=True)


MONEY_FIELDS = frozenset({
    "line_total", "allowance_total", "charge_total", "tax_exclusive", "tax_total", "tax_inclusive", "prepaid",
    "rounding", "payable", "paid_amount", "credited_amount", "balance", "amount", "allocated", "unallocated",
    "net_amount", "discount_amount", "charge_amount", "taxable", "tax",
})


def quantize_row(row: dict[str, object], currency: str) -> dict[str, object]:
    """Round a stored row's money fields to the currency (the store keeps 4 decimals)."""
    for key, value in row.items():
        if key in MONEY_FIELDS and isinstance(value, Decimal):
            row[key] = round_money(value, currency)
    return row
