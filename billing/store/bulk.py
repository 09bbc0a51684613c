"""Bulk loading and dumping of whole tables through Arrow (demo data, backup and restore)."""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from billing.store import schema

# Money and quantities arrive as integers in a fixed minor unit and are scaled in SQL: multiplying
# a DECIMAL is exact in DuckDB and PostgreSQL, dividing is not (DuckDB gives DOUBLE).
_SCALED = {
    "MONEY": "CAST(CAST({col} AS DECIMAL(18,0)) * CAST({scale} AS DECIMAL(9,6)) AS DECIMAL(18,4))",
}


def load_arrow(conn: Connection, raw: Any, table: sa.Table, data: pa.Table,
               scaled: dict[str, str] | None = None) -> int:
    """Append an Arrow table to a database table in one statement.

    `scaled` maps a column to the name of an Arrow column holding its decimal scale factor
    (e.g. 0.01 for cents): the stored value is the integer column times that factor.
    """
    name = f"_load_{table.name}"
    raw.register(name, data)
    try:
        columns = [c.name for c in table.columns if c.name in data.column_names]
        exprs = []
        for column in columns:
            if scaled and column in scaled:
                exprs.append(_SCALED["MONEY"].format(col=f'"{column}"', scale=f'"{scaled[column]}"'))
            else:
                exprs.append(f'"{column}"')
        quoted = ", ".join(f'"{c}"' for c in columns)
        conn.exec_driver_sql(f"INSERT INTO {table.name} ({quoted}) SELECT {', '.join(exprs)} FROM {name}")
    finally:
        raw.unregister(name)
    return int(data.num_rows)


def advance_sequence(conn: Connection, sequence: str, to_value: int) -> None:
    """Make a DuckDB sequence hand out values above `to_value` (after loading explicit ids)."""
    current = int(conn.exec_driver_sql(f"SELECT nextval('{sequence}')").scalar_one())
    missing = int(to_value) - int(current)
    if missing > 0:
        conn.exec_driver_sql(f"SELECT max(nextval('{sequence}')) FROM range({missing})")


def table_names() -> list[str]:
    return [t.name for t in schema.metadata.sorted_tables]


def dump_table(conn: Connection, raw: Any, name: str) -> pa.Table:
    """A whole table as Arrow, in primary-key order (stable for checksums)."""
    table = schema.metadata.tables[name]
    order = ", ".join(f'"{c.name}"' for c in table.primary_key.columns) or "1"
    result: pa.Table = raw.sql(f"SELECT * FROM {name} ORDER BY {order}").to_arrow_table()
    return result


def count_rows(conn: Connection, name: str) -> int:
    return int(conn.execute(sa.select(sa.func.count()).select_from(schema.metadata.tables[name])).scalar_one())


def truncate_all(conn: Connection) -> None:
    for table in reversed(schema.metadata.sorted_tables):
        if table.name != "schema_version":
            conn.execute(table.delete())


def is_empty_of_documents(conn: Connection) -> bool:
    return count_rows(conn, "invoices") == 0 and count_rows(conn, "customers") == 0


def max_id(conn: Connection, name: str) -> int:
    table = schema.metadata.tables[name]
    return int(conn.execute(sa.select(sa.func.coalesce(sa.func.max(table.c.id), 0))).scalar_one())
