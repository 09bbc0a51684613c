"""The one place the automation asks for a document to be sent (recurring invoices, quotes, reminders).

Every request is recorded in `dispatch_requests`, in the caller's transaction, once per document and reason
(the log of what the automation asked for). An issued invoice whose customer has a valid e-mail address also
goes into the e-mail outbox (billing.outbox) in the same transaction, de-duplicated by the same key; a
customer without an address stays a request the portal shows as "to be sent". A quote goes the same way (it is
marked sent by billing.quotes before it asks).
"""

from __future__ import annotations

import logging
from datetime import date

from sqlalchemy.engine import Connection

from billing import outbox
from billing.errors import BillingError
from billing.store import dispatch as dispatch_store
from billing.store.db import utcnow

INVOICE, QUOTE = "invoice", "quote"
log = logging.getLogger("billing.dispatch")


def request_send(conn: Connection, kind: str, document_id: int, reason: str, on: date, *,
                 subject: str | None = None, body: str | None = None, created_by: str = "system") -> bool:
    """Ask, in the caller's transaction, for a document to be sent to its customer (`subject` and `body`
    instead of the kind's template); False if it was asked for this reason already."""
    if not dispatch_store.add_request(conn, kind, document_id, reason, on, utcnow()):
        return False
    if kind in outbox.DOCUMENT_KINDS:
        _to_outbox(conn, kind, document_id, reason, on, subject, body, created_by)
    return True


def _to_outbox(conn: Connection, kind: str, document_id: int, reason: str, on: date, subject: str | None,
               body: str | None, created_by: str) -> None:
    # Checked before anything is written: a refusal must not undo the invoice or reminder that asked.
    header, _ = outbox.document_values(conn, document_id, on, kind)
    recipients = outbox.split_addresses(header["customer_email"])
    try:
        if not recipients:
            raise BillingError("The customer has no e-mail address.")
        outbox.check_addresses(recipients, ())
        outbox.enqueue_document(conn, kind, document_id, now=utcnow(), created_by=created_by, to=recipients,
                                subject=subject, body=body, dedupe_key=f"dispatch:{kind}:{document_id}:{reason}")
    except BillingError as exc:
        log.info("Send request %s %s (%s) left for the portal: %s", kind, document_id, reason, exc.message)


def send_requests(conn: Connection, kind: str, document_id: int) -> list[tuple[str, date]]:
    """(reason, requested on) of every send asked for a document, oldest first."""
    return [(row["reason"], row["requested_on"]) for row in dispatch_store.requests_of(conn, kind, document_id)]
