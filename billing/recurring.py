"""Recurring invoices: schedules per customer with template lines, and the run that creates what is due.

Each period of a schedule gives at most one invoice: a run claims the period by moving the schedule's
`next_period` on, and records (schedule, period) under a unique key, in the same transaction that creates
the invoice. So a rerun, a catch-up after downtime and two runners at once create every missed invoice
exactly once, dated on its period's date (not on the day of the run): a year run day by day and the same
year run at once give the same invoices.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pydantic
import sqlalchemy as sa
from pydantic import Field, field_validator
from sqlalchemy.engine import Connection

from billing import audit, dispatch, invoices
from billing.errors import BillingError, NotFoundError, StateError, ValidationError
from billing.models import BookDate, InvoiceDraftIn, OneLine, Record, parse
from billing.permissions import Actor, require
from billing.recurrence import FREQUENCIES, Recurrence, check_recurrence, first_period_from, occurrences, upcoming
from billing.recurring_batch import BATCH_SIZE, DuePeriod, issue_batch
from billing.store import records
from billing.store import recurring as recurring_store
from billing.store.automation_schema import recurring_schedules
from billing.store.db import Database, utcnow

DRAFT, ISSUE, SEND = "draft", "issue", "send"
ACTIONS: dict[str, str] = {DRAFT: "Create a draft to review", ISSUE: "Issue automatically",
                           SEND: "Issue and send automatically"}
ACTIVE, PAUSED, ENDED = "active", "paused", "ended"
UNREADABLE = "The schedule's saved invoice can no longer be read: end it and create it again."


class ScheduleIn(Record):
    """A recurring schedule as entered: the invoice to repeat (`template`: customer, lines, notes; its dates
    are ignored) and when (see billing.recurrence.Recurrence)."""

    name: OneLine = Field(min_length=1, max_length=200)
    frequency: str
    day_of_month: int | None = None
    start_date: BookDate
    end_date: BookDate | None = None
    max_count: int | None = None
    action: str = DRAFT
    template: InvoiceDraftIn

    @field_validator("action")
    @classmethod
    def _action(cls, value: str) -> str:
        if value not in ACTIONS:
            raise ValidationError(f"Unknown action '{value}': choose draft, issue or send.")
        return value

    def recurrence(self) -> Recurrence:
        return Recurrence(self.frequency, self.start_date, self.day_of_month, self.end_date, self.max_count)


@dataclass(frozen=True, slots=True)
class Schedule:
    """A stored schedule: its recurrence, the template, its state, and `next_period` (the first period no
    invoice was created for yet). `last_error` says why the last run could not create its invoice."""

    id: int
    customer_id: int
    customer: str
    name: str
    recurrence: Recurrence
    action: str
    status: str
    template: InvoiceDraftIn
    next_period: int
    last_error: str

    @property
    def next_date(self) -> date | None:
        found = upcoming(self.recurrence, self.next_period, 1) if self.status == ACTIVE else []
        return found[0][1] if found else None


@dataclass(frozen=True, slots=True)
class UpcomingInvoice:
    schedule_id: int
    schedule: str
    customer: str
    period: int
    on: date


@dataclass(frozen=True)
class RunReport:
    """What a run created: invoice ids (issued ones among them) and, per schedule, why it could not."""

    created: list[int] = field(default_factory=list)
    issued: list[int] = field(default_factory=list)
    failed: dict[int, str] = field(default_factory=dict)
    ended: list[int] = field(default_factory=list)


def _schedule(row: dict[str, Any]) -> Schedule:
    return Schedule(
        id=row["id"], customer_id=row["customer_id"], customer=row.get("customer", ""), name=row["name"],
        recurrence=Recurrence(row["frequency"], row["start_date"], row["day_of_month"], row["end_date"],
                              row["max_count"]),
        action=row["action"], status=row["status"], template=InvoiceDraftIn.model_validate_json(row["template"]),
        next_period=row["next_period"], last_error=row["last_error"])


def _stored(conn: Connection, schedule_id: int) -> dict[str, Any]:
    found = recurring_store.list_schedules(conn, schedule_id=schedule_id)
    if not found:
        raise NotFoundError(f"Recurring schedule {schedule_id} does not exist.")
    return found[0]


def create_schedule(db: Database, actor: Actor, data: ScheduleIn | dict[str, Any]) -> int:
    """Save a schedule (active from its start date); its template is checked as an invoice draft would be."""
    require(db, actor, "invoices.write")
    schedule = parse(ScheduleIn, data)
    check_recurrence(schedule.recurrence())
    template = schedule.template.model_copy(update={"issue_date": None, "due_date": None})
    invoices.preview_totals(db, actor, template)  # the customer, lines and tax rates as issuing will check them
    now = utcnow()
    template_json = template.model_dump_json()
    values: dict[str, Any] = {
              "customer_id": template.customer_id, "name": schedule.name, "frequency": schedule.frequency,
              "day_of_month": schedule.day_of_month, "start_date": schedule.start_date,
              "end_date": schedule.end_date, "max_count": schedule.max_count, "action": schedule.action,
              "status": ACTIVE, "template": template_json, "next_period": 0, "last_error": "",
              "created_by": actor.username, "created_at": now, "updated_at": now}

    def work(conn: Connection) -> int:
        schedule_id = records.insert(conn, recurring_schedules, values)
        audit.record(conn, actor, "recurring.create", "recurring_schedule", schedule_id,
                     after={**values, "template": json.loads(template_json)})
        return schedule_id

    return db.transaction(work)


def _change_status(db: Database, actor: Actor, schedule_id: int, allowed_from: tuple[str, ...], status: str,
                   action: str, extra: Callable[[dict[str, Any]], dict[str, Any]] | None = None) -> None:
    require(db, actor, "invoices.write")

    def work(conn: Connection) -> None:
        row = _stored(conn, schedule_id)
        if row["status"] not in allowed_from:
            raise StateError(f"The schedule '{row['name']}' is {row['status']}: it cannot be {status} now.")
        values = {"status": status, "updated_at": utcnow(), **(extra(row) if extra else {})}
        records.update(conn, recurring_schedules, schedule_id, values)
        audit.record(conn, actor, action, "recurring_schedule", schedule_id,
                     before={"status": row["status"], "next_period": row["next_period"]}, after=values)

    db.transaction(work)


def pause_schedule(db: Database, actor: Actor, schedule_id: int) -> None:
    """Stop creating invoices until resumed; the periods that pass meanwhile are skipped."""
    _change_status(db, actor, schedule_id, (ACTIVE,), PAUSED, "recurring.pause")


def resume_schedule(db: Database, actor: Actor, schedule_id: int, as_of: date) -> None:
    """Create invoices again from `as_of` on (periods dated before it are not created)."""

    def skip_to(row: dict[str, Any]) -> dict[str, Any]:
        return {"next_period": first_period_from(_schedule(row).recurrence, row["next_period"], as_of)}

    _change_status(db, actor, schedule_id, (PAUSED,), ACTIVE, "recurring.resume", skip_to)


def end_schedule(db: Database, actor: Actor, schedule_id: int) -> None:
    """End a schedule for good: no more invoices; the ones it created stay."""
    _change_status(db, actor, schedule_id, (ACTIVE, PAUSED), ENDED, "recurring.end")


def list_schedules(db: Database, actor: Actor) -> list[Schedule]:
    require(db, actor, "invoices.read")
    with db.connect() as conn:
        return [_schedule(row) for row in recurring_store.list_schedules(conn)]


def get_schedule(db: Database, actor: Actor, schedule_id: int) -> tuple[Schedule, list[dict[str, Any]]]:
    """A schedule and its runs (period, date, invoice id), latest first."""
    require(db, actor, "invoices.read")
    with db.connect() as conn:
        return _schedule(_stored(conn, schedule_id)), recurring_store.runs_of(conn, schedule_id)


def upcoming_invoices(db: Database, actor: Actor, as_of: date, *, per_schedule: int = 3,
                      limit: int = 200) -> list[UpcomingInvoice]:
    """The next invoices of the active schedules (those due by `as_of` first), soonest first."""
    require(db, actor, "invoices.read")
    with db.connect() as conn:
        rows = recurring_store.list_schedules(conn, status=ACTIVE)
    found = [UpcomingInvoice(row["id"], row["name"], row["customer"], period, on)
             for row in rows for period, on in upcoming(_schedule(row).recurrence, row["next_period"], per_schedule)]
    return sorted(found, key=lambda item: (item.on, item.schedule_id, item.period))[:limit]


def run_due_schedules(db: Database, actor: Actor, as_of: date) -> RunReport:
    """Create (and issue, and ask to send) every invoice due on or before `as_of` that is not there yet.

    Periods are worked through in date order across schedules, so invoice numbers follow the invoice
    dates. A schedule whose invoice cannot be made (an archived customer, a retired tax rate) keeps that
    period and the reason in `last_error`, and is tried again on the next run.
    """
    require(db, actor, "invoices.write")
    report = RunReport()
    with db.connect() as conn:
        rows = recurring_store.list_schedules(conn, status=ACTIVE)
    schedules: list[Schedule] = []
    for row in rows:
        try:
            schedules.append(_schedule(row))
        except (pydantic.ValidationError, BillingError):  # a template saved under rules that have changed since
            report.failed[row["id"]] = UNREADABLE
            _set_fields(db, row["id"], {"last_error": UNREADABLE})
    due: list[tuple[date, int, int]] = []
    for schedule in schedules:
        periods = list(occurrences(schedule.recurrence, schedule.next_period, as_of))
        due += [(on, schedule.id, period) for period, on in periods]
        if not periods and schedule.next_date is None:
            report.ended.append(schedule.id)
    by_id = {schedule.id: schedule for schedule in schedules}
    batch: list[DuePeriod] = []
    for on, schedule_id, period in sorted(due):
        schedule = by_id[schedule_id]
        if schedule_id in report.failed:
            continue
        if batch and (schedule.action == DRAFT or len(batch) == BATCH_SIZE
                      or any(item.schedule_id == schedule_id for item in batch)):
            _run_batch(db, actor, batch, by_id, as_of, report)
            batch = []
        if schedule.action == DRAFT:
            _run_period(db, actor, schedule, period, on, as_of, report)
        elif schedule_id not in report.failed:
            batch.append(DuePeriod(schedule_id, period, on, schedule.template, schedule.action == SEND))
    if batch:
        _run_batch(db, actor, batch, by_id, as_of, report)
    for schedule_id in report.ended:
        _set_fields(db, schedule_id, {"status": ENDED, "updated_at": utcnow()})
    return report


def _run_batch(db: Database, actor: Actor, batch: list[DuePeriod], by_id: dict[int, Schedule], as_of: date,
               report: RunReport) -> None:
    def work(conn: Connection) -> tuple[list[int], dict[int, str]]:
        return issue_batch(conn, actor, batch, as_of)

    try:
        created, failed = db.transaction(work)
    except sa.exc.IntegrityError:  # another runner got some of these periods first: one by one, then
        for item in batch:
            _run_period(db, actor, by_id[item.schedule_id], item.period, item.on, as_of, report)
        return
    report.created.extend(created)
    report.issued.extend(created)
    for schedule_id, message in failed.items():
        report.failed[schedule_id] = message
        _set_fields(db, schedule_id, {"last_error": message[:500]})


def _run_period(db: Database, actor: Actor, schedule: Schedule, period: int, on: date, as_of: date,
                report: RunReport) -> None:
    def work(conn: Connection) -> int | None:
        return _create(conn, actor, schedule, period, on, as_of)

    try:
        invoice_id = db.transaction(work)
    except sa.exc.IntegrityError:  # another runner recorded this period first
        return
    except BillingError as exc:
        report.failed[schedule.id] = exc.message
        _set_fields(db, schedule.id, {"last_error": exc.message[:500]})
        return
    if invoice_id is not None:
        report.created.append(invoice_id)
        if schedule.action != DRAFT:
            report.issued.append(invoice_id)


def _set_fields(db: Database, schedule_id: int, values: dict[str, Any]) -> None:
    def work(conn: Connection) -> None:
        records.update(conn, recurring_schedules, schedule_id, values)

    db.transaction(work)


def _create(conn: Connection, actor: Actor, schedule: Schedule, period: int, on: date, as_of: date) -> int | None:
    """The invoice of one period, in the caller's transaction; None if another run made it already."""
    now = utcnow()
    if not recurring_store.claim_period(conn, schedule.id, period, now):
        return None
    draft = schedule.template.model_copy(update={"issue_date": on, "due_date": None})
    invoice_id = invoices.insert_draft(conn, actor, draft)
    if schedule.action != DRAFT:
        invoices.issue_draft(conn, actor, invoice_id, today=as_of, issue_date=on)
    if schedule.action == SEND:
        dispatch.request_send(conn, dispatch.INVOICE, invoice_id, "issued", as_of, created_by=actor.username)
    recurring_store.record_run(conn, schedule.id, period, on, invoice_id, now)
    return invoice_id


__all__ = ["ACTIONS", "FREQUENCIES", "RunReport", "Schedule", "ScheduleIn", "UpcomingInvoice", "create_schedule",
           "end_schedule", "get_schedule", "list_schedules", "pause_schedule", "resume_schedule",
           "run_due_schedules", "upcoming_invoices"]
