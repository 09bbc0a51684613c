"""Customer statements: what a customer owes in one currency over a period, entry by entry."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

import pandas as pd

from billing import logic
from billing.errors import NotFoundError
from billing.permissions import Actor, require
from billing.reports.common import (
    check_range,
    kept_report,
    money,
    to_frame,
)
from billing.store import statements as store
from billing.store.db import Database


@dataclass(frozen=True)
class Statement:
    """A customer statement for a period in one currency."""

    customer: dict[str, object]
    currency: str
    date_from: date
    date_to: date
    opening_balance: Decimal
    # columns: date, kind (invoice|credit_note|payment|refund|reversal), number, description,
    #          debit, credit, balance (running)
    entries: pd.DataFrame
    closing_balance: Decimal
    notes: list[str] = field(default_factory=list)
    voided: tuple[str, ...] = ()  # numbers of the period's voided invoices, left out (the notes say so)


DESCRIPTIONS = {"invoice": "Invoice", "credit_note": "Credit note", "payment": "Payment", "refund": "Refund",
                 "reversal": "Payment reversed"}


@kept_report
def customer_statement(db: Database, actor: Actor, customer_id: int, currency: str, date_from: date,
                       date_to: date) -> Statement:
    """What the customer owes: opening balance (everything before date_from), then invoices as
    debits, credit notes and payments as credits, refunds and reversals as debits, with a running
    balance. A negative balance is money the customer has in credit. Voided invoices are left out."""
    require(db, actor, "reports.read")
    check_range(date_from, date_to)
    with db.connect() as conn:
        customer = store.customer_row(conn, customer_id)
        if customer is None:
            raise NotFoundError(f"Customer {customer_id} does not exist.")
        opening_sum = store.opening_balance(conn, customer_id, currency, date_from)
        rows = store.period_entries(conn, customer_id, currency, date_from, date_to)
        voided = store.voided_in(conn, customer_id, currency, date_from, date_to)
    opening = money(opening_sum, currency)
    entries: list[dict[str, object]] = []
    running = opening_sum  # exact (Decimal) sums, each shown rounded to the currency
    for row in rows:
        running += row.debit - row.credit
        entries.append({"date": row.on, "kind": row.kind, "number": row.number, "description": _describe(row),
                        "debit": money(row.debit, currency), "credit": money(row.credit, currency),
                        "balance": money(running, currency)})
    closing = money(running, currency)
    shown = ", ".join(voided[:10]) + (f" and {len(voided) - 10} more" if len(voided) > 10 else "")
    many = len(voided) > 1
    notes = [f"Voided invoice{'s' if many else ''} {shown} {'are' if many else 'is'} not shown."] if voided else []
    frame = to_frame(entries, ["date", "kind", "number", "description", "debit", "credit", "balance"])
    return Statement(customer=customer, currency=currency, date_from=date_from, date_to=date_to,
                     opening_balance=opening, entries=frame, closing_balance=closing, notes=notes,
                     voided=tuple(voided))


def _describe(row: store.Entry) -> str:
    text = DESCRIPTIONS.get(str(row.kind), str(row.kind))
    if row.kind == logic.CREDIT_NOTE and row.reference:
        return f"{text} for invoice {row.reference}"
    if row.kind in ("payment", "refund", "reversal"):
        method = str(row.detail).replace("_", " ")
        return f"{text} ({method})" + (f": {row.reference}" if row.reference else "")
    return text
