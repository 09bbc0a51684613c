"""Payments: record, allocate (manually or oldest due first), apply credit, refund, reverse.

A customer's credit is money received and not allocated. Nothing is ever deleted: undoing an
allocation is a negative allocation row, removing a payment is a reversal entry.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import Any, Literal

from sqlalchemy.engine import Connection

from billing import audit, logic
from billing.errors import ChangedMeanwhileError, NotFoundError, StateError, ValidationError
from billing.models import PaymentIn, parse
from billing.money import ZERO, parse_money, quantize_row, round_money
from billing.permissions import Actor, require
from billing.store import facts, integrity, records
from billing.store import invoices as invoice_store
from billing.store import payments as payment_store
from billing.store.db import Database, utcnow
from billing.store.schema import customers
from billing.text import check_text
from billing.webhooks import events

PAYMENT_METHODS = ("bank_transfer", "card", "cash", "cheque", "direct_debit", "other")
AUTO: Literal["auto"] = "auto"
Allocation = tuple[int, Decimal | str]


def record_payment(db: Database, actor: Actor, data: PaymentIn | dict[str, Any],
                   allocate: Sequence[Allocation] | Literal["auto"] | None = None, *,
                   seen: Mapping[int, Decimal] | None = None,
                   within: Callable[[Connection, int], None] | None = None) -> int:
    """Record money received; optionally allocate it (a list of (invoice id, amount), or "auto").

    What is not allocated stays as customer credit. Everything happens in one transaction.
    `seen`: the customer's open invoices (id -> balance) the user was shown when they chose the allocation.
    If they differ now (another tab paid one meanwhile, one was issued), nothing is recorded and
    ChangedMeanwhileError says what changed; without `seen` (the user confirmed) it is not checked.
    `within(conn, payment_id)` runs in the same transaction once the payment is written (a bank statement
    line linking itself to it): what it raises records nothing.
    """
    return int(_record(db, actor, data, allocate, seen, within)["id"])


def record_payment_shown(db: Database, actor: Actor, data: PaymentIn | dict[str, Any],
                         allocate: Sequence[Allocation] | Literal["auto"] | None = None) -> dict[str, Any]:
    """Record a payment like `record_payment`; the payment as `get_payment` would read it back, built from what
    was written (the REST API answers with it: reading it again cost four queries)."""
    return _record(db, actor, data, allocate, None, None)


def _record(db: Database, actor: Actor, data: PaymentIn | dict[str, Any],
            allocate: Sequence[Allocation] | Literal["auto"] | None, seen: Mapping[int, Decimal] | None,
            within: Callable[[Connection, int], None] | None) -> dict[str, Any]:
    require(db, actor, "payments.write")
    payment = parse(PaymentIn, data)
    amount = parse_money(payment.amount, payment.currency)
    if amount <= 0:
        raise ValidationError("A payment amount must be greater than zero.")
    if payment.method not in PAYMENT_METHODS:
        raise ValidationError(f"Unknown payment method '{payment.method}'.")

    def work(conn: Connection) -> dict[str, Any]:
        customer = records.get(conn, customers, payment.customer_id)
        if customer is None:
            raise ValidationError(f"Customer {payment.customer_id} does not exist.")
        values = {"kind": "payment", "customer_id": payment.customer_id, "currency": payment.currency,
                  "amount": amount, "received_on": payment.received_on, "method": payment.method,
                  "reference": payment.reference, "created_at": utcnow(), "created_by": actor.username}
        if seen is not None and allocate is not None:
            _check_unchanged(conn, payment.customer_id, payment.currency, seen)
        payment_id = payment_store.insert_payment(conn, values)
        after: dict[str, Any] = values
        numbers: dict[int, str | None] = {}
        plan: list[tuple[int, Decimal]] = []
        written: list[dict[str, Any]] = []
        if allocate is not None:
            # A new payment is all remainder, and within the customer's credit (never negative).
            plan = _put_against_invoices(conn, {"id": payment_id, **values}, amount, allocate, payment.received_on,
                                         numbers, written)
            after = {**values, "allocations": _audited(plan)}
        # Sealed from what was just written (a new payment has no reversals): 2 statements fewer than reading it back.
        audit.record(conn, actor, "payment.record", "payment", payment_id, after=after,
                     written_payment=integrity.written_payment(
                         {"id": payment_id, **values, "reverses_payment_id": None}, written))
        events.payment_event(conn, "payment.recorded", payment_id)
        if within is not None:
            within(conn, payment_id)
        return _shown({"id": payment_id, **values, "reverses_payment_id": None}, plan, numbers)

    return db.transaction(work)


def _shown(payment: dict[str, Any], plan: list[tuple[int, Decimal]], numbers: dict[int, str | None]
           ) -> dict[str, Any]:
    """A new payment as `get_payment` reads it: its row, its allocations summed per invoice (in invoice id
    order, those summing to zero left out), not reversed; money in its currency's minor unit."""
    per_invoice: dict[int, Decimal] = {}
    for invoice_id, amount in plan:
        per_invoice[invoice_id] = per_invoice.get(invoice_id, ZERO) + amount
    shown = {**payment, "reversed": False, "allocations": [
        {"invoice_id": invoice_id, "number": numbers.get(invoice_id), "amount": amount}
        for invoice_id, amount in sorted(per_invoice.items()) if amount != 0]}
    for row in [shown, *shown["allocations"]]:
        quantize_row(row, payment["currency"])
    return shown


