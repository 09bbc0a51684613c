"""Versioned schema migrations, applied in order at start; each one in its own transaction."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from billing.store import automation_schema, bank_schema, mail_schema, schema, webhook_schema

if TYPE_CHECKING:
    from billing.store.db import Database

GENESIS_HASH = "0" * 64


def _v1_initial(conn: Connection) -> None:
    schema.metadata.create_all(conn)
    seed_new_database(conn)


def seed_new_database(conn: Connection) -> None:
    """The rows a new database starts with: its number series and the empty audit chain's head."""
    conn.execute(schema.series.insert(), [
        {"code": "INV", "kind": "invoice", "pattern": "INV-{YYYY}-{SEQ:05}", "next_seq": 1},
        {"code": "CN", "kind": "credit_note", "pattern": "CN-{YYYY}-{SEQ:05}", "next_seq": 1},
    ])
    conn.execute(schema.audit_head.insert().values(id=1, last_id=0, last_hash=GENESIS_HASH))


def present_columns(conn: Connection, table: str) -> set[str]:
    """The names of the columns `table` has in the database now (a migration step may run before later ones add
    theirs)."""
    # information_schema rather than SQLAlchemy's inspector, which duckdb-engine cannot serve on DuckDB 2.
    return set(conn.execute(sa.text("SELECT column_name FROM information_schema.columns WHERE table_name = :t"),
                            {"t": table}).scalars())


def _add_columns(conn: Connection, table: str, columns: dict[str, str]) -> None:
    """Add the columns (name: SQL type) a table lacks. Migration 1 creates the tables of the current
    schema, so on a new database they are there already."""
    present = present_columns(conn, table)
    for name, sql_type in columns.items():
        if name not in present:  # names and types are this module's constants, never user input
            conn.execute(sa.text(f"ALTER TABLE {table} ADD COLUMN {name} {sql_type}"))


def _v2_report_data(conn: Connection) -> None:
    """Activity dates on invoices, sales_facts and collection_facts, filled from existing documents."""
    _add_columns(conn, "invoices", {"first_activity_on": "DATE", "last_activity_on": "DATE"})
    schema.sales_facts.create(conn, checkfirst=True)
    schema.collection_facts.create(conn, checkfirst=True)
    _fill_report_data(conn)


def _fill_report_data(conn: Connection) -> None:
    from billing.store import facts

    facts.rebuild_activity_dates(conn)
    facts.rebuild_sales_facts(conn)
    facts.rebuild_collection_facts(conn)


def _v3_open_flag(conn: Connection) -> None:
    """invoices.is_open, filled from the maintained sums."""
    _add_columns(conn, "invoices", {"is_open": "BOOLEAN"})
    _fill_open_flags(conn)


def _fill_open_flags(conn: Connection) -> None:
    from billing.store import invoices

    invoices.rebuild_open_flags(conn)


def _v4_credited_lines(conn: Connection) -> None:
    """invoice_lines.credits_line: which invoice line a credit-note line credits (unknown before)."""
    _add_columns(conn, "invoice_lines", {"credits_line": "INTEGER"})


def _v5_installation(conn: Connection) -> None:
    """The installation id of this database file (billing.installation), a new random one."""
    from billing.store import installation
    from billing.store.db import utcnow

    installation.create_table(conn, utcnow())


def _v6_bank_statements(conn: Connection) -> None:
    """The tables of bank statement import and matching (billing.bank)."""
    for table in bank_schema.BANK_TABLES:
        table.create(conn, checkfirst=True)


def _v7_api(conn: Connection) -> None:
    """The REST API's tables (api_keys, idempotency_keys) and customers.updated_at (from created_at)."""
    schema.api_keys.create(conn, checkfirst=True)
    schema.idempotency_keys.create(conn, checkfirst=True)
    _add_columns(conn, "customers", {"updated_at": "TIMESTAMP"})
    _fill_updated_at(conn)


