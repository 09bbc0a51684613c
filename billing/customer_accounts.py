"""The IBANs bank matching learned a customer pays from: listed on the customer page, removable."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.engine import Connection

from billing import audit
from billing.errors import NotFoundError
from billing.permissions import Actor, require
from billing.store import customer_accounts as account_store
from billing.store.db import Database


@dataclass(frozen=True, slots=True)
class LearnedIban:
    """An IBAN the customer paid from: when it was learned and from which bank statement line (None: unknown)."""

    iban: str
    learned_at: datetime
    line_id: int | None


def learned_ibans(db: Database, actor: Actor, customer_id: int) -> list[LearnedIban]:
    require(db, actor, "customers.read")
    with db.connect() as conn:
        return [LearnedIban(**row) for row in account_store.learned_of(conn, customer_id)]


def forget_iban(db: Database, actor: Actor, customer_id: int, iban: str) -> None:
    """Stop matching statement lines from this IBAN to the customer (a wrongly confirmed line, a closed account)."""
    require(db, actor, "customers.write")

    def work(conn: Connection) -> None:
        if not account_store.forget(conn, customer_id, iban):
            raise NotFoundError(f"Customer {customer_id} has no learned IBAN {iban}.")
        audit.record(conn, actor, "customer.forget_iban", "customer", customer_id, before={"iban": iban})

    db.transaction(work)
