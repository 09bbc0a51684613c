"""SQL of bank statements: imported lines (each once), decisions, learned IBANs, CSV mappings, the matcher's data."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

import pyarrow as pa
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from billing.store import bulk
from billing.store.bank_schema import (
    bank_csv_mappings,
    bank_decisions,
    bank_imports,
    bank_lines,
    bank_settings,
    customer_ibans,
)
from billing.store.invoices import balance_expr
from billing.store.records import contains
from billing.store.schema import customers, invoices, payments

_CHUNK = 5_000
LINE_COLUMNS = [c.name for c in bank_lines.columns if c.name != "id"]


def existing_keys(conn: Connection, keys: Sequence[str]) -> set[str]:
    """Which of these line keys are stored already (on DuckDB joined from Arrow: a list of 10,000 bound
    parameters takes seconds to compile)."""
    if conn.dialect.name == "duckdb" and keys:
        with _registered(conn, "_bank_keys_in", pa.table({"line_key": pa.array(list(keys), pa.string())})):
            return {str(key) for key in conn.exec_driver_sql(
                "SELECT line_key FROM bank_lines WHERE line_key IN (SELECT line_key FROM _bank_keys_in)").scalars()}
    found: set[str] = set()
    for start in range(0, len(keys), _CHUNK):
        chunk = list(keys[start:start + _CHUNK])
        found.update(conn.execute(sa.select(bank_lines.c.line_key).where(bank_lines.c.line_key.in_(chunk))).scalars())
    return found


def insert_import(conn: Connection, values: dict[str, Any]) -> int:
    return int(conn.execute(bank_imports.insert().values(**values).returning(bank_imports.c.id)).scalar_one())


def insert_lines(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Append statement lines in one bulk transfer (`bulk.load_arrow`: DuckDB's insert from Arrow, PostgreSQL's
    COPY), ids from the table's sequence: 10,000 lines in ~50 ms on DuckDB instead of seconds row by row."""
    if not rows:
        return
    columns = {"id": pa.array(bulk.next_ids(conn, "bank_lines_id_seq", len(rows)), pa.int64())}
    columns.update({name: pa.array([row[name] for row in rows], type=bulk.arrow_type(bank_lines.c[name].type))
                    for name in LINE_COLUMNS})
    bulk.load_arrow(conn, bank_lines, pa.table(columns))


@contextmanager
def _registered(conn: Connection, name: str, data: pa.Table) -> Iterator[None]:
    """An Arrow table visible to DuckDB's SQL under `name` while the block runs."""
    raw = conn.connection.dbapi_connection
    assert raw is not None
    raw.register(name, data)
    try:
        yield
    finally:
        raw.unregister(name)


def lines_of_keys(conn: Connection, keys: Sequence[str]) -> list[dict[str, Any]]:
    return _lines_where(conn, bank_lines.c.line_key, keys)


def lines_by_id(conn: Connection, ids: Sequence[int]) -> list[dict[str, Any]]:
    return _lines_where(conn, bank_lines.c.id, ids)


def _lines_where(conn: Connection, column: sa.Column[Any], values: Sequence[Any]) -> list[dict[str, Any]]:
    """The stored lines whose `column` is one of `values`, in chunks of bound parameters, oldest first."""
    rows: list[dict[str, Any]] = []
    for start in range(0, len(values), _CHUNK):
        chunk = list(values[start:start + _CHUNK])
        rows += [dict(r) for r in conn.execute(sa.select(bank_lines).where(column.in_(chunk))
                                               .order_by(bank_lines.c.id)).mappings()]
    return rows


def get_line(conn: Connection, line_id: int) -> dict[str, Any] | None:
    row = conn.execute(_lines_query().where(bank_lines.c.id == line_id)).mappings().first()
    return dict(row) if row is not None else None


def _lines_query() -> sa.Select[Any]:
    return (sa.select(bank_lines, bank_decisions.c.kind.label("decision"), bank_decisions.c.payment_id,
                      bank_decisions.c.category, bank_decisions.c.decided_by)
            .select_from(bank_lines.outerjoin(bank_decisions, bank_decisions.c.line_id == bank_lines.c.id)))


