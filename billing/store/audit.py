"""SQL of the audit trail: append an event to the hash chain, read events back."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from billing.store.records import contains
from billing.store.schema import audit_events, audit_head, customers, invoices, payments, products, tax_rates


def append_event(conn: Connection, row: dict[str, Any]) -> None:
    """Append a hashed event after the chain's head (`row` has the id and prev_hash `head` gave).

    Updating the head row in the same transaction makes concurrent writers conflict (one retries),
    so ids stay dense and the chain never forks. The head is updated BEFORE the event is inserted:
    the other way round, two writers both insert event id N and DuckDB reports a duplicate primary
    key (a ConstraintException, not a retryable "Conflict on update").
    """
    conn.execute(audit_head.update().where(audit_head.c.id == 1).values(last_id=row["id"], last_hash=row["hash"]))
    conn.execute(audit_events.insert().values(**row))


def event_at(conn: Connection, event_id: int) -> dict[str, Any] | None:
    row = conn.execute(sa.select(audit_events).where(audit_events.c.id == event_id)).mappings().first()
    return None if row is None else dict(row)


def head_and_hash_of(conn: Connection, event_id: int) -> tuple[int, str, str | None]:
    """The head, and the hash of event `event_id` (None if there is no such event), in one query."""
    hash_of = sa.select(audit_events.c.hash).where(audit_events.c.id == event_id).scalar_subquery()
    row = conn.execute(sa.select(audit_head.c.last_id, audit_head.c.last_hash, hash_of)).one()
    return int(row[0]), str(row[1]), None if row[2] is None else str(row[2])


def iter_events(conn: Connection, batch: int = 50_000) -> Iterator[dict[str, Any]]:
    """Every event in id order, in batches (the chain can hold millions)."""
    last = 0
    while True:
        rows = conn.execute(
            sa.select(audit_events).where(audit_events.c.id > last).order_by(audit_events.c.id).limit(batch)
        ).mappings().all()
        if not rows:
            return
        for row in rows:
            yield dict(row)
        last = rows[-1]["id"]


def head(conn: Connection) -> tuple[int, str]:
    row = conn.execute(sa.select(audit_head.c.last_id, audit_head.c.last_hash)).one()
    return int(row.last_id), str(row.last_hash)


def list_events(
    conn: Connection,
    *,
    actor: str | None = None,
    entity: str | None = None,
    action: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 100,
    offset: int = 0,
) -> tuple[list[dict[str, Any]], int]:
    """A page of events, newest first, and how many match the filters."""
    where = _conditions(actor, entity, action, since, until)
    total = conn.execute(sa.select(sa.func.count()).select_from(audit_events).where(where)).scalar_one()
    rows = conn.execute(
        sa.select(audit_events).where(where).order_by(audit_events.c.id.desc()).limit(limit).offset(offset)
    ).mappings().all()
    return [dict(r) for r in rows], int(total)


def events_before(conn: Connection, *, before_id: int | None = None, limit: int = 100,
                  **filters: Any) -> list[dict[str, Any]]:
    """Up to `limit` events, newest first, with ids below `before_id` (a cursor's page)."""
    where = _conditions(**filters)
    if before_id is not None:
        where = sa.and_(where, audit_events.c.id < before_id)
    rows = conn.execute(sa.select(audit_events).where(where).order_by(audit_events.c.id.desc()).limit(limit))
    return [dict(r) for r in rows.mappings()]


def _conditions(actor: str | None = None, entity: str | None = None, action: str | None = None,
                since: datetime | None = None, until: datetime | None = None) -> sa.ColumnElement[bool]:
    conditions = []
    if actor:
        conditions.append(audit_events.c.actor == actor)
    if entity:
        conditions.append(audit_events.c.entity == entity)
    if action:
        conditions.append(sa.func.lower(audit_events.c.action).like(contains(action), escape="\\"))
    if since:
        conditions.append(audit_events.c.occurred_at >= since)
    if until:
        conditions.append(audit_events.c.occurred_at < until)
    return sa.and_(sa.true(), *conditions)


def record_names(conn: Connection, entity: str, ids: list[int]) -> dict[int, str]:
    """What people call the records an event names, by id: an invoice's number, a customer's or product's
    name, a payment's reference; only ids found and named (a draft has no number, a payment may have no
    reference)."""
    columns = {"invoice": (invoices, invoices.c.number), "customer": (customers, customers.c.name),
               "payment": (payments, payments.c.reference), "product": (products, products.c.name),
               "tax_rate": (tax_rates, tax_rates.c.name)}
    if entity not in columns or not ids:
        return {}
    table, name = columns[entity]
    rows = conn.execute(sa.select(table.c.id, name).where(table.c.id.in_(ids)))
    return {int(row[0]): str(row[1]) for row in rows if row[1]}
