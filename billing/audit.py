"""The audit trail: every mutation is recorded in its own transaction, in a hash chain.

Each event stores the SHA-256 of its content and of the previous event's hash, so editing,
inserting or deleting any event breaks the chain at that point, which `verify_chain` reports.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.engine import Connection

from billing.permissions import Actor, require
from billing.store import audit as audit_store
from billing.store.db import Database, utcnow
from billing.store.migrations import GENESIS_HASH

_HASHED = ("id", "occurred_at", "actor", "action", "entity", "entity_id", "before", "after", "prev_hash")


def _json_default(value: Any) -> str:
    if isinstance(value, Decimal | date | datetime):
        return str(value)
    if isinstance(value, bytes):
        return f"<{len(value)} bytes>"
    raise TypeError(f"cannot serialise {type(value).__name__}")


def to_json(value: Any) -> str | None:
    """Canonical JSON of a record for the before/after columns (Decimals as exact strings)."""
    if value is None:
        return None
    return json.dumps(value, default=_json_default, sort_keys=True, separators=(",", ":"))


def event_hash(event: dict[str, Any]) -> str:
    parts = {key: event[key] for key in _HASHED}
    parts["occurred_at"] = event["occurred_at"].isoformat(timespec="microseconds")
    payload = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(payload.encode()).hexdigest()


def record(conn: Connection, actor: Actor, action: str, entity: str, entity_id: object,
           before: Any = None, after: Any = None) -> None:
    """Write one audit event in the caller's transaction."""
    audit_store.append_event(conn, {
        "occurred_at": utcnow(),
        "actor": actor.username,
        "action": action,
        "entity": entity,
        "entity_id": str(entity_id),
        "before": to_json(before),
        "after": to_json(after),
    }, event_hash)


@dataclass(frozen=True, slots=True)
class ChainReport:
    ok: bool
    events: int
    problem: str = ""
    first_bad_id: int | None = None


def verify_chain(db: Database, actor: Actor) -> ChainReport:
    """Walk the whole chain: every hash recomputes, every link points at its predecessor."""
    require(db, actor, "audit.read")
    with db.connect() as conn:
        return check_chain(conn)


def check_chain(conn: Connection) -> ChainReport:
    prev_hash, expected_id, count = GENESIS_HASH, 1, 0
    for event in audit_store.iter_events(conn):
        count += 1
        if event["id"] != expected_id:
            return ChainReport(False, count, f"event {expected_id} is missing (found {event['id']} next)", expected_id)
        if event["prev_hash"] != prev_hash:
            return ChainReport(False, count, f"event {event['id']} does not link to the event before it", event["id"])
        if event_hash(event) != event["hash"]:
            return ChainReport(False, count, f"event {event['id']} was changed after it was written", event["id"])
        prev_hash, expected_id = event["hash"], expected_id + 1
    last_id, last_hash = audit_store.head(conn)
    if last_id != expected_id - 1 or last_hash != prev_hash:
        # The first event the head does not vouch for: one appended behind its back (chain longer
        # than the head), the first one deleted from the tail (shorter), or the rewritten last one.
        first_bad = last_id if last_id == expected_id - 1 else min(last_id, expected_id - 1) + 1
        return ChainReport(False, count, f"the chain ends at event {expected_id - 1} but its head says {last_id}",
                           first_bad)
    return ChainReport(True, count)


def list_events(db: Database, viewer: Actor, /, **filters: Any) -> tuple[list[dict[str, Any]], int]:
    """A page of events, newest first, and how many match (filters: actor, entity, action, since, until...).

    `viewer` is positional-only so that `actor=` is free to be the filter on who did it.
    """
    require(db, viewer, "audit.read")
    with db.connect() as conn:
        return audit_store.list_events(conn, **filters)
