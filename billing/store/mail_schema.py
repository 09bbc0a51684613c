"""Tables of e-mail (migration 12): SMTP settings, templates, the outbox, customer links, the workers' leases."""

from __future__ import annotations

import sqlalchemy as sa

from billing.store.schema import blank_text, lease_table, metadata, sequence_id

# One row (id 1) of SMTP settings; the password only as a Fernet token under
# the installation's `.mail_key` (never in a backup), so a backup carries ciphertext nobody else can read.
mail_settings = sa.Table(
    "mail_settings", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("smtp_url", sa.String, nullable=False),  # without the password
    blank_text("password_encrypted"),
    blank_text("sender_name"),
    blank_text("sender_email"),
    blank_text("reply_to"),
    blank_text("public_url"),  # the portal's address for links
    sa.Column("link_days", sa.Integer, nullable=False),
    sa.Column("updated_at", sa.DateTime, nullable=False),
    sa.Column("updated_by", sa.String, nullable=False),
)

# Subject and body per document kind and language ('en' is the default every kind has in code).
mail_templates = sa.Table(
    "mail_templates", metadata,
    sa.Column("kind", sa.String, primary_key=True),
    sa.Column("language", sa.String, primary_key=True),
    sa.Column("subject", sa.String, nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("updated_at", sa.DateTime, nullable=False),
    sa.Column("updated_by", sa.String, nullable=False),
)

# The durable outbox: written in the transaction of the action that asks for the message, sent by one
# worker holding the lease. `attempts` is raised (status 'sending') in its own commit before the SMTP
# conversation, so a crash shows as a 'sending' row whose lease ran out; it is sent again with the same
# Message-ID. `dedupe_key` (unique) makes a repeated request enqueue nothing more.
outbox = sa.Table(
    "outbox", metadata,
    sequence_id("outbox"),
    sa.Column("message_id", sa.String, nullable=False, unique=True),
    sa.Column("dedupe_key", sa.String, nullable=True, unique=True),
    sa.Column("kind", sa.String, nullable=False),  # invoice | credit_note | statement | test | ...
    sa.Column("document_id", sa.BigInteger, nullable=True),
    sa.Column("customer_id", sa.BigInteger, nullable=True),
    sa.Column("link_id", sa.BigInteger, nullable=True),
    sa.Column("recipients", sa.String, nullable=False),  # comma-separated
    blank_text("cc"),
    sa.Column("subject", sa.String, nullable=False),
    sa.Column("body", sa.Text, nullable=False),  # '{link}' filled in when sent (the token is never stored)
    sa.Column("attachments", sa.Text, nullable=False),  # JSON list of attachment specs (billing.attachments)
    sa.Column("status", sa.String, nullable=False),  # queued | sending | sent | failed
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("next_attempt_at", sa.DateTime, nullable=False),
    sa.Column("last_attempt_at", sa.DateTime, nullable=True),
    sa.Column("sent_at", sa.DateTime, nullable=True),
    blank_text("last_error"),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("created_by", sa.String, nullable=False),
)
# The due messages by status and time. DuckDB never scans its indexes for this (a full scan with zone maps)
# and would pay for one on every change of status (each message twice as it is sent, half the cost of a
# 'sent' commit), so it is PostgreSQL's only; migration 21 drops it from DuckDB files that had it.
OUTBOX_DUE = sa.Index("ix_outbox_due", outbox.c.status, outbox.c.next_attempt_at).ddl_if(dialect="postgresql")
sa.Index("ix_outbox_document", outbox.c.document_id)

# A customer's link to one document: only the SHA-256 of its token is stored; the token itself is an HMAC
# of (id, nonce) under `.mail_key`, recomputed when the message is sent.
document_links = sa.Table(
    "document_links", metadata,
    sequence_id("document_links"),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("nonce", sa.String, nullable=False),
    sa.Column("document_id", sa.BigInteger, nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("expires_at", sa.DateTime, nullable=False),
    sa.Column("revoked_at", sa.DateTime, nullable=True),
    sa.Column("first_opened_at", sa.DateTime, nullable=True),
    sa.Column("last_opened_at", sa.DateTime, nullable=True),
    sa.Column("open_count", sa.Integer, nullable=False),
    # What document_id counts: an invoice or credit note ('invoice') or a quote ('quote', migration 18).
    sa.Column("document_kind", sa.String, nullable=False, server_default="invoice"),
)
sa.Index("ix_document_links_document", document_links.c.document_id)

# Who runs background work now: one row per kind of work; a runner acts only while its lease is unexpired.
worker_leases = lease_table("worker_leases")

MAIL_TABLES = (mail_settings, mail_templates, outbox, document_links, worker_leases)
