"""billing.due_runner: the server's hourly run-due, one runner at a time, on the company's date."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from billing import leases, recurring
from billing.due_runner import LEASE, DueRunner, company_today
from billing.store.db import Database
from tests.conftest import ADMIN, Seed, line


def test_it_runs_hourly_on_the_companys_date_and_yields_to_a_lease_holder(db: Database, seeded: Seed) -> None:
    recurring.create_schedule(db, ADMIN, {"name": "Rent", "frequency": "month", "start_date": date(2025, 4, 1),
                                          "action": "issue", "template": {"customer_id": seeded.beta,
                                                                          "lines": [line(seeded.s19)]}})
    late_evening = datetime(2025, 3, 31, 22, 30)  # UTC: already 1 April in Berlin
    assert company_today(db, late_evening) == date(2025, 4, 1)
    other = DueRunner("other")
    assert leases.acquire(db, LEASE, "someone else", late_evening, timedelta(minutes=5))
    assert other.maybe_run(db, late_evening) is None
    runner = DueRunner("server")
    summary = runner.maybe_run(db, late_evening + timedelta(minutes=10))
    assert summary is not None and summary.as_of == date(2025, 4, 1) and len(summary.recurring.created) == 1
    assert runner.maybe_run(db, late_evening + timedelta(minutes=40)) is None  # within the hour
    again = runner.maybe_run(db, late_evening + timedelta(hours=2))
    assert again is not None and again.recurring.created == []
