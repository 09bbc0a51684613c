"""Display formatting: money per currency (Babel), dates, statuses."""

from __future__ import annotations

import functools
import re
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from babel import Locale
from babel.numbers import format_currency, format_decimal

from billing.money import format_money, minor_unit

STATUS_LABELS = {
    "draft": "Draft", "issued": "Issued", "void": "Void", "unpaid": "Unpaid", "partially_paid": "Partially paid",
    "paid": "Paid", "overdue": "Overdue", "credit_note": "Credit note", "credited": "Credited", "open": "Open",
}


AUDIT_ACTIONS = {
    "company.save": "Company profile saved", "customer.create": "Customer created",
    "customer.update": "Customer changed", "customer.archive": "Customer archived",
    "customer.delete": "Customer deleted", "database.restore": "Backup restored", "demo.load": "Demo data loaded",
    "invoice.create_draft": "Draft created", "invoice.update_draft": "Draft changed",
    "invoice.delete_draft": "Draft deleted", "invoice.issue": "Invoice issued", "invoice.void": "Invoice voided",
    "invoice.credit": "Credit note issued", "payment.record": "Payment recorded",
    "payment.allocate": "Payment allocated", "payment.refund": "Credit refunded", "payment.reverse": "Payment reversed",
    "product.create": "Product created", "product.update": "Product changed", "series.update": "Numbering changed",
    "tax_rate.create": "Tax rate created", "tax_rate.update": "Tax rate changed", "user.create": "User created",
    "user.update": "User changed", "bank.import": "Bank statement imported", "bank.decide": "Statement line decided",
    "bank.mapping": "Bank CSV mapping saved", "bank.settings": "Bank auto-confirm changed",
}


def audit_action(code: str) -> str:
    """'invoice.issue' -> 'Invoice issued' (an unknown code as words)."""
    return AUDIT_ACTIONS.get(code, code.replace(".", " ").replace("_", " ").capitalize())


def money(amount: Decimal | None, currency: str) -> str:
    return "" if amount is None else format_money(amount, currency)


def day(value: date | None) -> str:
    """The portal's one way of showing a date: '07 Dec 2026' (documents use the customer's locale instead)."""
    return value.strftime("%d %b %Y") if value else ""


def moment(value: datetime | None, *, seconds: bool = False) -> str:
    """A date and time as the portal shows them: '07 Dec 2026, 14:05' (with seconds: '14:05:09')."""
    return f"{day(value)}, {value.strftime('%H:%M:%S' if seconds else '%H:%M')}" if value else ""


def status(value: str) -> str:
    return STATUS_LABELS.get(value, value.replace("_", " ").capitalize())


# Column format of st.column_config.DateColumn (moment.js) that renders like `day`.
DAY_COLUMN_FORMAT = "DD MMM YYYY"
_ENGLISH = Locale("en")


def percent(value: Decimal | None) -> str:
    """19.0000 -> '19%', 7.5 -> '7.5%' (a tax rate as entered, without trailing zeros)."""
    return "" if value is None else f"{format_decimal(value, locale='en_US')}%"


def country(code: str | None) -> str:
    """'DE' -> 'Germany (DE)'; an unknown or empty code is shown as it is."""
    if not code:
        return ""
    name = _ENGLISH.territories.get(code.upper())
    return f"{name} ({code.upper()})" if name else code


def countries_with(code: str) -> list[str]:
    """Every two-letter country code for a picker, sorted by name, blank first; `code` included even if
    it is not a known one (kept as it is)."""
    known = _country_codes()
    return known if code in known else [code, *known]


@functools.cache
def _country_codes() -> list[str]:
    codes = [str(code) for code in _ENGLISH.territories]
    return ["", *sorted((c for c in codes if len(c) == 2 and c.isalpha()), key=country)]


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


_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]$~|<>^&])")
_BLOCK_START = re.compile(r"^[ \t]*(?:([-+=#])|(\d+)([.)])(?=\s|$)|)", re.MULTILINE)
# Streamlit's renderer makes links, icons and its logo out of TEXT, after backslash escapes are resolved:
# GFM autolink literals ("http://x.y", "www.x.y", "a@x.y"), ":material_name:" and ":streamlit:"; and it
# rewrites ":material/" in the source before parsing. An invisible word joiner splits each of them; after a
# colon it also breaks directives (":red[") and emoji codes, so a colon needs no escape. Not before a digit:
# times and numbers ("10:30", "INV:0042") stay as typed, at the price of ":100:" showing as an emoji.
_WORD_JOINER = "\u2060"
_TEXT_TO_MARKUP = re.compile(r"(?<=:)(?=[^\s\d])|(?<=www)(?=\.)|(?=@)", re.IGNORECASE)


def plain(text: Any) -> str:
    """User data made safe for st.markdown and every label Streamlit renders as Markdown (captions, titles,
    alerts, toasts, buttons, tabs, expanders, popovers, radio options, help tooltips): shown as typed, with
    no formatting, links, images, LaTeX ("$"), colour directives, icons or HTML entities.

    An invisible word joiner (U+2060) follows every colon that a letter or sign follows ("http:", ":red["),
    goes between "www" and "." and before "@", so that Streamlit makes no link, icon or directive of the
    text; text copied from the page keeps it.
    """
    joined = _TEXT_TO_MARKUP.sub(_WORD_JOINER, str(text))
    escaped = _MARKDOWN_SPECIAL.sub(r"\\\1", joined)
    # A heading, list marker, heading underline or thematic break only counts at the start of a line;
    # leading blanks are dropped (four of them would start a code block).
    return _BLOCK_START.sub(lambda m: f"\\{m[1]}" if m[1] else f"{m[2]}\\{m[3]}" if m[2] else "", escaped)


def plain_lines(text: str) -> str:
    return "  \n".join(plain(line) for line in str(text or "").splitlines() if line.strip())
