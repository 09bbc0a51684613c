"""Recurring invoices issued in batches: hundreds of periods priced in Python, written with a few statements.

Each invoice is what `invoice_service.insert_draft` + `issue_draft` would store (the same pricing, `compute_totals`,
numbers from the same series in the same order, the same sales facts and seals), but a batch claims its
periods, takes its numbers and inserts its headers, lines, VAT breakdowns and facts in one statement each, and
records one audit event that lists and seals every invoice of the batch. A statement costs milliseconds on
DuckDB whatever it writes, so this is what lets `run-due` issue thousands of invoices a minute.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date
from typing import Any

from sqlalchemy.engine import Connection

from billing import audit, dispatch, logic, parties
from billing import invoices as invoice_service
from billing.documents import InvoiceHeader, StoredAllowanceCharge, StoredLine, from_row, total_values
from billing.errors import BillingError
from billing.models import InvoiceDraftIn
from billing.money import ZERO
from billing.permissions import Actor
from billing.seals import document_digest
from billing.store import facts, integrity, records
from billing.store import recurring as recurring_store
from billing.store import series as series_store
from billing.store.automation_schema import recurring_runs
from billing.store.db import utcnow
from billing.store.schema import (
    customers,
    invoice_allowances,
    invoice_lines,
    invoice_taxes,
    invoices,
    products,
    sales_facts,
    tax_rates,
)
from billing.webhooks import events

BATCH_SIZE = 500


@dataclass(frozen=True, slots=True)
class DuePeriod:
    """One period of a schedule to invoice: its date `on`, the schedule's template, and whether to send."""

    schedule_id: int
    period: int
    on: date
    template: InvoiceDraftIn
    send: bool


@dataclass(frozen=True, slots=True)
class _Priced:
    due: DuePeriod
    customer: dict[str, Any]
    currency: str
    lines: list[StoredLine]
    allowance_charges: list[StoredAllowanceCharge]
    totals: logic.Totals


def issue_batch(conn: Connection, actor: Actor, batch: list[DuePeriod], as_of: date
                ) -> tuple[list[int], dict[int, str]]:
    """Create and issue the invoices of `batch` (at most one period per schedule, in date order) in the caller's
    transaction. Returns the new invoice ids in batch order and, per schedule, why its invoice could not be made
    (that schedule's period stays unclaimed). A period another runner claimed first is left out."""
    priced, failed = _priced(conn, batch)
    claimed = recurring_store.claim_periods(conn, {item.due.schedule_id: item.due.period for item in priced}, utcnow())
    priced = [item for item in priced if item.due.schedule_id in claimed]
    if not priced:
        return [], failed
    now = utcnow()
    first, pattern = series_store.take_many(conn, invoices_series(), len(priced))
    new_ids = recurring_store.new_ids(conn, "invoices_id_seq", len(priced))
    seller_text, buyers, seller = parties.frozen_texts(conn, [int(item.customer["id"]) for item in priced])
    headers = [{**_header(item, invoice_id, logic.format_number(pattern, first + index, item.due.on), actor, now),
                "seller_party": seller_text, "buyer_party": buyers[int(item.customer["id"])]}
               for index, (invoice_id, item) in enumerate(zip(new_ids, priced, strict=True))]
    seller_country = seller.country if seller else ""
    for header in headers:  # as `issue_draft` dates a German seller's delivery
        header["delivery_date"] = logic.delivery_date_at_issue(seller_country, header["delivery_date"],
                                                               header["period_start"], header["issue_date"])
    bodies: dict[Any, list[dict[str, Any]]] = {invoices: headers, invoice_lines: [], invoice_allowances: [],
                                               invoice_taxes: [], sales_facts: [], recurring_runs: []}
    seals: dict[str, list[str]] = {}
    for invoice_id, item, header in zip(new_ids, priced, headers, strict=True):
        taxes = invoice_service.tax_records(item.totals)
        lines = [{**_values(line), "invoice_id": invoice_id} for line in item.lines]
        allowances = [{**_values(part), "invoice_id": invoice_id} for part in item.allowance_charges]
        tax_rows = [{**_values(tax), "invoice_id": invoice_id} for tax in taxes]
        bodies[invoice_lines] += lines
        bodies[invoice_allowances] += allowances
        bodies[invoice_taxes] += tax_rows
        bodies[sales_facts] += facts.sales_rows(from_row(InvoiceHeader, header), item.lines, taxes)
        bodies[recurring_runs].append({"schedule_id": item.due.schedule_id, "period": item.due.period,
                                       "period_date": item.due.on, "invoice_id": invoice_id, "created_at": now})
        seals[str(invoice_id)] = [logic.ISSUED, document_digest(integrity.written_document(header, lines, allowances,
                                                                                           tax_rows))]
    for table, rows in bodies.items():
        recurring_store.insert_rows(conn, table, rows)
    events.invoices_issued(conn, new_ids)  # as `issue_draft` announces one invoice
    for invoice_id, item in zip(new_ids, priced, strict=True):
        if item.due.send:  # once the invoice is there: the outbox reads it
            dispatch.request_send(conn, dispatch.INVOICE, invoice_id, "issued", as_of, created_by=actor.username)
    listed = [{"invoice_id": invoice_id, "number": header["number"], "schedule_id": item.due.schedule_id,
               "period": item.due.period, "issue_date": item.due.on, "payable": item.totals.payable}
              for invoice_id, item, header in zip(new_ids, priced, headers, strict=True)]
    # One event lists the batch and seals each invoice as `seals.seal_for` seals one issued alone.
    audit.record(conn, actor, "recurring.issue", "recurring_run", as_of.isoformat(),
                 after={"invoices": listed, "sealed": {"documents": seals}})
    return new_ids, failed


