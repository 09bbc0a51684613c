"""The audit trail: every mutation is recorded in its own transaction, in a keyed hash chain.

Each event stores an HMAC-SHA256, under the installation's audit key (billing.signing, a file beside
the database), of its content and of the previous event's hash: editing, inserting or deleting an
event breaks the chain at that point, and without the key nobody can compute a valid chain again.
After each commit the chain's head is also recorded outside the database (billing.store.audit_files),
so events removed from the end show too. Events written by an older version, before the chain was
keyed, are checked as they were written (plain SHA-256); the first keyed event covers the hash of
the last of them, so they cannot be rewritten either. Events that issue documents or move money
carry seals of the rows they wrote (billing.seals), which `verify` compares with the rows.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Connection

from billing import seals, signing
from billing.errors import ConfigError
from billing.permissions import Actor, require
from billing.store import audit as audit_store
from billing.store import audit_files
from billing.store.audit_files import Head, HeadFileError
from billing.store.db import Database, utcnow
from billing.store.integrity import Document, PaymentRows
from billing.store.migrations import GENESIS_HASH

log = logging.getLogger("billing.audit")
_HASHED = ("id", "occurred_at", "actor", "action", "entity", "entity_id", "before", "after", "prev_hash")
# Events that load whole tables: they seal every document and payment at once.
BULK_ACTIONS = frozenset({"demo.load", "database.restore"})


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


def _payload(event: dict[str, Any]) -> bytes:
    parts = {key: event[key] for key in _HASHED}
    parts["occurred_at"] = event["occurred_at"].isoformat(timespec="microseconds")
    return json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str).encode()


def event_hash(event: dict[str, Any]) -> str:
    """The unkeyed hash older versions wrote (anyone can compute it)."""
    return hashlib.sha256(_payload(event)).hexdigest()


def keyed_hash(event: dict[str, Any], key: bytes) -> str:
    """The hash of an event of a keyed chain: HMAC-SHA256 under the installation's audit key."""
    return signing.sign(key, _payload(event))


@dataclass(frozen=True, slots=True)
class ChainKeys:
    """What checking one database's chain needs from outside it: the key and the recorded head.

    `problem` says why the recorded head cannot be read. An in-memory database has no head file;
    its whole chain is keyed.
    """

    key: bytes | None
    head: Head | None
    head_path: Path | None
    problem: str = ""

    @property
    def keyed_from(self) -> int | None:
        if self.head is not None:
            return self.head.keyed_from
        return 1 if self.head_path is None else None


def chain_keys(database_url: str) -> ChainKeys:
    """Read the key and the recorded head (before the chain is read: the head may only lag behind it)."""
    path = signing.head_path(database_url)
    key = signing.audit_key(database_url, create=False)
    try:
        return ChainKeys(key, audit_files.read_head(path) if path else None, path)
    except HeadFileError as exc:
        return ChainKeys(key, None, path, exc.message)


def record(conn: Connection, actor: Actor, action: str, entity: str, entity_id: object,
           before: Any = None, after: Any = None, *, written_document: Document | None = None,
           written_payment: PaymentRows | None = None) -> None:
    """Write one audit event in the caller's transaction (`written_...`: what it seals, as the transaction wrote it:
    billing.seals.seal_for)."""
    writer = _writer(conn)
    event_id = writer.last_id + 1
    sealed = seals.seal_for(conn, entity, str(entity_id),
                            everything=action in BULK_ACTIONS or event_id == writer.keyed_from,
                            written_document=written_document, written_payment=written_payment)
    if sealed is not None:
        after = {**(after if isinstance(after, dict) else {} if after is None else {"value": after}),
                 "sealed": sealed}
    row: dict[str, Any] = {
        "id": event_id, "occurred_at": utcnow(), "actor": actor.audit_name, "action": action, "entity": entity,
        "entity_id": str(entity_id), "before": to_json(before), "after": to_json(after),
        "prev_hash": writer.last_hash}
    row["hash"] = keyed_hash(row, writer.key) if event_id >= writer.keyed_from else event_hash(row)
    audit_store.append_event(conn, row)
    if writer.head_path is not None and writer.records_head:
        audit_files.hold(conn, writer.head_path, Head(writer.keyed_from, event_id, row["hash"]), force=writer.force)


@dataclass(frozen=True, slots=True)
class _Writer:
    """How the next event of a transaction is written: after which event, hashed how, and whether the
    head it makes is recorded outside the database after the commit."""

    last_id: int
    last_hash: str
    key: bytes
    keyed_from: int
    head_path: Path | None
    records_head: bool
    force: bool = False


