"""AppTest of the report pages (dashboard, revenue, aging, collections, statements, tax) and their shared filters."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from portal import ROOT, download_payload, ok
from streamlit.runtime.media_file_manager import MediaFileManager
from streamlit.testing.v1 import AppTest

from billing import reports
from billing.permissions import ROLES, SYSTEM
from billing.reports import ReportFilters
from billing.statement_pdf import statement_pdf
from billing.store.db import Database
from ui import format as fmt
from ui import report_filters
from ui.charts import period_label

PAGES = {"dashboard": "app_pages/dashboard.py", "revenue": "app_pages/revenue.py", "aging": "app_pages/aging.py",
         "collections": "app_pages/cash_collections.py", "statements": "app_pages/statements.py",
         "tax": "app_pages/tax_report.py"}
TITLES = {"dashboard": "Dashboard", "revenue": "Revenue", "aging": "AR aging", "collections": "Collections & cash",
          "statements": "Customer statement", "tax": "Tax report"}


pytestmark = pytest.mark.usefixtures("demo_db")  # demo data S (four currencies), shared: the report pages only read


def open_page(role: str, page: str, **params: str) -> AppTest:
    """app.py signed in as `role`, straight on `page` with these query parameters (a bookmark)."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.session_state["auth_username"] = role
    if Path(PAGES[page]).stem.replace("_", "-") != Path(PAGES[page]).stem:
        at.run()  # before a first run AppTest finds a page by file name only, not by its url_path (tax-report)
    at.query_params.update(params)
    return ok(at.switch_page(PAGES[page]).run())


def download_labels(at: AppTest) -> list[str]:
    return [button.label for button in at.get("download_button")]


def params(at: AppTest) -> dict[str, list[str]]:
    """The app's query string after the run (AppTest keeps each key's values as a list)."""
    return {name: list(values) if isinstance(values, list) else [values] for name, values in at.query_params.items()}


# --- every page, every role ---------------------------------------------------------------------

@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("page", list(PAGES))
def test_every_report_page_renders_for_every_role(role: str, page: str) -> None:
    at = open_page(role, page, **({"customer": "1"} if page == "statements" else {}))
    assert TITLES[page] in at.title.values
    assert "Something went wrong" not in " ".join(e.value for e in at.error)


@pytest.mark.parametrize("page", list(PAGES))
def test_every_table_offers_both_exports(page: str) -> None:
    at = open_page("analyst", page, **({"customer": "1"} if page == "statements" else {}))
    shown = download_labels(at)
    assert shown.count("Export CSV") >= 1 and shown.count("Export CSV") == shown.count("Export PDF"), shown


def test_the_report_pages_are_in_the_menu_of_every_role() -> None:
    from billing.permissions import Actor
    from ui.pages import pages_for

    for role in ROLES:
        scripts = {spec.script for spec in pages_for(Actor(role, role)) if spec.section == "Reports"}
        assert scripts == set(PAGES.values()) - {PAGES["dashboard"]}


# --- the dashboard ------------------------------------------------------------------------------

def test_dashboard_shows_one_row_of_metrics_per_currency(demo_db: Database) -> None:
    at = open_page("analyst", "dashboard", period="this_year")
    figures = reports.dashboard(demo_db, SYSTEM, ReportFilters(date(date.today().year, 1, 1), date.today()),
                                date.today())
    currencies = list(figures["currency"])
    assert len(currencies) >= 2  # the demo bills in EUR, USD, GBP and JPY: never added together
    labels = [m.label for m in at.metric if m.label != "Expected in, next 30 days"]
    assert labels == ["Invoiced", "Collected", "Outstanding", "Overdue", "DSO", "Avg. days to pay",
                      "Open invoices"] * len(currencies)
    assert "Top overdue customers" in " ".join(at.markdown.values)


def test_dashboard_compares_with_the_previous_period() -> None:
    at = open_page("accountant", "dashboard", period="last_month")
    today = date.today()
    first, last = report_filters.period_range("last_month", today)
    before = report_filters.previous_range(first, last)
    assert report_filters.span(*before) in at.caption.values[0]


# --- filters in the URL and from page to page ---------------------------------------------------

def test_revenue_restores_its_filters_from_the_url(demo_db: Database) -> None:
    at = open_page("analyst", "revenue", period="this_year", currency="EUR", by="customer", every="quarter",
                   status="paid")
    assert at.selectbox(key="rf:period").value == "this_year"
    assert at.multiselect(key="rf:currency").value == ["EUR"]
    assert at.multiselect(key="rf:status").value == ["paid"]
    assert at.segmented_control(key="rf:by").value == "customer"
    assert at.segmented_control(key="rf:every").value == "quarter"
    assert f"01 Jan {date.today().year}" in " ".join(at.caption.values)
    assert at.subheader.values[-1] == "Revenue by quarter"
    table = at.dataframe[-1].value
    assert set(table["Currency"]) == {"EUR"} and "Customer" in table.columns
    assert params(at)["currency"] == ["EUR"] and params(at)["by"] == ["customer"]


