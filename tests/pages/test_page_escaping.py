"""Every page, with Markdown payloads in every stored text field, renders them as text (AppTest).

The walk opens each page of the menu as an admin, every detail view its URL leads to (a customer, each kind
of invoice, the draft editor, each kind of payment), the confirmation dialogs, the selected rows of the
catalogue, the audit log, the quotes and the recurring schedules, the report drill-downs and the sign-in page.
In each run it reads every string Streamlit renders as Markdown (bodies, labels, titles, help, tab and dialog
titles, radio and segmented-control options, toasts, alerts) and fails on any payload that would render as
markup (`injection.markup_in`); plotly figures must not carry the payload's HTML either. Each view also names
the payloads it must show, so the walk proves it reached them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from google.protobuf.message import Message
from injection import USERNAME, Payloads, company_today, markup_in, seed_payloads, shown_tags
from portal import ROOT, copy_portal
from streamlit.testing.v1 import AppTest

from billing.store.db import Database, forget_database, get_database
from ui.pages import PAGES

# Elements whose strings are never Markdown (data grids, JSON, code); plotly and HTML are checked apart.
PLAIN_ELEMENTS = {"arrow_data_frame", "json", "code", "text", "plotly_chart", "html", "pagination", "space"}
# Fields that hold a widget's value or a select box's options: shown as text, not Markdown.
# `columns`: a data grid's column configuration (JSON: labels and a select column's options, such as product
# names), drawn as plain text on the grid's canvas.
PLAIN_FIELDS = {"default", "value", "raw_value", "raw_values", "placeholder", "id", "form_id", "url", "icon",
                "deferred_file_id", "page", "page_script_hash", "data", "spec", "format", "columns"}
PLAIN_OPTIONS = {"selectbox", "multiselect"}
TODAY = company_today()


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory, portal_template: Path) -> tuple[Path, Payloads]:
    folder = tmp_path_factory.mktemp("payloads")
    db = get_database(copy_portal(portal_template, folder))
    ids = seed_payloads(db, TODAY)
    forget_database(db.url)
    return folder, ids


@pytest.fixture
def ids(template: tuple[Path, Payloads], database_copy: Callable[[Path], Database]) -> Payloads:
    """A private copy of the payload database (the actions write), and the ids of its payload records."""
    database_copy(template[0])
    return template[1]


# --- reading what a run shows ------------------------------------------------------------------------

@dataclass
class Seen:
    """The Markdown of a run: what would render as markup (where, what), and the payload tags shown."""

    markup: list[str] = field(default_factory=list)
    tags: set[str] = field(default_factory=set)


def _strings(message: Message, kind: str, where: str) -> Iterator[tuple[str, str]]:
    for descriptor, value in message.ListFields():
        name = descriptor.name
        if name in PLAIN_FIELDS or (name == "options" and kind in PLAIN_OPTIONS):
            continue
        for item in value if descriptor.is_repeated else [value]:
            if descriptor.type == descriptor.TYPE_MESSAGE:
                yield from _strings(item, kind, f"{where}.{name}")
            elif descriptor.type == descriptor.TYPE_STRING:
                yield f"{where}.{name}", item


def _figure_texts(spec: Any) -> Iterator[str]:
    """Every string of a plotly figure that it shows (customdata only travels back with a click)."""
    if isinstance(spec, str):
        yield spec
    elif isinstance(spec, list):
        for item in spec:
            yield from _figure_texts(item)
    elif isinstance(spec, dict):
        for key, value in spec.items():
            if key != "customdata":
                yield from _figure_texts(value)


def seen(at: AppTest) -> Seen:
    result = Seen()
    stack: list[Any] = [at._tree]
    while stack:
        node = stack.pop()
        stack.extend(getattr(node, "children", {}).values())
        proto, kind = getattr(node, "proto", None), str(getattr(node, "type", type(node).__name__))
        if proto is None:
            continue
        if kind == "plotly_chart":  # Plotly reads tags in its text: <b>, <a href=...>
            if any("<b>Zq" in text for text in _figure_texts(json.loads(proto.spec))):
                result.markup.append("plotly_chart: a payload's HTML")
            continue
        if kind == "html" and "Zq" in proto.body:
            result.markup.append("html: a payload")
        if kind in PLAIN_ELEMENTS:
            continue
        for where, text in _strings(proto, kind, kind):
            found = markup_in(text)
            if found:
                result.markup.append(f"{where}: {', '.join(found)} in {text[:90]!r}")
            result.tags |= shown_tags(text)
    return result


def check(at: AppTest, *tags: str) -> None:
    """No exception or error page, no payload rendered as markup, and `tags` shown."""
    assert not at.exception, at.exception
    assert not [e for e in at.error if "Something went wrong" in e.value], at.error.values
    shown = seen(at)
    if shown.markup:
        pytest.fail("Rendered as markup:\n" + "\n".join(shown.markup), pytrace=False)
    if not set(tags) <= shown.tags:
        pytest.fail(f"Not shown: {sorted(set(tags) - shown.tags)}", pytrace=False)


def visit(script: str, state: dict[str, Any] | None = None, **params: Any) -> AppTest:
    """app.py signed in as the payload admin, on `script` with this session state and query string."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.session_state["auth_username"] = USERNAME
    for key, value in (state or {}).items():
        at.session_state[key] = value
    if "_" in Path(script).stem:
        at.run()  # before a first run AppTest finds a page by file name only, not by url_path (tax-report)
    at.query_params.update({name: str(value) for name, value in params.items()})
    return at.switch_page(script).run()


