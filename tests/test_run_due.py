"""billing.run_due and `python -m billing run-due`: everything due once, as of a date; a bad date is named."""

from __future__ import annotations

from datetime import date

import pytest

from billing import quotes, recurring, reminders
from billing.cli import main
from billing.cli_run_due import as_of_date
from billing.errors import ValidationError
from billing.run_due import run_due
from billing.store.db import Database
from tests.conftest import ADMIN, Billed, Seed, line


def test_one_run_does_every_part_and_a_second_nothing(db: Database, seeded: Seed, billed: Billed) -> None:
    recurring.create_schedule(db, ADMIN, {"name": "Rent", "frequency": "month", "start_date": date(2025, 1, 1),
                                          "action": "issue", "template": {"customer_id": seeded.beta,
                                                                          "lines": [line(seeded.s19)]}})
    quote_id = quotes.create_quote(db, ADMIN, {"customer_id": seeded.acme, "lines": [line(seeded.s19)],
                                               "valid_until": "2025-03-31"})
    quotes.send_quote(db, ADMIN, quote_id, date(2025, 3, 1))
    reminders.save_levels(db, ADMIN, [{"days_after_due": 7, "subject": "Reminder {number}"}])
    summary = run_due(db, ADMIN, date(2025, 4, 15))
    assert len(summary.recurring.created) == 4 and summary.quotes_expired == [quote_id]
    rent = summary.recurring.created  # January to March are due 30 days later, so overdue too; April not yet
    assert {invoice for invoice, _ in summary.reminders.given} == {billed.a, billed.b, *rent[:3]}
    assert "Recurring invoices created: 4 (4 issued)." in summary.lines()
    again = run_due(db, ADMIN, date(2025, 4, 15))
    assert (again.recurring.created, again.quotes_expired, again.reminders.given) == ([], [], [])


def test_the_command_runs_as_of_a_date_and_names_a_bad_one(db: Database, seeded: Seed, monkeypatch: pytest.MonkeyPatch,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    recurring.create_schedule(db, ADMIN, {"name": "Rent", "frequency": "week", "start_date": date(2025, 1, 1),
                                          "template": {"customer_id": seeded.beta, "lines": [line(seeded.s19)]}})
    url = db.url
    db.dispose()
    monkeypatch.setenv("BILLING_DATABASE_URL", url)
    assert main(["run-due", "--as-of", "31.01.2025"]) == 2
    assert "--as-of '31.01.2025' is not a date: write it as YYYY-MM-DD" in capsys.readouterr().err
    assert main(["run-due", "--as-of", "2025-01-31"]) == 0
    assert "Recurring invoices created: 5 (0 issued)." in capsys.readouterr().out


def test_as_of_defaults_to_the_day_given() -> None:
    assert as_of_date(None, date(2025, 5, 1)) == date(2025, 5, 1)
    with pytest.raises(ValidationError, match="not a date"):
        as_of_date("2025-02-30", date(2025, 5, 1))
