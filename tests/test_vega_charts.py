"""The dashboard's Vega-Lite chart: its data and format, and the bar a click selected."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pandas as pd
import pytest

from ui import vega_charts


def series() -> pd.DataFrame:
    return pd.DataFrame({"currency": ["EUR", "EUR", "USD", "EUR"],
                         "period": [date(2026, 2, 1), date(2026, 1, 1), date(2026, 1, 1), date(2026, 2, 1)],
                         "invoiced": [Decimal("100.50"), Decimal("80.00"), Decimal("5.00"), Decimal("0.25")],
                         "collected": [Decimal("90.00"), None, Decimal("1.00"), Decimal("0.75")]})


def test_bars_of_one_currency_per_period_in_order() -> None:
    data, spec = vega_charts.revenue_bars(series(), "EUR", "month")
    assert data.to_dict("records") == [
        {"period": "2026-01-01", "label": "Jan 2026", "measure": "Invoiced", "amount": 80.0},
        {"period": "2026-02-01", "label": "Feb 2026", "measure": "Invoiced", "amount": 100.75},
        {"period": "2026-01-01", "label": "Jan 2026", "measure": "Collected", "amount": 0.0},
        {"period": "2026-02-01", "label": "Feb 2026", "measure": "Collected", "amount": 90.75}]
    assert spec["encoding"]["x"]["sort"] == ["Jan 2026", "Feb 2026"]
    assert spec["encoding"]["y"]["axis"]["labelExpr"] == "format(datum.value, '~s') + ' EUR'"
    assert spec["params"][0]["name"] == vega_charts.SELECTION


def test_the_amount_shown_has_the_currency_s_decimals() -> None:
    assert vega_charts.revenue_bars(series(), "JPY", "month")[1]["encoding"]["tooltip"][2]["format"] == ",.0f"
    assert vega_charts.revenue_bars(series(), "EUR", "month")[1]["encoding"]["tooltip"][2]["format"] == ",.2f"


def test_no_rows_give_an_empty_chart() -> None:
    data, spec = vega_charts.revenue_bars(series(), "GBP", "month")
    assert data.empty and list(data.columns) == ["period", "label", "measure", "amount"]
    assert spec["encoding"]["x"]["sort"] == []


@pytest.mark.parametrize(("event", "point"), [
    ({"selection": {"bar": [{"period": "2026-02-01"}]}}, ["2026-02-01", "", ""]),
    ({"selection": {"bar": {"period": ["2026-03-01"]}}}, ["2026-03-01", "", ""]),
    ({"selection": {"bar": []}}, None),
    ({"selection": {}}, None),
    (None, None),
])
def test_a_click_gives_the_point_the_revenue_page_drills_into(event: object, point: list[str] | None) -> None:
    assert vega_charts.clicked(event) == point
