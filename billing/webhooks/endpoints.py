"""Webhook endpoints (admin): register, change, roll the secret, delete; their deliveries with attempts, resend."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Connection

from billing import audit
from billing.errors import NotFoundError, StateError, ValidationError
from billing.permissions import Actor, require
from billing.store import webhooks as store
from billing.store.db import Database, utcnow
from billing.text import check_text
from billing.webhooks import EVENT_TYPES, delivery, signing
from billing.webhooks.events import RETRY_FOR

PERMISSION = "webhooks.manage"


@dataclass(frozen=True, slots=True)
class Endpoint:
    """A registered endpoint. `events`: the event types it takes; `secret_hint`: the secret's first characters
    (the secret itself is shown once, when it is made)."""

    id: int
    url: str
    description: str
    events: tuple[str, ...]
    secret_hint: str
    active: bool
    created_at: datetime
    created_by: str
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class Attempt:
    """One try: when, the HTTP status (None: no answer), why it failed, how long it took."""

    attempted_at: datetime
    status_code: int | None
    error: str
    duration_ms: int


@dataclass(frozen=True, slots=True)
class Delivery:
    """One event to one endpoint: pending (with its next attempt), delivered or failed; `payload` the event's data."""

    id: int
    event_id: str
    endpoint_id: int
    type: str
    entity: str
    entity_id: int
    status: str
    attempts: int
    next_attempt_at: datetime | None
    retry_until: datetime
    last_status: int | None
    last_error: str
    created_at: datetime
    finished_at: datetime | None
    payload: str
    tries: tuple[Attempt, ...] = ()


def _record(cls: Any, row: dict[str, Any], **extra: Any) -> Any:
    names = {field.name for field in fields(cls)}
    return cls(**{key: value for key, value in row.items() if key in names}, **extra)


def _endpoint(row: dict[str, Any]) -> Endpoint:
    return _record(Endpoint, {**row, "events": tuple(row["events"].split(","))})  # type: ignore[no-any-return]


def checked_events(events: Sequence[str]) -> str:
    unknown = sorted(set(events) - set(EVENT_TYPES))
    if unknown:
        raise ValidationError(f"Unknown event type {unknown[0]!r}; the types are {', '.join(EVENT_TYPES)}.",
                              param="events")
    if not events:
        raise ValidationError("Choose at least one event type.", param="events")
    return ",".join(sorted(set(events)))


def create_endpoint(db: Database, actor: Actor, url: str, events: Sequence[str],
                    description: str = "") -> tuple[Endpoint, str]:
    """Register an endpoint; returns it with its signing secret (shown this once)."""
    require(db, actor, PERMISSION)
    values = {"url": delivery.check_url(url), "events": checked_events(events),
              "description": check_text(description, "Description", param="description").strip()}
    secret = signing.new_secret()
    now = utcnow()

    def work(conn: Connection) -> int:
        endpoint_id = store.insert_endpoint(conn, {
            **values, "secret": signing.encrypt_secret(db.url, secret), "secret_hint": secret[:10], "active": True,
            "created_at": now, "created_by": actor.username, "updated_at": now})
        audit.record(conn, actor, "webhook.create", "webhook_endpoint", endpoint_id, after=values)
        return endpoint_id

    return get_endpoint(db, actor, db.transaction(work)), secret


def list_endpoints(db: Database, actor: Actor) -> list[Endpoint]:
    require(db, actor, PERMISSION)
    with db.connect() as conn:
        return [_endpoint(row) for row in store.list_endpoints(conn)]


def get_endpoint(db: Database, actor: Actor, endpoint_id: int) -> Endpoint:
    require(db, actor, PERMISSION)
    with db.connect() as conn:
        return _endpoint(_stored_endpoint(conn, endpoint_id))


def _stored_endpoint(conn: Connection, endpoint_id: int) -> dict[str, Any]:
    row = store.get_endpoint(conn, endpoint_id)
    if row is None:
        raise NotFoundError(f"Webhook endpoint {endpoint_id} does not exist.")
    return row


