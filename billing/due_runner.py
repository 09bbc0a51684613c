"""The server's daily `run-due`: in the outbox thread, at most once an hour, by one runner at a time (a lease)."""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from billing import leases, settings
from billing.permissions import SYSTEM
from billing.run_due import DueSummary, run_due
from billing.store.db import Database

log = logging.getLogger("billing.due_runner")
LEASE = "run-due"
LEASE_TIME = timedelta(minutes=30)
EVERY = timedelta(hours=1)


def company_today(db: Database, now: datetime) -> date:
    """The date at UTC time `now` in the company's time zone (an invoice due on the 1st is due on Berlin's 1st)."""
    try:
        zone = ZoneInfo((settings.get_company(db) or {}).get("timezone") or "UTC")
    except (KeyError, ValueError):
        zone = ZoneInfo("UTC")
    return now.replace(tzinfo=ZoneInfo("UTC")).astimezone(zone).date()


class DueRunner:
    """Runs `run_due` for the company's today when an hour has passed since this runner last did, if it gets
    the lease (another process on PostgreSQL may be doing it). A rerun on the same day creates nothing more."""

    def __init__(self, holder: str) -> None:
        self.holder = holder
        self.last_run: datetime | None = None

    def maybe_run(self, db: Database, now: datetime) -> DueSummary | None:
        if self.last_run is not None and now - self.last_run < EVERY:
            return None
        self.last_run = now  # a failed run is tried again an hour later, not at every round of the thread
        if not leases.acquire(db, LEASE, self.holder, now, LEASE_TIME):
            return None
        try:
            summary = run_due(db, SYSTEM, company_today(db, now))
        finally:
            leases.release(db, LEASE, self.holder, now)
        log.info("Ran what is due on %s: %s", summary.as_of, " ".join(summary.lines()))
        return summary
