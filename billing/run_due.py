"""Everything that is due on a date, done once: recurring invoices, quote expiry, payment reminders.

`python -m billing run-due [--as-of DATE]` (cron, tests) and the portal's "Run due now" call `run_due`;
each part takes `as_of` and none reads the clock, so a test runs months in seconds.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from billing import quotes, recurring, reminders
from billing.permissions import Actor
from billing.store.db import Database


@dataclass(frozen=True)
class DueSummary:
    """What one run did."""

    as_of: date
    recurring: recurring.RunReport
    quotes_expired: list[int]
    reminders: reminders.ReminderReport

    def lines(self) -> list[str]:
        """The summary as short sentences (the CLI prints them, the portal shows them)."""
        found = [f"Recurring invoices created: {len(self.recurring.created)} "
                 f"({len(self.recurring.issued)} issued)."]
        found += [f"Schedule {schedule_id} could not create its invoice: {message}"
                  for schedule_id, message in sorted(self.recurring.failed.items())]
        found.append(f"Quotes expired: {len(self.quotes_expired)}.")
        found.append(f"Payment reminders given: {len(self.reminders.given)} "
                     f"({len(self.reminders.fee_invoices)} late fee invoices issued).")
        return found


def run_due(db: Database, actor: Actor, as_of: date) -> DueSummary:
    """Do everything due on or before `as_of` that is not done yet; running it twice does nothing more."""
    created = recurring.run_due_schedules(db, actor, as_of)
    expired = quotes.expire_quotes(db, actor, as_of)
    return DueSummary(as_of=as_of, recurring=created, quotes_expired=expired,
                      reminders=reminders.send_reminders(db, actor, as_of))