@pytest.mark.parametrize("breakdown", reports.BREAKDOWNS)
def test_revenue_by_every_breakdown(breakdown: str) -> None:
    at = open_page("analyst", "revenue", by=breakdown, every="quarter", period="last_12_months")
    table = at.dataframe[-1].value
    assert table.columns.is_unique and {"Period", "Currency", "Invoiced", "Net", "Collected"} <= set(table.columns)
    assert "Something went wrong" not in " ".join(at.error.values)


def test_a_custom_range_and_customers_come_back_from_a_shared_link(demo_db: Database) -> None:
    at = open_page("analyst", "revenue", period="custom", dates="2026-03-01..2026-05-31", customer=["1", "2"])
    assert at.date_input(key="rf:dates").value == (date(2026, 3, 1), date(2026, 5, 31))
    assert at.multiselect(key="rf:customer").value == [1, 2]
    assert set(at.dataframe[-1].value["Period"]) <= {"Mar 2026", "Apr 2026", "May 2026"}


def test_invalid_url_values_are_ignored() -> None:
    at = open_page("analyst", "revenue", period="forever", currency=["XXX", "eur"], customer="abc", by="mood",
                   dates="2026-13-01..x")
    assert at.selectbox(key="rf:period").value == report_filters.DEFAULT_PERIOD
    assert at.multiselect(key="rf:currency").value == []
    assert at.segmented_control(key="rf:by").value == "none"
    assert "period" not in params(at) and "by" not in params(at)


def test_filters_follow_the_user_to_the_next_report_page() -> None:
    at = open_page("analyst", "revenue")
    at.multiselect(key="rf:currency").set_value(["USD"]).run()
    at.selectbox(key="rf:period").set_value("this_quarter").run()
    assert params(ok(at))["currency"] == ["USD"]
    at.switch_page(PAGES["aging"]).run()
    assert ok(at).multiselect(key="rf:currency").value == ["USD"]
    assert params(at)["currency"] == ["USD"]  # in the new page's URL too: bookmarkable there as well
    assert [m.label for m in at.metric] == ["Outstanding · USD"]
    at.switch_page(PAGES["tax"]).run()
    assert ok(at).selectbox(key="rf:period").value == "this_quarter"


# --- revenue drill-down -------------------------------------------------------------------------

def test_a_click_on_a_bar_lists_the_invoices_behind_it(demo_db: Database, downloads: list[MediaFileManager]) -> None:
    at = open_page("analyst", "revenue", period="this_year", currency="EUR")
    chart_key = next(key for key in at.session_state if key.startswith("revenue:chart:EUR:"))
    signature = chart_key.split(":")[3]  # revenue:chart:<currency>:<view signature>:<closed count>
    month = date(date.today().year, 2, 1)
    at.session_state["revenue:drill"] = (signature, "EUR", [month.isoformat(), "", ""])  # what a click records
    ok(at.run())
    assert at.subheader.values[0] == f"Invoices · {period_label(month, 'month')} · EUR"
    filters = ReportFilters(date(month.year, 1, 1), date.today(), currencies=("EUR",))
    _, total = reports.revenue_invoices(demo_db, SYSTEM, filters, "month", month, "EUR", limit=1)
    assert total > 0 and at.caption.values.count(f"1–{min(total, 50)} of {total:,}") == 1
    rows = list(csv.reader(io.StringIO(download_payload(downloads, at, "revenue:invoices:csv").decode("utf-8-sig"))))
    assert rows[0][:2] == ["Number", "Customer"] and len(rows) == total + 1
    assert download_payload(downloads, at, "revenue:invoices:pdf").startswith(b"%PDF")
    at.button(key="revenue:close").click().run()
    assert not any(value.startswith("Invoices ·") for value in ok(at).subheader.values)


# --- aging --------------------------------------------------------------------------------------

def test_aging_shows_buckets_and_total_per_currency(demo_db: Database) -> None:
    at = open_page("analyst", "aging")
    summary = at.dataframe[-1].value
    assert list(summary.columns) == ["Currency", "Current", "1-30", "31-60", "61-90", "90+", "Total"]
    expected = reports.aging(demo_db, SYSTEM, date.today())
    assert sorted(summary["Currency"]) == sorted(expected["currency"])
    assert "By customer" in at.subheader.values


