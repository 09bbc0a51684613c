"""Tables of webhooks (migration 11): endpoints, the event outbox, deliveries and attempts, the worker's lease."""

from __future__ import annotations

import sqlalchemy as sa

from billing.store.schema import blank_text, lease_table, metadata, sequence_id

# An endpoint's signing secret is kept encrypted (Fernet, key file `.webhook_key` beside the database):
# it must be readable to sign, so it cannot be a hash; a stolen database file or backup alone does not give it.
webhook_endpoints = sa.Table(
    "webhook_endpoints", metadata,
    sequence_id("webhook_endpoints"),
    sa.Column("url", sa.String, nullable=False),
    blank_text("description"),
    sa.Column("events", sa.String, nullable=False),  # event types, comma-separated, sorted
    sa.Column("secret", sa.String, nullable=False),
    sa.Column("secret_hint", sa.String, nullable=False),  # the secret's first characters, to recognise it
    sa.Column("active", sa.Boolean, nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("created_by", sa.String, nullable=False),
    sa.Column("updated_at", sa.DateTime, nullable=False),
)

# The outbox: written in the transaction of the change it reports, so a crash loses none. `id` is the
# event id receivers de-duplicate on; `payload` the JSON body's `data`, frozen when the event happened.
webhook_events = sa.Table(
    "webhook_events", metadata,
    sa.Column("id", sa.String, primary_key=True),
    sa.Column("type", sa.String, nullable=False),
    sa.Column("entity", sa.String, nullable=False),
    sa.Column("entity_id", sa.BigInteger, nullable=False),
    sa.Column("payload", sa.Text, nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
)
sa.Index("ix_webhook_events_entity", webhook_events.c.type, webhook_events.c.entity_id)

# One event to one endpoint: pending until a 2xx answer (delivered) or until `retry_until` passed (failed).
webhook_deliveries = sa.Table(
    "webhook_deliveries", metadata,
    sequence_id("webhook_deliveries"),
    sa.Column("event_id", sa.String, nullable=False),
    sa.Column("endpoint_id", sa.BigInteger, nullable=False),
    sa.Column("status", sa.String, nullable=False),  # pending | delivered | failed
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("next_attempt_at", sa.DateTime, nullable=True),
    sa.Column("retry_until", sa.DateTime, nullable=False),
    sa.Column("last_status", sa.Integer, nullable=True),
    blank_text("last_error"),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("finished_at", sa.DateTime, nullable=True),
)
sa.Index("ix_webhook_deliveries_due", webhook_deliveries.c.status, webhook_deliveries.c.next_attempt_at)
sa.Index("ix_webhook_deliveries_endpoint", webhook_deliveries.c.endpoint_id)

webhook_attempts = sa.Table(
    "webhook_attempts", metadata,
    sequence_id("webhook_attempts"),
    sa.Column("delivery_id", sa.BigInteger, nullable=False),
    sa.Column("attempted_at", sa.DateTime, nullable=False),
    sa.Column("status_code", sa.Integer, nullable=True),  # NULL: no answer (refused, timed out)
    blank_text("error"),
    sa.Column("duration_ms", sa.Integer, nullable=False),
)
sa.Index("ix_webhook_attempts_delivery", webhook_attempts.c.delivery_id)

# Which process delivers: the holder renews its lease while it works; another takes over once it expired
# (or at once when the holder was a process of this host that no longer runs).
webhook_lease = lease_table("webhook_lease")

WEBHOOK_TABLES = (webhook_endpoints, webhook_events, webhook_deliveries, webhook_attempts, webhook_lease)
