"""SQL of the outbox, the customer links and the worker leases."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from billing.store.mail_schema import document_links, outbox, worker_leases

QUEUED, SENDING, SENT, FAILED = "queued", "sending", "sent", "failed"


def insert_message(conn: Connection, values: dict[str, Any]) -> int:
    """Insert a message; if its dedupe_key is already there, nothing is written and that message's id returned."""
    key = values.get("dedupe_key")
    found = message_by_dedupe_key(conn, key) if key is not None else None
    if found is not None:
        return found
    return int(conn.execute(outbox.insert().values(**values).returning(outbox.c.id)).scalar_one())


def message_by_dedupe_key(conn: Connection, key: str) -> int | None:
    found = conn.execute(sa.select(outbox.c.id).where(outbox.c.dedupe_key == key)).scalar()
    return None if found is None else int(found)


def message(conn: Connection, message_id: int) -> dict[str, Any] | None:
    row = conn.execute(sa.select(outbox).where(outbox.c.id == message_id)).mappings().first()
    return dict(row) if row is not None else None


def due_ids(conn: Connection, now: datetime, limit: int) -> list[int]:
    """Queued messages whose time has come, and 'sending' ones whose attempt was cut off (the lease it ran
    under has expired: `stale_before`), oldest first."""
    query = (sa.select(outbox.c.id)
             .where(outbox.c.status.in_([QUEUED, SENDING]), outbox.c.next_attempt_at <= now)
             .order_by(outbox.c.next_attempt_at, outbox.c.id).limit(limit))
    return [int(i) for i in conn.execute(query).scalars()]


def claim(conn: Connection, ids: list[int], now: datetime, retry_at: datetime) -> list[dict[str, Any]]:
    """Record an attempt before it is made: status 'sending', attempts + 1, and the time after which an
    attempt that never reported back counts as cut off (`retry_at`). Returns the rows claimed (those still
    due), in the order of `ids`."""
    if not ids:
        return []
    due = sa.and_(outbox.c.id.in_(ids), outbox.c.status.in_([QUEUED, SENDING]), outbox.c.next_attempt_at <= now)
    claimed = [int(i) for i in conn.execute(sa.select(outbox.c.id).where(due)).scalars()]
    if not claimed:
        return []
    conn.execute(outbox.update().where(outbox.c.id.in_(claimed))
                 .values(status=SENDING, attempts=outbox.c.attempts + 1, last_attempt_at=now, next_attempt_at=retry_at))
    rows = {int(r["id"]): dict(r) for r in conn.execute(sa.select(outbox).where(outbox.c.id.in_(claimed))).mappings()}
    return [rows[i] for i in ids if i in rows]


def finish(conn: Connection, message_id: int, values: dict[str, Any]) -> None:
    conn.execute(outbox.update().where(outbox.c.id == message_id).values(**values))


def list_messages(conn: Connection, *, status: str | None, limit: int) -> list[dict[str, Any]]:
    query = sa.select(outbox).order_by(outbox.c.id.desc()).limit(limit)
    if status:
        query = query.where(outbox.c.status == status)
    return [dict(r) for r in conn.execute(query).mappings()]


def messages_of_document(conn: Connection, document_id: int, *, quote: bool) -> list[dict[str, Any]]:
    """The messages of an invoice or credit note (its reminders too), or of a quote (their ids overlap)."""
    of_kind = outbox.c.kind == "quote" if quote else outbox.c.kind != "quote"
    query = sa.select(outbox).where(outbox.c.document_id == document_id, of_kind).order_by(outbox.c.id)
    return [dict(r) for r in conn.execute(query).mappings()]


def counts_by_status(conn: Connection) -> dict[str, int]:
    query = sa.select(outbox.c.status, sa.func.count()).group_by(outbox.c.status)
    return {str(status): int(n) for status, n in conn.execute(query)}


# --- customer links ----------------------------------------------------------------------------------

def insert_link(conn: Connection, values: dict[str, Any]) -> int:
    return int(conn.execute(document_links.insert().values(**values).returning(document_links.c.id)).scalar_one())


def link(conn: Connection, link_id: int) -> dict[str, Any] | None:
    row = conn.execute(sa.select(document_links).where(document_links.c.id == link_id)).mappings().first()
    return dict(row) if row is not None else None


def link_nonces(conn: Connection, link_ids: list[int]) -> dict[int, str]:
    """The nonces of links by id (one query for a run's messages)."""
    if not link_ids:
        return {}
    query = sa.select(document_links.c.id, document_links.c.nonce).where(document_links.c.id.in_(link_ids))
    return {int(row.id): str(row.nonce) for row in conn.execute(query)}


def link_by_hash(conn: Connection, token_hash: str) -> dict[str, Any] | None:
    row = conn.execute(sa.select(document_links).where(document_links.c.token_hash == token_hash)).mappings().first()
    return dict(row) if row is not None else None


def links_of_document(conn: Connection, document_id: int, document_kind: str) -> list[dict[str, Any]]:
    query = (sa.select(document_links).where(document_links.c.document_id == document_id,
                                             document_links.c.document_kind == document_kind)
             .order_by(document_links.c.id))
    return [dict(r) for r in conn.execute(query).mappings()]


def update_link(conn: Connection, link_id: int, values: dict[str, Any]) -> None:
    conn.execute(document_links.update().where(document_links.c.id == link_id).values(**values))


def record_open(conn: Connection, link_id: int, now: datetime) -> None:
    conn.execute(document_links.update().where(document_links.c.id == link_id).values(
        first_opened_at=sa.func.coalesce(document_links.c.first_opened_at, now), last_opened_at=now,
        open_count=document_links.c.open_count + 1))


# --- leases ------------------------------------------------------------------------------------------

def lease(conn: Connection, name: str) -> dict[str, Any] | None:
    row = conn.execute(sa.select(worker_leases).where(worker_leases.c.name == name)).mappings().first()
    return dict(row) if row is not None else None


def insert_lease(conn: Connection, name: str, holder: str, expires_at: datetime) -> None:
    conn.execute(worker_leases.insert().values(name=name, holder=holder, expires_at=expires_at))


def take_lease(conn: Connection, name: str, holder: str, now: datetime, expires_at: datetime) -> bool:
    """Take or extend the lease if it is free (expired) or already this holder's; False otherwise."""
    result = conn.execute(worker_leases.update()
                          .where(worker_leases.c.name == name,
                                 sa.or_(worker_leases.c.holder == holder, worker_leases.c.expires_at <= now))
                          .values(holder=holder, expires_at=expires_at))
    return result.rowcount == 1


def release_lease(conn: Connection, name: str, holder: str, now: datetime) -> None:
    conn.execute(worker_leases.update().where(worker_leases.c.name == name, worker_leases.c.holder == holder)
                 .values(expires_at=now))
