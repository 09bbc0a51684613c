"""SQL of quotes: the header with its totals and body, the list, and the sent quotes past their validity."""

from __future__ import annotations

from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from billing.store.automation_schema import quotes
from billing.store.schema import customers

SENT = "sent"


def _select() -> sa.Select[Any]:
    return (sa.select(quotes, customers.c.name.label("customer"))
            .select_from(quotes.join(customers, customers.c.id == quotes.c.customer_id)))


def get_quote(conn: Connection, quote_id: int) -> dict[str, Any] | None:
    row = conn.execute(_select().where(quotes.c.id == quote_id)).mappings().first()
    return dict(row) if row is not None else None


def list_quotes(conn: Connection, *, status: str | None = None, limit: int = 500) -> list[dict[str, Any]]:
    """Quotes with their customer's name, newest first, without their bodies."""
    query = _select().order_by(quotes.c.id.desc()).limit(limit)
    if status is not None:
        query = query.where(quotes.c.status == status)
    return [{k: v for k, v in row.items() if k != "body"} for row in conn.execute(query).mappings()]


def expire_sent(conn: Connection, as_of: date) -> list[int]:
    """Mark the sent quotes valid until before `as_of` as expired: their ids."""
    rows = conn.execute(quotes.update().where(quotes.c.status == SENT, quotes.c.valid_until < as_of)
                        .values(status="expired", decided_on=as_of).returning(quotes.c.id))
    return sorted(int(row[0]) for row in rows)
