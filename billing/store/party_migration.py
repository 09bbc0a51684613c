"""Migration 10's data step: free-text addresses split where sure, VAT ids compacted, issued documents frozen."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from billing.addresses import split_reliably
from billing.store.schema import company, customers, invoices
from billing.vat_ids import compact_vat_id, is_vat_id

_PARTS = ("street", "additional_line", "city", "postcode", "subdivision")


def _moved_over(row: dict[str, Any]) -> dict[str, Any]:
    """The new columns of a party row from its old ones: the address parts when the text splits surely (the text
    is kept either way; the customer page lists the ones left to complete), the VAT id compact when it is one,
    else moved to the tax registration as typed."""
    values: dict[str, Any] = {}
    if not any(row.get(name) for name in _PARTS):
        parts = split_reliably(row.get("address") or "")
        if parts is not None:
            values.update({name: getattr(parts, name) for name in _PARTS})
    tax_id = (row.get("tax_id") or "").strip()
    if tax_id and is_vat_id(tax_id):
        if compact_vat_id(tax_id) != row.get("tax_id"):
            values["tax_id"] = compact_vat_id(tax_id)
    elif tax_id and not row.get("tax_registration"):
        values.update(tax_id="", tax_registration=tax_id)
    return values


def _update_by_key(conn: Connection, table: sa.Table, key: str, rows: list[dict[str, Any]],
                   where: sa.ColumnElement[bool] | None = None, target: str = "id") -> None:
    """Update `table` from `rows` (each with `key` and the same string columns) in one statement, through a
    temporary table: a migration may meet a hundred thousand customers."""
    if not rows:
        return
    names = [name for name in rows[0] if name != key]
    temporary = sa.Table("party_migration_rows", sa.MetaData(), sa.Column(key, sa.BigInteger),
                         *(sa.Column(name, sa.String) for name in names), prefixes=["TEMPORARY"])
    temporary.create(conn)
    try:
        conn.execute(temporary.insert(), rows)
        statement = (table.update().values({name: temporary.c[name] for name in names})
                     .where(table.c[target] == temporary.c[key]))
        conn.execute(statement if where is None else statement.where(where))
    finally:
        temporary.drop(conn)


def split_addresses(conn: Connection) -> None:
    """Move the company's and every customer's old address and tax id over to the new columns."""
    profile = conn.execute(sa.select(company).where(company.c.id == 1)).mappings().first()
    if profile is not None:
        values = _moved_over(dict(profile))
        if values:
            conn.execute(company.update().where(company.c.id == 1).values(**values))
    columns = [customers.c.id, customers.c.address, customers.c.tax_id, customers.c.tax_registration,
               *(customers.c[name] for name in _PARTS)]
    changed: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in conn.execute(sa.select(*columns)).mappings():
        values = _moved_over(dict(row))
        if values:
            changed.setdefault(tuple(sorted(values)), []).append({"id": row["id"], **values})
    for rows in changed.values():
        _update_by_key(conn, customers, "id", rows)


def freeze_issued(conn: Connection) -> None:
    """Freeze seller and buyer onto the issued and voided documents that have no snapshot yet, as the profiles
    are now: the closest to what they showed when issued that is still known."""
    from billing.parties import customer_of_row, seller_of_company

    not_draft = sa.and_(invoices.c.status != "draft", invoices.c.buyer_party.is_(None))
    profile = conn.execute(sa.select(company).where(company.c.id == 1)).mappings().first()
    seller = json.dumps(asdict(seller_of_company(dict(profile))), ensure_ascii=False) if profile else ""
    conn.execute(invoices.update().where(not_draft, invoices.c.seller_party.is_(None)).values(seller_party=seller))
    rows = [{"customer_id": row["id"], "buyer_party": json.dumps(asdict(customer_of_row(dict(row))),
                                                                 ensure_ascii=False)}
            # the columns the table has at this version (later migrations add more: `language` in 14)
            for row in conn.exec_driver_sql("SELECT * FROM customers").mappings()]
    _update_by_key(conn, invoices, "customer_id", rows, where=not_draft, target="customer_id")
