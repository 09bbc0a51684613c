"""SQL of CSV imports: rows staged in batches beside their table, then moved into it in one statement.

A staging table (`import_staging_customers`, ...) has the columns of its table but the id, plus the
import it belongs to, the row's position in the file and when it was staged. Nothing reads it but the
import that staged it, so staged rows are never part of the books: those of an import that died (a
killed process) are just deleted by a later import. The staging tables are created on first use and
are not part of the schema (`schema.metadata`): backups, restores and verification never see them.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

import pyarrow as pa
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from billing.store.bulk import load_arrow
from billing.store.schema import products, tax_rates

_staging_metadata = sa.MetaData()


def _staging_table(table: sa.Table) -> sa.Table:
    return sa.Table(
        f"import_staging_{table.name}", _staging_metadata,
        sa.Column("import_id", sa.String, nullable=False),
        sa.Column("position", sa.BigInteger, nullable=False),
        sa.Column("staged_at", sa.DateTime, nullable=False),
        *[sa.Column(column.name, column.type, nullable=column.nullable) for column in table.columns
          if column.name != "id"],
    )


_STAGING: dict[str, sa.Table] = {}


def staging_table(table: sa.Table) -> sa.Table:
    """The staging table of a table (its definition; `prepare` creates it in the database)."""
    if table.name not in _STAGING:
        _STAGING[table.name] = _staging_table(table)
    return _STAGING[table.name]


def prepare(conn: Connection, table: sa.Table, active: Collection[str], staged_before: datetime | None) -> int:
    """Create the staging table if it is missing, and delete the rows of imports that are over: those not in
    `active` and, when `staged_before` is given, staged before then. Returns how many rows went."""
    staging = staging_table(table)
    staging.create(conn, checkfirst=True)
    condition: sa.ColumnElement[bool] = staging.c.import_id.not_in(list(active)) if active else sa.true()
    if staged_before is not None:
        condition = sa.and_(condition, staging.c.staged_at < staged_before)
    return int(conn.execute(staging.delete().where(condition)).rowcount or 0)


def stage(conn: Connection, table: sa.Table, import_id: str, first_position: int, rows: Sequence[dict[str, Any]],
          staged_at: datetime) -> None:
    """Add rows to the staging table, numbered from `first_position` in file order."""
    staging = staging_table(table)
    values = [{**row, "import_id": import_id, "position": first_position + n, "staged_at": staged_at}
              for n, row in enumerate(rows)]
    # Through Arrow: ~40 ms for 10k rows on DuckDB, against ~4 s as single inserts.
    load_arrow(conn, staging, pa.Table.from_pylist(values))


def unstage(conn: Connection, table: sa.Table, import_id: str) -> None:
    """Delete an import's staged rows."""
    staging = staging_table(table)
    conn.execute(staging.delete().where(staging.c.import_id == import_id))


def taken_skus(conn: Connection, import_id: str) -> list[tuple[int, str]]:
    """(position, SKU) of the staged products whose SKU a product already has."""
    staging = staging_table(products)
    query = (sa.select(staging.c.position, staging.c.sku)
             .join(products, products.c.sku == staging.c.sku)
             .where(staging.c.import_id == import_id).order_by(staging.c.position))
    return [(int(position), str(sku)) for position, sku in conn.execute(query)]


def unknown_tax_rates(conn: Connection, import_id: str) -> list[tuple[int, int]]:
    """(position, tax rate id) of the staged products whose tax rate does not exist."""
    staging = staging_table(products)
    query = (sa.select(staging.c.position, staging.c.tax_rate_id)
             .outerjoin(tax_rates, tax_rates.c.id == staging.c.tax_rate_id)
             .where(staging.c.import_id == import_id, tax_rates.c.id.is_(None)).order_by(staging.c.position))
    return [(int(position), int(rate)) for position, rate in conn.execute(query)]


def move_staged(conn: Connection, table: sa.Table, import_id: str) -> None:
    """Insert an import's staged rows into their table in file order, with ids from the table's sequence (as
    any other insert takes them, so rows created meanwhile by others keep theirs)."""
    staging = staging_table(table)
    columns = [column.name for column in table.columns if column.name != "id"]
    rows = (sa.select(*[staging.c[name] for name in columns])
            .where(staging.c.import_id == import_id).order_by(staging.c.position))
    conn.execute(table.insert().from_select(columns, rows))
