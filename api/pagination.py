"""Cursor pagination: `limit` (1-100) and `starting_after` (the cursor of the last item seen)."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from typing import Annotated, Any, TypeVar

from fastapi import Query
from pydantic import BeforeValidator

from api.errors import ParamError
from billing.errors import ValidationError
from billing.logic import date_problem
from billing.money import check_currency

T = TypeVar("T")
MAX_ID = 2**63 - 1

Limit = Annotated[int, Query(ge=1, le=100, description="How many items a page holds (1-100).")]
IdCursor = Annotated[int | None, Query(ge=0, le=MAX_ID, description="The id of the last item of the previous page.")]
_ISO = re.compile(r"\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:?\d{2})?)?",
                  re.ASCII)  # \d is [0-9] only: no Arabic-Indic or other Unicode digits


def _iso(value: Any) -> Any:
    """Only ISO 8601 text (pydantic would take a number as seconds since 1970)."""
    if isinstance(value, str) and not _ISO.fullmatch(value):
        raise ValueError("must be an ISO 8601 date-time such as 2026-01-31T09:30:00Z")
    return value


Since = Annotated[datetime | None, BeforeValidator(_iso),
                  Query(description="ISO 8601 date-time (2026-01-31T09:30:00Z); without a zone, UTC.")]


def page(items: Sequence[T], limit: int, cursor: Callable[[T], object]) -> dict[str, Any]:
    """A page from up to limit + 1 items read in order: the extra one only says there is more."""
    shown = list(items[:limit])
    more = len(items) > limit
    return {"data": shown, "has_more": more, "next_cursor": str(cursor(shown[-1])) if more and shown else None}


def after(items: Sequence[T], key: Callable[[T], Any], starting_after: Any, limit: int) -> list[T]:
    """Up to limit + 1 items after `starting_after` in `key` order, from a short list held in memory."""
    ordered = sorted(items, key=key)
    return [item for item in ordered if starting_after is None or key(item) > starting_after][:limit + 1]


def utc(moment: datetime | None) -> datetime | None:
    """A query's date-time as the store keeps it: naive UTC."""
    if moment is None or moment.tzinfo is None:
        return moment
    try:
        return moment.astimezone(UTC).replace(tzinfo=None)
    except OverflowError:
        raise ParamError("updated_since", "out of range") from None


def book_date(value: date, param: str) -> date:
    """A date the books take (2000-2099), or a 422 naming the parameter."""
    problem = date_problem(value)
    if problem:
        raise ParamError(param, problem)
    return value


def currency_code(value: str, param: str) -> str:
    """An ISO 4217 currency code (upper-cased), or a 422 naming the parameter (the value is not echoed)."""
    try:
        return check_currency(value)
    except ValidationError:
        raise ParamError(param, "not a known currency: use a three-letter ISO 4217 code such as EUR") from None
