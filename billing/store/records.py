"""Generic row operations shared by the simple entities (customers, products, tax rates...)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection


def insert(conn: Connection, table: sa.Table, values: dict[str, Any]) -> int:
    """Insert a row and return its generated id."""
    return int(conn.execute(table.insert().values(**values).returning(table.c.id)).scalar_one())


def get(conn: Connection, table: sa.Table, key: object, column: str = "id") -> dict[str, Any] | None:
    row = conn.execute(sa.select(table).where(table.c[column] == key)).mappings().first()
    return dict(row) if row is not None else None


def get_many(conn: Connection, table: sa.Table, keys: Iterable[object], column: str = "id") -> list[dict[str, Any]]:
    """The rows whose `column` is one of `keys` (read to the end: nothing is left pending on the connection)."""
    wanted = list(keys)
    if not wanted:
        return []
    return [dict(row) for row in conn.execute(sa.select(table).where(table.c[column].in_(wanted))).mappings().all()]


def update(conn: Connection, table: sa.Table, key: object, values: dict[str, Any], column: str = "id") -> None:
    conn.execute(table.update().where(table.c[column] == key).values(**values))


def count(conn: Connection, table: sa.Table, **equals: Any) -> int:
    query = sa.select(sa.func.count()).select_from(table)
    for name, value in equals.items():
        query = query.where(table.c[name] == value)
    return int(conn.execute(query).scalar_one())


def all_rows(conn: Connection, table: sa.Table, order_by: str = "id", **equals: Any) -> list[dict[str, Any]]:
    query = sa.select(table).order_by(table.c[order_by])
    for name, value in equals.items():
        query = query.where(table.c[name] == value)
    return [dict(r) for r in conn.execute(query).mappings()]


def rows_with_ids(conn: Connection, table: sa.Table, ids: list[int]) -> list[dict[str, Any]]:
    if not ids:
        return []
    return [dict(r) for r in conn.execute(sa.select(table).where(table.c.id.in_(ids)).order_by(table.c.id)).mappings()]


def contains(text: str) -> str:
    """A LIKE pattern matching `text` anywhere, with its own % and _ taken literally (escape '\\')."""
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"