def test_aging_as_of_a_past_date_with_own_buckets(demo_db: Database) -> None:
    at = open_page("accountant", "aging", as_of="2026-06-30", buckets="15,45", currency="EUR")
    assert at.date_input(key="rf:as_of").value == date(2026, 6, 30)
    summary = at.dataframe[-1].value
    assert list(summary.columns) == ["Currency", "Current", "1-15", "16-45", "45+", "Total"]
    total = reports.aging(demo_db, SYSTEM, date(2026, 6, 30), (15, 45), ("EUR",))["Total"].iloc[0]
    assert summary["Total"].iloc[0] == f"€{total:,}"


def test_aging_warns_about_unusable_buckets() -> None:
    at = open_page("analyst", "aging")
    at.text_input(key="rf:buckets").set_value("90,30").run()
    assert "Buckets:" in ok(at).warning.values[0]
    assert list(at.dataframe[-1].value.columns)[1:6] == ["Current", "1-30", "31-60", "61-90", "90+"]


def test_a_bucket_click_lists_its_open_invoices(demo_db: Database) -> None:
    at = open_page("analyst", "aging")
    at.session_state["aging:drill"] = {"currency": "EUR", "bucket": "90+", "customer_id": None, "customer": None}
    ok(at.run())
    assert "Open invoices · EUR · 90+" in at.subheader.values[-1]
    _, total = reports.aging_invoices(demo_db, SYSTEM, date.today(), "EUR", "90+", limit=1)
    assert at.caption.values.count(f"1–{min(total, 50)} of {total:,}") >= 1


# --- statement, tax, collections ----------------------------------------------------------------

def test_statement_of_a_customer_with_its_pdf(demo_db: Database, downloads: list[MediaFileManager]) -> None:
    at = open_page("analyst", "statements", customer="1", period="this_year")
    assert [m.label for m in at.metric] == ["Opening balance", "Invoiced", "Paid and credited", "Closing balance"]
    entries = at.dataframe[0].value
    assert entries["Description"].iloc[0] == "Opening balance" and entries["Description"].iloc[-1] == "Closing balance"
    assert download_payload(downloads, at, "stmt:pdf").startswith(b"%PDF")
    assert params(at)["customer"] == ["1"]


def test_statement_asks_for_a_customer_first() -> None:
    at = open_page("analyst", "statements")
    assert "Choose a customer" in at.info.values[0]


def test_statement_pdf_prints_any_script(demo_db: Database) -> None:
    statement = reports.customer_statement(demo_db, SYSTEM, 1, "EUR", date(2025, 1, 1), date.today())
    foreign = replace(statement, customer={**statement.customer, "name": "Ωμέγα Ærø Łódź – Café"})
    document = statement_pdf(foreign, {"legal_name": "Acme Consulting GmbH", "bank_details": "IBAN DE89"})
    assert document.startswith(b"%PDF") and len(document) > 5_000


def test_tax_report_by_category_and_rate_split_by_quarter() -> None:
    at = open_page("accountant", "tax", period="this_year", split="quarter")
    table = at.dataframe[0].value
    assert list(table.columns[:4]) == ["Period", "Currency", "VAT category", "Rate"]
    assert set(table["Period"]) <= {f"Q{n} {date.today().year}" for n in range(1, 5)}
    assert all(m.label.startswith("VAT due · ") for m in at.metric)


def test_collections_explains_the_forecast() -> None:
    at = open_page("analyst", "collections")
    assert at.subheader.values[:3] == ["Expected cash-in, next 90 days", "Overdue invoices to chase",
                                       "Payments by method"]
    assert any(reports.FORECAST_METHOD[:40] in caption.replace("\\", "") for caption in at.caption.values)
    assert [m.label for m in at.metric][:3] == ["Next 30 days", "Next 60 days", "Next 90 days"]


# --- pure helpers -------------------------------------------------------------------------------

@pytest.mark.parametrize(("period", "expected"), [
    ("this_month", (date(2026, 3, 1), date(2026, 3, 10))),
    ("last_month", (date(2026, 2, 1), date(2026, 2, 28))),
    ("this_quarter", (date(2026, 1, 1), date(2026, 3, 10))),
    ("this_year", (date(2026, 1, 1), date(2026, 3, 10))),
    ("last_12_months", (date(2025, 4, 1), date(2026, 3, 10))),
])
def test_period_presets(period: str, expected: tuple[date, date]) -> None:
    assert report_filters.period_range(period, date(2026, 3, 10)) == expected


def test_previous_period_has_the_same_length() -> None:
    assert report_filters.previous_range(date(2026, 3, 1), date(2026, 3, 31)) == (date(2026, 1, 29),
                                                                                   date(2026, 2, 28))
    assert report_filters.month_start(date(2026, 1, 15), 1) == date(2025, 12, 1)
    assert report_filters.month_start(date(2026, 11, 15), -3) == date(2027, 2, 1)