def select_row(at: AppTest, grid: str, row: int = 0) -> AppTest:
    """What a click on a row of a table does: the grid's selection state names the row."""
    [key] = [k for k in at.session_state if str(k).startswith(grid)]
    at.session_state[key] = {"selection": {"rows": [row], "columns": [], "cells": []}}
    return at.run()


def by_label(elements: Any, label: str) -> Any:
    return next(e for e in elements if e.label == label)


# --- the walk ------------------------------------------------------------------------------------------

SIDEBAR = ("ZqCompany", "ZqUserName")


# What each page of the menu shows besides the sidebar (most lists are data grids: text, never Markdown).
MENU = {"app_pages/settings.py": ("ZqNo", "ZqCn"), "app_pages/outbox.py": ("ZqSubject",)}


@pytest.mark.parametrize("page", [spec.script for spec in PAGES])
def test_every_page_of_the_menu(ids: Payloads, page: str) -> None:
    check(visit(page), *SIDEBAR, *MENU.get(page, ()))


def test_the_sign_in_page_shows_the_company_name_as_text(ids: Payloads) -> None:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    check(at, "ZqCompany")


Views = dict[str, tuple[str, Callable[[Payloads], dict[str, Any]], Callable[[Payloads], dict[str, Any]],
                        tuple[str, ...]]]
# name: (page, session state, query parameters, payloads it must show)
VIEWS: Views = {
    "customer": ("app_pages/customers.py", lambda i: {}, lambda i: {"customer": i.customer},
                 ("ZqCustomer", "ZqCustMail", "ZqCustTax")),
    "customer archive dialog": ("app_pages/customers.py", lambda i: {"customers:confirm": "archive"},
                                lambda i: {"customer": i.customer}, ("ZqCustomer",)),
    "customer delete dialog": ("app_pages/customers.py", lambda i: {"customers:confirm": "delete"},
                               lambda i: {"customer": i.customer}, ("ZqCustomer",)),
    "issued invoice": ("app_pages/invoices.py", lambda i: {}, lambda i: {"invoice": i.issued},
                       ("ZqNo", "ZqCustomer", "ZqCustAddress", "ZqCustMail", "ZqNotes", "ZqRef", "ZqCn")),
    "voided invoice": ("app_pages/invoices.py", lambda i: {}, lambda i: {"invoice": i.voided}, ("ZqNo", "ZqVoid")),
    "credit note": ("app_pages/invoices.py", lambda i: {}, lambda i: {"invoice": i.credit_note},
                    ("ZqCn", "ZqNo", "ZqCustomer")),
    "draft": ("app_pages/invoices.py", lambda i: {}, lambda i: {"invoice": i.draft}, ("ZqCustomer", "ZqNotes")),
    "draft editor": ("app_pages/invoices.py", lambda i: {}, lambda i: {"edit": i.draft}, ()),
    "issue dialog": ("app_pages/invoices.py", lambda i: {"invoice_dialog": ("issue", i.draft)},
                     lambda i: {"invoice": i.draft}, ("ZqCustomer",)),
    "delete dialog": ("app_pages/invoices.py", lambda i: {"invoice_dialog": ("delete", i.draft)},
                      lambda i: {"invoice": i.draft}, ("ZqCustomer",)),
    "void dialog": ("app_pages/invoices.py", lambda i: {"invoice_dialog": ("void", i.issued)},
                    lambda i: {"invoice": i.issued}, ("ZqNo",)),
    "credit dialog": ("app_pages/invoices.py", lambda i: {"invoice_dialog": ("credit", i.issued),
                                                          "credit_scope": "lines"},
                      lambda i: {"invoice": i.issued}, ("ZqNo", "ZqLine", "ZqUnit")),
    "payment": ("app_pages/payments.py", lambda i: {}, lambda i: {"payment": i.payment},
                ("ZqCustomer", "ZqRef", "ZqNo")),
    "refund": ("app_pages/payments.py", lambda i: {}, lambda i: {"payment": i.refund}, ("ZqCustomer", "ZqRefund")),
    "reversal": ("app_pages/payments.py", lambda i: {}, lambda i: {"payment": i.reversal}, ("ZqCustomer",)),
    "reverse dialog": ("app_pages/payments.py", lambda i: {"payment_dialog": ("reverse", i.payment)},
                       lambda i: {"payment": i.payment}, ("ZqCustomer",)),
    "record payment": ("app_pages/payments.py", lambda i: {"pay_customer": i.customer}, lambda i: {"record": 1},
                       ()),
    "statement": ("app_pages/statements.py", lambda i: {}, lambda i: {"customer": i.customer}, ("ZqNo",)),
    "revenue by customer": ("app_pages/revenue.py", lambda i: {}, lambda i: {"by": "customer"}, ()),
    "revenue by product": ("app_pages/revenue.py", lambda i: {}, lambda i: {"by": "product"}, ()),
    "revenue by tax rate": ("app_pages/revenue.py", lambda i: {}, lambda i: {"by": "tax_rate"}, ()),
    "aging of a customer": ("app_pages/aging.py", lambda i: {"aging:drill": {
        "currency": "EUR", "bucket": None, "customer_id": i.customer, "customer": i.customer_name}},
                            lambda i: {"customer": i.customer}, ("ZqCustomer",)),
    "users": ("app_pages/users.py", lambda i: {"users_manage_pick": USERNAME}, lambda i: {}, ()),
}


