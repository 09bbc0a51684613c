"""SQL of numbering series: the gapless counter row."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from billing.errors import NotFoundError
from billing.store.schema import series


def take_next(conn: Connection, code: str) -> tuple[int, str]:
    """Take the series' next number in the caller's transaction: (seq, pattern).

    The counter row is updated in the same transaction as the invoice, so a rolled-back issue
    gives its number back and two concurrent issues conflict on this row (one retries).
    """
    return take_many(conn, code, 1)


def take_many(conn: Connection, code: str, count: int) -> tuple[int, str]:
    """Take the series' next `count` numbers at once (a batch of recurring invoices): (first seq, pattern)."""
    row = conn.execute(
        series.update().where(series.c.code == code).values(next_seq=series.c.next_seq + count)
        .returning(series.c.next_seq, series.c.pattern)
    ).first()
    if row is None:
        raise NotFoundError(f"Numbering series {code} does not exist.")
    return int(row.next_seq) - count, str(row.pattern)


def highest_used(conn: Connection, code: str) -> int:
    """The highest sequence number already handed out in a series."""
    return int(conn.execute(sa.select(series.c.next_seq).where(series.c.code == code)).scalar_one()) - 1