def list_lines(conn: Connection, *, undecided: bool | None = None, confidence: str | None = None,
               import_id: int | None = None, limit: int = 100, offset: int = 0) -> tuple[list[dict[str, Any]], int]:
    conditions: list[sa.ColumnElement[bool]] = []
    if undecided is not None:
        conditions.append(bank_decisions.c.line_id.is_(None) if undecided else bank_decisions.c.line_id.is_not(None))
    if confidence:
        conditions.append(bank_lines.c.confidence == confidence)
    if import_id is not None:
        conditions.append(bank_lines.c.import_id == import_id)
    where = sa.and_(sa.true(), *conditions)
    total = conn.execute(sa.select(sa.func.count()).select_from(
        bank_lines.outerjoin(bank_decisions, bank_decisions.c.line_id == bank_lines.c.id)).where(where)).scalar_one()
    rows = conn.execute(_lines_query().where(where).order_by(bank_lines.c.booking_date, bank_lines.c.id)
                        .limit(limit).offset(offset)).mappings()
    return [dict(r) for r in rows], int(total)


def undecided_lines(conn: Connection, confidence: str | None = None) -> list[dict[str, Any]]:
    return list_lines(conn, undecided=True, confidence=confidence, limit=1_000_000)[0]


def undecided_proposals(conn: Connection) -> list[tuple[int, str]]:
    """(line id, proposal JSON) of every undecided line."""
    rows = conn.execute(sa.select(bank_lines.c.id, bank_lines.c.proposal).select_from(
        bank_lines.outerjoin(bank_decisions, bank_decisions.c.line_id == bank_lines.c.id))
        .where(bank_decisions.c.line_id.is_(None))).all()
    return [(int(r.id), str(r.proposal)) for r in rows]


def set_proposals(conn: Connection, proposals: Iterable[tuple[int, str, str]]) -> None:
    """(line id, confidence, proposal JSON) for lines still undecided."""
    rows = [{"b_id": line_id, "b_confidence": confidence, "b_proposal": proposal}
            for line_id, confidence, proposal in proposals]
    if rows:
        conn.execute(bank_lines.update().where(bank_lines.c.id == sa.bindparam("b_id"))
                     .values(confidence=sa.bindparam("b_confidence"), proposal=sa.bindparam("b_proposal")), rows)


def proposal_text(conn: Connection, line_id: int) -> str | None:
    value = conn.execute(sa.select(bank_lines.c.proposal).where(bank_lines.c.id == line_id)).scalar()
    return None if value is None else str(value)


def is_decided(conn: Connection, line_id: int) -> bool:
    return conn.execute(sa.select(sa.literal(1)).where(bank_decisions.c.line_id == line_id)).first() is not None


def insert_decision(conn: Connection, values: dict[str, Any]) -> None:
    conn.execute(bank_decisions.insert().values(**values))


def learn_iban(conn: Connection, customer_id: int, iban: str, line_id: int, now: Any) -> bool:
    """Remember that the customer pays from this IBAN; False if it was known already."""
    known = conn.execute(sa.select(sa.literal(1)).where(customer_ibans.c.customer_id == customer_id,
                                                        customer_ibans.c.iban == iban)).first()
    if known is not None:
        return False
    conn.execute(customer_ibans.insert().values(customer_id=customer_id, iban=iban, learned_at=now, line_id=line_id))
    return True


def ibans_of(conn: Connection, customer_id: int) -> list[str]:
    return list(conn.execute(sa.select(customer_ibans.c.iban).where(customer_ibans.c.customer_id == customer_id)
                             .order_by(customer_ibans.c.iban)).scalars())


# -- what the matcher needs ---------------------------------------------------------------------------------

def open_invoices(conn: Connection, currencies: Sequence[str]) -> list[tuple[int, str, int, str, Any, Decimal]]:
    """Every issued invoice with money due, in these currencies: (id, number, customer id, currency, due date,
    balance). Plain tuples, and the balance as the driver's Decimal: 100,000 rows in a fraction of a second."""
    balance = sa.type_coerce(balance_expr(), sa.types.NullType())  # both drivers return NUMERIC as Decimal
    rows = conn.execute(
        sa.select(invoices.c.id, invoices.c.number, invoices.c.customer_id, invoices.c.currency,
                  invoices.c.due_date, balance)
        .where(invoices.c.status == "issued", invoices.c.kind == "invoice", invoices.c.is_open.is_(True),
               invoices.c.currency.in_(list(currencies)), balance_expr() > 0)).all()
    return [tuple(row) for row in rows]


