"""The draft editor: customer, lines (product or free text), document discounts and charges, notes,
dates, and live totals from the domain (`preview_totals`) before anything is saved.

What the user typed stays text until the domain parses it: no amount is ever a float here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import streamlit as st

from billing import catalog, invoices, logic
from billing.discounts import format_discount, parse_discount
from billing.document_totals import total_rows
from billing.errors import BillingError, ValidationError
from billing.models import InvoiceDraftIn
from billing.money import ZERO, amount_text
from ui import access, context, invoice_details
from ui import format as fmt
from ui.feedback import run_action, run_change
from ui.format import plain
from ui.invoice_autosave import autosave, discard, status_line
from ui.phone import phone_layout
from ui.vat_help import vat_help_panel
from ui.widgets import CustomerChoice, amount_rows, customer_picker, number_text, totals_rows

_STATE = "invoice_editor"  # {"target": "new" | invoice id, "opened_as": the target it was opened with,
#                            "lines": [row ids], "allowance_charges": [row ids], "next": int, + ui.invoice_autosave's}
_SENTINEL = "ie_notes"  # a widget of the editor: gone from session state when the editor was not shown
LINE_COLUMNS = [2.4, 3.1, 0.9, 0.8, 1.2, 1.1, 2.0, 1.3, 0.4]
ALLOWANCE_CHARGE_COLUMNS = [1.6, 2.8, 1.4, 2.0, 0.4]


def _key(kind: str, row: int, field: str) -> str:
    return f"ie_{kind}{row}_{field}"


# --- editor state --------------------------------------------------------------------------------

def _state() -> dict[str, Any]:
    state: dict[str, Any] = st.session_state[_STATE]
    return state


def _default_rate(rates: list[dict[str, Any]]) -> int | None:
    return int(rates[0]["id"]) if rates else None


def _set_line(row: int, line: dict[str, Any], currency: str) -> None:
    st.session_state[_key("l", row, "product")] = line.get("product_id")
    st.session_state[_key("l", row, "desc")] = line.get("description", "")
    st.session_state[_key("l", row, "qty")] = number_text(line["quantity"]) if "quantity" in line else "1"
    st.session_state[_key("l", row, "unit")] = line.get("unit", "")
    st.session_state[_key("l", row, "price")] = amount_text(line.get("unit_price"), currency)
    st.session_state[_key("l", row, "disc")] = format_discount(line.get("discount_percent") or ZERO,
                                                               line.get("discount_amount") or ZERO, currency)
    st.session_state[_key("l", row, "tax")] = line.get("tax_rate_id")


def _set_allowance_charge(row: int, item: dict[str, Any], currency: str) -> None:
    st.session_state[_key("a", row, "kind")] = "Charge" if item.get("is_charge") else "Discount"
    st.session_state[_key("a", row, "reason")] = item.get("reason", "")
    value = f"{number_text(item['percent'])}%" if item.get("percent") is not None else amount_text(
        item.get("amount"), currency)
    st.session_state[_key("a", row, "value")] = value
    st.session_state[_key("a", row, "tax")] = item.get("tax_rate_id")


def start_editing(target: int | str, customer_id: int | None = None, copy_of: int | None = None) -> None:
    """Load a draft (or a blank invoice, "new", or an unsaved copy of invoice `copy_of`) into the editor's
    widgets."""
    rates = catalog.list_tax_rates(context.db(), context.actor(), active_only=True)
    data: dict[str, Any] = {"lines": [{"tax_rate_id": _default_rate(rates)}], "allowance_charges": [],
                            "notes": "", "customer_id": customer_id, "currency": "EUR"}
    issue_date = due_date = None
    header = original = None
    if target != "new":
        view = invoices.get_invoice(context.db(), context.actor(), int(target), as_of=context.today())
        logic.check_can_edit(view.header.status)
        original = InvoiceDraftIn.from_stored(view)
        data = original.model_dump()
        issue_date, due_date, header = view.header.issue_date, view.header.due_date, view.header
    elif copy_of is not None:
        data = invoices.copy_input(context.db(), context.actor(), copy_of).model_dump()
    currency = data.get("currency") or "EUR"
    st.session_state[_STATE] = {"target": target, "opened_as": target, "lines": list(range(len(data["lines"]))),
                                "allowance_charges": list(range(len(data["allowance_charges"]))),
                                "next": len(data["lines"]) + len(data["allowance_charges"]), "original": original}
    for key in [k for k in st.session_state if str(k).startswith("ie_")]:
        del st.session_state[key]
    if data.get("customer_id") is not None:
        st.session_state["ie_customer"] = data["customer_id"]
    # A date the books no longer take (stored before the rule existed) is left for the user to pick again.
    st.session_state["ie_issue_date"], st.session_state["ie_due_date"] = (
        day if day is not None and logic.date_problem(day) is None else None for day in (issue_date, due_date))
    st.session_state[_SENTINEL] = data.get("notes") or ""
    invoice_details.load(header, data if copy_of is not None else None)
    for row, line in enumerate(data["lines"]):
        _set_line(row, line, currency)
    for row, item in enumerate(data["allowance_charges"], start=len(data["lines"])):
        _set_allowance_charge(row, item, currency)


@access.callback
def _add_row(kind: str, is_charge: bool = False) -> None:
    state = _state()
    row = state["next"]
    state["next"] += 1
    rates = catalog.list_tax_rates(context.db(), context.actor(), active_only=True)
    if kind == "lines":
        _set_line(row, {"tax_rate_id": _default_rate(rates)}, "EUR")
    else:
        _set_allowance_charge(row, {"is_charge": is_charge, "tax_rate_id": _default_rate(rates)}, "EUR")
    state[kind].append(row)


def _use_rate_everywhere(rate_id: int) -> None:
    """Put one tax rate on every line, discount and charge (the VAT help's reverse charge)."""
    for kind, rows in (("l", _state()["lines"]), ("a", _state()["allowance_charges"])):
        for row in rows:
            st.session_state[_key(kind, row, "tax")] = rate_id


def _remove_row(kind: str, row: int) -> None:
    _state()[kind].remove(row)


def _fill_from_product(row: int, products: dict[int, dict[str, Any]], currency: str) -> None:
    product = products.get(st.session_state.get(_key("l", row, "product")) or -1)
    if product is None:
        return
    st.session_state[_key("l", row, "desc")] = product["name"]
    st.session_state[_key("l", row, "unit")] = product["unit"]
    st.session_state[_key("l", row, "price")] = amount_text(product["unit_price"].normalize(), currency)
    st.session_state[_key("l", row, "tax")] = product["tax_rate_id"]


# --- reading the widgets into the domain's input -------------------------------------------------

def _text(kind: str, row: int, field: str) -> str:
    return str(st.session_state.get(_key(kind, row, field)) or "").strip()


def _line_input(row: int, position: int, currency: str) -> dict[str, Any] | None:
    """The line of editor row `row`, the `position`-th line of the draft (None for an empty row)."""
    product = st.session_state.get(_key("l", row, "product"))
    description, price = _text("l", row, "desc"), _text("l", row, "price")
    if product is None and not description and not price:
        return None  # an empty row is ignored, not an error
    try:
        discount_percent, discount_amount = parse_discount(_text("l", row, "disc"), currency)
    except ValidationError as exc:
        raise ValidationError(f"Line {position}, discount: {exc.message}") from None
    line: dict[str, Any] = {"description": description, "quantity": _text("l", row, "qty"), "unit_price": price,
                            "unit": _text("l", row, "unit"), "product_id": product,
                            "tax_rate_id": st.session_state.get(_key("l", row, "tax")),
                            "discount_percent": discount_percent, "discount_amount": discount_amount}
    return {k: v for k, v in line.items() if v is not None}


def _allowance_charge_input(row: int) -> dict[str, Any] | None:
    reason, value = _text("a", row, "reason"), _text("a", row, "value")
    if not reason and not value:
        return None
    item: dict[str, Any] = {"is_charge": st.session_state.get(_key("a", row, "kind")) == "Charge", "reason": reason,
                            "tax_rate_id": st.session_state.get(_key("a", row, "tax"))}
    if value.endswith("%"):
        item["percent"] = value.removesuffix("%").strip()
    elif value:
        item["amount"] = value
    return {k: v for k, v in item.items() if v is not None}


def draft_data(customer: CustomerChoice) -> tuple[dict[str, Any], list[int]]:
    """The draft as the domain takes it, and the editor rows its lines came from.

    Raises ValidationError for a line's discount the domain could not take as typed.
    """
    state = _state()
    lines: list[dict[str, Any]] = []
    rows: list[int] = []
    for row in state["lines"]:
        line = _line_input(row, len(lines) + 1, customer.currency)
        if line is not None:
            lines.append(line)
            rows.append(row)
    charges = [item for item in (_allowance_charge_input(row) for row in state["allowance_charges"])
               if item is not None]
    data = {"customer_id": customer.id, "issue_date": st.session_state.get("ie_issue_date"),
            "due_date": st.session_state.get("ie_due_date"), "notes": st.session_state.get(_SENTINEL) or "",
            "lines": lines, "allowance_charges": charges, **invoice_details.data()}
    return data, rows


# --- rendering -----------------------------------------------------------------------------------

def _line_rows(products: dict[int, dict[str, Any]], rates: dict[int, dict[str, Any]], currency: str,
               nets: dict[int, str]) -> None:
    head = st.container(key="ieline-head").columns(LINE_COLUMNS)
    helps = {"Product": "Pick a product to fill in the line, or leave empty for a free-text line.",
             "Net": "After the line discount, before VAT."}
    for column, title in zip(head, ["Product", "Description", "Qty", "Unit", "Unit price", "Discount",
                                    "Tax rate", "Net", ""], strict=True):
        column.caption(title, help=helps.get(title), text_alignment="right" if title == "Net" else "left")
    for row in list(_state()["lines"]):
        cells = st.container(key=f"ieline-{row}").columns(LINE_COLUMNS, vertical_alignment="center")
        cells[0].selectbox("Product", list(products), key=_key("l", row, "product"), index=None,
                           placeholder="Free text", label_visibility="collapsed",
                           format_func=lambda pid: products[pid]["name"] if pid in products else str(pid),
                           on_change=_fill_from_product, args=(row, products, currency))
        cells[1].text_input("Description", key=_key("l", row, "desc"), label_visibility="collapsed",
                            placeholder="What was sold")
        product = products.get(st.session_state.get(_key("l", row, "product")) or -1)
        if product is not None and product["currency"] != currency:
            cells[1].caption(f"The catalogue price is in {product['currency']}: check it for this {currency} invoice.")
        cells[2].text_input("Quantity", key=_key("l", row, "qty"), label_visibility="collapsed")
        cells[3].text_input("Unit", key=_key("l", row, "unit"), label_visibility="collapsed", placeholder="pcs")
        cells[4].text_input("Unit price", key=_key("l", row, "price"), label_visibility="collapsed",
                            placeholder="0.00")
        cells[5].text_input("Discount", key=_key("l", row, "disc"), label_visibility="collapsed",
                            placeholder="—")
        cells[6].selectbox("Tax rate", list(rates), key=_key("l", row, "tax"), label_visibility="collapsed",
                           format_func=lambda rid: rates[rid]["name"] if rid in rates else str(rid))
        cells[7].markdown(plain(nets.get(row, "")), text_alignment="right")
        cells[8].button("", icon=":material/close:", key=_key("l", row, "remove"), type="tertiary",
                        help="Remove this line", on_click=_remove_row, args=("lines", row))


def _allowance_charge_rows(rates: dict[int, dict[str, Any]]) -> None:
    if _state()["allowance_charges"]:
        head = st.columns(ALLOWANCE_CHARGE_COLUMNS)
        for column, title in zip(head, ["Type", "Reason", "Amount or %", "Tax rate", ""], strict=True):
            column.caption(title)
    for row in list(_state()["allowance_charges"]):
        cells = st.columns(ALLOWANCE_CHARGE_COLUMNS, vertical_alignment="center")
        cells[0].selectbox("Type", ["Discount", "Charge"], key=_key("a", row, "kind"), label_visibility="collapsed")
        cells[1].text_input("Reason", key=_key("a", row, "reason"), label_visibility="collapsed",
                            placeholder="e.g. loyalty discount, shipping")
        cells[2].text_input("Amount or percent", key=_key("a", row, "value"), label_visibility="collapsed",
                            placeholder="5% or 25.00")
        cells[3].selectbox("Tax rate", list(rates), key=_key("a", row, "tax"), label_visibility="collapsed",
                           format_func=lambda rid: rates[rid]["name"] if rid in rates else str(rid))
        cells[4].button("", icon=":material/close:", key=_key("a", row, "remove"), type="tertiary",
                        help="Remove", on_click=_remove_row, args=("allowance_charges", row))


def _preview(customer: CustomerChoice | None) -> tuple[Any, list[int], str | None]:
    """(totals or None, rows priced, message to show instead of totals)."""
    if customer is None:
        return None, [], "Choose a customer to see the totals."
    try:
        data, rows = draft_data(customer)
    except ValidationError as exc:  # a discount as typed: no line is priced
        return None, list(_state()["lines"]), exc.message
    if not data["lines"]:
        return None, rows, "Add a line to see the totals."
    try:
        return invoices.preview_totals(context.db(), context.actor(), data), rows, None
    except BillingError as exc:
        return None, rows, exc.message


def _totals_panel(totals: Any, message: str | None, error: bool) -> None:
    with st.container(border=True):
        st.markdown("**Totals**")
        if totals is not None:
            amount_rows(totals_rows(total_rows(totals, kind=logic.INVOICE, status=logic.DRAFT), totals.currency),
                        "editor-totals")
        elif error and message:
            st.error(plain(message), icon=":material/error:")
        else:
            st.caption(plain(message or ""))


def _opened(target: int | str) -> bool:
    """Whether the editor's state is this target's (a new invoice keeps it once autosave made it a draft)."""
    return (_STATE in st.session_state and target in (_state()["opened_as"], _state()["target"])
            and _SENTINEL in st.session_state)


def _autosave(customer: CustomerChoice | None) -> None:
    try:
        data = draft_data(customer)[0] if customer is not None else None
    except ValidationError as exc:
        _state()["unsaved"] = exc.message
        return
    autosave(_state(), data)


@access.fragment
def invoice_editor(target: int | str, *, saved: Callable[[int], None], cancel: Callable[[int | None], None],
                   preselect_customer: int | None = None, copy_of: int | None = None) -> None:
    """Create (target "new", or a copy of invoice `copy_of`) or edit a draft. Totals follow every change, and
    every change that makes a valid draft is saved (ui.invoice_autosave). `cancel` gets the draft's id if it
    is kept (it existed before), None if none is left."""
    db, actor = context.db(), context.actor()
    if not _opened(target):
        try:
            start_editing(target, preselect_customer, copy_of)
        except BillingError as exc:  # a link to an invoice that does not exist or is no longer a draft
            st.error(plain(exc.message), icon=":material/error:")
            if st.button("Back", icon=":material/arrow_back:", key="ie_back"):
                cancel(None if target == "new" else int(target))
            return
    products = {int(p["id"]): p for p in catalog.list_products(db, actor)}
    rates = {int(r["id"]): r for r in catalog.list_tax_rates(db, actor, active_only=True)}
    for row in _state()["lines"]:  # a draft may use a rate that has since been retired
        rate_id = st.session_state.get(_key("l", row, "tax"))
        if rate_id is not None and rate_id not in rates:
            rates[rate_id] = {"id": rate_id, "name": f"Tax rate {rate_id}"}

    phone_layout()
    top = st.columns([5, 1.5, 1.5], vertical_alignment="bottom", gap="medium")
    with top[0]:
        customer = customer_picker("ie_customer")
    top[1].date_input("Issue date", key="ie_issue_date", value=None, format="YYYY-MM-DD",
                      min_value=logic.FIRST_DATE, max_value=logic.LAST_DATE,
                      help="Leave empty to date the invoice on the day it is issued.")
    top[2].date_input("Due date", key="ie_due_date", value=None, format="YYYY-MM-DD",
                      min_value=logic.FIRST_DATE, max_value=logic.LAST_DATE,
                      help="Leave empty to use the customer's payment terms.")
    if customer is not None:
        vat_help_panel(customer.id, rates, _use_rate_everywhere)
    currency = customer.currency if customer else context.base_currency()
    totals, rows, message = _preview(customer)
    nets = {row: fmt.money(net, currency) for row, net in zip(rows, totals.line_nets, strict=True)} if totals else {}

    st.markdown(f"**Lines** · amounts in {currency} before VAT · a discount is a percentage (10%) or an amount "
                "off the line (5.00)")
    _line_rows(products, rates, currency, nets)
    st.button("Add line", icon=":material/add:", key="ie_add_line", on_click=_add_row, args=("lines",))

    left, right = st.columns([3, 2], gap="large")
    with left:
        st.markdown("**Discounts and charges on the whole invoice**")
        _allowance_charge_rows(rates)
        with st.container(horizontal=True):
            st.button("Add discount", icon=":material/sell:", key="ie_add_discount", on_click=_add_row,
                      args=("allowance_charges", False))
            st.button("Add charge", icon=":material/local_shipping:", key="ie_add_charge", on_click=_add_row,
                      args=("allowance_charges", True))
        st.text_area("Notes (printed on the invoice)", key=_SENTINEL, height=90,
                     placeholder="e.g. project reference, thank-you note")
        invoice_details.section()
    with right:
        _totals_panel(totals, message, error=customer is not None and bool(rows) and totals is None)

    buttons = st.container(horizontal=True, vertical_alignment="center")
    with buttons:
        if st.button("Save draft", type="primary", icon=":material/save:", key="ie_save", disabled=customer is None):
            _save(customer, saved)
        if st.button("Cancel", key="ie_cancel", help="Leave the editor: a new invoice is not kept, a draft goes "
                                                     "back to how it was when you opened it."):
            _cancel(cancel)
    # Stored last: the page has shown the change (lines, totals) before the write; only the line saying so waits.
    _autosave(customer)
    with buttons:
        status_line(_state(), customer is not None)


def _cancel(cancel: Callable[[int | None], None]) -> None:
    state = _state()
    if not run_change(lambda: discard(state)):
        return
    st.session_state.pop(_STATE, None)
    cancel(None if state.get("created") or state["target"] == "new" else int(state["target"]))


def _save(customer: CustomerChoice | None, saved: Callable[[int], None]) -> None:
    if customer is None:
        return
    db, actor = context.db(), context.actor()
    target = _state()["target"]

    def save() -> int:
        data, _ = draft_data(customer)
        if target == "new":
            return invoices.create_draft(db, actor, data)
        invoices.update_draft(db, actor, int(target), data)
        return int(target)

    invoice_id = run_action(save, "Draft saved")
    if invoice_id is not None:
        st.session_state.pop(_STATE, None)
        saved(invoice_id)
        st.rerun()


__all__ = ["draft_data", "invoice_editor", "start_editing"]