def _check_unchanged(conn: Connection, customer_id: int, currency: str, seen: Mapping[int, Decimal]) -> None:
    """Refuse unless the customer's open invoices in the currency are as the user saw them while allocating:
    one paid meanwhile would turn the payment into credit, one issued meanwhile would be paid unasked."""
    now = {int(r["id"]): r for r in invoice_store.open_invoices(conn, customer_id, currency)}
    changes = []
    for invoice_id in sorted(set(now) | set(seen)):
        before = round_money(Decimal(seen[invoice_id]), currency) if invoice_id in seen else None
        current = now.get(invoice_id)
        balance = round_money(Decimal(current["balance"]) if current else ZERO, currency)
        if before == balance:
            continue
        stored = None if current else invoice_store.get_header(conn, invoice_id)
        label = (current["number"] if current else stored.number if stored else None) or f"#{invoice_id}"
        if before is None:
            changes.append(f"invoice {label} ({balance} {currency}) was issued")
        elif current is None:
            changes.append(f"invoice {label} was settled (it had {before} {currency} open)")
        else:
            changes.append(f"invoice {label} now has {balance} {currency} open, not {before}")
    if changes:
        raise ChangedMeanwhileError(f"While you were filling in the payment, {'; '.join(changes)}. "
                                    "Nothing was recorded.")


def allocate_payment(db: Database, actor: Actor, payment_id: int,
                     allocate: Sequence[Allocation] | Literal["auto"], on: date) -> list[tuple[int, Decimal]]:
    """Allocate a payment's unallocated remainder to open invoices (this is how credit is applied)."""
    require(db, actor, "payments.write")
    logic.check_date(on, "The allocation date")
    return db.transaction(lambda conn: _allocate(conn, actor, payment_id, allocate, on))


def apply_credit(db: Database, actor: Actor, customer_id: int, currency: str, invoice_id: int,
                 amount: Decimal | str, on: date) -> None:
    """Put a customer's credit (unallocated payments, oldest first) against one of their invoices."""
    require(db, actor, "payments.write")
    logic.check_date(on, "The allocation date")
    value = parse_money(amount, currency)
    if value <= 0:
        raise ValidationError("The amount to apply must be greater than zero.")

    def work(conn: Connection) -> None:
        # The store keeps 4 decimals; amounts are shown (and compared) in the currency's minor unit.
        available = round_money(payment_store.customer_credit(conn, customer_id, currency), currency)
        if value > available:
            raise ValidationError(f"The customer has only {available} {currency} of credit.")
        remaining = value
        for source in payment_store.payments_with_remainder(conn, customer_id, currency):
            take = min(Decimal(source["remainder"]), remaining)
            _allocate(conn, actor, int(source["id"]), [(invoice_id, take)], on)
            remaining -= take
            if remaining <= 0:
                break

    db.transaction(work)


