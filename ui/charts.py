"""Plotly figures of the report pages: one currency per figure; amounts become floats only here.

Every clickable figure carries `customdata` on its points, so a click (st.plotly_chart with
on_select="rerun") says exactly what was clicked: see `clicked`.
"""

from __future__ import annotations

import hashlib
import html
from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import Any

import pandas as pd
import plotly.graph_objects as go

from billing.money import minor_unit
from ui import format as fmt

REVENUE_DRILL = "revenue:drill"  # the Revenue page's drill-down: (view signature, currency, clicked point)


def view_signature(query: object, granularity: str, breakdown: str) -> str:
    """A short name of one revenue view (filters, interval, breakdown): a drill-down belongs to the view it
    was clicked in, on the Revenue page or on the dashboard that opens it there."""
    return hashlib.sha1(f"{query}|{granularity}|{breakdown}".encode(), usedforsecurity=False).hexdigest()[:10]

INVOICED, COLLECTED, EXPECTED = "#3b5bdb", "#2f9e44", "#1098ad"
GROUP_COLOURS = ("#3b5bdb", "#f08c00", "#2f9e44", "#ae3ec9", "#1098ad", "#e8590c", "#5c940d", "#d6336c",
                 "#868e96")
# green (not yet due) to deep red (the oldest bucket); more buckets reuse the last colour
AGING_COLOURS = ("#2f9e44", "#fab005", "#f76707", "#e03131", "#a61e4d", "#862e9c")
OTHER = "Other"
ALL = "*"  # customdata group of a point that stands for every group (the collected line)


def period_label(period: date, granularity: str) -> str:
    """The start of a bucket in words: 'Mar 2026', 'Q1 2026', 'W12 2026', '3 Mar 2026', '2026'."""
    if granularity == "year":
        return str(period.year)
    if granularity == "quarter":
        return f"Q{(period.month - 1) // 3 + 1} {period.year}"
    if granularity == "month":
        return period.strftime("%b %Y")
    if granularity == "week":
        year, week, _ = period.isocalendar()
        return f"W{week:02d} {year}"
    return fmt.day(period)


def _text(value: Any) -> str:
    """Data as figure text: Plotly reads tags in it (<b>, <br>, <a href=...> makes a link), so < > & are entities."""
    return html.escape(str(value), quote=False)


def _floats(values: Sequence[Any] | pd.Series[Any]) -> list[float]:
    return [float(value) if value is not None else 0.0 for value in values]  # float ok: the chart edge


def _money_hover(currency: str, name: str | None = "%{fullData.name}") -> str:
    heading = f"{name}<br>%{{x}}" if name else "%{x}"
    return f"{heading}<br><b>%{{y:,.{minor_unit(currency)}f}} {currency}</b><extra></extra>"


def _layout(figure: go.Figure, currency: str, height: int, *, legend: bool = True, barmode: str = "group",
            clickable: bool = False) -> go.Figure:
    figure.update_layout(
        height=height, barmode=barmode, bargap=0.25, bargroupgap=0.08, margin={"l": 8, "r": 8, "t": 28, "b": 8},
        showlegend=legend, legend={"orientation": "h", "yanchor": "bottom", "y": 1.02, "x": 0, "title": None},
        hovermode="closest", clickmode="event+select" if clickable else "none", dragmode=False,
        yaxis={"title": None, "tickformat": "~s", "ticksuffix": f" {currency}", "separatethousands": True,
               "gridcolor": "rgba(128,128,128,0.18)", "zeroline": True},
        xaxis={"title": None, "type": "category", "automargin": True},
    )
    return figure


