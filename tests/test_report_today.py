"""Reports given no as-of date judge statuses on the company's date (Europe/Berlin), and keep results under it."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, tzinfo
from decimal import Decimal

import pytest

from billing import catalog, customers, invoices, reports, settings
from billing.permissions import SYSTEM
from billing.reports import ReportFilters
from billing.store.db import Database

DUE = date(2026, 3, 10)
# 22:30 and 23:30 UTC on the due date: in Berlin (UTC+1) still the due date, then already the next day, while
# the machine's clock (UTC) says the due date both times.
BEFORE_MIDNIGHT_IN_BERLIN = datetime(2026, 3, 10, 22, 30, tzinfo=UTC)
AFTER_MIDNIGHT_IN_BERLIN = datetime(2026, 3, 10, 23, 30, tzinfo=UTC)


class _Clock(datetime):
    """datetime whose now() is the instant a test sets."""

    instant = BEFORE_MIDNIGHT_IN_BERLIN

    @classmethod
    def now(cls, tz: tzinfo | None = None) -> _Clock:  # type: ignore[override]
        moment = cls.instant.astimezone(tz)
        return cls.fromtimestamp(moment.timestamp(), tz)


@pytest.fixture
def books(db: Database, monkeypatch: pytest.MonkeyPatch) -> Database:
    """An invoice issued ten days before DUE and due on DUE, in a company in Europe/Berlin."""
    monkeypatch.setattr(settings, "datetime", _Clock)
    monkeypatch.setattr(_Clock, "instant", BEFORE_MIDNIGHT_IN_BERLIN)
    settings.save_company(db, SYSTEM, {"legal_name": "Zeit GmbH", "base_currency": "EUR",
                                       "timezone": "Europe/Berlin"})
    rate = catalog.create_tax_rate(db, SYSTEM, {"name": "S19", "category": "S", "percent": "19"})
    customer = customers.create_customer(db, SYSTEM, {"name": "Acme", "currency": "EUR", "terms_days": 10})
    draft = invoices.create_draft(db, SYSTEM, {"customer_id": customer, "lines": [
        {"description": "Work", "quantity": "1", "unit_price": "100.00", "tax_rate_id": rate}]})
    invoices.issue_invoice(db, SYSTEM, draft, today=DUE - timedelta(days=10))
    return db


OVERDUE = ReportFilters(DUE - timedelta(days=30), DUE, statuses=("overdue",))


def test_revenue_series_is_judged_and_kept_on_the_company_date(books: Database,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    assert reports.revenue_series(books, SYSTEM, OVERDUE)["invoiced"].sum() == 0  # due today in Berlin
    monkeypatch.setattr(_Clock, "instant", AFTER_MIDNIGHT_IN_BERLIN)
    # Past midnight in Berlin: overdue, although nothing was written (a result kept under the machine's
    # date, still DUE, would be shown again).
    assert settings.company_today(books) == DUE + timedelta(days=1)
    assert reports.revenue_series(books, SYSTEM, OVERDUE)["invoiced"].sum() == Decimal("119.00")


def test_revenue_drill_down_is_judged_on_the_company_date(books: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    month = date(2026, 2, 1)  # issued on 28 February
    assert reports.revenue_invoices(books, SYSTEM, OVERDUE, "month", month, "EUR")[1] == 0
    monkeypatch.setattr(_Clock, "instant", AFTER_MIDNIGHT_IN_BERLIN)
    page, count = reports.revenue_invoices(books, SYSTEM, OVERDUE, "month", month, "EUR")
    assert count == 1
    assert list(page["status"]) == ["overdue"]