@pytest.mark.parametrize(("name", "raw", "value"), [
    ("dates", ["2026-05-31..2026-03-01"], (date(2026, 3, 1), date(2026, 5, 31))),
    ("dates", ["yesterday"], None),
    ("customer", ["3", "x", "3", "7"], (3, 7)),
    ("currency", ["EUR", "usd", "ZZZ"], ("EUR",)),
    ("status", ["paid", "lost"], ("paid",)),
    ("period", ["custom"], "custom"),
])
def test_query_values_are_decoded_strictly(name: str, raw: list[str], value: Any) -> None:
    assert report_filters.CODECS[name].decode(raw) == value


@pytest.mark.parametrize("dates", ["2026-01-01..9999-12-31", "0001-01-01..2026-01-01", "1999-12-31..2026-01-01"])
@pytest.mark.parametrize("page", [page for page in PAGES if page != "aging"])
def test_a_link_with_dates_outside_the_books_says_so_and_shows_the_report(page: str, dates: str) -> None:
    at = open_page("admin", page, period="custom", dates=dates, **({"customer": "1"} if page == "statements" else {}))
    assert TITLES[page] in at.title.values  # was an error page
    assert [w.value for w in at.warning if "cannot be used" in w.value] == [
        f"The dates in the link ({dates}) cannot be used: give two dates between 2000-01-01 and 2099-12-31, "
        "such as 2026-01-01..2026-03-31."]


@pytest.mark.parametrize("as_of", ["0001-01-01", "1999-12-31", "2100-01-01", "9999-12-31"])
def test_aging_as_of_a_day_outside_the_books_says_so_and_shows_today(as_of: str) -> None:
    at = open_page("admin", "aging", as_of=as_of)
    assert [w.value for w in at.warning] == [
        f"The “As of” date in the link ({as_of}) cannot be used: give a date between 2000-01-01 and 2099-12-31."]
    assert at.date_input(key="rf:as_of").value == report_filters.context.today()


def test_aging_buckets_beyond_ten_years_fall_back_to_the_defaults() -> None:
    at = open_page("admin", "aging", buckets="30,60,99999999")  # was an OverflowError
    assert at.text_input(key="rf:buckets").value == "30,60,90"
    assert "Over 90 days" in " ".join(at.caption.values)


def test_markdown_specials_are_shown_literally() -> None:
    assert fmt.plain("$1.00 to $2.00 *bold*") == "\\$1.00 to \\$2.00 \\*bold\\*"


def test_sub_periods_cover_the_range_exactly() -> None:
    assert report_filters.sub_periods(date(2026, 2, 10), date(2026, 8, 5), "quarter") == [
        ("Q1 2026", date(2026, 2, 10), date(2026, 3, 31)), ("Q2 2026", date(2026, 4, 1), date(2026, 6, 30)),
        ("Q3 2026", date(2026, 7, 1), date(2026, 8, 5))]
    months = report_filters.sub_periods(date(2026, 1, 1), date(2026, 12, 31), "month")
    assert len(months) == 12 and months[1] == ("Feb 2026", date(2026, 2, 1), date(2026, 2, 28))
    assert report_filters.sub_periods(date(2026, 1, 1), date(2026, 1, 9), "none") == [
        ("", date(2026, 1, 1), date(2026, 1, 9))]


def test_selecting_a_customer_lists_what_they_owe(demo_db: Database) -> None:
    at = open_page("analyst", "aging", currency="EUR")
    grid = next(frame for frame in at.dataframe if "Days late" in frame.value.columns)
    first = grid.value.iloc[0]
    at.session_state[grid.key] = {"selection": {"rows": [0], "columns": [], "cells": []}}  # a click on row 1
    ok(at.run())
    assert at.subheader.values[1] == f"Open invoices · EUR · {first['Customer']}"
    drill = at.session_state["aging:drill"]
    _, total = reports.aging_invoices(demo_db, SYSTEM, date.today(), "EUR", customer_id=drill["customer_id"], limit=1)
    assert at.caption.values.count(f"1–{min(total, 50)} of {total:,}") >= 1


def test_every_page_renders_before_anything_is_billed(database_copy: Callable[[Path], Database],
                                                       portal_template: Path) -> None:
    database_copy(portal_template)  # the company and its users, nothing billed: the app under test opens it
    for page in PAGES:
        at = open_page("admin", page, **({"customer": "1"} if page == "statements" else {}))
        assert TITLES[page] in at.title.values
        assert at.info.values or at.success.values, page  # says there is nothing yet, in words