def revenue_figure(frame: pd.DataFrame, currency: str, granularity: str, breakdown: str, *, top: int = 8,
                   height: int = 380, narrow: bool = False, totals: pd.DataFrame | None = None) -> go.Figure:
    """Invoiced vs collected per period in one currency; with a breakdown, invoiced stacked by group and
    the collected line from `totals` (the series without breakdown) when given: money collected by
    product or tax rate counts an invoice under each of its groups, so it does not add up.

    Point customdata: [period ISO date, group_id as text ('' without a breakdown, ALL for the collected line,
    None for the "Other" bar that adds up the groups beyond `top`), group label].
    """
    rows = frame[frame["currency"] == currency].sort_values("period")
    periods = sorted(rows["period"].unique())
    labels = [period_label(period, granularity) for period in periods]
    if narrow:  # two lines ("Dec" over "2025") rather than slanted labels
        labels = [label.replace(" ", "<br>", 1) for label in labels]
    figure = go.Figure()
    if breakdown == "none" or rows.empty:
        totals = rows.groupby("period", sort=True)[["invoiced", "collected"]].sum()
        keys = [[period.isoformat(), "", ""] for period in periods]
        for column, name, colour in (("invoiced", "Invoiced", INVOICED), ("collected", "Collected", COLLECTED)):
            figure.add_bar(x=labels, y=_floats(totals[column].reindex(periods).tolist()), name=name,
                           marker_color=colour, customdata=keys, hovertemplate=_money_hover(currency))
        return _layout(figure, currency, height, clickable=True)
    rows = rows.assign(group_key=rows["group_id"].map(str))  # ids may be None ("Other customers")
    ranking = rows.groupby(["group_key", "group"])["invoiced"].sum()
    ranking = ranking.iloc[sorted(range(len(ranking)), key=lambda i: ranking.iloc[i], reverse=True)]
    leaders = list(ranking.index[:top])
    for position, (group_id, group) in enumerate(leaders):
        part = rows[rows["group_key"] == group_id].groupby("period")["invoiced"].sum()
        figure.add_bar(x=labels, y=_floats(part.reindex(periods, fill_value=Decimal(0)).tolist()), name=_text(group),
                       marker_color=GROUP_COLOURS[position % len(GROUP_COLOURS)],
                       customdata=[[period.isoformat(), group_id, str(group)] for period in periods],
                       hovertemplate=_money_hover(currency))
    if len(ranking) > top:
        chosen = {group_id for group_id, _ in leaders}
        rest = rows[~rows["group_key"].isin(chosen)].groupby("period")["invoiced"].sum()
        figure.add_bar(x=labels, y=_floats(rest.reindex(periods, fill_value=Decimal(0)).tolist()),  # type: ignore[arg-type]
                       name=f"{OTHER} ({len(ranking) - top})", marker_color=GROUP_COLOURS[-1],
                       customdata=[[period.isoformat(), None, OTHER] for period in periods],
                       hovertemplate=_money_hover(currency))
    source = rows if totals is None else totals[totals["currency"] == currency]
    # pandas-stubs do not list Decimal as a fill value; the column holds Decimal sums
    collected = source.groupby("period")["collected"].sum().reindex(periods, fill_value=Decimal(0))  # type: ignore[arg-type]
    figure.add_scatter(x=labels, y=_floats(collected.tolist()), name="Collected (total)", mode="lines+markers",
                       line={"color": "#212529", "width": 2, "dash": "dot"}, marker={"size": 6},
                       hovertemplate=_money_hover(currency), customdata=[[p.isoformat(), ALL, ""] for p in periods])
    return _layout(figure, currency, height, barmode="stack", clickable=True)


def clicked(event: Any) -> list[Any] | None:
    """The customdata of the point the user clicked in a chart shown with on_select="rerun", if any."""
    points = (event or {}).get("selection", {}).get("points", []) if isinstance(event, Mapping) else []
    if not points and event is not None and hasattr(event, "selection"):
        points = event.selection.get("points", [])
    for point in points:
        data = point.get("customdata")
        if data:
            return list(data)
    return None


def aging_figure(row: Mapping[str, Any], buckets: Sequence[str], currency: str, height: int = 260) -> go.Figure:
    """Outstanding per aging bucket of one currency; a bar's customdata is [bucket label]."""
    figure = go.Figure()
    figure.add_bar(x=list(buckets), y=_floats([row.get(bucket) or 0 for bucket in buckets]),
                   marker_color=[AGING_COLOURS[min(i, len(AGING_COLOURS) - 1)] for i in range(len(buckets))],
                   customdata=[[bucket] for bucket in buckets], name="Outstanding",
                   hovertemplate=_money_hover(currency, None))
    return _layout(figure, currency, height, legend=False, clickable=True)


def forecast_figure(frame: pd.DataFrame, currency: str, height: int = 300) -> go.Figure:
    """Expected cash-in per week of one currency (the cash_forecast report)."""
    rows = frame[frame["currency"] == currency].sort_values("week")
    figure = go.Figure()
    figure.add_bar(x=[week.strftime("%d %b") for week in rows["week"]], y=_floats(rows["expected"].tolist()),
                   marker_color=EXPECTED, name="Expected", customdata=[[int(n)] for n in rows["invoices"]],
                   hovertemplate=(f"Week of %{{x}}<br><b>%{{y:,.{minor_unit(currency)}f}} {currency}</b>"
                                  "<br>%{customdata[0]} invoices<extra></extra>"))
    return _layout(figure, currency, height, legend=False)


def methods_figure(frame: pd.DataFrame, currency: str, granularity: str, height: int = 320) -> go.Figure:
    """Payments received per period of one currency, stacked by payment method."""
    rows = frame[frame["currency"] == currency]
    periods = sorted(rows["period"].unique())
    labels = [period_label(period, granularity) for period in periods]
    figure = go.Figure()
    for position, method in enumerate(sorted(rows["method"].unique())):
        part = rows[rows["method"] == method].groupby("period")["amount"].sum()
        figure.add_bar(x=labels, y=_floats(part.reindex(periods, fill_value=Decimal(0)).tolist()),
                       name=fmt.label(method), marker_color=GROUP_COLOURS[position % len(GROUP_COLOURS)],
                       hovertemplate=_money_hover(currency))
    return _layout(figure, currency, height, barmode="relative")
