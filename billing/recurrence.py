"""When a recurring schedule falls due: pure date arithmetic, no clock (dates in, dates out)."""

from __future__ import annotations

import calendar
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta

from billing.errors import ValidationError

WEEK, MONTH, QUARTER, YEAR = "week", "month", "quarter", "year"
FREQUENCIES: dict[str, str] = {WEEK: "Every week", MONTH: "Every month", QUARTER: "Every quarter", YEAR: "Every year"}
MONTHS_OF = {MONTH: 1, QUARTER: 3, YEAR: 12}
LAST_DAY = 0  # day_of_month 0 means "the last day of the month"


@dataclass(frozen=True, slots=True)
class Recurrence:
    """How often a schedule falls due.

    `day_of_month`: None for the start date's day, LAST_DAY for the month's last day, or 1..31, clamped to
    the month's end (the 31st gives 30 April and 28 or 29 February, and 31 March again: every date is
    computed from the start, so a short month never shifts the later ones). Weekly schedules fall on the
    start date's weekday. `end_date` and `max_count` (either, both or neither) end the schedule.
    """

    frequency: str
    start_date: date
    day_of_month: int | None = None
    end_date: date | None = None
    max_count: int | None = None

    def __post_init__(self) -> None:
        check_recurrence(self)


def check_recurrence(rule: Recurrence) -> None:
    """Raise ValidationError naming what is wrong with a recurrence."""
    if rule.frequency not in FREQUENCIES:
        raise ValidationError(f"Unknown frequency '{rule.frequency}': choose week, month, quarter or year.",
                              param="frequency")
    if rule.day_of_month is not None and not 0 <= rule.day_of_month <= 31:
        raise ValidationError("The day of the month must be from 1 to 31, or 0 for the last day of the month.",
                              param="day_of_month")
    if rule.end_date is not None and rule.end_date < rule.start_date:
        raise ValidationError("The end date is before the start date.", param="end_date")
    if rule.max_count is not None and not 1 <= rule.max_count <= 10_000:
        raise ValidationError("The number of invoices must be from 1 to 10000.", param="max_count")


def _in_month(year: int, month: int, day: int) -> date:
    last = calendar.monthrange(year, month)[1]
    return date(year, month, last if day == LAST_DAY else min(day, last))


def _candidate(rule: Recurrence, k: int) -> date:
    """The k-th date of the rule's grid counted from the start's month (or week), before skipping."""
    if rule.frequency == WEEK:
        return rule.start_date + timedelta(weeks=k)
    months = rule.start_date.month - 1 + k * MONTHS_OF[rule.frequency]
    day = rule.start_date.day if rule.day_of_month is None else rule.day_of_month
    return _in_month(rule.start_date.year + months // 12, months % 12 + 1, day)


def occurrence(rule: Recurrence, period: int) -> date | None:
    """The date of occurrence `period` (0 is the first on or after the start), None past the schedule's end."""
    if period < 0 or (rule.max_count is not None and period >= rule.max_count):
        return None
    # With a fixed day before the start's day, the start month's date is before the start: begin one later.
    skip = 1 if _candidate(rule, 0) < rule.start_date else 0
    try:
        on = _candidate(rule, period + skip)
    except (ValueError, OverflowError):  # beyond year 9999
        return None
    return None if rule.end_date is not None and on > rule.end_date else on


def occurrences(rule: Recurrence, first_period: int, until: date) -> Iterator[tuple[int, date]]:
    """(period, date) of the occurrences from `first_period` on that fall on or before `until`."""
    period = first_period
    while (on := occurrence(rule, period)) is not None and on <= until:
        yield period, on
        period += 1


def first_period_from(rule: Recurrence, first_period: int, on_or_after: date) -> int:
    """The first period from `first_period` on whose date is on or after `on_or_after` (resuming skips the rest)."""
    return first_period + sum(1 for _ in occurrences(rule, first_period, on_or_after - timedelta(days=1)))


def upcoming(rule: Recurrence, first_period: int, count: int) -> list[tuple[int, date]]:
    """The next `count` occurrences from `first_period` (fewer if the schedule ends)."""
    found: list[tuple[int, date]] = []
    for period in range(first_period, first_period + count):
        on = occurrence(rule, period)
        if on is None:
            break
        found.append((period, on))
    return found
