"""Today as the books see it: the date in the company's time zone (as the portal dates what it issues)."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from billing import settings
from billing.store.db import Database


def company_today(db: Database) -> date:
    """Today in the company's time zone (UTC when none is set or it is unknown)."""
    name = (settings.get_company(db) or {}).get("timezone") or "UTC"
    try:
        zone = ZoneInfo(name)
    except (KeyError, ValueError):
        zone = ZoneInfo("UTC")
    return datetime.now(zone).date()
