"""Products and tax rates: list, get, create, update (archive a product, deactivate a rate)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from api.auth import ActorDep, DatabaseDep
from api.pagination import MAX_ID, IdCursor, Limit, after, page
from api.routing import ApiRoute
from api.schemas import Page, ProductCreate, ProductOut, ProductPatch, TaxRateCreate, TaxRateOut, TaxRatePatch
from billing import catalog
from billing.errors import NotFoundError
from billing.models import ProductIn, TaxRateIn
from billing.permissions import Actor
from billing.store.db import Database

router = APIRouter(tags=["catalog"], route_class=ApiRoute)
ItemId = Annotated[int, Path(ge=1, le=MAX_ID)]


def _by_id(rows: list[dict[str, Any]], item_id: int, what: str) -> dict[str, Any]:
    found = next((row for row in rows if row["id"] == item_id), None)
    if found is None:
        raise NotFoundError(f"{what} {item_id} does not exist.")
    return found


def _product(db: Database, actor: Actor, product_id: int) -> dict[str, Any]:
    return _by_id(catalog.list_products(db, actor, include_archived=True), product_id, "Product")


def _tax_rate(db: Database, actor: Actor, rate_id: int) -> dict[str, Any]:
    return _by_id(catalog.list_tax_rates(db, actor), rate_id, "Tax rate")


@router.get("/products", response_model=Page[ProductOut], summary="List products (id order)")
def list_products(db: DatabaseDep, actor: ActorDep, limit: Limit = 20, starting_after: IdCursor = None,
                  include_archived: bool = False,
                  currency: Annotated[str | None, Query(max_length=3)] = None) -> dict[str, Any]:
    rows = [row for row in catalog.list_products(db, actor, include_archived=include_archived)
            if currency is None or row["currency"] == currency]
    return page(after(rows, lambda row: row["id"], starting_after, limit), limit, lambda row: row["id"])


@router.post("/products", response_model=ProductOut, status_code=201, summary="Create a product")
def create_product(db: DatabaseDep, actor: ActorDep, body: ProductCreate) -> dict[str, Any]:
    return _product(db, actor, catalog.create_product(db, actor, body))


@router.get("/products/{product_id}", response_model=ProductOut, summary="Get a product")
def get_product(db: DatabaseDep, actor: ActorDep, product_id: ItemId) -> dict[str, Any]:
    return _product(db, actor, product_id)


@router.patch("/products/{product_id}", response_model=ProductOut,
              summary="Change some of a product's fields (archived: true archives it)")
def update_product(db: DatabaseDep, actor: ActorDep, product_id: ItemId, body: ProductPatch) -> dict[str, Any]:
    current = _product(db, actor, product_id)
    changes = body.model_dump(exclude_unset=True)
    archived = changes.pop("archived", None)
    data = {**{k: current[k] for k in ProductIn.model_fields}, **changes}
    catalog.update_product(db, actor, product_id, data, archived=archived)
    return _product(db, actor, product_id)


@router.get("/tax-rates", response_model=Page[TaxRateOut], summary="List tax rates (id order)")
def list_tax_rates(db: DatabaseDep, actor: ActorDep, limit: Limit = 20, starting_after: IdCursor = None,
                   active_only: bool = False) -> dict[str, Any]:
    rows = catalog.list_tax_rates(db, actor, active_only=active_only)
    return page(after(rows, lambda row: row["id"], starting_after, limit), limit, lambda row: row["id"])


@router.post("/tax-rates", response_model=TaxRateOut, status_code=201, summary="Create a tax rate")
def create_tax_rate(db: DatabaseDep, actor: ActorDep, body: TaxRateCreate) -> dict[str, Any]:
    return _tax_rate(db, actor, catalog.create_tax_rate(db, actor, body))


@router.get("/tax-rates/{rate_id}", response_model=TaxRateOut, summary="Get a tax rate")
def get_tax_rate(db: DatabaseDep, actor: ActorDep, rate_id: ItemId) -> dict[str, Any]:
    return _tax_rate(db, actor, rate_id)


@router.patch("/tax-rates/{rate_id}", response_model=TaxRateOut,
              summary="Change some of a tax rate's fields (issued invoices keep the rate they were issued with)")
def update_tax_rate(db: DatabaseDep, actor: ActorDep, rate_id: ItemId, body: TaxRatePatch) -> dict[str, Any]:
    current = _tax_rate(db, actor, rate_id)
    data = {**{k: current[k] for k in TaxRateIn.model_fields}, **body.model_dump(exclude_unset=True)}
    catalog.update_tax_rate(db, actor, rate_id, data)
    return _tax_rate(db, actor, rate_id)
