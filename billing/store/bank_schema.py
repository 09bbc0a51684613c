"""Tables of bank statements (migration 6): imports, their lines, decisions, CSV layouts, learned IBANs, settings."""

from __future__ import annotations

import sqlalchemy as sa

from billing.store.schema import MONEY, blank_text, metadata, sequence_id

# A statement file imported: which account, which format, how many of its
# lines were new (the others were imported before, from this or an overlapping file).
bank_imports = sa.Table(
    "bank_imports", metadata,
    sequence_id("bank_imports"),
    sa.Column("file_name", sa.String, nullable=False),
    sa.Column("file_format", sa.String, nullable=False),  # camt | mt940 | csv
    sa.Column("file_sha256", sa.String(64), nullable=False),
    sa.Column("lines_in_file", sa.Integer, nullable=False),
    sa.Column("lines_new", sa.Integer, nullable=False),
    sa.Column("imported_at", sa.DateTime, nullable=False),
    sa.Column("imported_by", sa.String, nullable=False),
)

# Each booked line once: line_key is a hash of the account and the bank's reference, or of the account,
# date, amount, counterparty, text and the line's ordinal among identical lines of its file (billing.bank).
# proposal: the matcher's proposal as JSON, made at import and renewed on request.
bank_lines = sa.Table(
    "bank_lines", metadata,
    sequence_id("bank_lines"),
    sa.Column("import_id", sa.BigInteger, nullable=False),
    sa.Column("line_key", sa.String(64), nullable=False, unique=True),
    sa.Column("account_iban", sa.String, nullable=False),
    sa.Column("booking_date", sa.Date, nullable=False),
    sa.Column("value_date", sa.Date, nullable=True),
    sa.Column("amount", MONEY, nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    blank_text("counterparty_name"),
    blank_text("counterparty_iban"),
    blank_text("remittance"),
    blank_text("bank_reference"),
    blank_text("end_to_end_id"),
    sa.Column("is_return", sa.Boolean, nullable=False),
    blank_text("return_code"),
    sa.Column("confidence", sa.String, nullable=False),  # sure | likely | possible | none
    sa.Column("proposal", sa.Text, nullable=False),
)
sa.Index("ix_bank_lines_import", bank_lines.c.import_id)

# What a line was decided to be, once: a payment or reversal recorded through billing.payments, or
# not a customer payment (category fee, other_income, outgoing, other).
bank_decisions = sa.Table(
    "bank_decisions", metadata,
    sa.Column("line_id", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("kind", sa.String, nullable=False),  # payment | reversal | other
    sa.Column("payment_id", sa.BigInteger, nullable=True),
    blank_text("category"),
    sa.Column("decided_at", sa.DateTime, nullable=False),
    sa.Column("decided_by", sa.String, nullable=False),
)

# A bank's CSV export layout, saved by the user (billing.bank.csv_format.CsvMapping as JSON).
bank_csv_mappings = sa.Table(
    "bank_csv_mappings", metadata,
    sa.Column("bank", sa.String, primary_key=True),
    sa.Column("mapping", sa.Text, nullable=False),
    sa.Column("updated_at", sa.DateTime, nullable=False),
    sa.Column("updated_by", sa.String, nullable=False),
)

# IBANs a customer paid from, learned when a statement line of theirs was confirmed.
customer_ibans = sa.Table(
    "customer_ibans", metadata,
    sa.Column("customer_id", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("iban", sa.String, primary_key=True),
    sa.Column("learned_at", sa.DateTime, nullable=False),
    sa.Column("line_id", sa.BigInteger, nullable=True),
)

# One row (id 1) once the owner changed it: record payments of exact reference matches without review.
bank_settings = sa.Table(
    "bank_settings", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("auto_confirm_exact", sa.Boolean, nullable=False),
    sa.Column("updated_at", sa.DateTime, nullable=False),
    sa.Column("updated_by", sa.String, nullable=False),
)

BANK_TABLES = (bank_imports, bank_lines, bank_decisions, bank_csv_mappings, customer_ibans, bank_settings)
