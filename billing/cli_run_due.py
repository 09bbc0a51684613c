"""`python -m billing run-due [--as-of DATE]`: everything due once, as the system (for cron and tests)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from datetime import date

from billing.errors import ValidationError
from billing.permissions import SYSTEM
from billing.run_due import run_due
from billing.store.db import Database


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser], database: Callable[[], Database]) -> None:
    """Register `run-due`; `database` opens the installation's database."""
    command = sub.add_parser("run-due", help="create due recurring invoices, expire quotes, give due reminders")
    command.add_argument("--as-of", help="the date to run for (YYYY-MM-DD; default: today)")
    command.set_defaults(func=lambda args: _run(database, args))


def as_of_date(text: str | None, today: date) -> date:
    """The --as-of date, or `today`; a clear message for anything else."""
    if not text:
        return today
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValidationError(f"--as-of '{text}' is not a date: write it as YYYY-MM-DD, e.g. 2025-03-31.") from None


def _run(database: Callable[[], Database], args: argparse.Namespace) -> int:
    as_of = as_of_date(args.as_of, date.today())  # the one place the clock is read: the command line's default
    summary = run_due(database(), SYSTEM, as_of)
    print(f"Ran what is due on {as_of.isoformat()}:")
    for line in summary.lines():
        print(f"  {line}")
    return 1 if summary.recurring.failed else 0
