"""SQL of API keys: insert, list, revoke, and the live state of a key and its user."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from billing.store.schema import api_keys, users


def insert(conn: Connection, values: dict[str, Any]) -> None:
    conn.execute(api_keys.insert().values(**values))


def listed(conn: Connection, username: str | None = None) -> list[dict[str, Any]]:
    """Keys, newest first, without their hashes; those of one user if `username` is given."""
    query = sa.select(*(c for c in api_keys.c if c.name != "secret_hash"))
    if username is not None:
        query = query.where(api_keys.c.username == username)
    return [dict(r) for r in conn.execute(query.order_by(api_keys.c.created_at.desc(), api_keys.c.id)).mappings()]


def revoke(conn: Connection, key_id: str, now: datetime) -> bool:
    """Revoke a live key; False if there is no such key or it was revoked already."""
    result = conn.execute(api_keys.update().where(api_keys.c.id == key_id, api_keys.c.revoked_at.is_(None))
                          .values(revoked_at=now))
    return bool(result.rowcount)


def live_key(conn: Connection, key_id: str) -> dict[str, Any] | None:
    """A key that is not revoked, with its hash, its role, its user's role and whether the user is active and
    when they last changed their password. One query: it runs on every API call made with a key."""
    row = conn.execute(sa.select(api_keys.c.id, api_keys.c.secret_hash, api_keys.c.username, api_keys.c.role,
                                 api_keys.c.last_used_at, users.c.role.label("user_role"), users.c.active)
                       .select_from(api_keys.join(users, users.c.username == api_keys.c.username))
                       .where(api_keys.c.id == key_id, api_keys.c.revoked_at.is_(None))).mappings().first()
    return None if row is None else dict(row)


def touch(conn: Connection, key_id: str, now: datetime) -> None:
    conn.execute(api_keys.update().where(api_keys.c.id == key_id).values(last_used_at=now))


def user_state(conn: Connection, username: str) -> dict[str, Any] | None:
    """An API token's user: role, active, password_changed_at."""
    row = conn.execute(sa.select(users.c.role, users.c.active, users.c.password_changed_at)
                       .where(users.c.username == username)).mappings().first()
    return None if row is None else dict(row)
