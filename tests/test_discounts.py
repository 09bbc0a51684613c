"""A line's discount text (billing.discounts): parsed, refused with a clear message, formatted back."""

from __future__ import annotations

from decimal import Decimal

import pytest

from billing.discounts import check_amount, check_percent, format_discount, parse_discount
from billing.errors import ValidationError
from billing.money import format_money

D = Decimal


@pytest.mark.parametrize(("text", "currency", "percent", "amount"), [
    ("", "EUR", D(0), D(0)),
    ("   ", "EUR", D(0), D(0)),
    ("10%", "EUR", D(10), D(0)),
    ("5", "EUR", D(0), D(5)),
    ("5.00", "EUR", D(0), D("5.00")),
    ("10% + 5.00", "EUR", D(10), D("5.00")),
    ("5.00 + 10%", "EUR", D(10), D("5.00")),  # either order
    ("  10 % +5 ", "EUR", D(10), D(5)),
    ("10%+5", "EUR", D(10), D(5)),
    ("12.5%", "EUR", D("12.5"), D(0)),
    ("12,5%", "EUR", D("12.5"), D(0)),  # a decimal comma, as in any amount
    ("2,50", "EUR", D(0), D("2.50")),
    ("33.3333%", "EUR", D("33.3333"), D(0)),
    ("100%", "EUR", D(100), D(0)),
    ("0%", "EUR", D(0), D(0)),
    ("0.125", "KWD", D(0), D("0.125")),  # three decimals in a currency that has them
    ("500", "JPY", D(0), D(500)),
    ("+5", "EUR", D(0), D(5)),  # a leading plus sign is only a sign
    ("10% +", "EUR", D(10), D(0)),  # a trailing one is ignored
])
def test_parse(text: str, currency: str, percent: Decimal, amount: Decimal) -> None:
    assert parse_discount(text, currency) == (percent, amount)


@pytest.mark.parametrize(("text", "currency", "message"), [
    ("-10%", "EUR", "A line discount must be between 0% and 100%."),
    ("100.01%", "EUR", "A line discount must be between 0% and 100%."),
    ("150%", "EUR", "A line discount must be between 0% and 100%."),
    ("-5", "EUR", "A line discount amount cannot be negative."),
    ("10% + -5", "EUR", "A line discount amount cannot be negative."),
    ("10.12345%", "EUR", "Discount 10.12345 has more than 4 decimal places."),
    ("5.001", "EUR", "Discount amount 5.001 has more than 2 decimal places."),
    ("1.5", "JPY", "Discount amount 1.5 has more than 0 decimal places."),
    ("abc", "EUR", "Discount amount 'abc' is not a number."),
    ("ten%", "EUR", "Discount 'ten' is not a number."),
    ("%", "EUR", "Discount '' is not a number."),
    ("10% - 5", "EUR", "Discount amount '10% - 5' is not a number."),
    ("1,234", "EUR", "Discount amount '1,234' is ambiguous: write 1234 or 1.234."),
    ("10% + 5%", "EUR", "A discount is a percentage, an amount or both, such as 10%, 5.00 or 10% + 5.00: "
                        "'10% + 5%' is not."),
    ("5 + 3", "EUR", "A discount is a percentage, an amount or both, such as 10%, 5.00 or 10% + 5.00: "
                     "'5 + 3' is not."),
    ("NaN", "EUR", "Discount amount 'NaN' is not a number."),
])
def test_refused(text: str, currency: str, message: str) -> None:
    with pytest.raises(ValidationError) as raised:
        parse_discount(text, currency)
    assert raised.value.message == message


@pytest.mark.parametrize(("percent", "amount", "currency", "text"), [
    (D(0), D(0), "EUR", ""),
    (D("10.0000"), D(0), "EUR", "10%"),  # as stored: four decimals, shown without trailing zeros
    (D(0), D("5.0000"), "EUR", "5.00"),  # the currency's decimals
    (D("12.5"), D("5"), "EUR", "12.5% + 5.00"),
    (D(0), D("0.125"), "KWD", "0.125"),
    (D(0), D(500), "JPY", "500"),
    (D("33.3333"), D("0.10"), "EUR", "33.3333% + 0.10"),
])
def test_format(percent: Decimal, amount: Decimal, currency: str, text: str) -> None:
    assert format_discount(percent, amount, currency) == text


def test_format_with_the_caller_s_own_money_and_number_formats() -> None:
    text = format_discount(D("7.5"), D("5"), "EUR", money=lambda value, code: format_money(value, code, "de_DE"),
                           number=lambda value: str(value).replace(".", ","))
    assert text == "7,5% + 5,00\xa0€"


@pytest.mark.parametrize(("percent", "amount", "currency"), [
    (D(0), D(0), "EUR"), (D(10), D(0), "EUR"), (D(0), D("5.00"), "EUR"), (D("12.5"), D("5.00"), "EUR"),
    (D("0.0001"), D("0.01"), "EUR"), (D(100), D("99999.99"), "EUR"), (D("33.3333"), D("0.125"), "KWD"),
    (D(1), D(7), "JPY"),
])
def test_round_trip(percent: Decimal, amount: Decimal, currency: str) -> None:
    assert parse_discount(format_discount(percent, amount, currency), currency) == (percent, amount)


def test_the_checks_of_a_stored_discount_at_their_bounds() -> None:
    assert check_percent(D("99.9999")) == D("99.9999") and check_amount(D(0)) == D(0)
    with pytest.raises(ValidationError, match="between 0% and 100%"):
        check_percent(D("-0.0001"))
    with pytest.raises(ValidationError, match="cannot be negative"):
        check_amount(D("-0.01"))
