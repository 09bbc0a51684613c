"""Tables of the billing database (SQLAlchemy Core), portable between DuckDB and PostgreSQL: the column types and
helpers, and the core tables (company, catalogue, documents, payments, report facts, users, audit, API access).

The tables of later features live beside it on the same `metadata`, one module each with a tuple of its tables
for backup and migration: bank_schema (migration 6), webhook_schema (11), mail_schema (12), automation_schema
(13); billing/store/__init__.py imports them all. Money columns are exact NUMERIC/DECIMAL, never DOUBLE.
Foreign keys are enforced by the domain services (DuckDB refuses some updates of rows referenced by foreign
keys), and `verify` checks them.
"""

from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa

metadata: sa.MetaData = sa.MetaData()

MONEY = sa.Numeric(18, 4)  # amounts; the currency's minor unit (<= 3 in practice) is enforced in Python
PRICE = sa.Numeric(18, 6)  # unit prices may carry more decimals than the currency
MAX_PRICE = Decimal(10) ** 12  # PRICE holds less than this (the database refuses more, with no readable error)
QTY = sa.Numeric(18, 4)
RATE = sa.Numeric(7, 4)  # VAT percent, e.g. 19.0000


def sequence_id(table: str) -> sa.Column[int]:
    """A table's BIGINT primary key `id`, numbered by the table's own sequence (the same on DuckDB and PostgreSQL)."""
    return sa.Column("id", sa.BigInteger, sa.Sequence(f"{table}_id_seq"), primary_key=True)


def blank_text(name: str) -> sa.Column[str]:
    """A text column that holds '' rather than NULL when nothing was given."""
    return sa.Column(name, sa.String, nullable=False, server_default="")


def lease_table(name: str) -> sa.Table:
    """Who runs a kind of background work now: one row per kind (`name`); its `holder` acts only while
    `expires_at` is ahead, and renews it while it works; another process takes over once it passed."""
    return sa.Table(
        name, metadata,
        sa.Column("name", sa.String, primary_key=True),
        sa.Column("holder", sa.String, nullable=False),
        sa.Column("expires_at", sa.DateTime, nullable=False),
    )

schema_version = sa.Table(
    "schema_version", metadata,
    sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("applied_at", sa.DateTime, nullable=False),
)

def _party_columns() -> list[sa.Column[str]]:
    """Migration 10's columns of company and customers: the structured address (BT-35..39 / BT-50..54; `address`
    keeps its printed text), legal and tax registration, electronic address and its EAS scheme (BT-30/47, BT-32,
    BT-34/49)."""
    return [blank_text(name)
            for name in ("street", "additional_line", "city", "postcode", "subdivision", "legal_id",
                         "tax_registration", "electronic_address", "electronic_scheme")]


company = sa.Table(
    "company", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("legal_name", sa.String, nullable=False),
    sa.Column("address", sa.String, nullable=False, server_default=""),
    sa.Column("country", sa.String, nullable=False, server_default=""),
    sa.Column("tax_id", sa.String, nullable=False, server_default=""),
    sa.Column("email", sa.String, nullable=False, server_default=""),
    sa.Column("bank_details", sa.String, nullable=False, server_default=""),
    sa.Column("iban", sa.String, nullable=False, server_default=""),  # compact; migration 8
    sa.Column("bic", sa.String, nullable=False, server_default=""),
    sa.Column("base_currency", sa.String(3), nullable=False),
    sa.Column("timezone", sa.String, nullable=False),
    sa.Column("default_terms_days", sa.Integer, nullable=False),
    sa.Column("page_size", sa.String, nullable=False),
    sa.Column("logo", sa.LargeBinary, nullable=True),
    sa.Column("updated_at", sa.DateTime, nullable=False),
    *_party_columns(),
    sa.Column("contact_name", sa.String, nullable=False, server_default=""),  # BT-41..43
    sa.Column("contact_phone", sa.String, nullable=False, server_default=""),
    sa.Column("contact_email", sa.String, nullable=False, server_default=""),
    # The SEPA creditor identifier (BT-90, compact) invoices paid by direct debit name (migration 19).
    blank_text("creditor_id"),
)

