"""Display formatting: money per currency (Babel), dates, statuses."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from babel import Locale
from babel.numbers import format_currency, format_decimal

from billing.money import format_money, minor_unit

STATUS_LABELS = {
    "draft": "Draft", "issued": "Issued", "void": "Void", "unpaid": "Unpaid", "partially_paid": "Partially paid",
    "paid": "Paid", "overdue": "Overdue", "credit_note": "Credit note", "credited": "Credited", "open": "Open",
}
STATUS_ICONS = {
    "draft": "📝", "void": "🚫", "unpaid": "🕒", "partially_paid": "◐", "paid": "✅", "overdue": "⚠️",
    "credit_note": "↩️",
}


def money(amount: Decimal | None, currency: str) -> str:
    return "" if amount is None else format_money(amount, currency)


def day(value: date | None) -> str:
    return value.strftime("%d %b %Y") if value else ""


def status(value: str) -> str:
    return f"{STATUS_ICONS.get(value, '')} {STATUS_LABELS.get(value, value.replace('_', ' ').capitalize())}".strip()


# Column format of st.column_config.DateColumn (moment.js) that renders like `day`.
DAY_COLUMN_FORMAT = "DD MMM YYYY"
_ENGLISH = Locale("en")


def percent(value: Decimal | None) -> str:
    """19.0000 -> '19 %', 7.5 -> '7.5 %' (a tax rate as entered, without trailing zeros)."""
    return "" if value is None else f"{format_decimal(value, locale='en_US')} %"


def country(code: str | None) -> str:
    """'DE' -> 'Germany (DE)'; an unknown or empty code is shown as it is."""
    if not code:
        return ""
    name = _ENGLISH.territories.get(code.upper())
    return f"{name} ({code.upper()})" if name else code


def currency(code: str | None) -> str:
    """'EUR' -> 'EUR · Euro'."""
    if not code:
        return ""
    name = _ENGLISH.currencies.get(code.upper())
    return f"{code.upper()} · {name}" if name else code


def label(value: str | None) -> str:
    """A stored code made readable: 'bank_transfer' -> 'Bank transfer'."""
    return (value or "").replace("_", " ").capitalize()


def price(amount: Decimal | None, currency: str) -> str:
    """A unit price: the currency's decimals at least, up to the 6 a price may carry (€0.0125 stays €0.0125)."""
    if amount is None:
        return ""
    digits = minor_unit(currency)
    pattern = "¤#,##0" + ("." + "0" * digits + "#" * (6 - digits) if digits < 6 else "." + "0" * digits)
    return format_currency(amount, currency, format=pattern, locale="en_US", currency_digits=False)