def refund_credit(db: Database, actor: Actor, customer_id: int, currency: str, amount: Decimal | str,
                  on: date, method: str = "bank_transfer", reference: str = "") -> int:
    """Pay a customer's credit back to them: a negative payment entry."""
    require(db, actor, "payments.write")
    logic.check_date(on, "The refund date")
    value = parse_money(amount, currency)
    if value <= 0:
        raise ValidationError("A refund must be greater than zero.")
    if method not in PAYMENT_METHODS:
        raise ValidationError(f"Unknown payment method '{method}'.")
    check_text(reference, "Refund reference", param="reference")

    def work(conn: Connection) -> int:
        # The store keeps 4 decimals; amounts are shown (and compared) in the currency's minor unit.
        available = round_money(payment_store.customer_credit(conn, customer_id, currency), currency)
        if value > available:
            raise ValidationError(f"The refund ({value}) is more than the customer's credit ({available} {currency}).")
        values = {"kind": "refund", "customer_id": customer_id, "currency": currency, "amount": -value,
                  "received_on": on, "method": method, "reference": reference, "created_at": utcnow(),
                  "created_by": actor.username}
        refund_id = payment_store.insert_payment(conn, values)
        audit.record(conn, actor, "payment.refund", "payment", refund_id, after=values)
        return refund_id

    return db.transaction(work)


def reverse_payment(db: Database, actor: Actor, payment_id: int, on: date, reason: str, *,
                    within: Callable[[Connection, int], None] | None = None) -> int:
    """Reverse a payment (a bounced transfer, a mistake): its allocations are released and a
    reversal entry cancels its amount. The original stays on record. `within(conn, reversal_id)`: as
    for record_payment."""
    require(db, actor, "payments.write")
    logic.check_date(on, "The reversal date")
    if not reason.strip():
        raise ValidationError("Please give a reason for reversing the payment.")
    check_text(reason, "Reversal reason", multiline=True, param="reason")

    def work(conn: Connection) -> int:
        payment = payment_store.get_payment(conn, payment_id)
        if payment is None:
            raise NotFoundError(f"Payment {payment_id} does not exist.")
        if payment["kind"] != "payment":
            raise StateError("Only a payment can be reversed.")
        if payment_store.is_reversed(conn, payment_id):
            raise StateError("This payment has already been reversed.")
        for item in payment_store.allocations_of_payment(conn, payment_id):
            payment_store.insert_allocation(conn, payment_id, item["invoice_id"], -item["amount"], on)
            invoice_store.add_to_amounts(conn, item["invoice_id"], on, paid=-item["amount"])
            facts.note_collected(conn, item["invoice_id"], on, -item["amount"])
        credit_after = payment_store.customer_credit(conn, payment["customer_id"], payment["currency"]) \
            - payment["amount"]
        if credit_after < 0:
            raise StateError("Part of this payment was already refunded; it cannot be reversed.")
        values = {"kind": "reversal", "customer_id": payment["customer_id"], "currency": payment["currency"],
                  "amount": -payment["amount"], "received_on": on, "method": payment["method"],
                  "reference": reason.strip(), "reverses_payment_id": payment_id, "created_at": utcnow(),
                  "created_by": actor.username}
        reversal_id = payment_store.insert_payment(conn, values)
        audit.record(conn, actor, "payment.reverse", "payment", payment_id, before=payment, after=values)
        events.payment_event(conn, "payment.reversed", payment_id)
        if within is not None:
            within(conn, reversal_id)
        return reversal_id

    return db.transaction(work)


def _allocate(conn: Connection, actor: Actor, payment_id: int,
              allocate: Sequence[Allocation] | Literal["auto"], on: date) -> list[tuple[int, Decimal]]:
    """Allocate what is left of a recorded payment, with its own audit event."""
    payment = payment_store.get_payment(conn, payment_id)
    if payment is None:
        raise NotFoundError(f"Payment {payment_id} does not exist.")
    if payment["kind"] != "payment" or payment_store.is_reversed(conn, payment_id):
        raise StateError("Only a payment that has not been reversed can be allocated.")
    # Refunds pay back credit without naming a payment: never allocate more than the customer still
    # has in credit, or refunded money would be spent a second time.
    remainder = min(payment["amount"] - payment_store.allocated_of_payment(conn, payment_id),
                    payment_store.customer_credit(conn, payment["customer_id"], payment["currency"]))
    plan = _put_against_invoices(conn, payment, remainder, allocate, on)
    if plan:
        audit.record(conn, actor, "payment.allocate", "payment", payment_id,
                     after={"allocations": _audited(plan), "on": on})
    return plan


