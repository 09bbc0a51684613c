"""SQL of the API's idempotency keys: claim a key, store the response, prune old keys."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from billing.store.schema import idempotency_keys as keys


def _this(key: str, actor: str) -> sa.ColumnElement[bool]:
    return sa.and_(keys.c.key == key, keys.c.actor == actor)


def get(conn: Connection, key: str, actor: str) -> dict[str, Any] | None:
    row = conn.execute(sa.select(keys).where(_this(key, actor))).mappings().first()
    return None if row is None else dict(row)


def insert(conn: Connection, values: dict[str, Any]) -> None:
    conn.execute(keys.insert().values(**values))


def complete(conn: Connection, key: str, actor: str, status: int, response: str) -> None:
    conn.execute(keys.update().where(_this(key, actor)).values(status=status, response=response))


def delete(conn: Connection, key: str, actor: str) -> None:
    conn.execute(keys.delete().where(_this(key, actor)))


def prune(conn: Connection, before: datetime) -> None:
    conn.execute(keys.delete().where(keys.c.created_at < before))