def _fill_updated_at(conn: Connection) -> None:
    conn.execute(schema.customers.update().where(schema.customers.c.updated_at.is_(None))
                 .values(updated_at=schema.customers.c.created_at))


def _v8_company_account(conn: Connection) -> None:
    """company.iban and company.bic: the account the payment QR code pays to ('' until entered)."""
    _add_columns(conn, "company", {"iban": "VARCHAR DEFAULT ''", "bic": "VARCHAR DEFAULT ''"})


def _v17_preferred_einvoice_format(conn: Connection) -> None:
    """customers.einvoice_format: the customer's preferred e-invoice format ('' for none, as before)."""
    _add_columns(conn, "customers", {"einvoice_format": "VARCHAR DEFAULT ''"})


def _v16_exact_product_vat(conn: Connection) -> None:
    """sales_facts rebuilt on DuckDB: its product rows' VAT was rounded to whole units when documents of
    several currencies, one without minor units (JPY), were rebuilt in SQL (the demo, migration 2)."""
    from billing.store import facts

    if conn.dialect.name == "duckdb":
        facts.rebuild_sales_facts(conn)


def _v12_mail(conn: Connection) -> None:
    """E-mail delivery: SMTP settings, templates, the outbox, customer links and worker leases."""
    for table in mail_schema.MAIL_TABLES:
        table.create(conn, checkfirst=True)

_PARTY_COLUMNS = {name: "VARCHAR DEFAULT ''" for name in (
    "street", "additional_line", "city", "postcode", "subdivision", "legal_id", "tax_registration",
    "electronic_address", "electronic_scheme")}


def _v10_party_data(conn: Connection) -> None:
    """Structured addresses and party identifiers on customers and the company, the e-invoice details of a
    document and its seller and buyer frozen at issue; existing data moved over by `_fill_party_data`."""
    _add_columns(conn, "customers", _PARTY_COLUMNS)
    _add_columns(conn, "company", {**_PARTY_COLUMNS, "contact_name": "VARCHAR DEFAULT ''",
                                   "contact_phone": "VARCHAR DEFAULT ''", "contact_email": "VARCHAR DEFAULT ''"})
    _add_columns(conn, "invoices", {
        **{name: "VARCHAR DEFAULT ''" for name in ("buyer_reference", "order_reference", "payment_means",
                                                   "mandate_reference", "payment_terms", "exemption_reason",
                                                   "exemption_code")},
        "delivery_date": "DATE", "period_start": "DATE", "period_end": "DATE",
        "seller_party": "VARCHAR", "buyer_party": "VARCHAR"})
    _fill_party_data(conn)


def _fill_party_data(conn: Connection) -> None:
    from billing.store import party_migration

    party_migration.split_addresses(conn)
    party_migration.freeze_issued(conn)


def _v13_automation(conn: Connection) -> None:
    """Recurring schedules, quotes (and their QUO number series), payment reminders and the send requests."""
    for table in automation_schema.AUTOMATION_TABLES:
        table.create(conn, checkfirst=True)
    _add_quote_series(conn)


def _add_quote_series(conn: Connection) -> None:
    present = conn.execute(sa.select(schema.series.c.code).where(schema.series.c.code == "QUO")).first()
    if present is None:
        conn.execute(schema.series.insert().values(code="QUO", kind="quote", pattern="QUO-{YYYY}-{SEQ:05}",
                                                   next_seq=1))


def _v14_customer_language(conn: Connection) -> None:
    """customers.language: the language of a customer's documents and e-mails ('en' for existing ones)."""
    _add_columns(conn, "customers", {"language": "VARCHAR DEFAULT 'en' NOT NULL"})


def _v11_webhooks(conn: Connection) -> None:
    """The tables of webhooks (billing.webhooks): endpoints, the event outbox, deliveries, attempts, the lease;
    invoices.updated_at (NULL: unchanged since created)."""
    for table in webhook_schema.WEBHOOK_TABLES:
        table.create(conn, checkfirst=True)
    _add_columns(conn, "invoices", {"updated_at": "TIMESTAMP"})