def _put_against_invoices(conn: Connection, payment: dict[str, Any], remainder: Decimal,
                          allocate: Sequence[Allocation] | Literal["auto"], on: date,
                          numbers: dict[int, str | None] | None = None,
                          written: list[dict[str, Any]] | None = None) -> list[tuple[int, Decimal]]:
    """Write the allocations of `payment` (at most `remainder`) and keep each invoice's sums; `numbers` gets
    each invoice's number, `written` each allocation's row."""
    currency = payment["currency"]
    remainder = round_money(remainder, currency)
    if allocate == AUTO:
        open_items = [(int(r["id"]), r["due_date"], Decimal(r["balance"]))
                      for r in invoice_store.open_invoices(conn, payment["customer_id"], currency)]
        plan = logic.allocate_oldest_first(remainder, open_items)
    else:
        plan = [(int(invoice_id), parse_money(amount, currency, "allocation")) for invoice_id, amount in allocate]
    total = sum((amount for _, amount in plan), ZERO)
    if total > remainder:
        raise ValidationError(f"Allocations ({total}) exceed what is left of the payment ({remainder} {currency}).")
    for invoice_id, amount in plan:
        if amount <= 0:
            raise ValidationError("Each allocation must be greater than zero.")
        invoice = invoice_store.get_header(conn, invoice_id)
        if invoice is None:
            raise ValidationError(f"Invoice {invoice_id} does not exist.")
        label = invoice.number or "draft"
        if numbers is not None:
            numbers[invoice_id] = invoice.number
        if invoice.status != logic.ISSUED or invoice.kind != logic.INVOICE:
            raise StateError(f"Invoice {label} is {invoice.status}; payments can only go to issued invoices.")
        if invoice.customer_id != payment["customer_id"]:
            raise ValidationError(f"Invoice {label} belongs to another customer.")
        if invoice.currency != currency:
            raise ValidationError(f"Invoice {label} is in {invoice.currency}, the payment in {currency}.")
        balance = round_money(logic.invoice_balance(invoice.payable, invoice.paid_amount,
                                                    invoice.credited_amount), currency)
        if amount > balance:
            raise ValidationError(f"{amount} is more than the balance of invoice {label} ({balance} {currency}).")
        allocation_id = payment_store.insert_allocation(conn, payment["id"], invoice_id, amount, on)
        if written is not None:
            written.append({"payment_id": payment["id"], "id": allocation_id, "invoice_id": invoice_id,
                            "amount": amount, "allocated_on": on})
        invoice_store.add_to_amounts(conn, invoice_id, on, paid=amount)
        facts.note_collected(conn, invoice_id, on, amount)
    events.invoices_paid(conn, [invoice_id for invoice_id, _ in plan])
    return plan


def _audited(plan: list[tuple[int, Decimal]]) -> list[dict[str, Any]]:
    return [{"invoice_id": invoice_id, "amount": amount} for invoice_id, amount in plan]


def customer_credit(db: Database, actor: Actor, customer_id: int) -> dict[str, Decimal]:
    """Unallocated money per currency for a customer."""
    require(db, actor, "payments.read")
    with db.connect() as conn:
        credits = payment_store.credits_by_currency(conn, customer_id)
    return {cur: round_money(amount, cur) for cur, amount in credits.items() if amount != 0}


def list_payments(db: Database, actor: Actor, **filters: Any) -> tuple[list[dict[str, Any]], int]:
    require(db, actor, "payments.read")
    with db.connect() as conn:
        rows, total = payment_store.list_page(conn, **filters)
    return [quantize_row(row, row["currency"]) for row in rows], total


def payments_before(db: Database, actor: Actor, *, before_id: int | None, limit: int,
                    **filters: Any) -> list[dict[str, Any]]:
    """Up to `limit` entries (the list's filters), newest id first, below the id `before_id`: cursor pages."""
    require(db, actor, "payments.read")
    with db.connect() as conn:
        rows = payment_store.list_before_id(conn, before_id=before_id, limit=limit, **filters)
    return [quantize_row(row, row["currency"]) for row in rows]


def open_invoices(db: Database, actor: Actor, customer_id: int, currency: str) -> list[dict[str, Any]]:
    require(db, actor, "invoices.read")
    with db.connect() as conn:
        return invoice_store.open_invoices(conn, customer_id, currency)


def get_payment(db: Database, actor: Actor, payment_id: int) -> dict[str, Any]:
    require(db, actor, "payments.read")
    with db.connect() as conn:
        payment = payment_store.get_payment(conn, payment_id)
        if payment is None:
            raise NotFoundError(f"Payment {payment_id} does not exist.")
        payment["allocations"] = payment_store.allocations_of_payment(conn, payment_id)
        payment["reversed"] = payment_store.is_reversed(conn, payment_id)
    for row in [payment, *payment["allocations"]]:
        quantize_row(row, payment["currency"])
    return payment
