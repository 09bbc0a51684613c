"""The search box: customers, invoices (number, notes, purchase-order reference) and payments at once."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from billing.money import round_money
from billing.permissions import Actor, can, require
from billing.store import search as store
from billing.store.db import Database

MIN_LENGTH = 2  # one character would find nearly everything


@dataclass(frozen=True)
class Hit:
    """One thing found: kind ('customer', 'invoice', 'credit_note', 'payment', 'refund', 'reversal'), id, title
    (a name or a document number), customer (the name, on documents), day (issue or receipt date), amount and
    currency (on documents), status (invoice status or payment method)."""

    kind: str
    id: int
    title: str
    customer: str = ""
    day: date | None = None
    amount: Decimal | None = None
    currency: str = ""
    status: str = ""


@dataclass(frozen=True)
class SearchResults:
    """What a search found, by section; a section the user may not read is left empty."""

    customers: list[Hit] = field(default_factory=list)
    invoices: list[Hit] = field(default_factory=list)
    payments: list[Hit] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.customers) + len(self.invoices) + len(self.payments)


def search_everything(db: Database, actor: Actor, text: str, limit: int = 10) -> SearchResults:
    """Up to `limit` customers, invoices and payments whose text contains `text` (case-insensitive, literally),
    each section only if the actor may read it; nothing for fewer than MIN_LENGTH characters."""
    require(db, actor, "customers.read")
    text = text.strip()
    if len(text) < MIN_LENGTH:
        return SearchResults()
    with db.connect() as conn:
        found_customers = store.find_customers(conn, text, limit)
        found_invoices = store.find_invoices(conn, text, limit) if can(actor, "invoices.read") else []
        found_payments = store.find_payments(conn, text, limit) if can(actor, "payments.read") else []
    return SearchResults(
        customers=[Hit("customer", int(row["id"]), str(row["name"]), currency=str(row["currency"]),
                       status="archived" if row["archived"] else "") for row in found_customers],
        invoices=[Hit(str(row["kind"]), int(row["id"]), str(row["number"] or "Draft"), str(row["customer"]),
                      row["issue_date"], round_money(row["payable"], row["currency"]), str(row["currency"]),
                      str(row["status"])) for row in found_invoices],
        payments=[Hit(str(row["kind"]), int(row["id"]), str(row["reference"]), str(row["customer"]),
                      row["received_on"], round_money(row["amount"], row["currency"]), str(row["currency"]),
                      str(row["method"])) for row in found_payments])
