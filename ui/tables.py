"""Tables in and out: a database-paged, selectable, exportable table, and all-or-nothing CSV import.

`paged_table` never sends more than one page to the browser: it asks the caller's `fetch(limit,
offset)` for one page at a time, so a list of a million invoices costs one page of rows per run.
"""

from __future__ import annotations

import hashlib
import logging
import math
import re
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

import pandas as pd
import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from billing import exports, imports
from billing.errors import PermissionDeniedError
from billing.money import decimals_of, minor_unit, round_money, round_to
from billing.permissions import Actor
from billing.store.db import Database
from ui import context
from ui import format as fmt
from ui.feedback import flash, run_action, run_change

log = logging.getLogger("billing.ui")

Row = Mapping[str, Any]
Fetch = Callable[[int, int], tuple[Sequence[Row], int]]
Kind = Literal["text", "money", "price", "date", "datetime", "number", "percent", "bool", "status", "label", "country"]

EXPORT_CAP = 200_000  # rows in one CSV export; above it the user is asked to narrow the filters
ROW_PIXELS = 35  # st.dataframe's default row (and header) height
PDF_CAP = 10_000  # a PDF is for reading and printing; 10k rows already take a few seconds to lay out


@dataclass(frozen=True, slots=True)
class Column:
    """One column of a `paged_table`.

    key: the field of the fetched rows; label: its header; width: "small", "medium", "large" or pixels.
    kind: how a value is shown. "money": the amount in the row's own currency (the field named by
    `currency_key`); "price": likewise, keeping up to the 6 decimals of a unit price; "date" and
    "datetime": a day (and time); "percent": a tax rate; "status": an invoice status with its icon;
    "label": a stored code made readable (bank_transfer -> Bank transfer); "country": a country name;
    "bool": a checkbox; "number": a right-aligned number; "text": as it is.
    """

    key: str
    label: str
    kind: Kind = "text"
    currency_key: str = "currency"
    width: Literal["small", "medium", "large"] | int | None = None
    help: str | None = None


def paged_table(key: str, fetch: Fetch, columns: Sequence[Column], *, page_size: int = 50,
                filters: Mapping[str, str] | None = None, title: str = "Export",
                totals: Sequence[str] = (), selectable: bool = True, export: bool = True,
                empty: str = "Nothing to show.", visible_rows: int = 12) -> dict[str, Any] | None:
    """Show one page of a query as a table with page controls; return the row the user selected.

    key: unique per table on the page (the page number and selection live under it).
    fetch(limit, offset) -> (rows, total): one page of row mappings and the number of matching rows;
        paging happens in the database. It is also called once with limit=EXPORT_CAP when the user
        exports, possibly from another thread after the run: capture db, actor and dates in the
        closure, and call no `st.*` inside it.
    columns: what to show, in order (see `Column`).
    page_size: rows per page.
    filters: the active filters in words ({"Search": "acme", "Currency": "EUR"}). When they change
        the table goes back to page 1; they are also printed on the PDF export.
    title: the export's title and file name. totals: keys of money columns the PDF adds up in a
        totals row (left out when the rows are in several currencies: amounts are never mixed).
    selectable: single-row selection; the selected row (the fetched mapping, as a dict) is returned.
    export: offer "Export CSV" / "Export PDF" of the WHOLE filtered result (not just this page) to
        users with the exports.run permission; up to EXPORT_CAP rows (PDF_CAP for PDF).
    empty: the text shown when nothing matches. visible_rows: the table's height in rows (it scrolls).
    """
    signature = hashlib.sha1(repr(sorted((filters or {}).items())).encode(), usedforsecurity=False).hexdigest()[:10]
    page_key = f"{key}:page:{signature}"
    page = max(1, int(st.session_state.get(page_key, 1)))
    rows, total = fetch(page_size, (page - 1) * page_size)
    pages = max(1, math.ceil(total / page_size))
    if page > pages:  # the result shrank (an archive, another user): show its last page
        page = pages
        st.session_state.pop(page_key, None)  # the pager starts again at its default: this page
        rows, total = fetch(page_size, (page - 1) * page_size)
    if total == 0:
        st.info(empty, icon=":material/search_off:")
        return None
    generation = st.session_state.get(f"{key}:generation", 0)
    event = st.dataframe(
        display_frame(rows, columns), hide_index=True, column_config=column_config(columns),
        key=f"{key}:grid:{signature}:{page}:{generation}", width="stretch",
        height=ROW_PIXELS * (min(len(rows), visible_rows) + 1) + 3,
        on_select="rerun" if selectable else "ignore", selection_mode="single-row",
    )
    with st.container(horizontal=True, vertical_alignment="center"):
        first = (page - 1) * page_size + 1
        st.caption(f"{first:,}–{first + len(rows) - 1:,} of {total:,}")
        if pages > 1:
            st.pagination(pages, default=page, key=page_key, max_visible_pages=7)
        st.space("stretch")
        if export and context.allowed("exports.run"):
            _export_buttons(key, fetch, columns, total, title, filters or {}, totals)
    selected = event.selection.rows if selectable and not isinstance(event, DeltaGenerator) else []
    return dict(rows[selected[0]]) if selected and selected[0] < len(rows) else None


