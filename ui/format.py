"""Display formatting: money per currency (Babel), dates, statuses."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from billing.money import format_money

STATUS_LABELS = {
    "draft": "Draft", "issued": "Issued", "void": "Void", "unpaid": "Unpaid", "partially_paid": "Partially paid",
    "paid": "Paid", "overdue": "Overdue", "credit_note": "Credit note", "open": "Open",
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