series = sa.Table(
    "series", metadata,
    sa.Column("code", sa.String, primary_key=True),
    sa.Column("kind", sa.String, nullable=False),  # invoice | credit_note
    sa.Column("pattern", sa.String, nullable=False),
    sa.Column("next_seq", sa.BigInteger, nullable=False),
)

tax_rates = sa.Table(
    "tax_rates", metadata,
    sequence_id("tax_rates"),
    sa.Column("name", sa.String, nullable=False),
    sa.Column("category", sa.String(2), nullable=False),
    sa.Column("percent", RATE, nullable=False),
    blank_text("exemption_reason"),
    sa.Column("active", sa.Boolean, nullable=False),
)

customers = sa.Table(
    "customers", metadata,
    sa.Column("id", sa.BigInteger, sa.Sequence("customers_id_seq"), primary_key=True),
    sa.Column("name", sa.String, nullable=False),
    sa.Column("email", sa.String, nullable=False, server_default=""),
    sa.Column("address", sa.String, nullable=False, server_default=""),
    sa.Column("country", sa.String, nullable=False, server_default=""),
    sa.Column("tax_id", sa.String, nullable=False, server_default=""),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("terms_days", sa.Integer, nullable=False),
    sa.Column("notes", sa.String, nullable=False, server_default=""),
    sa.Column("archived", sa.Boolean, nullable=False),
    # The language of its documents and e-mails, a code of billing.i18n.LANGUAGES (migration 14).
    sa.Column("language", sa.String(8), nullable=False, server_default="en"),
    sa.Column("created_at", sa.DateTime, nullable=False),
    # Set by every change through billing.customers (migration 7); NULL (read as created_at) for rows a
    # bulk load wrote. The API's `updated_since` filters on it.
    sa.Column("updated_at", sa.DateTime, nullable=True),
    # The e-invoice format the customer receives (billing.models.EINVOICE_FORMATS, "" for none; migration 17):
    # the invoice view offers it first and issuing checks a document against its rules.
    sa.Column("einvoice_format", sa.String, nullable=False, server_default=""),
    *_party_columns(),
    # The account (IBAN, compact) its SEPA direct debit mandate lets the company debit (BT-91; migration 19).
    blank_text("iban"),
)

