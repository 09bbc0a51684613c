"""Tables of the automation (migration 13): recurring schedules, quotes, payment reminders, send requests."""

from __future__ import annotations

import sqlalchemy as sa

from billing.store.schema import MONEY, RATE, blank_text, metadata, sequence_id

# Recurring invoices (migration 13, billing.recurring). `template` is the InvoiceDraftIn (customer, currency,
# notes, lines, allowances/charges) as JSON, validated when saved and again at every run. `next_period` is
# the first occurrence (0, 1, ...) not yet created; a run claims a period by moving it on in the same
# transaction that creates the invoice, and recurring_runs' key (schedule, period) refuses a second invoice
# for a period whatever happens.
recurring_schedules = sa.Table(
    "recurring_schedules", metadata,
    sequence_id("recurring_schedules"),
    sa.Column("customer_id", sa.BigInteger, nullable=False),
    sa.Column("name", sa.String, nullable=False),
    sa.Column("frequency", sa.String, nullable=False),  # week | month | quarter | year
    sa.Column("day_of_month", sa.Integer, nullable=True),  # NULL: the start date's day; 0: the last day
    sa.Column("start_date", sa.Date, nullable=False),
    sa.Column("end_date", sa.Date, nullable=True),
    sa.Column("max_count", sa.Integer, nullable=True),
    sa.Column("action", sa.String, nullable=False),  # draft | issue | send
    sa.Column("status", sa.String, nullable=False),  # active | paused | ended
    sa.Column("template", sa.Text, nullable=False),
    sa.Column("next_period", sa.Integer, nullable=False),
    blank_text("last_error"),
    sa.Column("created_by", sa.String, nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("updated_at", sa.DateTime, nullable=False),
)

recurring_runs = sa.Table(
    "recurring_runs", metadata,
    sa.Column("schedule_id", sa.BigInteger, primary_key=True),
    sa.Column("period", sa.Integer, primary_key=True),
    sa.Column("period_date", sa.Date, nullable=False),
    sa.Column("invoice_id", sa.BigInteger, nullable=True),  # NULL: the period was skipped while paused
    sa.Column("created_at", sa.DateTime, nullable=False),
)

# Quotes (migration 13, billing.quotes): their own number series (QUO), lines and totals as an invoice's,
# `body` the InvoiceDraftIn as JSON; the totals stored are compute_totals' and the converted invoice's
# totals must equal them to the cent.
quotes = sa.Table(
    "quotes", metadata,
    sequence_id("quotes"),
    sa.Column("number", sa.String, nullable=True, unique=True),  # given when first sent
    sa.Column("status", sa.String, nullable=False),  # draft | sent | accepted | declined | expired | converted
    sa.Column("customer_id", sa.BigInteger, nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("quote_date", sa.Date, nullable=True),
    sa.Column("valid_until", sa.Date, nullable=True),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("tax_exclusive", MONEY, nullable=False),
    sa.Column("tax_total", MONEY, nullable=False),
    sa.Column("payable", MONEY, nullable=False),
    sa.Column("invoice_id", sa.BigInteger, nullable=True),
    sa.Column("decided_on", sa.Date, nullable=True),
    blank_text("decided_by"),
    sa.Column("created_by", sa.String, nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
)

# Payment reminders (migration 13, billing.reminders): the levels the owner sets, and each reminder given
# (one per invoice and level, by key). A row in invoice_disputes pauses reminders for its invoice.
reminder_levels = sa.Table(
    "reminder_levels", metadata,
    sa.Column("level", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("days_after_due", sa.Integer, nullable=False),
    sa.Column("subject", sa.String, nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("fee_amount", MONEY, nullable=True),
    sa.Column("fee_percent", RATE, nullable=True),
    sa.Column("fee_tax_rate_id", sa.BigInteger, nullable=True),
)

invoice_reminders = sa.Table(
    "invoice_reminders", metadata,
    sa.Column("invoice_id", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("level", sa.Integer, primary_key=True),
    sa.Column("reminded_on", sa.Date, nullable=False),
    sa.Column("fee_invoice_id", sa.BigInteger, nullable=True),
    sa.Column("created_at", sa.DateTime, nullable=False),
)

invoice_disputes = sa.Table(
    "invoice_disputes", metadata,
    sa.Column("invoice_id", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("reason", sa.String, nullable=False),
    sa.Column("disputed_on", sa.Date, nullable=False),
    sa.Column("disputed_by", sa.String, nullable=False),
)

# What the automation asked to send (billing.dispatch): a durable "to be sent" list until the e-mail
# outbox takes these requests over; one per document and reason.
dispatch_requests = sa.Table(
    "dispatch_requests", metadata,
    sa.Column("document_kind", sa.String, primary_key=True),  # invoice | quote
    sa.Column("document_id", sa.BigInteger, primary_key=True),
    sa.Column("reason", sa.String, primary_key=True),  # issued | quote | reminder-1, reminder-2, ...
    sa.Column("requested_on", sa.Date, nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
)

AUTOMATION_TABLES = (recurring_schedules, recurring_runs, quotes, reminder_levels, invoice_reminders,
                     invoice_disputes, dispatch_requests)