def list_fetch(rows: Sequence[Row]) -> Fetch:
    """A `fetch` over rows already in memory, for short lists (tax rates, a catalogue of products)."""
    return lambda limit, offset: (rows[offset:offset + limit], len(rows))


def clear_selection(key: str) -> None:
    """Forget the selected row of a table (e.g. after the user opened it and came back)."""
    st.session_state[f"{key}:generation"] = st.session_state.get(f"{key}:generation", 0) + 1


def row_actions(container: Any, actions: Sequence[tuple[str, Callable[[], object]]], key: str) -> None:
    """Buttons (in `container`) acting on the record selected in table `key`, each a (label, domain call): a click
    runs the call, and once it is done toasts "<label>: done.", forgets the selection and reruns."""
    for label, action in actions:
        if container.button(label, key=f"{key}:{label}") and run_change(action, f"{label}: done."):
            clear_selection(key)
            st.rerun()


def display_frame(rows: Sequence[Row], columns: Sequence[Column]) -> pd.DataFrame:
    """The rows as shown on screen: money and statuses formatted per row, labels as headers."""
    data = {c.label: [_shown(row, c) for row in rows] for c in columns}
    return pd.DataFrame(data, columns=[c.label for c in columns])


def export_frame(rows: Sequence[Row], columns: Sequence[Column]) -> pd.DataFrame:
    """The rows for a CSV file: amounts stay exact numbers next to their currency code."""
    shown = list(columns)
    money = [c for c in columns if c.kind in ("money", "price")]
    keys = {c.key for c in columns}
    for currency_key in dict.fromkeys(c.currency_key for c in money):
        if currency_key not in keys:
            shown.append(Column(currency_key, "Currency"))
    data = {c.label: [_raw(row, c) for row in rows] for c in shown}
    return pd.DataFrame(data, columns=[c.label for c in shown])


def column_config(columns: Sequence[Column]) -> dict[str, Any]:
    config: dict[str, Any] = {}
    for c in columns:
        common: dict[str, Any] = {"width": c.width, "help": c.help}
        if c.kind in ("money", "price", "percent", "number"):
            config[c.label] = st.column_config.TextColumn(c.label, alignment="right", **common)
        elif c.kind == "bool":
            config[c.label] = st.column_config.CheckboxColumn(c.label, **common)
        elif c.kind == "datetime":
            config[c.label] = st.column_config.DatetimeColumn(c.label, format=f"{fmt.DAY_COLUMN_FORMAT}, HH:mm",
                                                              **common)
        else:
            config[c.label] = st.column_config.TextColumn(c.label, **common)
    return config


def _shown(row: Row, column: Column) -> Any:
    value = row.get(column.key)
    if column.kind == "money":
        return fmt.money(value, str(row.get(column.currency_key) or "")) if value is not None else ""
    if column.kind == "price":
        return fmt.price(value, str(row.get(column.currency_key) or "")) if value is not None else ""
    if column.kind == "percent":
        return fmt.percent(value) if value is not None else "—"
    if column.kind == "status":
        return fmt.status(value) if value else ""
    if column.kind == "label":
        return fmt.label(value)
    if column.kind == "country":
        return fmt.country(value)
    # As text: a grid shows a missing value (a draft's dates, a customer without history) as "None".
    if column.kind == "date":
        return fmt.day(value) or "—"
    if column.kind == "number":
        return "—" if value is None or pd.isna(value) else f"{value:,}"
    return value


