"""Products and tax rates: what invoice lines are made of."""

from __future__ import annotations

from typing import Any

from billing import audit
from billing.errors import NotFoundError, ValidationError
from billing.models import ProductIn, TaxRateIn, parse
from billing.permissions import Actor, require
from billing.store import records
from billing.store.db import Database
from billing.store.schema import MAX_PRICE, products, tax_rates


def create_tax_rate(db: Database, actor: Actor, data: TaxRateIn | dict[str, Any]) -> int:
    require(db, actor, "products.write")
    rate = parse(TaxRateIn, data)

    def work(conn: Any) -> int:
        values = rate.model_dump()
        rate_id = records.insert(conn, tax_rates, values)
        audit.record(conn, actor, "tax_rate.create", "tax_rate", rate_id, after=values)
        return rate_id

    return db.transaction(work)


def update_tax_rate(db: Database, actor: Actor, rate_id: int, data: TaxRateIn | dict[str, Any]) -> None:
    """Change a tax rate. Issued invoices keep the rate they were issued with (copied on the line)."""
    require(db, actor, "products.write")
    rate = parse(TaxRateIn, data)

    def work(conn: Any) -> None:
        before = records.get(conn, tax_rates, rate_id)
        if before is None:
            raise NotFoundError(f"Tax rate {rate_id} does not exist.")
        records.update(conn, tax_rates, rate_id, rate.model_dump())
        audit.record(conn, actor, "tax_rate.update", "tax_rate", rate_id, before=before, after=rate.model_dump())

    db.transaction(work)


def list_tax_rates(db: Database, actor: Actor, active_only: bool = False) -> list[dict[str, Any]]:
    require(db, actor, "products.read")

    def read() -> list[dict[str, Any]]:
        with db.connect() as conn:
            return records.all_rows(conn, tax_rates)

    return [r for r in db.results.get("tax_rates", ("tax_rates",), read) if r["active"] or not active_only]


def get_tax_rate(conn: Any, rate_id: int) -> dict[str, Any]:
    """A tax rate by id inside a transaction (for the invoice services)."""
    row = records.get(conn, tax_rates, rate_id)
    if row is None:
        raise ValidationError(f"Tax rate {rate_id} does not exist.")
    return row


def create_product(db: Database, actor: Actor, data: ProductIn | dict[str, Any]) -> int:
    require(db, actor, "products.write")
    product = _check_price(parse(ProductIn, data))

    def work(conn: Any) -> int:
        get_tax_rate(conn, product.tax_rate_id)
        if records.count(conn, products, sku=product.sku):
            raise ValidationError(f"A product with SKU '{product.sku}' already exists.")
        values = {**product.model_dump(), "archived": False}
        product_id = records.insert(conn, products, values)
        audit.record(conn, actor, "product.create", "product", product_id, after=values)
        return product_id

    return db.transaction(work)


def update_product(db: Database, actor: Actor, product_id: int, data: ProductIn | dict[str, Any],
                   archived: bool | None = None) -> None:
    require(db, actor, "products.write")
    product = _check_price(parse(ProductIn, data))

    def work(conn: Any) -> None:
        before = records.get(conn, products, product_id)
        if before is None:
            raise NotFoundError(f"Product {product_id} does not exist.")
        get_tax_rate(conn, product.tax_rate_id)
        if product.sku != before["sku"] and records.count(conn, products, sku=product.sku):
            raise ValidationError(f"A product with SKU '{product.sku}' already exists.")
        after = {**product.model_dump(), "archived": before["archived"] if archived is None else archived}
        records.update(conn, products, product_id, after)
        audit.record(conn, actor, "product.update", "product", product_id, before=before, after=after)

    db.transaction(work)


def _check_price(product: ProductIn) -> ProductIn:
    if product.unit_price >= MAX_PRICE:
        raise ValidationError(f"The unit price {product.unit_price} is too large.")
    return product


def list_products(db: Database, actor: Actor, include_archived: bool = False) -> list[dict[str, Any]]:
    require(db, actor, "products.read")

    def read() -> list[dict[str, Any]]:
        with db.connect() as conn:
            return records.all_rows(conn, products, order_by="name")

    return [r for r in db.results.get("products", ("products",), read) if include_archived or not r["archived"]]