def update_endpoint(db: Database, actor: Actor, endpoint_id: int, *, url: str | None = None,
                    events: Sequence[str] | None = None, description: str | None = None,
                    active: bool | None = None) -> Endpoint:
    """Change what is given; a disabled endpoint gets no new events (pending ones are still sent)."""
    require(db, actor, PERMISSION)
    values: dict[str, Any] = {}
    if url is not None:
        values["url"] = delivery.check_url(url)
    if events is not None:
        values["events"] = checked_events(events)
    if description is not None:
        values["description"] = check_text(description, "Description", param="description").strip()
    if active is not None:
        values["active"] = active

    def work(conn: Connection) -> None:
        before = _stored_endpoint(conn, endpoint_id)
        store.update_endpoint(conn, endpoint_id, {**values, "updated_at": utcnow()})
        audit.record(conn, actor, "webhook.update", "webhook_endpoint", endpoint_id,
                     before={key: before[key] for key in values}, after=values)

    db.transaction(work)
    return get_endpoint(db, actor, endpoint_id)


def roll_secret(db: Database, actor: Actor, endpoint_id: int) -> tuple[Endpoint, str]:
    """A new signing secret (shown this once); the old one stops signing at once."""
    require(db, actor, PERMISSION)
    secret = signing.new_secret()

    def work(conn: Connection) -> None:
        _stored_endpoint(conn, endpoint_id)
        store.update_endpoint(conn, endpoint_id, {"secret": signing.encrypt_secret(db.url, secret),
                                                  "secret_hint": secret[:10], "updated_at": utcnow()})
        audit.record(conn, actor, "webhook.roll_secret", "webhook_endpoint", endpoint_id)

    db.transaction(work)
    return get_endpoint(db, actor, endpoint_id), secret


def delete_endpoint(db: Database, actor: Actor, endpoint_id: int) -> None:
    """Delete an endpoint: what was still to be sent to it fails; its deliveries stay visible."""
    require(db, actor, PERMISSION)

    def work(conn: Connection) -> None:
        before = _stored_endpoint(conn, endpoint_id)
        store.delete_endpoint(conn, endpoint_id, utcnow())
        audit.record(conn, actor, "webhook.delete", "webhook_endpoint", endpoint_id,
                     before={key: before[key] for key in ("url", "events", "description")})

    db.transaction(work)


def deliveries_before(db: Database, actor: Actor, *, before_id: int | None, limit: int, endpoint_id: int | None = None,
                      status: str | None = None, event_type: str | None = None) -> list[Delivery]:
    """Deliveries, newest first, below the id `before_id` (cursor pages), without their attempts."""
    require(db, actor, PERMISSION)
    with db.connect() as conn:
        rows = store.deliveries_before(conn, before_id=before_id, limit=limit, endpoint_id=endpoint_id,
                                       status=status, event_type=event_type)
    return [_record(Delivery, row) for row in rows]


def get_delivery(db: Database, actor: Actor, delivery_id: int) -> Delivery:
    """A delivery with every attempt, oldest first."""
    require(db, actor, PERMISSION)
    with db.connect() as conn:
        row = store.get_delivery(conn, delivery_id)
        if row is None:
            raise NotFoundError(f"Webhook delivery {delivery_id} does not exist.")
        tries = tuple(_record(Attempt, attempt) for attempt in store.attempts_of(conn, delivery_id))
    return _record(Delivery, row, tries=tries)  # type: ignore[no-any-return]


def resend_delivery(db: Database, actor: Actor, delivery_id: int) -> Delivery:
    """Send a delivery again at the next round (the same event id), retried for another three days."""
    require(db, actor, PERMISSION)
    now = utcnow()

    def work(conn: Connection) -> None:
        row = store.get_delivery(conn, delivery_id)
        if row is None:
            raise NotFoundError(f"Webhook delivery {delivery_id} does not exist.")
        if store.get_endpoint(conn, row["endpoint_id"]) is None:
            raise StateError("The endpoint of this delivery was deleted.")
        store.update_delivery(conn, delivery_id, {"status": store.PENDING, "next_attempt_at": now,
                                                  "retry_until": now + RETRY_FOR, "finished_at": None})
        audit.record(conn, actor, "webhook.resend", "webhook_delivery", delivery_id,
                     after={"event_id": row["event_id"]})

    db.transaction(work)
    return get_delivery(db, actor, delivery_id)