products = sa.Table(
    "products", metadata,
    sequence_id("products"),
    sa.Column("name", sa.String, nullable=False),
    sa.Column("sku", sa.String, nullable=False, unique=True),
    sa.Column("unit", sa.String, nullable=False),
    sa.Column("unit_price", PRICE, nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("tax_rate_id", sa.BigInteger, nullable=False),
    sa.Column("archived", sa.Boolean, nullable=False),
)

invoices = sa.Table(
    "invoices", metadata,
    sequence_id("invoices"),
    sa.Column("kind", sa.String, nullable=False),  # invoice | credit_note
    sa.Column("series", sa.String, nullable=False),
    sa.Column("number", sa.String, nullable=True, unique=True),  # NULL while draft
    sa.Column("status", sa.String, nullable=False),  # draft | issued | void
    sa.Column("customer_id", sa.BigInteger, nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("issue_date", sa.Date, nullable=True),
    sa.Column("due_date", sa.Date, nullable=True),
    sa.Column("credited_invoice_id", sa.BigInteger, nullable=True),
    blank_text("notes"),
    blank_text("void_reason"),
    sa.Column("line_total", MONEY, nullable=False),
    sa.Column("allowance_total", MONEY, nullable=False),
    sa.Column("charge_total", MONEY, nullable=False),
    sa.Column("tax_exclusive", MONEY, nullable=False),
    sa.Column("tax_total", MONEY, nullable=False),
    sa.Column("tax_inclusive", MONEY, nullable=False),
    sa.Column("prepaid", MONEY, nullable=False),
    sa.Column("rounding", MONEY, nullable=False),
    sa.Column("payable", MONEY, nullable=False),
    # Exact running sums kept in the same transactions as the allocations and credit notes that
    # change them (verify recomputes them); they make balances and lists fast at a million invoices.
    sa.Column("paid_amount", MONEY, nullable=False),
    sa.Column("credited_amount", MONEY, nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("issued_at", sa.DateTime, nullable=True),
    sa.Column("voided_on", sa.Date, nullable=True),
    sa.Column("created_by", sa.String, nullable=False),
    # Earliest and latest date of anything that moved the balance (allocations of either sign, credit
    # notes), kept with those writes (migration 2). They let the aging report rebuild any past date
    # from today's sums plus the little that happened after it, and date a settled invoice's payment.
    sa.Column("first_activity_on", sa.Date, nullable=True),
    sa.Column("last_activity_on", sa.Date, nullable=True),
    # payable - paid_amount - credited_amount > 0, kept by every write of those sums (migration 3,
    # checked by verify): a plain column test lets a scan skip the ~90 % of invoices that are settled.
    sa.Column("is_open", sa.Boolean, nullable=True),
    # Migration 10: the details an e-invoice carries (EN 16931 terms; see models.InvoiceDraftIn) ...
    blank_text("buyer_reference"),
    blank_text("order_reference"),
    sa.Column("delivery_date", sa.Date, nullable=True),
    sa.Column("period_start", sa.Date, nullable=True),
    sa.Column("period_end", sa.Date, nullable=True),
    blank_text("payment_means"),
    blank_text("mandate_reference"),
    blank_text("payment_terms"),
    blank_text("exemption_reason"),
    blank_text("exemption_code"),
    # ... and seller and buyer as they were when it was issued (JSON of documents.DocumentParty), NULL on a
    # draft: an issued document shows, prints and exports these, whatever changes in the profiles later.
    sa.Column("seller_party", sa.String, nullable=True),
    sa.Column("buyer_party", sa.String, nullable=True),
    # The last change of the header or its sums (migration 11); NULL: none since it was created (or bulk
    # loaded). The API's `updated_since` filters on coalesce(updated_at, created_at).
    sa.Column("updated_at", sa.DateTime, nullable=True),
)
sa.Index("ix_invoices_customer", invoices.c.customer_id)

invoice_lines = sa.Table(
    "invoice_lines", metadata,
    sa.Column("invoice_id", sa.BigInteger, primary_key=True),
    sa.Column("position", sa.Integer, primary_key=True),
    sa.Column("product_id", sa.BigInteger, nullable=True),
    sa.Column("description", sa.String, nullable=False),
    sa.Column("quantity", QTY, nullable=False),
    blank_text("unit"),
    sa.Column("unit_price", PRICE, nullable=False),
    sa.Column("base_quantity", QTY, nullable=False),
    sa.Column("discount_percent", RATE, nullable=False),
    sa.Column("discount_amount", MONEY, nullable=False),
    sa.Column("charge_amount", MONEY, nullable=False),
    sa.Column("tax_rate_id", sa.BigInteger, nullable=True),
    sa.Column("vat_category", sa.String(2), nullable=False),
    sa.Column("vat_rate", RATE, nullable=False),
    sa.Column("net_amount", MONEY, nullable=False),
    # On a credit note, the position of the line of the credited invoice this line credits (NULL for
    # a free credit line, and for credit notes made before migration 4).
    sa.Column("credits_line", sa.Integer, nullable=True),
)

invoice_allowances = sa.Table(
    "invoice_allowances", metadata,
    sa.Column("invoice_id", sa.BigInteger, primary_key=True),
    sa.Column("position", sa.Integer, primary_key=True),
    sa.Column("is_charge", sa.Boolean, nullable=False),
    blank_text("reason"),
    sa.Column("amount", MONEY, nullable=True),
    sa.Column("percent", RATE, nullable=True),
    sa.Column("tax_rate_id", sa.BigInteger, nullable=True),
    sa.Column("vat_category", sa.String(2), nullable=False),
    sa.Column("vat_rate", RATE, nullable=False),
)

# The VAT breakdown as frozen at issue (BG-23), kept for the tax report.
invoice_taxes = sa.Table(
    "invoice_taxes", metadata,
    sa.Column("invoice_id", sa.BigInteger, primary_key=True),
    sa.Column("vat_category", sa.String(2), primary_key=True),
    sa.Column("vat_rate", RATE, primary_key=True),
    sa.Column("taxable", MONEY, nullable=False),
    sa.Column("tax", MONEY, nullable=False),
)

# Issued documents' revenue by product and by VAT entry, copied when a document is issued (removed
# when it is voided) so the reports need not join 5M invoice lines; migration 2, checked by verify.
# One row per (document, product, VAT category, rate) of its lines (dimension "product"; tax is the
# lines' VAT at their rate, rounded per row) and per entry of its frozen VAT breakdown (dimension
# "tax"; taxable and tax exactly as invoice_taxes). Amounts are signed: negative on credit notes.
sales_facts = sa.Table(
    "sales_facts", metadata,
    sa.Column("invoice_id", sa.BigInteger, nullable=False),
    sa.Column("dimension", sa.String, nullable=False),  # product | tax
    sa.Column("kind", sa.String, nullable=False),
    sa.Column("customer_id", sa.BigInteger, nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("issue_date", sa.Date, nullable=False),
    sa.Column("product_id", sa.BigInteger, nullable=True),
    sa.Column("vat_category", sa.String(2), nullable=False),
    sa.Column("vat_rate", RATE, nullable=False),
    sa.Column("net", MONEY, nullable=False),
    sa.Column("tax", MONEY, nullable=False),
)
sa.Index("ix_sales_facts_invoice", sales_facts.c.invoice_id)
# The reports read a date range of one dimension. DuckDB skips blocks by their min/max dates (the rows
# are written in date order) and maintains an index slowly; PostgreSQL would scan the whole table
# (the quarter's tax report was 38x DuckDB's time at scale M). Migration 24.
SALES_BY_DATE = sa.Index("ix_sales_facts_dimension_date", sales_facts.c.dimension,
                         sales_facts.c.issue_date).ddl_if(dialect="postgresql")

# Money allocated to documents, by allocation date and by each product and VAT entry of the document
# (its groups in sales_facts, the whole amount under each), written with every allocation row (undoing
# ones negative) so "collected by product" needs no join of allocations to sales_facts; migration 2,
# checked by verify. Rows of a voided invoice go with it (its allocations net to nothing).
collection_facts = sa.Table(
    "collection_facts", metadata,
    sa.Column("allocated_on", sa.Date, nullable=False),
    sa.Column("invoice_id", sa.BigInteger, nullable=False),
    sa.Column("customer_id", sa.BigInteger, nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("dimension", sa.String, nullable=False),  # product | tax
    sa.Column("product_id", sa.BigInteger, nullable=True),
    sa.Column("vat_category", sa.String(2), nullable=True),
    sa.Column("vat_rate", RATE, nullable=True),
    sa.Column("amount", MONEY, nullable=False),
)
sa.Index("ix_collection_facts_invoice", collection_facts.c.invoice_id)
COLLECTIONS_BY_DATE = sa.Index("ix_collection_facts_dimension_date", collection_facts.c.dimension,
                               collection_facts.c.allocated_on).ddl_if(dialect="postgresql")

payments = sa.Table(
    "payments", metadata,
    sequence_id("payments"),
    sa.Column("kind", sa.String, nullable=False),  # payment | refund | reversal
    sa.Column("customer_id", sa.BigInteger, nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("amount", MONEY, nullable=False),  # refunds and reversals are negative
    sa.Column("received_on", sa.Date, nullable=False),
    sa.Column("method", sa.String, nullable=False),
    blank_text("reference"),
    sa.Column("reverses_payment_id", sa.BigInteger, nullable=True),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("created_by", sa.String, nullable=False),
)
sa.Index("ix_payments_customer", payments.c.customer_id)

# Money of a payment put against an invoice. Undoing is a negative row, never a delete.
allocations = sa.Table(
    "allocations", metadata,
    sequence_id("allocations"),
    sa.Column("payment_id", sa.BigInteger, nullable=False),
    sa.Column("invoice_id", sa.BigInteger, nullable=False),
    sa.Column("amount", MONEY, nullable=False),
    sa.Column("allocated_on", sa.Date, nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
)
sa.Index("ix_allocations_invoice", allocations.c.invoice_id)
sa.Index("ix_allocations_payment", allocations.c.payment_id)

# PostgreSQL only (migration 25), where DuckDB skips blocks by their min/max values by itself. Balances as
# of a day read the open invoices, those untouched by then and those with activity after it; the dashboards
# read a range of issue, payment and settling dates: PostgreSQL scanned and filtered every invoice once per
# branch (aging at scale L: three scans of a million rows). A payment's seal reads it and its reversals
# (`id = x OR reverses_payment_id = x`): a scan of every payment (100 ms at L) for each one recorded.
POSTGRESQL_INDEXES = tuple(index.ddl_if(dialect="postgresql") for index in (
    sa.Index("ix_invoices_open", invoices.c.last_activity_on, postgresql_where=invoices.c.is_open),
    sa.Index("ix_invoices_first_activity", invoices.c.first_activity_on),
    sa.Index("ix_invoices_last_activity", invoices.c.last_activity_on),
    sa.Index("ix_invoices_issue_date", invoices.c.issue_date),
    sa.Index("ix_allocations_date", allocations.c.allocated_on),
    sa.Index("ix_payments_received", payments.c.received_on),
    sa.Index("ix_payments_reversals", payments.c.reverses_payment_id,
             postgresql_where=payments.c.reverses_payment_id.is_not(None)),
))

users = sa.Table(
    "users", metadata,
    sa.Column("username", sa.String, primary_key=True),
    sa.Column("name", sa.String, nullable=False),
    blank_text("email"),
    sa.Column("role", sa.String, nullable=False),
    sa.Column("password_hash", sa.String, nullable=False),
    sa.Column("active", sa.Boolean, nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("password_changed_at", sa.DateTime, nullable=False),
    # set by an admin for someone else: changed by its user at the next sign-in (migration 9)
    sa.Column("must_change_password", sa.Boolean, nullable=False, server_default=sa.false()),
)

login_attempts = sa.Table(
    "login_attempts", metadata,
    sequence_id("login_attempts"),
    sa.Column("username", sa.String, nullable=False),
    sa.Column("occurred_at", sa.DateTime, nullable=False),
    sa.Column("success", sa.Boolean, nullable=False),
)
sa.Index("ix_login_attempts_user", login_attempts.c.username)

# Server-side sessions: a cookie names a session id; logout revokes the row.
auth_sessions = sa.Table(
    "auth_sessions", metadata,
    sa.Column("id", sa.String, primary_key=True),
    sa.Column("username", sa.String, nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("expires_at", sa.DateTime, nullable=False),
    sa.Column("revoked_at", sa.DateTime, nullable=True),
)

audit_events = sa.Table(
    "audit_events", metadata,
    sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("occurred_at", sa.DateTime, nullable=False),
    sa.Column("actor", sa.String, nullable=False),
    sa.Column("action", sa.String, nullable=False),
    sa.Column("entity", sa.String, nullable=False),
    sa.Column("entity_id", sa.String, nullable=False),
    sa.Column("before", sa.Text, nullable=True),
    sa.Column("after", sa.Text, nullable=True),
    sa.Column("prev_hash", sa.String(64), nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
)

# One row: the last event of the chain. Every mutation updates it in its own transaction, so two
# concurrent writers conflict here and one retries: the chain can never fork.
audit_head = sa.Table(
    "audit_head", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("last_id", sa.BigInteger, nullable=False),
    sa.Column("last_hash", sa.String(64), nullable=False),
)

# API keys (migration 7): `id` is the key's public prefix, shown in lists; only the SHA-256 of the whole
# key is kept (the key is 32 random bytes, so a fast hash is enough). A key acts as its user, with its
# role or the user's current one, whichever is lower; a revoked key or a disabled user stops it at once.
api_keys = sa.Table(
    "api_keys", metadata,
    sa.Column("id", sa.String, primary_key=True),
    sa.Column("secret_hash", sa.String(64), nullable=False),
    sa.Column("name", sa.String, nullable=False),
    sa.Column("username", sa.String, nullable=False),
    sa.Column("role", sa.String, nullable=False),
    sa.Column("created_by", sa.String, nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("last_used_at", sa.DateTime, nullable=True),
    sa.Column("revoked_at", sa.DateTime, nullable=True),
)

# The API's idempotent POSTs (migration 7): the first request with a key inserts its row (status NULL
# while in progress), its response is stored when it is done, and a repeat is answered from here.
idempotency_keys = sa.Table(
    "idempotency_keys", metadata,
    sa.Column("key", sa.String, primary_key=True),
    sa.Column("actor", sa.String, primary_key=True),
    sa.Column("method", sa.String, nullable=False),
    sa.Column("path", sa.String, nullable=False),
    sa.Column("body_hash", sa.String(64), nullable=False),
    sa.Column("status", sa.Integer, nullable=True),
    sa.Column("response", sa.Text, nullable=True),
    sa.Column("created_at", sa.DateTime, nullable=False),
)
