"""Payment reminders: levels set by the owner (days after due, text, optional late fee), given once per level.

Never for a paid, credited, void or disputed invoice (a dispute pauses its reminders until cleared). When an
invoice is overdue enough for several levels at once (the first run after downtime, or new levels), only the
highest is given. A late fee is its own invoice, issued on the reminder's date, so the original stays as it
was. Each reminder is logged on the invoice (`reminders_of`) and in the audit trail, and asked to be sent.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from pydantic import Field
from sqlalchemy.engine import Connection

from billing import audit, dispatch, invoices
from billing.errors import NotFoundError, StateError, ValidationError
from billing.models import Dec, InvoiceDraftIn, Lines, OneLine, Record, parse
from billing.money import round_money
from billing.permissions import Actor, require
from billing.store import reminders as reminder_store
from billing.store.db import Database, utcnow
from billing.text import check_text

MAX_LEVELS = 5


class ReminderLevelIn(Record):
    """One reminder level: sent `days_after_due` days after the due date, with its subject and text
    (placeholders {number}, {due_date}, {balance}, {currency}, {customer}) and an optional late fee, fixed
    (`fee_amount`) or a percentage of the balance (`fee_percent`), invoiced at the tax rate `fee_tax_rate_id`."""

    days_after_due: int = Field(ge=1, le=365)
    subject: OneLine = Field(min_length=1, max_length=200)
    body: Lines = Field(default="", max_length=4000)
    fee_amount: Dec | None = None
    fee_percent: Dec | None = None
    fee_tax_rate_id: int | None = None

    def model_post_init(self, _context: Any) -> None:
        if self.fee_amount is not None and self.fee_percent is not None:
            raise ValidationError("A late fee is either an amount or a percentage, not both.")
        if self.fee_amount is not None and not 0 < self.fee_amount < 1_000_000:
            raise ValidationError("The late fee amount must be above 0 and below 1,000,000.")
        if self.fee_percent is not None and not 0 < self.fee_percent <= 100:
            raise ValidationError("The late fee percentage must be above 0 and at most 100.")
        if (self.fee_amount is not None or self.fee_percent is not None) and self.fee_tax_rate_id is None:
            raise ValidationError("A late fee needs a tax rate (for example an exempt or zero rate).")


@dataclass(frozen=True)
class ReminderReport:
    """What a run gave: (invoice id, level) per reminder, and the late fee invoices it issued."""

    given: list[tuple[int, int]] = field(default_factory=list)
    fee_invoices: list[int] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class DueReminder:
    invoice_id: int
    number: str
    customer: str
    currency: str
    due_date: date
    balance: Decimal
    level: int


def save_levels(db: Database, actor: Actor, levels: Sequence[ReminderLevelIn | dict[str, Any]]) -> None:
    """Replace the reminder levels (numbered 1, 2, ... in the order of their days after due)."""
    require(db, actor, "settings.write")
    parsed = sorted((parse(ReminderLevelIn, level) for level in levels), key=lambda level: level.days_after_due)
    if len(parsed) > MAX_LEVELS:
        raise ValidationError(f"At most {MAX_LEVELS} reminder levels.")
    days = [level.days_after_due for level in parsed]
    if len(set(days)) != len(days):
        raise ValidationError("Two reminder levels have the same number of days after due.")
    rows = [{"level": number, **level.model_dump()} for number, level in enumerate(parsed, start=1)]

    def work(conn: Connection) -> None:
        for row in rows:
            if row["fee_tax_rate_id"] is not None:
                invoices.Catalogue(conn).tax_rate(row["fee_tax_rate_id"])
        before = reminder_store.levels(conn)
        reminder_store.replace_levels(conn, rows)
        audit.record(conn, actor, "reminders.levels", "settings", "reminders", before=before, after=rows)

    db.transaction(work)


def list_levels(db: Database, actor: Actor) -> list[dict[str, Any]]:
    require(db, actor, "invoices.read")
    with db.connect() as conn:
        return reminder_store.levels(conn)


def due_reminders(db: Database, actor: Actor, as_of: date) -> list[DueReminder]:
    """The reminders a run on `as_of` would give: per overdue, owed, undisputed invoice the highest level due
    that it has not had yet."""
    require(db, actor, "invoices.read")
    with db.connect() as conn:
        return _due(conn, as_of)


def _due(conn: Connection, as_of: date) -> list[DueReminder]:
    levels = reminder_store.levels(conn)
    if not levels:
        return []
    first_due = as_of - timedelta(days=min(level["days_after_due"] for level in levels))
    found: list[DueReminder] = []
    for row in reminder_store.overdue_open_invoices(conn, first_due):
        overdue = (as_of - row["due_date"]).days
        reached = [level["level"] for level in levels if level["days_after_due"] <= overdue]
        if reached and max(reached) > row["last_level"]:
            found.append(DueReminder(row["id"], row["number"], row["customer"], row["currency"], row["due_date"],
                                     round_money(row["balance"], row["currency"]), max(reached)))
    return found


def send_reminders(db: Database, actor: Actor, as_of: date) -> ReminderReport:
    """Give every reminder due on `as_of` (each in its own transaction, re-checked there); what was given."""
    require(db, actor, "invoices.write")
    report = ReminderReport()
    with db.connect() as conn:
        due = _due(conn, as_of)
        levels = {level["level"]: level for level in reminder_store.levels(conn)}
    for item in due:
        def work(conn: Connection, item: DueReminder = item) -> int | None:
            return _remind(conn, actor, item, levels[item.level], as_of)

        fee_invoice = db.transaction(work)
        if fee_invoice != 0:
            report.given.append((item.invoice_id, item.level))
        if fee_invoice:
            report.fee_invoices.append(fee_invoice)
    return report


def _remind(conn: Connection, actor: Actor, item: DueReminder, level: dict[str, Any], as_of: date) -> int | None:
    """One reminder: its fee invoice's id, None without a fee, 0 if the invoice no longer needs it."""
    if not reminder_store.still_remindable(conn, item.invoice_id, item.level):
        return 0
    fee = _fee(level, item)
    fee_invoice = None
    if fee is not None:
        draft = parse(InvoiceDraftIn, {
            "customer_id": _customer_id(conn, item.invoice_id), "currency": item.currency, "issue_date": as_of,
            "notes": f"Late fee for invoice {item.number}.",
            "lines": [{"description": f"Late fee: reminder {item.level} for invoice {item.number}", "quantity": 1,
                       "unit_price": fee, "tax_rate_id": level["fee_tax_rate_id"]}]})
        fee_invoice = invoices.insert_draft(conn, actor, draft)
        invoices.issue_draft(conn, actor, fee_invoice, today=as_of, issue_date=as_of)
    values = {"invoice_id": item.invoice_id, "level": item.level, "reminded_on": as_of, "fee_invoice_id": fee_invoice,
              "created_at": utcnow()}
    reminder_store.add_reminder(conn, values)
    subject, body = reminder_text(level, item)
    dispatch.request_send(conn, dispatch.INVOICE, item.invoice_id, f"reminder-{item.level}", as_of, subject=subject,
                          body=body or None, created_by=actor.username)
    audit.record(conn, actor, "invoice.remind", "invoice", item.invoice_id,
                 after={**values, "subject": level["subject"], "balance": item.balance})
    return fee_invoice


