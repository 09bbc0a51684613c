"""SQL of webhooks: endpoints, the event outbox, deliveries and attempts, the worker's lease."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from billing.store import records
from billing.store.schema import invoices, payments
from billing.store.webhook_schema import (
    webhook_attempts,
    webhook_deliveries,
    webhook_endpoints,
    webhook_events,
    webhook_lease,
)

PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"


# --- endpoints ---------------------------------------------------------------------------------

def insert_endpoint(conn: Connection, values: dict[str, Any]) -> int:
    return records.insert(conn, webhook_endpoints, values)


def get_endpoint(conn: Connection, endpoint_id: int) -> dict[str, Any] | None:
    return records.get(conn, webhook_endpoints, endpoint_id)


def list_endpoints(conn: Connection) -> list[dict[str, Any]]:
    return records.all_rows(conn, webhook_endpoints)


def update_endpoint(conn: Connection, endpoint_id: int, values: dict[str, Any]) -> None:
    records.update(conn, webhook_endpoints, endpoint_id, values)


def delete_endpoint(conn: Connection, endpoint_id: int, now: datetime) -> None:
    """Delete an endpoint; what was still to be delivered to it fails (its history stays)."""
    conn.execute(webhook_deliveries.update()
                 .where(webhook_deliveries.c.endpoint_id == endpoint_id, webhook_deliveries.c.status == PENDING)
                 .values(status=FAILED, next_attempt_at=None, finished_at=now, last_error="The endpoint was deleted."))
    conn.execute(webhook_endpoints.delete().where(webhook_endpoints.c.id == endpoint_id))


def subscribed_endpoints(conn: Connection, event_type: str) -> list[int]:
    """The active endpoints that take events of this type."""
    rows = conn.execute(sa.select(webhook_endpoints.c.id, webhook_endpoints.c.events)
                        .where(webhook_endpoints.c.active.is_(True)).order_by(webhook_endpoints.c.id))
    return [int(row.id) for row in rows if event_type in row.events.split(",")]


# --- the outbox ----------------------------------------------------------------------------------

def insert_event(conn: Connection, values: dict[str, Any], endpoint_ids: list[int], retry_until: datetime) -> None:
    """An event and one pending delivery of it per endpoint, in the caller's transaction."""
    conn.execute(webhook_events.insert().values(**values))
    for endpoint_id in endpoint_ids:
        conn.execute(webhook_deliveries.insert().values(
            event_id=values["id"], endpoint_id=endpoint_id, status=PENDING, attempts=0,
            next_attempt_at=values["created_at"], retry_until=retry_until, last_error="",
            created_at=values["created_at"]))


def due_deliveries(conn: Connection, now: datetime, limit: int) -> list[dict[str, Any]]:
    """Pending deliveries whose time has come, oldest first, with their event and endpoint."""
    query = (sa.select(webhook_deliveries.c.id, webhook_deliveries.c.attempts, webhook_deliveries.c.retry_until,
                       webhook_events.c.id.label("event_id"), webhook_events.c.type, webhook_events.c.payload,
                       webhook_events.c.created_at.label("event_created_at"), webhook_endpoints.c.url,
                       webhook_endpoints.c.secret)
             .join(webhook_events, webhook_events.c.id == webhook_deliveries.c.event_id)
             .join(webhook_endpoints, webhook_endpoints.c.id == webhook_deliveries.c.endpoint_id)
             .where(webhook_deliveries.c.status == PENDING, webhook_deliveries.c.next_attempt_at <= now)
             .order_by(webhook_deliveries.c.next_attempt_at, webhook_deliveries.c.id).limit(limit))
    return [dict(row._mapping) for row in conn.execute(query)]


def record_attempt(conn: Connection, delivery_id: int, attempt: dict[str, Any], delivery: dict[str, Any]) -> None:
    conn.execute(webhook_attempts.insert().values(delivery_id=delivery_id, **attempt))
    records.update(conn, webhook_deliveries, delivery_id, delivery)