def _raw(row: Row, column: Column) -> Any:
    value = row.get(column.key)
    currency = str(row.get(column.currency_key) or "")
    if column.kind == "money" and isinstance(value, Decimal) and currency:
        return round_money(value, currency)
    if column.kind == "price" and isinstance(value, Decimal) and currency:
        return round_to(value, max(decimals_of(value), minor_unit(currency)))
    if column.kind == "percent" and isinstance(value, Decimal):
        return round_to(value, decimals_of(value))  # 19.0000 -> 19
    if column.kind in ("status", "label"):
        return fmt.label(value)
    return value  # dates stay dates: the exporter writes them in ISO 8601


def _export_buttons(key: str, fetch: Fetch, columns: Sequence[Column], total: int, title: str,
                    filters: Mapping[str, str], totals: Sequence[str]) -> None:
    stem = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-") or "export"
    stamp_day = context.today()
    stamp = stamp_day.isoformat()
    too_many = total > EXPORT_CAP
    db, actor = context.db(), context.actor()  # the callables below run on click, outside any script run

    csv_format = _csv_format(key)
    company_name = str(context.company().get("legal_name") or "")

    def csv_bytes() -> bytes:
        return exports.table_to_csv(export_frame(_export_rows(db, actor, fetch), columns), csv_format)

    def pdf_bytes() -> bytes:
        rows = _export_rows(db, actor, fetch, PDF_CAP)
        frame = export_frame(rows, columns)
        described = " · ".join(f"{name}: {value}" for name, value in filters.items())
        sums = pdf_totals(rows, frame, columns, totals)
        return exports.table_to_pdf(frame, title, described, sums or None, company=company_name,
                                    printed_on=fmt.day(stamp_day))

    name = stem if stamp in stem else f"{stem}-{stamp}"  # a title naming its date already gives the file's
    # A click also reruns the page (on_click="rerun"): a tab whose session ended meanwhile then shows the
    # sign-in form, not just a failed download. The browser asks for the file right after the rerun starts,
    # and Streamlit keeps the previous run's file until that run has finished.
    st.download_button("Export CSV", csv_bytes, file_name=f"{name}.csv", mime="text/csv",
                       key=f"{key}:csv", icon=":material/download:", on_click="rerun", disabled=too_many,
                       help=f"Only up to {EXPORT_CAP:,} rows can be exported: narrow the filters." if too_many
                       else f"All {total:,} rows matching the filters, not just this page.")
    st.download_button("Export PDF", pdf_bytes, file_name=f"{name}.pdf", mime="application/pdf",
                       key=f"{key}:pdf", icon=":material/picture_as_pdf:", on_click="rerun",
                       disabled=total > PDF_CAP,
                       help=f"A PDF holds up to {PDF_CAP:,} rows: narrow the filters or export CSV."
                       if total > PDF_CAP else f"All {total:,} rows matching the filters, ready to print.")


CSV_FORMAT_KEY = "csv_format"  # the user's last choice, for every table's export in this session


def _csv_format(key: str) -> exports.CsvFormat:
    """The separator and decimal mark picked beside a table's export: the session's last pick to begin with."""
    names = list(exports.CSV_FORMATS)
    remembered = st.session_state.get(CSV_FORMAT_KEY, names[0])

    def remember() -> None:
        st.session_state[CSV_FORMAT_KEY] = st.session_state[f"{key}:csv_format"]

    name = st.selectbox("CSV format", names, index=names.index(remembered) if remembered in names else 0,
                        key=f"{key}:csv_format", on_change=remember, label_visibility="collapsed", width=190,
                        format_func=_csv_format_label,
                        help="Excel opens a CSV file with the separator and decimal mark of its regional settings: "
                             "semicolons and decimal commas in German, French, Spanish, Italian, Dutch, Polish.")
    return exports.CSV_FORMATS[name]


