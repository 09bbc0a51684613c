"""What every report shares: the filters and their checks, money, ratios and tables."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Concatenate, ParamSpec, TypeVar

import pandas as pd

from billing import logic
from billing.errors import ValidationError
from billing.money import round_money
from billing.permissions import Actor, require
from billing.settings import company_today
from billing.store.db import Database
from billing.store.result_cache import BOOKS

GRANULARITIES = ("day", "week", "month", "quarter", "year")
STATUSES = (logic.UNPAID, logic.PARTIALLY_PAID, logic.PAID, logic.OVERDUE, logic.CREDITED)  # display statuses
TENTH = Decimal("0.1")


@dataclass(frozen=True)
class ReportFilters:
    """Filters shared by the report pages (and kept in the URL query string by the UI).

    statuses: display statuses of invoices to include (unpaid, partially_paid, paid, overdue; also
    credited); empty means all issued invoices. Credit notes count negatively in invoiced figures
    and follow the status of the invoice they credit.
    """

    date_from: date
    date_to: date
    customer_ids: tuple[int, ...] = ()
    product_ids: tuple[int, ...] = ()
    statuses: tuple[str, ...] = ()
    currencies: tuple[str, ...] = ()


P = ParamSpec("P")
R = TypeVar("R")


def kept_report(func: Callable[Concatenate[Database, Actor, P], R]) -> Callable[Concatenate[Database, Actor, P], R]:
    """A report whose result is kept per arguments (and the company's today) until the books change
    (billing.store.result_cache): a page shown again, by anyone, costs no query. The permission and the
    session are checked on every call."""

    @functools.wraps(func)
    def report(db: Database, actor: Actor, /, *args: P.args, **kwargs: P.kwargs) -> R:
        require(db, actor, "reports.read")
        key = (func.__name__, company_today(db), args, tuple(sorted(kwargs.items())))
        try:
            hash(key)
        except TypeError:  # a list where a tuple is expected: computed, not kept
            return func(db, actor, *args, **kwargs)
        return db.results.get(key, (BOOKS,), lambda: func(db, actor, *args, **kwargs))

    return report


def check_range(date_from: date, date_to: date) -> None:
    """Both dates valid and in order, or a ValidationError."""
    logic.check_date(date_from, "The start date")
    logic.check_date(date_to, "The end date")
    if date_from > date_to:
        raise ValidationError("The start date must be on or before the end date.")


def check_filters(filters: ReportFilters) -> None:
    """The date range valid and every status known, or a ValidationError."""
    check_range(filters.date_from, filters.date_to)
    unknown = [s for s in filters.statuses if s not in STATUSES]
    if unknown:
        raise ValidationError(f"Unknown status '{unknown[0]}'. Choose from: {', '.join(STATUSES)}.")


def check_granularity(granularity: str) -> None:
    """One of GRANULARITIES, or a ValidationError."""
    if granularity not in GRANULARITIES:
        raise ValidationError(f"Unknown granularity '{granularity}'. Choose from: {', '.join(GRANULARITIES)}.")


def money(value: Any, currency: str) -> Decimal:
    """A sum from the database (None for none) rounded to the currency."""
    return round_money(Decimal(value if value is not None else 0), currency)


def ratio(numerator: Decimal, denominator: Decimal, quantum: Decimal = TENTH) -> Decimal | None:
    """numerator / denominator rounded half up to `quantum`; None when the denominator is not positive."""
    if denominator <= 0:
        return None
    return (numerator / denominator).quantize(quantum, rounding=ROUND_HALF_UP)


def to_frame(rows: Iterable[dict[str, Any]], columns: list[str]) -> pd.DataFrame:
    """A table of plain Python values: Decimal, date, int, str or None stay as they are (object
    columns; a column of ids with a None would otherwise turn into floats)."""
    records = list(rows)
    return pd.DataFrame({c: pd.Series([r[c] for r in records], dtype=object) for c in columns}, columns=columns)


def period_end(start: date, granularity: str) -> date:
    """Last day of the period of `granularity` that begins on `start`."""
    if granularity == "day":
        return start
    if granularity == "week":
        return start + timedelta(days=6)
    months = {"month": 1, "quarter": 3, "year": 12}[granularity]
    month = start.month - 1 + months
    return date(start.year + month // 12, month % 12 + 1, 1) - timedelta(days=1)
