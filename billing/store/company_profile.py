"""The company profile, kept in memory per database and read again only when its version (updated_at) moved."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import URL, Connection

from billing.store import records
from billing.store.schema import company


@dataclass(frozen=True, slots=True)
class _Cached:
    version: datetime
    profile: dict[str, Any]


_cached: dict[URL, _Cached] = {}
_lock = threading.Lock()


def company_profile(conn: Connection) -> dict[str, Any] | None:
    """The company row as `conn` sees it (None before first-run setup; a copy the caller may change).

    Every change of the row sets `updated_at` (billing.settings.save_company; a restore brings the backup's), so
    the row is read whole (its logo too) only when `updated_at` is not the one kept: one small query otherwise,
    on every call and in every process, so a change made by another server process on the same PostgreSQL
    database is seen at once, never a stale copy.
    """
    version = conn.execute(sa.select(company.c.updated_at).where(company.c.id == 1)).scalar()
    if version is None:
        return None
    key = conn.engine.url
    cached = _cached.get(key)
    if cached is not None and cached.version == version:
        return dict(cached.profile)
    row = records.get(conn, company, 1)
    if row is not None:
        with _lock:
            _cached[key] = _Cached(row["updated_at"], row)
        return dict(row)
    return None
