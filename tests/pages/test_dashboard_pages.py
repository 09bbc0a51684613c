"""AppTest of the dashboard's issue-13 changes: twelve months against the same months a year earlier, one
number format for every currency, a bar opening its invoices on the Revenue page, only the open currency tab drawn."""

from __future__ import annotations

from datetime import date

from portal import AS_OF, ok, open_page

from billing import reports
from billing.store.db import Database

PAGE = "app_pages/dashboard.py"


def test_twelve_months_are_compared_with_the_same_months_a_year_earlier(demo_db: Database) -> None:
    at = ok(open_page("analyst", PAGE))
    caption = next(c.value for c in at.caption if "compared with" in c.value)
    assert "the same months a year earlier" in caption
    assert reports.comparison_range(date(2026, 1, 1), date(2026, 12, 7), year_before=True) == (
        date(2025, 1, 1), date(2025, 12, 7))
    assert reports.comparison_range(date(2024, 3, 1), date(2025, 2, 28)) == (date(2023, 3, 2), date(2024, 2, 29))
    assert reports.comparison_range(date(2024, 2, 29), date(2024, 2, 29), year_before=True) == (
        date(2023, 2, 28), date(2023, 2, 28))


def test_every_currency_uses_one_number_format(demo_db: Database) -> None:
    at = ok(open_page("analyst", PAGE))
    invoiced = [m.value for m in at.metric if m.label == "Invoiced"]
    assert len(invoiced) > 1  # demo data bills in several currencies
    compact = [value[-1] in "KMB" for value in invoiced]
    assert len(set(compact)) == 1, invoiced


def test_a_clicked_bar_opens_its_invoices_on_the_revenue_page(demo_db: Database) -> None:
    at = ok(open_page("analyst", PAGE))
    chart_key = next(chart.key for chart in at.get("vega_lite_chart") if chart.key and ":EUR:" in chart.key)
    signature = chart_key.rsplit(":", 1)[1]
    month = date(AS_OF.year, AS_OF.month, 1).isoformat()
    at.session_state["revenue:drill"] = (signature, "EUR", [month, "", ""])
    at.session_state["dashboard:drill"] = True
    at.run()
    ok(at)
    assert at.title[0].value == "Revenue"
    assert any(s.value.startswith("Invoices · ") and "EUR" in s.value for s in at.subheader), \
        [s.value for s in at.subheader]


def test_only_the_open_currency_tab_draws_its_chart(demo_db: Database) -> None:
    at = ok(open_page("analyst", PAGE))
    assert len(at.tabs) > 1  # demo data bills in several currencies
    assert [chart.key.split(":")[2] for chart in at.get("vega_lite_chart")] == ["EUR"]
    second = at.tabs[1].label
    at.session_state["dashboard:tab"] = second
    ok(at.run())
    [chart] = at.get("vega_lite_chart")
    assert chart.key.split(":")[2] in second
