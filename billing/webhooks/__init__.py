"""Webhooks: events written to an outbox with the change they report, signed and delivered at least once."""

from __future__ import annotations

EVENT_TYPES: tuple[str, ...] = ("invoice.issued", "invoice.paid", "invoice.overdue", "invoice.voided",
                                "credit_note.issued", "payment.recorded", "payment.reversed")
