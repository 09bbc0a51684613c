"""The dashboard's chart as Vega-Lite: the browser draws it with a library a third the size of Plotly's, in one pass.

Measured at L in Chromium (benchmarks/bench_browser.py): Plotly's chunk is 4.7 MB of JavaScript to load and
compile, and its chart changed the page for a second after the sign-in's script run had ended; Vega-Lite's
chunks are 1.5 MB. The bars drill down as on the Revenue page: a click gives the same point (`charts.clicked`).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

import pandas as pd

from billing.money import minor_unit
from ui import charts

SELECTION = "bar"  # the Vega-Lite parameter a click selects: the bar's period
MEASURES = (("invoiced", "Invoiced", charts.INVOICED), ("collected", "Collected", charts.COLLECTED))


def revenue_bars(frame: pd.DataFrame, currency: str, granularity: str, height: int = 300) -> tuple[pd.DataFrame,
                                                                                                    dict[str, Any]]:
    """Invoiced vs collected per period in one currency, side by side: the data and the Vega-Lite spec for
    st.vega_lite_chart (amounts become floats only here, for drawing)."""
    rows = frame[frame["currency"] == currency]
    totals = rows.groupby("period", sort=True)[["invoiced", "collected"]].sum()
    periods: list[date] = totals.index.tolist()
    data = pd.DataFrame([
        {"period": period.isoformat(), "label": charts.period_label(period, granularity), "measure": label,
         "amount": float(value if value is not None else 0)}  # float ok: the chart edge
        for column, label, _ in MEASURES for period, value in zip(periods, totals[column].tolist(), strict=True)],
        columns=["period", "label", "measure", "amount"])
    order = [charts.period_label(period, granularity) for period in periods]
    spec = {
        "height": height,
        "params": [{"name": SELECTION, "select": {"type": "point", "fields": ["period"], "on": "click",
                                                  "clear": False}}],
        "mark": {"type": "bar", "cursor": "pointer", "tooltip": True},
        "encoding": {
            "x": {"field": "label", "type": "ordinal", "sort": order, "title": None,
                  "axis": {"labelAngle": 0, "labelExpr": "split(datum.label, ' ')"}},  # "Dec" over "2025"
            "xOffset": {"field": "measure", "sort": [label for _, label, _ in MEASURES]},
            "y": {"field": "amount", "type": "quantitative", "title": None,
                  "axis": {"labelExpr": f"format(datum.value, '~s') + ' {currency}'"}},
            "color": {"field": "measure", "type": "nominal", "title": None,
                      "scale": {"domain": [label for _, label, _ in MEASURES],
                                "range": [colour for *_, colour in MEASURES]},
                      "legend": {"orient": "top", "direction": "horizontal"}},
            "tooltip": [{"field": "measure", "title": "Series"}, {"field": "label", "title": "Period"},
                        {"field": "amount", "type": "quantitative", "title": currency,
                         "format": f",.{minor_unit(currency)}f"}],
        },
    }
    return data, spec


def clicked(event: Any) -> list[Any] | None:
    """The clicked bar as the Plotly charts give it ([period ISO date, "", ""], see charts.revenue_figure), if any."""
    selection = event.get("selection", {}) if isinstance(event, Mapping) else getattr(event, "selection", {})
    points = (selection or {}).get(SELECTION) or []
    if isinstance(points, Mapping):  # {"period": [...]} rather than [{"period": ...}]
        periods = points.get("period") or []
        points = [{"period": period} for period in (periods if isinstance(periods, list) else [periods])]
    for point in points:
        if isinstance(point, Mapping) and point.get("period"):
            return [str(point["period"]), "", ""]
    return None
