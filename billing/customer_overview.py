"""One customer at a glance: what they owe per currency, their documents timeline, their audit trail."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from billing.money import ZERO, quantize_row, round_money
from billing.permissions import Actor, require
from billing.store import customer_overview as overview_store
from billing.store.db import Database


@dataclass(frozen=True, slots=True)
class OpenBalance:
    """What a customer owes in one currency on a day.

    outstanding: the balance of all issued invoices not yet settled; overdue: the part of it past due;
    open_count / overdue_count: how many invoices those are. Amounts are rounded to the currency.
    """

    currency: str
    outstanding: Decimal
    overdue: Decimal
    open_count: int
    overdue_count: int


def open_balances(db: Database, actor: Actor, customer_id: int, as_of: date) -> list[OpenBalance]:
    """The customer's open balance per currency (never summed across currencies), by currency code."""
    require(db, actor, "invoices.read")
    with db.connect() as conn:
        rows = overview_store.open_balances(conn, customer_id, as_of)
    return [OpenBalance(currency=r["currency"],
                        outstanding=round_money(Decimal(r["outstanding"]), r["currency"]),
                        overdue=round_money(Decimal(r["overdue"]), r["currency"]),
                        open_count=int(r["open_count"]), overdue_count=int(r["overdue_count"]))
            for r in rows]


def with_balances(db: Database, actor: Actor, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Customer rows (id, currency) with `balance`: what their open invoices in the customer's currency still
    owe, and `other_balances`: what is open in other currencies, as text ('USD 120.00'), never summed."""
    require(db, actor, "invoices.read")
    with db.connect() as conn:
        found = overview_store.open_balances_of(conn, [int(row["id"]) for row in rows])
    owed: dict[tuple[int, str], Decimal] = {(int(r["customer_id"]), str(r["currency"])): round_money(
        Decimal(r["outstanding"]), str(r["currency"])) for r in found}
    result = []
    for row in rows:
        own = owed.get((int(row["id"]), str(row["currency"])), round_money(ZERO, str(row["currency"])))
        others = sorted((currency, amount) for (cid, currency), amount in owed.items()
                        if cid == row["id"] and currency != row["currency"])
        result.append({**row, "balance": own,
                       "other_balances": ", ".join(f"{currency} {amount}" for currency, amount in others)})
    return result


def documents_timeline(db: Database, actor: Actor, customer_id: int, limit: int = 50,
                       offset: int = 0) -> tuple[list[dict[str, Any]], int]:
    """A page of the customer's invoices, credit notes, payments and refunds, newest first, and the count.

    Each row: on (date), kind (invoice, credit_note, payment, refund, reversal), reference (document
    number or payment reference), detail (document status or payment method), currency, amount, id.
    """
    require(db, actor, "invoices.read")
    require(db, actor, "payments.read")
    with db.connect() as conn:
        rows, total = overview_store.timeline(conn, customer_id, limit, offset)
    return [quantize_row(row, row["currency"]) for row in rows], total


def audit_trail(db: Database, actor: Actor, customer_id: int, limit: int = 50,
                offset: int = 0) -> tuple[list[dict[str, Any]], int]:
    """A page of audit events about the customer and its invoices and payments, newest first, and the count."""
    require(db, actor, "audit.read")
    with db.connect() as conn:
        return overview_store.audit_events_of(conn, customer_id, limit, offset)
