"""Deciding statement lines: confirm a payment (as proposed, to other invoices, or split), confirm a return as
the reversal of the payment it returns, or mark a line as not a customer payment. Each line is decided once.

Payments and reversals are recorded through billing.payments, so balances, reports and the audit trail
follow; the decision is written in the same transaction, and refuses a line decided meanwhile (another tab).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from billing import audit, payments
from billing.bank import service
from billing.bank.matching import OTHER, PAYMENT, REVERSAL, SURE, Proposal
from billing.bank.service import proposal_of
from billing.errors import BillingError, NotFoundError, StateError, ValidationError
from billing.money import parse_money, round_money
from billing.permissions import Actor, require
from billing.store import bank as bank_store
from billing.store import invoices as invoice_store
from billing.store.db import Database, utcnow

log = logging.getLogger("billing.bank")
CATEGORIES = ("fee", "other_income", "outgoing", "other")
_DECIDED = "This statement line was decided meanwhile (in another tab?): nothing was recorded."
_CHANGED = ("This line was matched again since you looked at it, and its proposal changed: look at the new one; "
            "nothing was recorded.")


def _line(db: Database, line_id: int) -> dict[str, Any]:
    with db.connect() as conn:
        row = bank_store.get_line(conn, line_id)
    if row is None:
        raise NotFoundError(f"Statement line {line_id} does not exist.")
    if row["decision"] is not None:
        raise StateError(f"This statement line was decided already by {row['decided_by']} ({decided_words(row)}): "
                         "nothing was recorded.")
    return row


def decided_words(row: dict[str, Any]) -> str:
    """What a line was decided to be, in words: 'payment 12', 'reversal 13', 'not a customer payment: fee'."""
    if row["decision"] == OTHER:
        return f"not a customer payment: {str(row['category']).replace('_', ' ')}"
    return f"{row['decision']} {row['payment_id']}"


def _decide(conn: Connection, actor: Actor, row: dict[str, Any], kind: str, payment_id: int | None,
            category: str = "", customer_id: int | None = None, proposal: str | None = None) -> None:
    """Write the decision in the caller's transaction (refused if there is one already, or if the line's
    proposal is no longer `proposal`, the one confirmed) and learn the IBAN."""
    if bank_store.is_decided(conn, int(row["id"])):
        raise StateError(_DECIDED)
    if proposal is not None and bank_store.proposal_text(conn, int(row["id"])) != proposal:
        raise StateError(_CHANGED)
    bank_store.insert_decision(conn, {"line_id": row["id"], "kind": kind, "payment_id": payment_id,
                                      "category": category, "decided_at": utcnow(), "decided_by": actor.username})
    learned = False
    if kind == PAYMENT and customer_id is not None and row["counterparty_iban"]:
        learned = bank_store.learn_iban(conn, customer_id, row["counterparty_iban"], int(row["id"]), utcnow())
    audit.record(conn, actor, "bank.decide", "bank_line", row["id"],
                 after={"kind": kind, "payment_id": payment_id, "category": category,
                        "learned_iban": row["counterparty_iban"] if learned else None})


def confirm_line(db: Database, actor: Actor, line_id: int, *, customer_id: int | None = None,
                 allocations: Sequence[tuple[int, Decimal | str]] | None = None, seen: Proposal | None = None) -> int:
    """Record what a line is: its proposal, or (with `allocations`) a payment put against those invoices
    (the customer is theirs, or `customer_id`; what is not allocated stays credit). Returns the payment or
    reversal id. Refused, with nothing recorded, if the line was decided meanwhile, or if its proposal is no
    longer `seen`, the one the user looked at (the line was matched again meanwhile). The other undecided lines
    whose proposal put money on an invoice this payment paid are matched again."""
    require(db, actor, "payments.write")
    payment_id, touched = _confirm(db, actor, line_id, customer_id, allocations, seen)
    _match_again(db, actor, touched)
    return payment_id


def _confirm(db: Database, actor: Actor, line_id: int, customer_id: int | None,
             allocations: Sequence[tuple[int, Decimal | str]] | None, seen: Proposal | None
             ) -> tuple[int, set[int]]:
    """confirm_line without matching again: the payment or reversal id, and the invoices it paid."""
    row = _line(db, line_id)
    proposal = proposal_of(row["proposal"])
    as_proposed = allocations is None and customer_id is None
    if as_proposed and seen is not None and seen != proposal:
        raise StateError(_CHANGED)
    currency, amount = row["currency"], round_money(Decimal(row["amount"]), row["currency"])
    checked = row["proposal"] if as_proposed else None
    if as_proposed and proposal.kind == REVERSAL and proposal.reverses is not None:
        reason = f"Returned by the bank ({row['return_code'] or 'R-transaction'}), statement line {line_id}"
        with _decided_meanwhile(db, line_id):
            reversal_id = payments.reverse_payment(
                db, actor, proposal.reverses, row["booking_date"], reason,
                within=lambda conn, _id: _decide(conn, actor, row, REVERSAL, proposal.reverses, proposal=checked))
        return reversal_id, set()
    if amount == 0:
        raise ValidationError("A line of zero moves no money: mark it as not a customer payment.")
    if amount < 0:
        raise ValidationError("Money going out is not a customer payment: mark it as such, or as the return of "
                              "a payment.")
    if allocations is None:
        if proposal.kind != PAYMENT or proposal.customer_id is None:
            raise ValidationError("There is no proposal to confirm: pick the invoice or the customer.")
        customer_id = proposal.customer_id if customer_id is None else customer_id
        plan = list(proposal.allocations) if customer_id == proposal.customer_id else []
    else:
        plan = [(int(i), parse_money(a, currency, "allocation")) for i, a in allocations]
        customer_id = _customer_of(db, [i for i, _ in plan]) if plan else customer_id
    if customer_id is None:
        raise ValidationError("Pick the customer who paid, or the invoices the line pays.")
    target = customer_id
    data = {"customer_id": target, "amount": amount, "currency": currency, "received_on": row["booking_date"],
            "method": "bank_transfer", "reference": _reference(row)}
    with _decided_meanwhile(db, line_id):
        payment_id = payments.record_payment(
            db, actor, data, allocate=plan,
            within=lambda conn, payment_id: _decide(conn, actor, row, PAYMENT, payment_id, customer_id=target,
                                                    proposal=checked))
    return payment_id, {invoice_id for invoice_id, _ in plan}


def _match_again(db: Database, actor: Actor, paid: set[int]) -> None:
    """Propose again for the lines whose proposal put money on an invoice just paid. The payment is recorded by
    then: should this fail, the lines keep their proposals ("Match the open lines again" renews them)."""
    try:
        service.rematch(db, actor, paid)
    except (BillingError, sa.exc.DBAPIError):
        log.warning("Matching the open statement lines again failed after a confirmation", exc_info=True)


@contextmanager
def _decided_meanwhile(db: Database, line_id: int) -> Iterator[None]:
    """A refusal because another tab decided the line first (the invoices it paid are paid now, or PostgreSQL
    refused the second decision of the line) says so."""
    try:
        yield
    except (BillingError, sa.exc.IntegrityError):
        with db.connect() as conn:
            if bank_store.is_decided(conn, line_id):
                raise StateError(_DECIDED) from None
        raise


def _customer_of(db: Database, invoice_ids: list[int]) -> int:
    with db.connect() as conn:
        headers = [invoice_store.get_header(conn, i) for i in invoice_ids]
    owners = {h.customer_id for h in headers if h is not None}
    if len(owners) != 1 or any(h is None for h in headers):
        raise ValidationError("A statement line pays the invoices of one customer: pick invoices of one customer.")
    return int(owners.pop())


def _reference(row: dict[str, Any]) -> str:
    text = row["remittance"] or row["bank_reference"] or row["counterparty_name"]
    return str(text)[:200]


def mark_not_payment(db: Database, actor: Actor, line_id: int, category: str) -> None:
    """Decide that a line is no customer payment (bank fees, other income, money going out)."""
    require(db, actor, "payments.write")
    if category not in CATEGORIES:
        raise ValidationError(f"Category must be one of {', '.join(CATEGORIES)}.")
    row = _line(db, line_id)
    db.transaction(lambda conn: _decide(conn, actor, row, OTHER, None, category))


def confirm_sure(db: Database, actor: Actor, import_id: int | None = None) -> tuple[int, list[str]]:
    """Confirm every undecided line whose proposal is sure (of one import, or all): how many were recorded,
    and why the others were not (an invoice paid meanwhile, ...). Then the lines left whose proposal put money
    on an invoice now paid are matched again."""
    require(db, actor, "payments.write")
    with db.connect() as conn:
        rows = [r for r in bank_store.undecided_lines(conn, confidence=SURE)
                if import_id is None or r["import_id"] == import_id]
    done, problems, touched = 0, [], set()
    for row in rows:
        try:
            touched |= _confirm(db, actor, int(row["id"]), None, None, None)[1]
            done += 1
        except BillingError as exc:
            problems.append(f"{row['booking_date']} {row['amount']:.2f} {row['currency']}: {exc.message}")
    _match_again(db, actor, touched)
    return done, problems


def find_open_invoices(db: Database, actor: Actor, text: str, currency: str, limit: int = 20) -> list[dict[str, Any]]:
    """Open invoices in a currency whose number or customer contains `text` (for picking another invoice)."""
    require(db, actor, "invoices.read")
    with db.connect() as conn:
        rows = bank_store.search_open_invoices(conn, text.strip(), currency, limit)
    for row in rows:
        row["balance"] = round_money(Decimal(row["balance"]), currency)
    return rows
