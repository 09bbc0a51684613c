"""Events for webhooks, written to the outbox in the transaction of the change they report.

The services call these right after their audit record: whatever writes an invoice or a payment (portal, API,
CLI, bank statement matching) emits the same events. An event is written only when an active endpoint takes
its type, with one pending delivery per such endpoint; its `data` is the record as it is at that moment.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy.engine import Connection

from billing import logic
from billing.documents import InvoiceHeader
from billing.money import ZERO, round_money
from billing.store import invoices as invoice_store
from billing.store import payments as payment_store
from billing.store import webhooks as webhook_store
from billing.store.db import utcnow

RETRY_FOR = timedelta(days=3)


def invoice_event(conn: Connection, event_type: str, invoice_id: int) -> None:
    """invoice.issued, invoice.voided, invoice.overdue, invoice.paid or credit_note.issued of a document."""
    endpoint_ids = webhook_store.subscribed_endpoints(conn, event_type)
    if endpoint_ids:
        header = invoice_store.get_header(conn, invoice_id)
        assert header is not None  # the caller just read or wrote it
        _write(conn, event_type, "invoice", invoice_id, invoice_data(header), endpoint_ids)


def invoices_issued(conn: Connection, invoice_ids: Iterable[int]) -> None:
    """invoice.issued of each invoice of a batch issued at once (recurring invoices): one look for endpoints."""
    if webhook_store.subscribed_endpoints(conn, "invoice.issued"):
        for invoice_id in invoice_ids:
            invoice_event(conn, "invoice.issued", invoice_id)


def invoices_paid(conn: Connection, invoice_ids: Iterable[int]) -> None:
    """invoice.paid for each of these invoices that an allocation just settled (nothing left to pay)."""
    endpoint_ids = webhook_store.subscribed_endpoints(conn, "invoice.paid")
    for invoice_id in dict.fromkeys(invoice_ids) if endpoint_ids else ():
        header = invoice_store.get_header(conn, invoice_id)
        if header is not None and header.paid_amount > 0 and _balance(header) == 0:
            _write(conn, "invoice.paid", "invoice", invoice_id, invoice_data(header), endpoint_ids)


def payment_event(conn: Connection, event_type: str, payment_id: int) -> None:
    """payment.recorded or payment.reversed (the payment, with `reversed_by_payment_id`)."""
    endpoint_ids = webhook_store.subscribed_endpoints(conn, event_type)
    if not endpoint_ids:
        return
    payment = payment_store.get_payment(conn, payment_id)
    assert payment is not None  # the caller just read or wrote it
    currency = payment["currency"]
    allocations = [{"invoice_id": row["invoice_id"], "number": row["number"],
                    "amount": round_money(row["amount"], currency)}
                   for row in payment_store.allocations_of_payment(conn, payment_id)]
    data = {key: payment[key] for key in ("id", "kind", "customer_id", "currency", "received_on", "method",
                                         "reference", "reverses_payment_id")}
    data |= {"amount": round_money(payment["amount"], currency), "allocations": allocations}
    if event_type == "payment.reversed":
        data["reversed_by_payment_id"] = webhook_store.reversal_of(conn, payment_id)
    _write(conn, event_type, "payment", payment_id, data, endpoint_ids)


def invoice_data(header: InvoiceHeader) -> dict[str, Any]:
    """What an invoice event carries: the document's header, its money in its currency's minor unit."""
    currency = header.currency
    money = {name: round_money(getattr(header, name), currency)
             for name in ("tax_exclusive", "tax_total", "payable", "paid_amount", "credited_amount")}
    return {"id": header.id, "kind": header.kind, "number": header.number, "status": header.status,
            "customer_id": header.customer_id, "currency": currency, "issue_date": header.issue_date,
            "due_date": header.due_date, "credited_invoice_id": header.credited_invoice_id, **money,
            "balance": round_money(_balance(header), currency) if header.kind == logic.INVOICE else ZERO}


def _balance(header: InvoiceHeader) -> Decimal:
    return logic.invoice_balance(header.payable, header.paid_amount, header.credited_amount)


def _write(conn: Connection, event_type: str, entity: str, entity_id: int, data: dict[str, Any],
           endpoint_ids: list[int]) -> None:
    now = utcnow()
    webhook_store.insert_event(conn, {"id": "evt_" + secrets.token_hex(12), "type": event_type, "entity": entity,
                                      "entity_id": entity_id, "payload": to_json(data), "created_at": now},
                               endpoint_ids, now + RETRY_FOR)


def to_json(value: Any) -> str:
    """JSON with money as decimal strings and dates in ISO 8601."""
    return json.dumps(value, default=_json_default, separators=(",", ":"))


def _json_default(value: Any) -> str:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat() + "Z"
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON")
