"""Payments: list, get (with allocations), record (allocated explicitly or oldest due first), reverse, refund;
and a customer's statement."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from api.auth import ActorDep, DatabaseDep
from api.clock import company_today
from api.document_schemas import (
    Method,
    PaymentCreate,
    PaymentOut,
    PaymentSummaryOut,
    RefundIn,
    ReverseIn,
    StatementOut,
)
from api.pagination import MAX_ID, IdCursor, Limit, Since, book_date, currency_code, page, utc
from api.routing import ApiRoute
from api.schemas import Page
from billing import customers, payments, reports
from billing.money import ZERO
from billing.permissions import Actor
from billing.store.db import Database

router = APIRouter(tags=["payments"], route_class=ApiRoute)
PaymentId = Annotated[int, Path(ge=1, le=MAX_ID)]


def _payment(db: Database, actor: Actor, payment_id: int) -> dict[str, Any]:
    return payments.get_payment(db, actor, payment_id)


@router.get("/payments", response_model=Page[PaymentSummaryOut],
            summary="List payments, refunds and reversals (newest first)")
def list_payments(db: DatabaseDep, actor: ActorDep, limit: Limit = 20, starting_after: IdCursor = None,
                  customer_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
                  currency: Annotated[str | None, Query(min_length=3, max_length=3)] = None,
                  date_from: date | None = None, date_to: date | None = None,
                  method: Method | None = None, updated_since: Since = None) -> dict[str, Any]:
    rows = payments.payments_before(db, actor, before_id=starting_after, limit=limit + 1, customer_id=customer_id,
                                    currency=currency, method=method, updated_since=utc(updated_since),
                                    date_from=date_from and book_date(date_from, "date_from"),
                                    date_to=date_to and book_date(date_to, "date_to"))
    return page(rows, limit, lambda row: row["id"])


@router.post("/payments", response_model=PaymentOut, status_code=201,
             summary="Record money received; allocate it explicitly, oldest due first (\"auto\"), or not at all")
def record_payment(db: DatabaseDep, actor: ActorDep, body: PaymentCreate) -> dict[str, Any]:
    data = body.model_dump(exclude={"allocate"})
    allocate = (body.allocate if body.allocate is None or body.allocate == payments.AUTO
                else [(item.invoice_id, item.amount) for item in body.allocate])
    return payments.record_payment_shown(db, actor, data, allocate)


@router.get("/payments/{payment_id}", response_model=PaymentOut, summary="Get a payment and its allocations")
def get_payment(db: DatabaseDep, actor: ActorDep, payment_id: PaymentId) -> dict[str, Any]:
    return _payment(db, actor, payment_id)


@router.post("/payments/{payment_id}/reverse", response_model=PaymentOut, status_code=201,
             summary="Reverse a payment (a bounced transfer): its allocations released; answers the reversal")
def reverse_payment(db: DatabaseDep, actor: ActorDep, payment_id: PaymentId, body: ReverseIn) -> dict[str, Any]:
    on = body.reversed_on or company_today(db)
    return _payment(db, actor, payments.reverse_payment(db, actor, payment_id, on, body.reason))


@router.post("/payments/{payment_id}/refund", response_model=PaymentOut, status_code=201,
             summary="Pay customer credit back in the payment's currency (default: what is unallocated of it)")
def refund_payment(db: DatabaseDep, actor: ActorDep, payment_id: PaymentId,
                   body: RefundIn | None = None) -> dict[str, Any]:
    wanted = body or RefundIn()
    payment = _payment(db, actor, payment_id)
    amount = wanted.amount
    if amount is None:
        allocated = sum((item["amount"] for item in payment["allocations"]), ZERO)
        amount = max(Decimal(payment["amount"]) - allocated, ZERO)
    refund_id = payments.refund_credit(db, actor, payment["customer_id"], payment["currency"], amount,
                                       wanted.refunded_on or company_today(db), wanted.method, wanted.reference)
    return _payment(db, actor, refund_id)


@router.get("/customers/{customer_id}/statement", response_model=StatementOut, tags=["customers"],
            summary="A customer's statement in one currency over a period, with a running balance")
def customer_statement(db: DatabaseDep, actor: ActorDep, customer_id: PaymentId,
                       currency: Annotated[str | None, Query(min_length=3, max_length=3,
                                                             description="Default: the customer's")] = None,
                       date_from: Annotated[date | None, Query(alias="from",
                                                               description="Default: 1 January of `to`")] = None,
                       date_to: Annotated[date | None, Query(alias="to", description="Default: today")] = None,
                       ) -> dict[str, Any]:
    last = book_date(date_to or company_today(db), "to")
    first = book_date(date_from or date(last.year, 1, 1), "from")
    currency = currency_code(currency, "currency") if currency is not None else str(
        customers.get_customer(db, actor, customer_id)["currency"])
    statement = reports.customer_statement(db, actor, customer_id, currency, first, last)
    entries = [{**entry, "number": entry["number"] or None} for entry in statement.entries.to_dict(orient="records")]
    return {"customer_id": customer_id, "customer": statement.customer["name"], "currency": statement.currency,
            "date_from": statement.date_from, "date_to": statement.date_to,
            "opening_balance": statement.opening_balance, "entries": entries,
            "closing_balance": statement.closing_balance, "notes": statement.notes}