def _v19_direct_debit(conn: Connection) -> None:
    """SEPA direct debit: company.creditor_id (BT-90) and customers.iban, the account debited (BT-91); '' until
    entered."""
    _add_columns(conn, "company", {"creditor_id": "VARCHAR DEFAULT ''"})
    _add_columns(conn, "customers", {"iban": "VARCHAR DEFAULT ''"})


def _v21_outbox_due_index(conn: Connection) -> None:
    """The outbox's due index kept on PostgreSQL only (mail_schema.OUTBOX_DUE): dropped from DuckDB files."""
    if conn.dialect.name == "duckdb":
        conn.exec_driver_sql(f"DROP INDEX IF EXISTS {mail_schema.OUTBOX_DUE.name}")


def _v24_report_date_indexes(conn: Connection) -> None:
    """PostgreSQL: the report data by dimension and date (schema.SALES_BY_DATE); nothing on DuckDB."""
    for index in (schema.SALES_BY_DATE, schema.COLLECTIONS_BY_DATE):
        index.create(conn, checkfirst=True)


def _v25_postgresql_indexes(conn: Connection) -> None:
    """PostgreSQL: indexes on the reports' dates, the open invoices and reversals (schema.POSTGRESQL_INDEXES);
    nothing on DuckDB."""
    for index in schema.POSTGRESQL_INDEXES:
        index.create(conn, checkfirst=True)


def _v9_own_passwords(conn: Connection) -> None:
    """users.must_change_password: a password an admin set for someone else is changed at its first use."""
    _add_columns(conn, "users", {"must_change_password": "BOOLEAN DEFAULT FALSE"})


def _v18_quote_links(conn: Connection) -> None:
    """document_links.document_kind: a customer link opens an invoice or credit note ('invoice') or a quote."""
    _add_columns(conn, "document_links", {"document_kind": "VARCHAR DEFAULT 'invoice' NOT NULL"})


MIGRATIONS: list[tuple[int, Callable[[Connection], None]]] = [
    (1, _v1_initial),
    (2, _v2_report_data),
    (3, _v3_open_flag),
    (4, _v4_credited_lines),
    (5, _v5_installation),
    (6, _v6_bank_statements),
    (7, _v7_api),
    (8, _v8_company_account),
    (9, _v9_own_passwords),
    (10, _v10_party_data),
    (11, _v11_webhooks),
    (12, _v12_mail),
    (13, _v13_automation),
    (14, _v14_customer_language),
    (16, _v16_exact_product_vat),
    (17, _v17_preferred_einvoice_format),
    (18, _v18_quote_links),
    (19, _v19_direct_debit),
    (21, _v21_outbox_due_index),
    (24, _v24_report_date_indexes),
    (25, _v25_postgresql_indexes),
]

# What each migration derives from the data, for data of an older version loaded into the current
# schema (restoring an older backup): the tables and columns exist, their derived content does not.
DATA_STEPS: dict[int, Callable[[Connection], None]] = {2: _fill_report_data, 3: _fill_open_flags,
                                                       7: _fill_updated_at, 10: _fill_party_data,
                                                       13: _add_quote_series}


def apply_migrations(db: Database) -> int:
    """Apply every migration of MIGRATIONS not yet recorded in schema_version, in order; the version reached.

    Each is applied by itself, not only those above the highest recorded: numbers are handed out in
    parallel, so a lower one (21) can arrive after a file has recorded a higher one (24).
    """
    with db.engine.begin() as conn:
        schema.schema_version.create(conn, checkfirst=True)
    with db.connect() as conn:
        applied = {int(v) for v in conn.execute(sa.select(schema.schema_version.c.version)).scalars()}
    from billing.store.db import utcnow

    for version, migration in MIGRATIONS:
        if version in applied:
            continue
        with db.engine.begin() as conn:
            migration(conn)
            conn.execute(schema.schema_version.insert().values(version=version, applied_at=utcnow()))
        applied.add(version)
    return max(applied, default=0)