def get_delivery(conn: Connection, delivery_id: int) -> dict[str, Any] | None:
    query = _deliveries_select().where(webhook_deliveries.c.id == delivery_id)
    row = conn.execute(query).first()
    return dict(row._mapping) if row else None


def update_delivery(conn: Connection, delivery_id: int, values: dict[str, Any]) -> None:
    records.update(conn, webhook_deliveries, delivery_id, values)


def deliveries_before(conn: Connection, *, before_id: int | None, limit: int, endpoint_id: int | None = None,
                      status: str | None = None, event_type: str | None = None) -> list[dict[str, Any]]:
    """Deliveries, newest first, below the id `before_id`, with their event's type and entity."""
    query = _deliveries_select().order_by(webhook_deliveries.c.id.desc()).limit(limit)
    if before_id is not None:
        query = query.where(webhook_deliveries.c.id < before_id)
    if endpoint_id is not None:
        query = query.where(webhook_deliveries.c.endpoint_id == endpoint_id)
    if status is not None:
        query = query.where(webhook_deliveries.c.status == status)
    if event_type is not None:
        query = query.where(webhook_events.c.type == event_type)
    return [dict(row._mapping) for row in conn.execute(query)]


def _deliveries_select() -> sa.Select[Any]:
    return (sa.select(*webhook_deliveries.c, webhook_events.c.type, webhook_events.c.entity,
                      webhook_events.c.entity_id, webhook_events.c.payload)
            .join(webhook_events, webhook_events.c.id == webhook_deliveries.c.event_id))


def attempts_of(conn: Connection, delivery_id: int) -> list[dict[str, Any]]:
    return records.all_rows(conn, webhook_attempts, delivery_id=delivery_id)


# --- overdue invoices ------------------------------------------------------------------------------

def newly_overdue(conn: Connection, as_of: date, since: date, limit: int) -> list[int]:
    """Open issued invoices due before `as_of` (and on or after `since`) without an invoice.overdue event yet."""
    reported = sa.select(webhook_events.c.entity_id).where(
        webhook_events.c.type == "invoice.overdue", webhook_events.c.entity_id == invoices.c.id)
    query = (sa.select(invoices.c.id)
             .where(invoices.c.is_open.is_(True), invoices.c.status == "issued", invoices.c.kind == "invoice",
                    invoices.c.due_date < as_of, invoices.c.due_date >= since, ~reported.exists())
             .order_by(invoices.c.due_date, invoices.c.id).limit(limit))
    return [int(row.id) for row in conn.execute(query)]


def reversal_of(conn: Connection, payment_id: int) -> int | None:
    """The id of the entry reversing this payment, if any."""
    value = conn.execute(sa.select(payments.c.id).where(payments.c.reverses_payment_id == payment_id)
                         .limit(1)).scalar()
    return int(value) if value is not None else None


# --- the lease --------------------------------------------------------------------------------------

def get_lease(conn: Connection, name: str) -> dict[str, Any] | None:
    return records.get(conn, webhook_lease, name, column="name")


def put_lease(conn: Connection, name: str, holder: str, expires_at: datetime, *,
              seen: dict[str, Any] | None) -> bool:
    """Take the lease if it is still as `seen` (None: there was none); False if someone changed it meanwhile."""
    if seen is None:
        conn.execute(webhook_lease.insert().values(name=name, holder=holder, expires_at=expires_at))
        return True
    changed = conn.execute(webhook_lease.update()
                           .where(webhook_lease.c.name == name, webhook_lease.c.holder == seen["holder"],
                                  webhook_lease.c.expires_at == seen["expires_at"])
                           .values(holder=holder, expires_at=expires_at))
    return changed.rowcount == 1


def drop_lease(conn: Connection, name: str, holder: str) -> None:
    conn.execute(webhook_lease.delete().where(webhook_lease.c.name == name, webhook_lease.c.holder == holder))