def _csv_format_label(name: str) -> str:
    csv_format = exports.CSV_FORMATS[name]
    separator = {",": "Comma", ";": "Semicolon", "\t": "Tab"}[csv_format.separator]
    return f"{separator} · 1234{csv_format.decimal}56"


def pdf_totals(rows: Sequence[Row], frame: pd.DataFrame, columns: Sequence[Column],
               keys: Sequence[str]) -> dict[str, Decimal]:
    """Exact sums of the money columns named in `keys`, only when every row is in one currency."""
    chosen = [c for c in columns if c.key in keys]
    if not chosen or len({row.get(c.currency_key) for row in rows for c in chosen}) > 1:
        return {}
    return exports.column_totals(frame, [c.label for c in chosen])


def _export_rows(db: Database, actor: Actor, fetch: Fetch, cap: int = EXPORT_CAP) -> Sequence[Row]:
    """Every row of the filtered result, for a download (runs outside the script run: no st.* here)."""
    try:
        rows, _ = exports.export_rows(db, actor, lambda: fetch(cap, 0))
    except PermissionDeniedError as exc:  # signed out or demoted since the page ran: no file, say why
        raise RuntimeError(exc.message) from None
    except Exception as exc:
        reference = secrets.token_hex(4).upper()
        log.error("Export failed, reference %s", reference, exc_info=exc)
        raise RuntimeError(f"The export failed. Please try again; reference {reference}.") from None
    return rows


# ---------------------------------------------------------------- CSV import


def csv_import(kind: str, key: str, template: str) -> int | None:
    """Upload a CSV of customers or products and import it: every row or none.

    Every problem is listed by row and column. The upload's file name is never used (not as a path,
    not in a message). Returns the number of imported rows after a successful import, else None.
    """
    generation = st.session_state.get(f"{key}:generation", 0)
    upload = st.file_uploader("CSV file (UTF-8, comma separated, header row first)", type=["csv"],
                              key=f"{key}:file:{generation}")
    with st.container(horizontal=True):
        clicked = st.button("Import", type="primary", icon=":material/upload:", key=f"{key}:go",
                            disabled=upload is None)
        st.download_button("Download a template", template, file_name=f"{kind}-template.csv", mime="text/csv",
                           key=f"{key}:template", icon=":material/description:", on_click="ignore")
    if not clicked or upload is None:
        return None
    content = upload.getvalue()
    problems: list[str] = []
    bar = st.progress(0.0, text="Reading the file")

    def show(done: float, what: str) -> None:
        bar.progress(done, text=what)

    def attempt() -> int | None:
        try:
            return imports.import_csv(context.db(), context.actor(), kind, content, progress=show)
        except imports.ImportProblemsError as exc:
            problems.extend(exc.problems)
            return None

    count = run_action(attempt)
    bar.empty()
    if problems:
        st.error(f"Nothing was imported: the file has {len(problems):,} problem(s). Fix them and upload it again.",
                 icon=":material/error:")
        st.dataframe(problem_frame(problems), hide_index=True, width="stretch", column_config={
            "Row": st.column_config.NumberColumn(width="small"), "Column": st.column_config.TextColumn(width="small"),
            "Problem": st.column_config.TextColumn(width="large")})
        return None
    if count is not None:
        flash(f"Imported {count:,} {kind}.")
        st.session_state[f"{key}:generation"] = generation + 1
    return count


def problem_frame(problems: Sequence[str]) -> pd.DataFrame:
    """'Row 3: Currency: Unknown ...' -> Row 3 | Column Currency | Problem Unknown ..."""
    table = []
    for problem in problems:
        match = re.match(r"Row (\d+): (?:([^:]{1,40}): )?(.*)", problem, re.DOTALL)
        if match:
            text = match[3]
            table.append({"Row": int(match[1]), "Column": match[2] or "", "Problem": text[:1].upper() + text[1:]})
        else:
            table.append({"Row": None, "Column": "", "Problem": problem})
    return pd.DataFrame(table, columns=["Row", "Column", "Problem"])


def money_total(amounts: Mapping[str, Decimal]) -> str:
    """Per-currency amounts as one line ('€1,200.00 · $80.00'); currencies are never added together."""
    return " · ".join(fmt.money(amount, currency) for currency, amount in sorted(amounts.items())) or "—"