def _writer(conn: Connection) -> _Writer:
    url = conn.engine.url.render_as_string(hide_password=False)
    path = signing.head_path(url)
    held = audit_files.held(conn)
    if held is not None or path is None:  # an earlier event of this transaction (or a restore) decided
        last_id, last_hash = audit_store.head(conn)
        if held is None:  # an in-memory database: keyed throughout, no file outlives it
            return _Writer(last_id, last_hash, _existing_key(url, None), 1, None, False)
        head, force = held
        return _Writer(last_id, last_hash, _existing_key(url, head if head.keyed_from <= last_id else None),
                       head.keyed_from, path, True, force)
    try:
        recorded = audit_files.read_head(path)
    except HeadFileError as exc:
        log.error("%s", exc.message)
        raise ConfigError("The file recording the audit trail's head is damaged: an administrator must "
                                 "restore it (README: 'What the audit trail proves'). Nothing was saved.") from exc
    if recorded is None:
        last_id, last_hash = audit_store.head(conn)
        key = _existing_key(url, None)
        last = audit_store.event_at(conn, last_id) if last_id else None
        if last is not None and keyed_hash(last, key) == last["hash"]:
            log.error("The audit chain is keyed but its head file %s is missing.", path)
            raise ConfigError("The audit trail is keyed, but the file recording its head is missing: an "
                                     "administrator must put it back beside the database file (README: 'What "
                                     "the audit trail proves'). Nothing was saved.")
        try:
            recorded = audit_files.start_head(path, Head(last_id + 1, last_id, last_hash))
        except HeadFileError as exc:
            log.error("%s", exc.message)
            raise ConfigError("The file recording the audit trail's head cannot be created beside the "
                                     "database file: an administrator must check that folder. Nothing was "
                                     "saved.") from exc
        return _Writer(last_id, last_hash, key, recorded.keyed_from, path, True)
    last_id, last_hash, found = audit_store.head_and_hash_of(conn, recorded.last_id)
    key = _existing_key(url, recorded if recorded.keyed_from <= last_id else None)
    intact = recorded.last_id <= last_id and (found if recorded.last_id else GENESIS_HASH) == recorded.last_hash
    if not intact:
        # Events behind the recorded head were removed or rewritten: leave the record as evidence.
        log.error("The audit chain no longer holds the head recorded in %s (event %s); not moving it.",
                  path, recorded.last_id)
    return _Writer(last_id, last_hash, key, recorded.keyed_from, path, intact)


def _existing_key(url: str, keyed: Head | None) -> bytes:
    """The audit key; created if missing, unless the chain is keyed already (`keyed`)."""
    key = signing.audit_key(url, create=keyed is None)
    if key is None:
        log.error("The audit chain is keyed but its key file %s is missing.",
                  signing.key_path(url, signing.AUDIT_KEY_FILE))
        raise ConfigError("The audit trail is keyed, but its key file is missing: an administrator must put "
                                 "it back beside the database file (README: 'What the audit trail proves'). "
                                 "Nothing was saved.")
    return key


def restart_chain(conn: Connection, keyed_from: int) -> None:
    """After a restore replaced the chain in this transaction: events from `keyed_from` on are keyed, and
    the head recorded after the commit replaces whatever was recorded before."""
    path = signing.head_path(conn.engine.url.render_as_string(hide_password=False))
    if path is not None:
        last_id, last_hash = audit_store.head(conn)
        audit_files.hold(conn, path, Head(keyed_from, last_id, last_hash), force=True)


def resealed(events: list[dict[str, Any]], key: bytes) -> list[dict[str, Any]]:
    """The events (in id order) chained again under `key`: for a restore of a backup trusted on an
    administrator's word, whose chain was keyed by another installation or not at all."""
    prev_hash, result = GENESIS_HASH, []
    for event in events:
        row = {**event, "prev_hash": prev_hash}
        row["hash"] = prev_hash = keyed_hash(row, key)
        result.append(row)
    return result


def chain_break(events: Iterable[dict[str, Any]]) -> str | None:
    """Where a chain read from elsewhere is not a chain: ids not 1, 2, 3... or a link to the wrong event."""
    prev_hash, expected_id = GENESIS_HASH, 1
    for event in events:
        if event["id"] != expected_id:
            return f"event {expected_id} is missing (found {event['id']} next)"
        if event["prev_hash"] != prev_hash:
            return f"event {event['id']} does not link to the event before it"
        prev_hash, expected_id = event["hash"], expected_id + 1
    return None


@dataclass(frozen=True, slots=True)
class ChainReport:
    ok: bool
    events: int
    problem: str = ""
    first_bad_id: int | None = None