@pytest.mark.parametrize("view", list(VIEWS))
def test_every_detail_view_and_dialog(ids: Payloads, view: str) -> None:
    page, state, params, tags = VIEWS[view]
    check(visit(page, state(ids), **params(ids)), *SIDEBAR, *tags)


def test_a_revenue_drill_down_names_the_customer_as_text(ids: Payloads) -> None:
    at = visit("app_pages/revenue.py", by="customer")
    [chart] = [str(k) for k in at.session_state if str(k).startswith("revenue:chart:EUR:")]
    signature = chart.split(":")[3]
    at.session_state["revenue:drill"] = (signature, "EUR", [TODAY.replace(day=1).isoformat(), str(ids.customer),
                                                           ids.customer_name])
    check(at.run(), "ZqCustomer")


@pytest.mark.parametrize(("page", "grid", "search", "tags"), [
    ("app_pages/products.py", "products:grid:", "ZqSku", ("ZqProduct", "ZqSku")),
    ("app_pages/tax_rates.py", "tax_rates:grid:", None, ("ZqRate",)),
    ("app_pages/audit_log.py", "audit_table_", None, ()),
    ("app_pages/quotes.py", "quotes:grid:", None, ("ZqCustomer",)),
    ("app_pages/recurring.py", "schedules:grid:", None, ("ZqSchedule", "ZqCustomer")),
])
def test_a_selected_row(ids: Payloads, page: str, grid: str, search: str | None, tags: tuple[str, ...]) -> None:
    at = visit(page)
    if search:
        by_label(at.text_input, "Search").set_value(search).run()
    rows = 0 if page != "app_pages/tax_rates.py" else len(at.dataframe[0].value) - 1  # the newest rate: last
    check(select_row(at, grid, rows), *tags)
    if page == "app_pages/products.py":
        at.session_state["products:confirm"] = True  # "Archive" clicked: the dialog asks
        check(at.run(), "ZqProduct", "ZqSku")


def test_the_toast_after_creating_a_customer_shows_its_name_as_text(ids: Payloads) -> None:
    at = visit("app_pages/customers.py")
    by_label(at.text_input, "Name *").set_value("ZqNew **ZqNew** ![ZqNew](http://ev.il/t.png) http://ev.il")
    by_label(at.button, "Create customer").click()
    at.run()
    assert at.toast, "no toast after creating the customer"
    check(at, "ZqNew")


def test_a_domain_message_quoting_what_was_typed_shows_it_as_text(ids: Payloads) -> None:
    at = visit("app_pages/products.py")
    by_label(at.text_input, "Name *").set_value("Widget")
    by_label(at.text_input, "SKU *").set_value("W-1")
    by_label(at.text_input, "Unit price (net) *").set_value("**ZqPrice**:red[ZqPrice]")
    by_label(at.button, "Create product").click()
    at.run()
    assert [e for e in at.error if "ZqPrice" in e.value], at.error.values
    check(at, "ZqPrice")
