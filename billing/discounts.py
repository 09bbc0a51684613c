"""A line's discount as text ("10% + 5.00": a percentage off and/or a fixed amount off), parsed and formatted."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from billing.errors import ValidationError
from billing.money import ZERO, amount_text, check_decimals, minor_unit, plain_number, to_decimal

PERCENT_DECIMALS = 4  # as stored (a rate column, NUMERIC(7, 4))
_SHAPE = "A discount is a percentage, an amount or both, such as 10%, 5.00 or 10% + 5.00"


def check_percent(value: Decimal) -> Decimal:
    """A line's percentage discount: 0 to 100, at most four decimals."""
    if value < 0 or value > 100:
        raise ValidationError("A line discount must be between 0% and 100%.")
    return check_decimals(value, PERCENT_DECIMALS, "discount")


def check_amount(value: Decimal) -> Decimal:
    """A line's fixed discount: not negative (its decimals are checked against the document's currency)."""
    if value < 0:
        raise ValidationError("A line discount amount cannot be negative.")
    return value


def parse_discount(text: str, currency: str) -> tuple[Decimal, Decimal]:
    """'10% + 5.00' -> (percent, amount): Decimal('10'), Decimal('5.00'). Empty text is no discount (0, 0).

    A part ending in % is the percentage, the other the amount in `currency`; either may be left out,
    in either order. A decimal comma is taken as in any amount (12,5%).
    """
    parts = [part.strip() for part in text.split("+")]
    percents = [part.removesuffix("%").strip() for part in parts if part.endswith("%")]
    amounts = [part for part in parts if part and not part.endswith("%")]
    if len(percents) > 1 or len(amounts) > 1:
        raise ValidationError(f"{_SHAPE}: '{text.strip()}' is not.")
    percent = check_percent(to_decimal(percents[0], "discount")) if percents else ZERO
    amount = ZERO
    if amounts:
        amount = check_amount(to_decimal(amounts[0], "discount amount"))
        check_decimals(amount, minor_unit(currency), "discount amount")
    return percent, amount


def format_discount(percent: Decimal, amount: Decimal, currency: str, *,
                    money: Callable[[Decimal, str], str] = amount_text,
                    number: Callable[[Decimal], str] = plain_number) -> str:
    """(10, 5.00) -> '10% + 5.00'; a zero part is left out, no discount is ''.

    `money` and `number` format the amount and the percentage: by default as a person types them, which
    `parse_discount` reads back; the screen and the PDF pass their own (with the currency's symbol, a locale).
    """
    parts = []
    if percent:
        parts.append(f"{number(percent)}%")
    if amount:
        parts.append(money(amount, currency))
    return " + ".join(parts)
