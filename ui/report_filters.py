"""The filters of the report pages, shared from page to page and kept in the URL query string.

A view is bookmarkable: every filter lives under a short query key (?period=this_year&currency=EUR
&customer=12&customer=40), opening such a URL restores it, and moving to another report page keeps
the filters (a session copy carries them over, since Streamlit clears the query string on a page
switch). Values equal to their default are left out of the URL, so a clean URL means "defaults".

The URL wins over the session copy only when it differs from what this session last wrote into it,
i.e. when someone opened a shared link; otherwise the widgets are the truth.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import pandas as pd
import streamlit as st

from billing import catalog, customers, logic
from billing.errors import BillingError
from billing.logic import FIRST_DATE, LAST_DATE
from billing.money import KNOWN_CURRENCIES
from billing.reports import ReportFilters
from ui import access, context
from ui import format as fmt
from ui.feedback import guarded

PERIODS = {"this_month": "This month", "last_month": "Last month", "this_quarter": "This quarter",
           "this_year": "This year", "last_12_months": "Last 12 months", "custom": "Custom dates"}
DEFAULT_PERIOD = "last_12_months"
STATUSES = {logic.UNPAID: "Unpaid", logic.PARTIALLY_PAID: "Partially paid", logic.PAID: "Paid",
            logic.OVERDUE: "Overdue"}
ALL_FILTERS = ("period", "customers", "products", "status", "currency")

_STORE = "report_filters"  # name -> value, carried across report pages
_WRITTEN = "report_filters:url"  # name -> the query values this session last wrote
_FRESH = "report_filters:fresh"  # widget keys set through session state in this run


# --- periods (pure) -----------------------------------------------------------------------------

def month_start(day: date, months_back: int = 0) -> date:
    """The first day of the month `months_back` months before `day`'s month."""
    index = day.year * 12 + day.month - 1 - months_back
    return date(index // 12, index % 12 + 1, 1)


def period_range(period: str, today: date) -> tuple[date, date]:
    """The dates a preset covers, up to today for the running ones ('this month' is month-to-date)."""
    if period == "this_month":
        return month_start(today), today
    if period == "last_month":
        return month_start(today, 1), month_start(today) - timedelta(days=1)
    if period == "this_quarter":
        return month_start(today, (today.month - 1) % 3), today
    if period == "this_year":
        return date(today.year, 1, 1), today
    # last 12 months: whole months, so monthly buckets line up (the running month included)
    return month_start(today, 11), today


def previous_range(date_from: date, date_to: date) -> tuple[date, date]:
    """The period of the same length just before (what the dashboard compares with)."""
    length = (date_to - date_from).days + 1
    return date_from - timedelta(days=length), date_from - timedelta(days=1)


def sub_periods(date_from: date, date_to: date, split: str) -> list[tuple[str, date, date]]:
    """The range cut into calendar months or quarters ("none": whole), the first and last partial:
    (label, from, to) each."""
    if split == "none":
        return [("", date_from, date_to)]
    step = 3 if split == "quarter" else 1
    start = month_start(date_from, (date_from.month - 1) % step)
    parts = []
    while start <= date_to:
        following = month_start(start, -step)
        label = f"Q{(start.month - 1) // 3 + 1} {start.year}" if split == "quarter" else start.strftime("%b %Y")
        parts.append((label, max(start, date_from), min(following - timedelta(days=1), date_to)))
        start = following
    return parts


def span(date_from: date, date_to: date) -> str:
    return f"{fmt.day(date_from)} – {fmt.day(date_to)}"


# --- query-string codecs (pure) -------------------------------------------------------------------

def _dates(raw: list[str]) -> tuple[date, date] | None:
    try:
        first, last = (date.fromisoformat(text) for text in raw[0].split("..", 1))
    except (ValueError, IndexError):
        return None
    if not (_in_books(first) and _in_books(last)):
        return None
    return (first, last) if first <= last else (last, first)


def _day(raw: list[str]) -> date | None:
    try:
        day = date.fromisoformat(raw[0])
    except (ValueError, IndexError):
        return None
    return day if _in_books(day) else None


def _in_books(day: date) -> bool:
    return FIRST_DATE <= day <= LAST_DATE


_SPAN = f"{FIRST_DATE.isoformat()} and {LAST_DATE.isoformat()}"


def _ids(raw: list[str]) -> tuple[int, ...] | None:
    found = tuple(dict.fromkeys(int(text) for text in raw if text.isascii() and text.isdigit()))  # not '²'
    return found or None


def _codes(allowed: Callable[[str], bool]) -> Callable[[list[str]], tuple[str, ...] | None]:
    def decode(raw: list[str]) -> tuple[str, ...] | None:
        return tuple(dict.fromkeys(text for text in raw if allowed(text))) or None
    return decode


def _one_of(options: Sequence[str]) -> Callable[[list[str]], str | None]:
    return lambda raw: raw[0] if raw and raw[0] in options else None


@dataclass(frozen=True)
class Codec:
    """How one filter travels in the URL: decode returns None for a missing or invalid value.

    refused: what to tell the user when a link's value cannot be used ({raw} is the value; no message when
    empty: the filter's default is then used silently).
    """

    decode: Callable[[list[str]], Any]
    encode: Callable[[Any], list[str]]
    refused: str = ""


_MANY = Codec(lambda raw: raw, lambda value: [str(item) for item in value])
CODECS: dict[str, Codec] = {
    "period": Codec(_one_of(list(PERIODS)), lambda value: [value]),
    "dates": Codec(_dates, lambda value: [f"{value[0].isoformat()}..{value[1].isoformat()}"],
                   f"The dates in the link ({{raw}}) cannot be used: give two dates between {_SPAN}, such as "
                   "2026-01-01..2026-03-31."),
    "customer": Codec(_ids, _MANY.encode),
    "product": Codec(_ids, _MANY.encode),
    "status": Codec(_codes(STATUSES.__contains__), _MANY.encode),
    "currency": Codec(_codes(lambda code: code.upper() == code and code in KNOWN_CURRENCIES), _MANY.encode),
}


# --- binding widgets to the URL and the session copy --------------------------------------------

def bound(name: str, default: Any, codec: Codec | None = None) -> tuple[str, Any]:
    """The widget key of filter `name` and the value it should show: from a shared link, else the session.

    Pass the value to the widget as its default as well: when the browser has not rendered the widget
    yet (a page switch, an interrupted run) it shows the default, so the default must be the value.
    """
    codec = codec or CODECS[name]
    key = f"rf:{name}"
    store = st.session_state.setdefault(_STORE, {})
    if from_link(name):
        raw = st.query_params.get_all(name)
        value = codec.decode(raw)
        if value is not None:
            store[name] = value
            set_widget(key, value)
        elif codec.refused:
            st.warning(codec.refused.format(raw=fmt.plain(", ".join(raw))), icon=":material/event_busy:")
    return key, st.session_state[key] if key in st.session_state else store.get(name, default)


def from_link(name: str) -> bool:
    """Whether the URL holds a value for `name` that this session did not write: a shared link."""
    raw = st.query_params.get_all(name)
    return bool(raw) and raw != st.session_state.get(_WRITTEN, {}).get(name)


def set_widget(key: str, value: Any) -> None:
    """Change a widget's value before it is created in this run (only if it exists and differs)."""
    if key in st.session_state and st.session_state[key] != value:
        st.session_state[key] = value
        st.session_state.setdefault(_FRESH, set()).add(key)


def initial(key: str, value: Any) -> Any:
    """The default to give the widget `key`: its value, unless that was just set through session state
    (then None: Streamlit logs a warning when a widget gets both)."""
    fresh = st.session_state.get(_FRESH, set())
    if key in fresh:
        fresh.discard(key)
        return None
    return value


def remember(name: str, value: Any, default: Any, codec: Codec | None = None) -> None:
    """Keep the widget's value for the other report pages and mirror it in the URL."""
    codec = codec or CODECS[name]
    st.session_state.setdefault(_STORE, {})[name] = value
    encoded = [] if value == default or value is None else codec.encode(value)
    if st.query_params.get_all(name) != encoded:
        if encoded:
            st.query_params[name] = encoded
        elif name in st.query_params:
            del st.query_params[name]
    st.session_state.setdefault(_WRITTEN, {})[name] = encoded


def url_choice(name: str, label: str, options: Mapping[str, str], default: str) -> str:
    """A single choice of a page (granularity, breakdown...) as a segmented control, kept in the URL too."""
    codec = Codec(_one_of(list(options)), lambda value: [value])
    key, value = bound(name, default, codec)
    if value not in options:
        value = default
        set_widget(key, value)
    value = st.segmented_control(label, list(options), format_func=lambda code: options[code], key=key, required=True,
                                 default=initial(key, value)) or default
    remember(name, value, default, codec)
    return str(value)


def url_date(name: str, label: str, default: date, **kwargs: Any) -> date:
    """A single date of a page (an "as of" date) kept in the URL; the default is left out of it. The date
    is one the books take (billing.logic.FIRST_DATE to LAST_DATE)."""
    codec = Codec(_day, lambda value: [value.isoformat()],
                  f"The “{label}” date in the link ({{raw}}) cannot be used: give a date between {_SPAN}.")
    key, value = bound(name, default, codec)
    chosen = st.date_input(label, value=initial(key, value), key=key, format="YYYY-MM-DD",
                           **{"min_value": FIRST_DATE, "max_value": LAST_DATE, **kwargs})
    chosen = chosen if isinstance(chosen, date) else default
    remember(name, chosen, default, codec)
    return chosen


# --- the filter bar ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Chosen:
    """What the user filtered on, for the queries (`query`) and in words (`words`, for exports)."""

    period: str
    date_from: date
    date_to: date
    customers: Mapping[int, str]
    products: Mapping[int, str]
    statuses: tuple[str, ...]
    currencies: tuple[str, ...]

    @property
    def query(self) -> ReportFilters:
        return ReportFilters(self.date_from, self.date_to, tuple(self.customers), tuple(self.products),
                             self.statuses, self.currencies)

    def words(self, *, period: bool = True) -> dict[str, str]:
        """The active filters in words ({"Period": "This year (1 Jan 2026 – 25 Nov 2026)", ...})."""
        shown = {"Period": f"{PERIODS[self.period]} ({span(self.date_from, self.date_to)})" if period else "",
                 "Customers": _some(list(self.customers.values())), "Products": _some(list(self.products.values())),
                 "Status": ", ".join(STATUSES[code] for code in self.statuses),
                 "Currency": ", ".join(self.currencies)}
        return {name: text for name, text in shown.items() if text}


def _some(names: list[str], shown: int = 3) -> str:
    """'A, B, C and 18 more': a filter line on a PDF stays one line."""
    rest = len(names) - shown
    return ", ".join(names[:shown]) + (f" and {rest} more" if rest > 0 else "")


def filter_bar(show: Sequence[str] = ALL_FILTERS, cells: Sequence[Any] | None = None) -> Chosen:
    """The shared filters this page uses, in one row; filters it does not show keep their value.

    cells: containers to put the filters in (one per filter in `show`), when the page lays out the row.
    """
    store = st.session_state.setdefault(_STORE, {})
    today = context.today()
    widths = {"period": 1.3, "customers": 1.6, "products": 1.6, "status": 1.6, "currency": 1.3}
    places = iter(cells if cells is not None else st.columns([widths[name] for name in show],
                                                             vertical_alignment="bottom"))
    period, dates = store.get("period", DEFAULT_PERIOD), store.get("dates")
    if "period" in show:
        with next(places):
            period, dates = _period_input(today)
    date_from, date_to = dates if period == "custom" and dates else period_range(period, today)
    chosen_customers = _customer_input(next(places)) if "customers" in show else {}
    chosen_products = _product_input(next(places)) if "products" in show else {}
    statuses = (_multi(next(places), "status", "Status", list(STATUSES), lambda code: STATUSES[code])
                if "status" in show else ())
    currencies = _multi(next(places), "currency", "Currency", _currency_options(), str) if "currency" in show else ()
    return Chosen(period, date_from, date_to, chosen_customers, chosen_products, statuses, currencies)


def _period_input(today: date) -> tuple[str, tuple[date, date] | None]:
    key, period = bound("period", DEFAULT_PERIOD)
    period = st.selectbox("Period", list(PERIODS), format_func=lambda code: PERIODS[code], key=key,
                          index=initial(key, list(PERIODS).index(period))) or DEFAULT_PERIOD
    remember("period", period, DEFAULT_PERIOD)
    if period != "custom":
        remember("dates", None, None)
        return period, None
    dates_key, dates = bound("dates", period_range("this_month", today))
    value = st.date_input("From – to", value=initial(dates_key, dates), key=dates_key, format="YYYY-MM-DD",
                          min_value=FIRST_DATE, max_value=LAST_DATE)
    dates = tuple(value) if isinstance(value, tuple | list) and len(value) == 2 else None
    if dates is None:  # the user picked the first day of a range so far: keep the last complete range
        dates = st.session_state[_STORE].get("dates") or period_range("this_month", today)
    remember("dates", dates, None)
    return period, dates


def _multi(cell: Any, name: str, label: str, options: list[str], shown: Callable[[str], Any]) -> tuple[str, ...]:
    key, value = bound(name, ())
    value = [item for item in value if item in options]
    set_widget(key, value)
    value = tuple(cell.multiselect(label, options, default=initial(key, value), format_func=shown, key=key,
                                   placeholder="All"))
    remember(name, value, ())
    return value


def _currency_options() -> list[str]:
    base = context.base_currency()
    common = [code for code in ("EUR", "USD", "GBP", "CHF", "JPY") if code != base]
    return [base, *common, *sorted(KNOWN_CURRENCIES - {base, *common})]


def _customer_input(cell: Any) -> dict[int, str]:
    """Customers to include: a search box and a multiselect in a popover (there may be 100k of them)."""
    key, selected = bound("customer", ())
    db, actor = context.db(), context.actor()
    store = st.session_state[_STORE]
    names: dict[int, str] = dict(store.get("customer_names", {}))
    for cid in selected:
        if cid not in names:
            try:
                names[cid] = str(customers.get_customer(db, actor, int(cid))["name"])
            except BillingError:
                continue
    selected = [cid for cid in selected if cid in names]
    set_widget(key, selected)
    count = len(selected)
    label = "All customers" if not count else fmt.plain(names[selected[0]]) if count == 1 else f"{count} customers"
    with cell.popover(label, icon=":material/groups:", width="stretch", help="Customers"):
        text = st.text_input("Find customers", key="rf:customer_search", placeholder="Name contains…",
                             icon=":material/search:")
        found = {cid: name for cid, name, _ in customers.customer_options(db, actor, text or "")}
        names.update(found)
        options = list(dict.fromkeys([*selected, *found]))
        chosen = st.multiselect("Customers", options, default=initial(key, selected), key=key,
                                placeholder="All customers",
                                format_func=lambda cid: names.get(cid, f"#{cid}"))
    store["customer_names"] = {cid: names[cid] for cid in chosen}
    remember("customer", tuple(chosen), ())
    return {cid: names[cid] for cid in chosen}


def _product_input(cell: Any) -> dict[int, str]:
    key, selected = bound("product", ())
    products = {int(row["id"]): str(row["name"]) for row in catalog.list_products(context.db(), context.actor(),
                                                                                  include_archived=True)}
    selected = [pid for pid in selected if pid in products]
    set_widget(key, selected)
    chosen = cell.multiselect("Products", list(products), default=initial(key, selected), format_func=products.get,
                              key=key, placeholder="All")
    remember("product", tuple(chosen), ())
    return {pid: products[pid] for pid in chosen}


# --- small pieces every report page uses ----------------------------------------------------------

def panel(func: Callable[..., None]) -> Callable[..., None]:
    """A part of a page that reruns alone (st.fragment): paging a table or changing a filter inside it
    does not recompute the rest. Its errors are shown like the page's, never as a traceback."""

    @functools.wraps(func)
    def run(*args: Any, **kwargs: Any) -> None:
        with guarded():
            func(*args, **kwargs)

    return access.fragment(run)


def frame_rows(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """A report table as row mappings for `ui.tables.paged_table` (Decimal stays Decimal)."""
    return [{str(name): value for name, value in row.items()} for row in frame.to_dict("records")]


# Report pages put several money figures side by side: smaller than st.metric's default, they stay
# whole. Static CSS only (no user data), scoped by container key: "kpis-*" rows, "card-*" cards.
METRIC_STYLE = """<style>
[class*="st-key-kpis-"] [data-testid="stMetricValue"] { font-size: 1.2rem; }
[class*="st-key-card-"] [data-testid="stMetricValue"] { font-size: 1.55rem; }
</style>"""


def compact_metrics() -> None:
    """Smaller metric figures inside containers keyed "kpis-…" or "card-…" on this page."""
    st.html(METRIC_STYLE)


def currency_order(codes: Sequence[str]) -> list[str]:
    """Currencies as tabs and rows show them: the company's base currency first, then A-Z."""
    base = context.base_currency()
    unique = sorted(set(codes))
    return [base, *[code for code in unique if code != base]] if base in unique else unique


def currency_tabs(key: str, codes: Sequence[str]) -> list[tuple[Any, str]]:
    """A tab per currency (none for one), and of them only the open one with its currency to draw into: each
    hidden tab's chart was drawn too (Plotly) before the page stood still. Opening another tab reruns the page."""
    if len(codes) <= 1:
        return [(st.container(), code) for code in codes]
    tabs = st.tabs([fmt.currency(code) for code in codes], key=key, on_change="rerun")
    return [(tab, code) for tab, code in zip(tabs, codes, strict=True) if tab.open]
