"""SQL of recurring schedules and their runs (one row per schedule and period, the key that refuses a duplicate)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import pyarrow as pa
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from billing.store import bulk
from billing.store.automation_schema import recurring_runs, recurring_schedules
from billing.store.schema import customers

ACTIVE = "active"


def list_schedules(conn: Connection, *, status: str | None = None, schedule_id: int | None = None
                   ) -> list[dict[str, Any]]:
    """Schedules with their customer's name, newest first (`status`, `schedule_id`: only those)."""
    query = (sa.select(recurring_schedules, customers.c.name.label("customer"))
             .select_from(recurring_schedules.join(customers, customers.c.id == recurring_schedules.c.customer_id))
             .order_by(recurring_schedules.c.id.desc()))
    if status is not None:
        query = query.where(recurring_schedules.c.status == status)
    if schedule_id is not None:
        query = query.where(recurring_schedules.c.id == schedule_id)
    return [dict(row) for row in conn.execute(query).mappings()]


def claim_period(conn: Connection, schedule_id: int, period: int, now: datetime) -> bool:
    """Move an active schedule past `period` if no run has yet: True if this transaction claimed it.

    Two runners claiming the same period update the same row: on DuckDB the second conflicts and is
    retried, on PostgreSQL it waits for the first and then matches no row; either way it gets False.
    """
    result = conn.execute(recurring_schedules.update().where(
        recurring_schedules.c.id == schedule_id, recurring_schedules.c.next_period == period,
        recurring_schedules.c.status == ACTIVE).values(next_period=period + 1, last_error="", updated_at=now))
    return result.rowcount == 1


def record_run(conn: Connection, schedule_id: int, period: int, period_date: date, invoice_id: int,
               now: datetime) -> None:
    conn.execute(recurring_runs.insert().values(schedule_id=schedule_id, period=period, period_date=period_date,
                                                invoice_id=invoice_id, created_at=now))


def runs_of(conn: Connection, schedule_id: int) -> list[dict[str, Any]]:
    """The invoices a schedule created, latest period first."""
    query = (sa.select(recurring_runs).where(recurring_runs.c.schedule_id == schedule_id)
             .order_by(recurring_runs.c.period.desc()))
    return [dict(row) for row in conn.execute(query).mappings()]


def run_counts(conn: Connection) -> dict[int, int]:
    """Schedule id -> how many invoices it created."""
    query = sa.select(recurring_runs.c.schedule_id, sa.func.count()).group_by(recurring_runs.c.schedule_id)
    return {int(schedule_id): int(count) for schedule_id, count in conn.execute(query)}


def claim_periods(conn: Connection, periods: dict[int, int], now: datetime) -> set[int]:
    """`claim_period` for many schedules at once (schedule id -> period): the ids this transaction claimed."""
    if not periods:
        return set()
    expected = sa.case(periods, value=recurring_schedules.c.id)
    rows = conn.execute(recurring_schedules.update().where(
        recurring_schedules.c.id.in_(list(periods)), recurring_schedules.c.next_period == expected,
        recurring_schedules.c.status == ACTIVE)
        .values(next_period=recurring_schedules.c.next_period + 1, last_error="", updated_at=now)
        .returning(recurring_schedules.c.id))
    return {int(row[0]) for row in rows}


def insert_rows(conn: Connection, table: sa.Table, rows: list[dict[str, Any]]) -> None:
    """Append rows (all with the same keys) through Arrow: one load whatever their number, where a statement per
    row, or a many-row INSERT that SQLAlchemy compiles afresh each time, costs milliseconds per row."""
    if rows:
        columns = bulk.arrow_schema(table)
        data = pa.Table.from_pylist(rows, schema=pa.schema([columns.field(name) for name in rows[0]]))
        bulk.load_arrow(conn, table, data)


def new_ids(conn: Connection, sequence: str, count: int) -> list[int]:
    """`count` new ids from a sequence, ascending (for rows loaded in bulk with their ids)."""
    query = sa.select(sa.func.nextval(sequence)).select_from(sa.func.generate_series(1, count))
    return sorted(int(value) for value in conn.execute(query).scalars())