def invoice_numbers(conn: Connection, ids: Iterable[int]) -> dict[int, str]:
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    rows = conn.execute(sa.select(invoices.c.id, invoices.c.number).where(invoices.c.id.in_(wanted))).all()
    return {int(r.id): str(r.number or "") for r in rows}


def search_open_invoices(conn: Connection, text: str, currency: str, limit: int) -> list[dict[str, Any]]:
    """Open invoices in a currency whose number or customer name contains `text`, oldest due first."""
    balance = balance_expr()
    query = (sa.select(invoices.c.id, invoices.c.number, invoices.c.customer_id, customers.c.name.label("customer"),
                       invoices.c.due_date, balance.label("balance"))
             .select_from(invoices.join(customers, customers.c.id == invoices.c.customer_id))
             .where(invoices.c.status == "issued", invoices.c.kind == "invoice", invoices.c.currency == currency,
                    balance > 0)
             .order_by(invoices.c.due_date, invoices.c.id).limit(limit))
    if text:
        pattern = contains(text)
        query = query.where(sa.or_(sa.func.lower(invoices.c.number).like(pattern, escape="\\"),
                                   sa.func.lower(customers.c.name).like(pattern, escape="\\")))
    return [dict(r) for r in conn.execute(query).mappings()]


def customers_with_ibans(conn: Connection) -> list[tuple[int, str, tuple[str, ...]]]:
    ibans: dict[int, list[str]] = defaultdict(list)
    for customer_id, iban in conn.execute(sa.select(customer_ibans.c.customer_id, customer_ibans.c.iban)).all():
        ibans[int(customer_id)].append(str(iban))
    rows = conn.execute(sa.select(customers.c.id, customers.c.name)).all()
    return [(int(r.id), str(r.name), tuple(ibans.get(int(r.id), ()))) for r in rows]


def payments_from_lines(conn: Connection) -> list[dict[str, Any]]:
    """Payments recorded from statement lines and not reversed since: what a return may take back."""
    reversals = payments.alias("reversals")
    reversed_ = sa.exists(sa.select(sa.literal(1)).select_from(reversals)
                          .where(reversals.c.reverses_payment_id == payments.c.id))
    rows = conn.execute(
        sa.select(payments.c.id, payments.c.customer_id, payments.c.amount, payments.c.currency,
                  bank_lines.c.end_to_end_id, bank_lines.c.counterparty_iban)
        .select_from(bank_decisions.join(bank_lines, bank_lines.c.id == bank_decisions.c.line_id)
                     .join(payments, payments.c.id == bank_decisions.c.payment_id))
        .where(bank_decisions.c.kind == "payment", ~reversed_).order_by(payments.c.id.desc())).all()
    return [r._asdict() for r in rows]


# -- CSV mappings and settings ------------------------------------------------------------------------------

def mapping_names(conn: Connection) -> list[str]:
    return list(conn.execute(sa.select(bank_csv_mappings.c.bank).order_by(bank_csv_mappings.c.bank)).scalars())


def get_mapping(conn: Connection, bank: str) -> str | None:
    value = conn.execute(sa.select(bank_csv_mappings.c.mapping).where(bank_csv_mappings.c.bank == bank)).scalar()
    return None if value is None else str(value)


def save_mapping(conn: Connection, bank: str, mapping: str, now: Any, by: str) -> None:
    conn.execute(bank_csv_mappings.delete().where(bank_csv_mappings.c.bank == bank))
    conn.execute(bank_csv_mappings.insert().values(bank=bank, mapping=mapping, updated_at=now, updated_by=by))


def auto_confirm(conn: Connection) -> bool:
    value = conn.execute(sa.select(bank_settings.c.auto_confirm_exact).where(bank_settings.c.id == 1)).scalar()
    return bool(value)


def set_auto_confirm(conn: Connection, on: bool, now: Any, by: str) -> None:
    conn.execute(bank_settings.delete().where(bank_settings.c.id == 1))
    conn.execute(bank_settings.insert().values(id=1, auto_confirm_exact=on, updated_at=now, updated_by=by))
