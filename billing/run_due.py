"""Everything that is due on a date, done once: recurring invoices, quote expiry, payment reminders.

`python -m billing run-due [--as-of DATE]` (cron, tests) and the portal's "Run due now" call `run_due`;
each part takes `as_of` and none reads the clock, so a test runs months in seconds.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from billing import recurring
from billing.permissions import Actor
from billing.store.db import Database


@dataclass(frozen=True)
class DueSummary:
    """What one run did."""

    as_of: date
    recurring: recurring.RunReport

    def lines(self) -> list[str]:
        """The summary as short sentences (the CLI prints them, the portal shows them)."""
        found = [f"Recurring invoices created: {len(self.recurring.created)} "
                 f"({len(self.recurring.issued)} issued)."]
        found += [f"Schedule {schedule_id} could not create its invoice: {message}"
                  for schedule_id, message in sorted(self.recurring.failed.items())]
        return found


def run_due(db: Database, actor: Actor, as_of: date) -> DueSummary:
    """Do everything due on or before `as_of` that is not done yet; running it twice does nothing more."""
    return DueSummary(as_of=as_of, recurring=recurring.run_due_schedules(db, actor, as_of))