def verify_chain(db: Database, actor: Actor) -> ChainReport:
    """Walk the whole chain: every hash recomputes, every link points at its predecessor, the head is
    the one recorded outside the database or a later one."""
    require(db, actor, "audit.read")
    keys = chain_keys(db.url)
    with db.connect() as conn:
        return check_chain(conn, keys)


def check_chain(conn: Connection, keys: ChainKeys,
                on_event: Callable[[dict[str, Any]], None] | None = None) -> ChainReport:
    """Check the chain; `on_event` sees each event that checked out, in order."""
    if keys.problem:
        return ChainReport(False, 0, keys.problem)
    keyed_from, head = keys.keyed_from, keys.head
    prev_hash, expected_id, count, recorded_hash = GENESIS_HASH, 1, 0, GENESIS_HASH
    for event in audit_store.iter_events(conn):
        count += 1
        event_id = event["id"]
        if event_id != expected_id:
            return ChainReport(False, count, f"event {expected_id} is missing (found {event_id} next)", expected_id)
        if event["prev_hash"] != prev_hash:
            return ChainReport(False, count, f"event {event_id} does not link to the event before it", event_id)
        keyed = keyed_from is not None and event_id >= keyed_from
        if keyed and keys.key is None:
            return ChainReport(False, count, f"the chain is keyed from event {keyed_from}, but this installation "
                                             f"has no audit key: it cannot be checked here", event_id)
        if (keyed_hash(event, keys.key) if keys.key and keyed else event_hash(event)) != event["hash"]:
            if not keyed and keys.key is not None and keyed_hash(event, keys.key) == event["hash"]:
                where = "is missing" if head is None else f"says the chain is keyed from event {keyed_from}"
                return ChainReport(False, count, f"event {event_id} is keyed, but the record of the chain kept "
                                                 f"outside the database ({keys.head_path}) {where}", event_id)
            return ChainReport(False, count, f"event {event_id} was changed after it was written", event_id)
        if head is not None and event_id == head.last_id:
            recorded_hash = event["hash"]
        if on_event is not None:
            on_event(event)
        prev_hash, expected_id = event["hash"], expected_id + 1
    last_id, last_hash = audit_store.head(conn)
    if last_id != expected_id - 1 or last_hash != prev_hash:
        # The first event the head does not vouch for: one appended behind its back (chain longer
        # than the head), the first one deleted from the tail (shorter), or the rewritten last one.
        first_bad = last_id if last_id == expected_id - 1 else min(last_id, expected_id - 1) + 1
        return ChainReport(False, count, f"the chain ends at event {expected_id - 1} but its head says {last_id}",
                           first_bad)
    if head is not None and head.last_id > count:
        return ChainReport(False, count, f"the chain ends at event {count}, but the head recorded outside the "
                                         f"database is event {head.last_id}: events were removed from its end",
                           count + 1)
    if head is not None and recorded_hash != head.last_hash:
        return ChainReport(False, count, f"event {head.last_id} is not the one recorded outside the database as "
                                         "the chain's head: the chain was rewritten", head.last_id)
    return ChainReport(True, count)


def list_events(db: Database, viewer: Actor, /, **filters: Any) -> tuple[list[dict[str, Any]], int]:
    """A page of events, newest first, and how many match (filters: actor, entity, action, since, until...).

    `viewer` is positional-only so that `actor=` is free to be the filter on who did it.
    """
    require(db, viewer, "audit.read")
    with db.connect() as conn:
        return audit_store.list_events(conn, **filters)


def record_labels(db: Database, viewer: Actor, /, events: list[dict[str, Any]]) -> dict[tuple[str, str], str]:
    """(entity, entity_id) of each event -> how people know the record: 'INV-2026-00042', a customer's name, a
    payment's reference, or the stored id when the record has no name (a draft) or no longer exists."""
    require(db, viewer, "audit.read")
    wanted: dict[str, set[int]] = {}
    for event in events:
        if str(event["entity_id"]).isdigit():
            wanted.setdefault(str(event["entity"]), set()).add(int(event["entity_id"]))
    with db.connect() as conn:
        names = {(entity, str(key)): name for entity, ids in wanted.items()
                 for key, name in audit_store.record_names(conn, entity, sorted(ids)).items()}
    return {(str(e["entity"]), str(e["entity_id"])): names.get((str(e["entity"]), str(e["entity_id"])),
                                                                str(e["entity_id"])) for e in events}


def events_before(db: Database, viewer: Actor, /, *, before_id: int | None, limit: int,
                  **filters: Any) -> list[dict[str, Any]]:
    """Up to `limit` events, newest first, below the id `before_id` (cursor pagination; filters as list_events)."""
    require(db, viewer, "audit.read")
    with db.connect() as conn:
        return audit_store.events_before(conn, before_id=before_id, limit=limit, **filters)