def _fee(level: dict[str, Any], item: DueReminder) -> Decimal | None:
    """The late fee of a level for an invoice: fixed, or the percentage of its balance rounded to the currency."""
    if level["fee_amount"] is not None:
        return round_money(level["fee_amount"], item.currency)
    if level["fee_percent"] is not None:
        return round_money(item.balance * level["fee_percent"] / 100, item.currency)
    return None


def _customer_id(conn: Connection, invoice_id: int) -> int:
    return invoices.header_of(conn, invoice_id).customer_id


def reminder_text(level: dict[str, Any], item: DueReminder) -> tuple[str, str]:
    """The subject and text of a reminder with its placeholders filled in."""
    values = {"number": item.number, "due_date": item.due_date.isoformat(), "balance": str(item.balance),
              "currency": item.currency, "customer": item.customer}
    return _filled(level["subject"], values), _filled(level["body"], values)


def _filled(text: str, values: dict[str, str]) -> str:
    """The known {placeholders} replaced; anything else in braces left as written (never str.format on user text)."""
    return re.sub(r"\{(\w+)\}", lambda match: values.get(match.group(1), match.group(0)), text)


def reminders_of(db: Database, actor: Actor, invoice_id: int) -> list[dict[str, Any]]:
    """The reminders an invoice had (level, date, fee invoice), first first."""
    require(db, actor, "invoices.read")
    with db.connect() as conn:
        return reminder_store.reminders_of(conn, invoice_id)


def set_disputed(db: Database, actor: Actor, invoice_id: int, reason: str, on: date) -> None:
    """Mark an issued invoice disputed: no reminders until the dispute is cleared."""
    require(db, actor, "invoices.write")
    check_text(reason, "Dispute reason", multiline=True, param="reason")
    if not reason.strip():
        raise ValidationError("Say why the invoice is disputed.", param="reason")

    def work(conn: Connection) -> None:
        header = invoices.header_of(conn, invoice_id)
        if header.status != "issued" or header.is_credit_note:
            raise StateError("Only an issued invoice can be disputed.")
        values = {"reason": reason.strip(), "disputed_on": on, "disputed_by": actor.username}
        reminder_store.set_dispute(conn, values, invoice_id)
        audit.record(conn, actor, "invoice.dispute", "invoice", invoice_id, after=values)

    db.transaction(work)


def clear_disputed(db: Database, actor: Actor, invoice_id: int) -> None:
    """The dispute is settled: reminders resume."""
    require(db, actor, "invoices.write")

    def work(conn: Connection) -> None:
        before = reminder_store.dispute_of(conn, invoice_id)
        if before is None:
            raise NotFoundError("This invoice is not disputed.")
        reminder_store.set_dispute(conn, None, invoice_id)
        audit.record(conn, actor, "invoice.undispute", "invoice", invoice_id, before=before)

    db.transaction(work)


def dispute_of(db: Database, actor: Actor, invoice_id: int) -> dict[str, Any] | None:
    require(db, actor, "invoices.read")
    with db.connect() as conn:
        return reminder_store.dispute_of(conn, invoice_id)
