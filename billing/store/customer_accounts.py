"""SQL for the bank accounts (IBANs) bank matching learned a customer pays from."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from billing.store.bank_schema import customer_ibans


def learned_of(conn: Connection, customer_id: int) -> list[dict[str, Any]]:
    """The customer's learned IBANs with when and from which statement line, newest first."""
    rows = conn.execute(sa.select(customer_ibans.c.iban, customer_ibans.c.learned_at, customer_ibans.c.line_id)
                        .where(customer_ibans.c.customer_id == customer_id)
                        .order_by(customer_ibans.c.learned_at.desc(), customer_ibans.c.iban)).mappings()
    return [dict(row) for row in rows]


def forget(conn: Connection, customer_id: int, iban: str) -> bool:
    """Remove one learned IBAN; False when the customer had no such IBAN."""
    result = conn.execute(customer_ibans.delete().where(customer_ibans.c.customer_id == customer_id,
                                                        customer_ibans.c.iban == iban))
    return bool(result.rowcount)
