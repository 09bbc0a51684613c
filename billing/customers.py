"""Customers: create, edit, archive, delete (only without documents), search."""

from __future__ import annotations

from typing import Any

from billing import audit
from billing.errors import NotFoundError, StateError
from billing.models import CustomerIn, parse
from billing.permissions import Actor, require
from billing.store import customers as customer_store
from billing.store import records
from billing.store.db import Database, utcnow
from billing.store.schema import customers


def create_customer(db: Database, actor: Actor, data: CustomerIn | dict[str, Any]) -> int:
    require(db, actor, "customers.write")
    customer = parse(CustomerIn, data)

    def work(conn: Any) -> int:
        now = utcnow()
        values = {**customer.model_dump(), "archived": False, "created_at": now, "updated_at": now}
        customer_id = records.insert(conn, customers, values)
        audit.record(conn, actor, "customer.create", "customer", customer_id, after=values)
        return customer_id

    return db.transaction(work)


def get_customer(db: Database, actor: Actor, customer_id: int) -> dict[str, Any]:
    """A customer's record (kept until a customer changes: the invoice editor reads it on every change)."""
    require(db, actor, "customers.read")

    def read() -> dict[str, Any] | None:
        with db.connect() as conn:
            return records.get(conn, customers, customer_id)

    row = db.results.get(("customer", customer_id), ("customers",), read)
    if row is None:
        raise NotFoundError(f"Customer {customer_id} does not exist.")
    return row


def update_customer(db: Database, actor: Actor, customer_id: int, data: CustomerIn | dict[str, Any]) -> None:
    require(db, actor, "customers.write")
    customer = parse(CustomerIn, data)

    def work(conn: Any) -> None:
        before = _existing(conn, customer_id)
        after = customer.model_dump()
        if after["currency"] != before["currency"] and customer_store.has_documents(conn, customer_id):
            raise StateError("This customer already has invoices or payments; their currency cannot change.")
        records.update(conn, customers, customer_id, {**after, "updated_at": utcnow()})
        audit.record(conn, actor, "customer.update", "customer", customer_id, before=before, after=after)

    db.transaction(work)


def set_archived(db: Database, actor: Actor, customer_id: int, archived: bool = True) -> None:
    require(db, actor, "customers.write")

    def work(conn: Any) -> None:
        before = _existing(conn, customer_id)
        records.update(conn, customers, customer_id, {"archived": archived, "updated_at": utcnow()})
        audit.record(conn, actor, "customer.archive" if archived else "customer.unarchive", "customer",
                     customer_id, before={"archived": before["archived"]}, after={"archived": archived})

    db.transaction(work)


def delete_customer(db: Database, actor: Actor, customer_id: int) -> None:
    """Delete a customer who has no invoices or payments; otherwise archive instead."""
    require(db, actor, "customers.write")

    def work(conn: Any) -> None:
        before = _existing(conn, customer_id)
        if customer_store.has_documents(conn, customer_id):
            raise StateError("This customer has invoices or payments and cannot be deleted. Archive them instead.")
        customer_store.delete(conn, customer_id)
        audit.record(conn, actor, "customer.delete", "customer", customer_id, before=before)

    db.transaction(work)


def search_customers(db: Database, actor: Actor, text: str = "", **kwargs: Any) -> tuple[list[dict[str, Any]], int]:
    """A page of customers matching `text` (name, email, tax id) and how many match; kept until a customer
    changes (a picker asks again on every run of its page)."""
    require(db, actor, "customers.read")

    def read() -> tuple[list[dict[str, Any]], int]:
        with db.connect() as conn:
            return customer_store.search(conn, text.strip(), **kwargs)

    return db.results.get(("customers", text.strip(), tuple(sorted(kwargs.items()))), ("customers",), read)


def customers_after(db: Database, actor: Actor, *, limit: int, starting_after: int | None = None,
                    **filters: Any) -> list[dict[str, Any]]:
    """Up to `limit` customers in id order after the id `starting_after` (filters: text, include_archived,
    currency, updated_since), for cursor pagination."""
    require(db, actor, "customers.read")
    with db.connect() as conn:
        return customer_store.after_id(conn, starting_after=starting_after, limit=limit, **filters)


def customer_options(db: Database, actor: Actor, text: str = "") -> list[tuple[int, str, str]]:
    require(db, actor, "customers.read")
    with db.connect() as conn:
        return customer_store.options(conn, text.strip())


def incomplete_addresses(db: Database, actor: Actor, limit: int = 50) -> tuple[list[tuple[int, str]], int]:
    """(id, name) of up to `limit` customers whose address has to be completed (street, city, post code: what an
    e-invoice needs), and how many there are."""
    require(db, actor, "customers.read")
    with db.connect() as conn:
        return customer_store.incomplete_addresses(conn, limit)


def _existing(conn: Any, customer_id: int) -> dict[str, Any]:
    row = records.get(conn, customers, customer_id)
    if row is None:
        raise NotFoundError(f"Customer {customer_id} does not exist.")
    return row
