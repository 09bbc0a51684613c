"""Customers: list, get, create, update, archive; their open balances."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from api.auth import ActorDep, DatabaseDep
from api.pagination import MAX_ID, IdCursor, Limit, Since, book_date, page, utc
from api.routing import ApiRoute
from api.schemas import BalanceOut, CustomerCreate, CustomerOut, CustomerPatch, Page
from billing import customer_overview, customers
from billing.models import CustomerIn

router = APIRouter(prefix="/customers", tags=["customers"], route_class=ApiRoute)
CustomerId = Annotated[int, Path(ge=1, le=MAX_ID)]
_EDITABLE = tuple(CustomerIn.model_fields)
ADDRESS_PARTS = frozenset({"street", "additional_line", "city", "postcode", "subdivision"})


@router.get("", response_model=Page[CustomerOut], summary="List customers (id order)")
def list_customers(db: DatabaseDep, actor: ActorDep, limit: Limit = 20, starting_after: IdCursor = None,
                   q: Annotated[str, Query(max_length=200, description="Text in the name, email or tax id")] = "",
                   currency: Annotated[str | None, Query(max_length=3)] = None, include_archived: bool = False,
                   updated_since: Since = None) -> dict[str, Any]:
    rows = customers.customers_after(db, actor, limit=limit + 1, starting_after=starting_after, text=q,
                                     currency=currency, include_archived=include_archived,
                                     updated_since=utc(updated_since))
    return page(rows, limit, lambda row: row["id"])


@router.post("", response_model=CustomerOut, status_code=201, summary="Create a customer")
def create_customer(db: DatabaseDep, actor: ActorDep, body: CustomerCreate) -> dict[str, Any]:
    return customers.get_customer(db, actor, customers.create_customer(db, actor, body))


@router.get("/{customer_id}", response_model=CustomerOut, summary="Get a customer")
def get_customer(db: DatabaseDep, actor: ActorDep, customer_id: CustomerId) -> dict[str, Any]:
    return customers.get_customer(db, actor, customer_id)


@router.patch("/{customer_id}", response_model=CustomerOut, summary="Change some of a customer's fields")
def update_customer(db: DatabaseDep, actor: ActorDep, customer_id: CustomerId, body: CustomerPatch) -> dict[str, Any]:
    current = customers.get_customer(db, actor, customer_id)
    changes = body.model_dump(exclude_unset=True)
    if "address" in changes and not ADDRESS_PARTS & changes.keys():  # a new address as text: split it again
        changes |= dict.fromkeys(ADDRESS_PARTS, "")
    customers.update_customer(db, actor, customer_id, {**{k: current[k] for k in _EDITABLE}, **changes})
    return customers.get_customer(db, actor, customer_id)


@router.post("/{customer_id}/archive", response_model=CustomerOut, summary="Archive a customer")
def archive_customer(db: DatabaseDep, actor: ActorDep, customer_id: CustomerId) -> dict[str, Any]:
    customers.set_archived(db, actor, customer_id, True)
    return customers.get_customer(db, actor, customer_id)


@router.post("/{customer_id}/unarchive", response_model=CustomerOut, summary="Take a customer out of the archive")
def unarchive_customer(db: DatabaseDep, actor: ActorDep, customer_id: CustomerId) -> dict[str, Any]:
    customers.set_archived(db, actor, customer_id, False)
    return customers.get_customer(db, actor, customer_id)


@router.get("/{customer_id}/balances", response_model=list[BalanceOut],
            summary="What the customer owes per currency on a day (today by default)")
def customer_balances(db: DatabaseDep, actor: ActorDep, customer_id: CustomerId,
                      as_of: date | None = None) -> list[customer_overview.OpenBalance]:
    customers.get_customer(db, actor, customer_id)
    return customer_overview.open_balances(db, actor, customer_id, book_date(as_of or date.today(), "as_of"))
