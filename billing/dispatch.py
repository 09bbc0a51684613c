"""The one place the automation asks for a document to be sent (recurring invoices, quotes, reminders).

Until the e-mail outbox (billing.outbox) is part of this program, a request is recorded durably in
`dispatch_requests`, in the caller's transaction, once per document and reason: the portal shows it as
"to be sent", and the outbox takes the requests over when it lands (one call in `request_send`).
"""

from __future__ import annotations

from datetime import date

from sqlalchemy.engine import Connection

from billing.store import dispatch as dispatch_store
from billing.store.db import utcnow

INVOICE, QUOTE = "invoice", "quote"


def request_send(conn: Connection, kind: str, document_id: int, reason: str, on: date) -> bool:
    """Ask, in the caller's transaction, for a document to be sent to its customer; False if already asked."""
    return dispatch_store.add_request(conn, kind, document_id, reason, on, utcnow())


def send_requests(conn: Connection, kind: str, document_id: int) -> list[tuple[str, date]]:
    """(reason, requested on) of every send asked for a document, oldest first."""
    return [(row["reason"], row["requested_on"]) for row in dispatch_store.requests_of(conn, kind, document_id)]
