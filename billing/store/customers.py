"""SQL for customers: search with paging, and whether a customer has documents."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from billing.store.records import contains
from billing.store.schema import customers, invoices, payments


def _conditions(text: str, include_archived: bool, currency: str | None) -> sa.ColumnElement[bool]:
    conditions = []
    if text:
        pattern = contains(text)
        conditions.append(sa.or_(sa.func.lower(customers.c.name).like(pattern, escape="\\"),
                                 sa.func.lower(customers.c.email).like(pattern, escape="\\"),
                                 sa.func.lower(customers.c.tax_id).like(pattern, escape="\\")))
    if not include_archived:
        conditions.append(customers.c.archived.is_(False))
    if currency:
        conditions.append(customers.c.currency == currency)
    return sa.and_(sa.true(), *conditions)


def search(conn: Connection, text: str = "", *, include_archived: bool = False, currency: str | None = None,
           limit: int = 50, offset: int = 0) -> tuple[list[dict[str, Any]], int]:
    """A page of customers matching a search text (name, email, tax id), and the total count."""
    where = _conditions(text, include_archived, currency)
    total = conn.execute(sa.select(sa.func.count()).select_from(customers).where(where)).scalar_one()
    rows = conn.execute(
        sa.select(customers.c.id, customers.c.name, customers.c.email, customers.c.country,
                  customers.c.currency, customers.c.terms_days, customers.c.archived)
        .where(where).order_by(customers.c.name, customers.c.id).limit(limit).offset(offset)
    ).mappings().all()
    return [dict(r) for r in rows], int(total)


def after_id(conn: Connection, text: str = "", *, include_archived: bool = False, currency: str | None = None,
             updated_since: datetime | None = None, starting_after: int | None = None,
             limit: int = 50) -> list[dict[str, Any]]:
    """Up to `limit` whole customers in id order after the id `starting_after` (a cursor's page)."""
    where = _conditions(text, include_archived, currency)
    if updated_since is not None:
        where = sa.and_(where, sa.func.coalesce(customers.c.updated_at, customers.c.created_at) >= updated_since)
    if starting_after is not None:
        where = sa.and_(where, customers.c.id > starting_after)
    rows = conn.execute(sa.select(customers).where(where).order_by(customers.c.id).limit(limit)).mappings()
    return [dict(r) for r in rows]


def has_documents(conn: Connection, customer_id: int) -> bool:
    has_invoice = conn.execute(sa.select(sa.literal(1)).where(invoices.c.customer_id == customer_id).limit(1)).first()
    has_payment = conn.execute(sa.select(sa.literal(1)).where(payments.c.customer_id == customer_id).limit(1)).first()
    return has_invoice is not None or has_payment is not None


def delete(conn: Connection, customer_id: int) -> None:
    conn.execute(customers.delete().where(customers.c.id == customer_id))


def options(conn: Connection, text: str = "", limit: int = 50) -> list[tuple[int, str, str]]:
    """(id, name, currency) of active customers for a picker."""
    query = sa.select(customers.c.id, customers.c.name, customers.c.currency).where(customers.c.archived.is_(False))
    if text:
        query = query.where(sa.func.lower(customers.c.name).like(contains(text), escape="\\"))
    rows = conn.execute(query.order_by(customers.c.name).limit(limit)).all()
    return [(int(r.id), str(r.name), str(r.currency)) for r in rows]


def incomplete_addresses(conn: Connection, limit: int = 50) -> tuple[list[tuple[int, str]], int]:
    """(id, name) of active customers whose address is text only or lacks street, city or post code (migration 10
    split only what it could split surely), and how many there are."""
    where = sa.and_(customers.c.archived.is_(False), customers.c.address != "",
                    sa.or_(customers.c.street == "", customers.c.city == "", customers.c.postcode == ""))
    total = conn.execute(sa.select(sa.func.count()).select_from(customers).where(where)).scalar_one()
    rows = conn.execute(sa.select(customers.c.id, customers.c.name).where(where)
                        .order_by(customers.c.name, customers.c.id).limit(limit)).all()
    return [(int(r.id), str(r.name)) for r in rows], int(total)
