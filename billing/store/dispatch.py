"""SQL of the send requests the automation leaves for the e-mail outbox."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from billing.store.automation_schema import dispatch_requests


def add_request(conn: Connection, kind: str, document_id: int, reason: str, on: date, now: datetime) -> bool:
    """Record one request unless the same one is there already: True if it was added."""
    key = (dispatch_requests.c.document_kind == kind, dispatch_requests.c.document_id == document_id,
           dispatch_requests.c.reason == reason)
    if conn.execute(sa.select(sa.literal(1)).where(*key)).first() is not None:
        return False
    conn.execute(dispatch_requests.insert().values(document_kind=kind, document_id=document_id, reason=reason,
                                                   requested_on=on, created_at=now))
    return True


def requests_of(conn: Connection, kind: str, document_id: int) -> list[dict[str, Any]]:
    query = (sa.select(dispatch_requests).where(dispatch_requests.c.document_kind == kind,
                                                dispatch_requests.c.document_id == document_id)
             .order_by(dispatch_requests.c.created_at))
    return [dict(row) for row in conn.execute(query).mappings()]