def _values(record: Any) -> dict[str, Any]:
    """A record's fields as a row (`dataclasses.asdict` copies deeply, which costs more than the rest here)."""
    return {name: getattr(record, name) for name in _FIELDS.setdefault(type(record), [f.name for f in fields(record)])}


_FIELDS: dict[type, list[str]] = {}


def invoices_series() -> str:
    return invoice_service.SERIES_OF_KIND[logic.INVOICE]


def _priced(conn: Connection, batch: list[DuePeriod]) -> tuple[list[_Priced], dict[int, str]]:
    """Each period's invoice priced as `invoice_service.priced_body` prices a draft, from one read of the customers,
    tax rates and products the batch names; the periods that cannot be invoiced, with the reason."""
    customer_rows = {row["id"]: row for row in records.rows_with_ids(
        conn, customers, sorted({due.template.customer_id for due in batch}))}
    product_ids = sorted({line.product_id for due in batch for line in due.template.lines if line.product_id})
    catalogue = invoice_service.Catalogue(None, rates={row["id"]: row for row in records.all_rows(conn, tax_rates)},
                                   products={row["id"] for row in records.rows_with_ids(conn, products, product_ids)})
    priced: list[_Priced] = []
    failed: dict[int, str] = {}
    for due in batch:
        try:
            customer = invoice_service.checked_customer(customer_rows.get(due.template.customer_id),
                                                 due.template.customer_id)
            currency = due.template.currency or customer["currency"]
            lines, allowance_charges, totals = invoice_service.priced_body(catalogue, due.template, currency)
        except BillingError as exc:
            failed[due.schedule_id] = exc.message
            continue
        priced.append(_Priced(due, customer, currency, lines, allowance_charges, totals))
    return priced, failed


def _header(item: _Priced, invoice_id: int, number: str, actor: Actor, now: Any) -> dict[str, Any]:
    """The header row of an issued invoice, as `insert_draft` and then `issue_draft` leave it."""
    template = item.due.template
    return {"id": invoice_id, "kind": logic.INVOICE, "series": invoices_series(), "number": number,
            "status": logic.ISSUED, "customer_id": item.customer["id"], "currency": item.currency,
            "issue_date": item.due.on,
            "due_date": logic.due_date_for(item.due.on, item.customer["terms_days"], None),
            "credited_invoice_id": None, "notes": template.notes, **invoice_service.detail_values(template),
            "void_reason": "", "paid_amount": ZERO,
            "credited_amount": ZERO, "created_at": now, "issued_at": now, "voided_on": None,
            "created_by": actor.username, "is_open": item.totals.payable > 0, **total_values(item.totals)}
