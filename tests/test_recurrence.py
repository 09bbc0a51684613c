"""billing.recurrence: the dates a schedule falls due, month ends, leap years, ends by date and count."""

from __future__ import annotations

from datetime import date

import pytest

from billing.errors import ValidationError
from billing.recurrence import LAST_DAY, Recurrence, first_period_from, occurrence, occurrences, upcoming


def dates(rule: Recurrence, count: int) -> list[date]:
    return [on for _, on in upcoming(rule, 0, count)]


def test_the_31st_is_clamped_to_each_months_end_and_comes_back() -> None:
    rule = Recurrence("month", date(2024, 1, 31))
    assert dates(rule, 5) == [date(2024, 1, 31), date(2024, 2, 29), date(2024, 3, 31), date(2024, 4, 30),
                              date(2024, 5, 31)]


def test_february_in_a_common_year_and_a_leap_year() -> None:
    rule = Recurrence("year", date(2024, 2, 29))
    assert dates(rule, 5) == [date(2024, 2, 29), date(2025, 2, 28), date(2026, 2, 28), date(2027, 2, 28),
                              date(2028, 2, 29)]


def test_last_day_of_month() -> None:
    rule = Recurrence("month", date(2023, 1, 10), day_of_month=LAST_DAY)
    assert dates(rule, 3) == [date(2023, 1, 31), date(2023, 2, 28), date(2023, 3, 31)]


def test_a_day_before_the_start_day_begins_the_next_month() -> None:
    rule = Recurrence("month", date(2025, 1, 20), day_of_month=5)
    assert dates(rule, 2) == [date(2025, 2, 5), date(2025, 3, 5)]


@pytest.mark.parametrize(("frequency", "second"), [("week", date(2025, 1, 8)), ("quarter", date(2025, 4, 1)),
                                                   ("year", date(2026, 1, 1))])
def test_frequencies(frequency: str, second: date) -> None:
    assert dates(Recurrence(frequency, date(2025, 1, 1)), 2) == [date(2025, 1, 1), second]


def test_quarterly_on_the_31st() -> None:
    rule = Recurrence("quarter", date(2025, 1, 31))
    assert dates(rule, 4) == [date(2025, 1, 31), date(2025, 4, 30), date(2025, 7, 31), date(2025, 10, 31)]


def test_end_date_and_count_end_the_schedule() -> None:
    assert dates(Recurrence("month", date(2025, 1, 15), end_date=date(2025, 3, 15)), 10) == [
        date(2025, 1, 15), date(2025, 2, 15), date(2025, 3, 15)]
    assert dates(Recurrence("month", date(2025, 1, 15), max_count=2), 10) == [date(2025, 1, 15), date(2025, 2, 15)]
    assert occurrence(Recurrence("month", date(2025, 1, 15), max_count=2), 2) is None


def test_occurrences_up_to_a_date_and_resuming() -> None:
    rule = Recurrence("month", date(2025, 1, 1))
    assert list(occurrences(rule, 2, date(2025, 5, 1))) == [(2, date(2025, 3, 1)), (3, date(2025, 4, 1)),
                                                           (4, date(2025, 5, 1))]
    assert first_period_from(rule, 1, date(2025, 4, 2)) == 4


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"frequency": "daily"}, "Unknown frequency"),
    ({"day_of_month": 32}, "day of the month"),
    ({"end_date": date(2024, 12, 31)}, "end date is before"),
    ({"max_count": 0}, "number of invoices"),
])
def test_bad_recurrences_are_named(kwargs: dict[str, object], message: str) -> None:
    values: dict[str, object] = {"frequency": "month", "start_date": date(2025, 1, 1), **kwargs}
    with pytest.raises(ValidationError, match=message):
        Recurrence(**values)  # type: ignore[arg-type]
