"""AppTest of the payments page: recording with manual, automatic or no allocation, and one payment's actions."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from portal import copy_portal, ok, open_page
from streamlit.testing.v1 import AppTest

from billing import catalog, customers, invoices, payments
from billing.permissions import ROLES, SYSTEM
from billing.store.db import Database, forget_database, get_database
from billing.store.schema import metadata

PAGE = "app_pages/payments.py"


@dataclass(frozen=True)
class Portal:
    db: Database
    acme: int  # EUR customer, 14-day terms
    first: int  # issued today, 119.00 open
    second: int  # issued today, 238.00 open


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory, portal_template: Path) -> tuple[Path, Portal]:
    """A customer with two open invoices, built once and copied by every test."""
    folder = tmp_path_factory.mktemp("template")
    db = get_database(copy_portal(portal_template, folder))
    s19 = catalog.create_tax_rate(db, SYSTEM, {"name": "VAT 19%", "category": "S", "percent": "19"})
    acme = customers.create_customer(db, SYSTEM, {"name": "Acme GmbH", "currency": "EUR", "terms_days": 14})
    ids = []
    for price in ("100.00", "200.00"):
        invoice_id = invoices.create_draft(db, SYSTEM, {"customer_id": acme, "lines": [
            {"description": "Work", "quantity": "1", "unit_price": price, "tax_rate_id": s19}]})
        invoices.issue_invoice(db, SYSTEM, invoice_id, today=date.today())
        ids.append(invoice_id)
    forget_database(db.url)
    return folder, Portal(db, acme, *ids)


@pytest.fixture
def portal(database_copy: Callable[[Path], Database], template: tuple[Path, Portal]) -> Portal:
    """A copy of the template database, which the app under test opens."""
    folder, ids = template
    return replace(ids, db=database_copy(folder))


def snapshot(db: Database) -> dict[str, list[tuple[Any, ...]]]:
    with db.connect() as conn:
        return {t.name: [tuple(r) for r in conn.execute(sa.select(t)).all()] for t in metadata.sorted_tables}


def status(portal: Portal, invoice_id: int) -> str:
    return invoices.get_invoice(portal.db, SYSTEM, invoice_id, date.today()).status


def record_form(portal: Portal) -> AppTest:
    """The payments page, "Record payment" clicked and Acme chosen."""
    at = ok(open_page("accountant", PAGE))
    next(b for b in at.button if b.label == "Record payment").click().run()
    at.selectbox(key="pay_customer").select(portal.acme).run()
    return ok(at)


def submit(at: AppTest, amount: str, mode: str, allocate: dict[int, str] | None = None) -> AppTest:
    at.radio(key="pay_mode").set_value(mode).run()  # outside the form: the form shows what the mode needs
    at.text_input(key="pay_amount").input(amount)
    if allocate:
        editor = next(d for d in at.data_editor if d.key and d.key.startswith("pay_alloc_"))
        at.session_state[editor.key] = {"edited_rows": {row: {"Allocate": value} for row, value in allocate.items()},
                                        "added_rows": [], "deleted_rows": []}
    next(b for b in at.button if b.label == "Record payment").click()
    return at.run()


def open_payment(role: str, payment_id: int) -> AppTest:
    return open_page(role, PAGE, payment=payment_id)


@pytest.mark.parametrize("role", ROLES)
def test_every_role_sees_the_list_and_a_payment(portal: Portal, role: str) -> None:
    payment_id = payments.record_payment(portal.db, SYSTEM, {"customer_id": portal.acme, "amount": "50",
                                                             "currency": "EUR", "received_on": date.today()}, "auto")
    at = ok(open_page(role, PAGE))
    assert "Payments" in at.title.values and at.dataframe
    assert ("Record payment" in {b.label for b in at.button}) == (role != "analyst")
    at.query_params["payment"] = str(payment_id)
    ok(at.run())
    assert at.subheader.values == ["Payment from Acme GmbH"]
    assert ({"Reverse…", "Refund credit…"} & {b.label for b in at.button}) == (
        set() if role == "analyst" else {"Reverse…"})


def test_a_partial_payment_allocated_by_hand_leaves_the_invoice_partially_paid(portal: Portal) -> None:
    at = submit(record_form(portal), "50.00", "manual", {0: "50.00"})
    assert ok(at).subheader.values == ["Payment from Acme GmbH"]
    assert [t.value for t in at.toast] == ["Payment from Acme GmbH recorded"]
    assert status(portal, portal.first) == "partially_paid" and status(portal, portal.second) == "unpaid"


def test_over_allocation_is_refused_and_writes_nothing(portal: Portal) -> None:
    at = record_form(portal)
    before = snapshot(portal.db)
    submit(at, "50.00", "manual", {0: "30.00", 1: "30.00"})
    assert not at.exception
    assert [e.value for e in at.error] == ["Allocations (60.00) exceed what is left of the payment (50.00 EUR)."]
    assert snapshot(portal.db) == before and at.title.values == ["Record payment"]
    submit(at, "200.00", "manual", {0: "150.00"})
    assert [e.value for e in at.error] == [
        "150.00 is more than the balance of invoice INV-2026-00001 (119.00 EUR)."]
    assert snapshot(portal.db) == before


def test_automatic_allocation_pays_the_oldest_first(portal: Portal) -> None:
    at = record_form(portal)
    assert at.radio(key="pay_mode").value == "auto"  # the default when no invoice was chosen first
    assert not [d for d in at.data_editor if d.key and d.key.startswith("pay_alloc_")]
    ok(submit(at, "150.00", "auto"))
    assert status(portal, portal.first) == "paid" and status(portal, portal.second) == "partially_paid"


def shares(at: AppTest) -> dict[str, str]:
    """What the list of open invoices says each one gets of the payment: {invoice number: text}."""
    texts = [m.value for m in at.markdown]
    return {text: texts[i + 3] for i, text in enumerate(texts) if text.startswith("INV-")}


def test_the_invoice_view_jumps_here_with_the_invoice_preselected(portal: Portal) -> None:
    at = open_page("accountant", "app_pages/invoices.py", invoice=portal.second)
    at.button(key="pay").click().run()
    assert ok(at).title.values == ["Record payment"]
    assert at.selectbox(key="pay_customer").value == portal.acme and at.text_input(key="pay_amount").value == "238.00"
    assert at.radio(key="pay_mode").value == "auto"  # that invoice first, then the oldest due
    assert list(shares(at)) == ["INV-2026-00002", "INV-2026-00001"]
    assert shares(at) == {"INV-2026-00002": "**€238.00**", "INV-2026-00001": "—"}
    at.switch_page(PAGE)  # in a browser the URL now says so; AppTest keeps the page it was given
    next(b for b in at.button if b.label == "Record payment").click().run()
    assert ok(at).subheader.values == ["Payment from Acme GmbH"]
    assert status(portal, portal.second) == "paid" and status(portal, portal.first) == "unpaid"


def test_the_allocation_follows_the_amount_typed(portal: Portal) -> None:
    at = open_page("accountant", PAGE, record=1, customer=portal.acme, invoice=portal.second)
    at.text_input(key="pay_amount").input("100.00").run()
    assert shares(ok(at)) == {"INV-2026-00002": "**€100.00** (part)", "INV-2026-00001": "—"}
    assert "This payment pays 1 invoice in part." in at.markdown.values
    at.text_input(key="pay_amount").input("400.00").run()
    assert shares(ok(at)) == {"INV-2026-00002": "**€238.00**", "INV-2026-00001": "**€119.00**"}
    assert "This payment pays 2 invoices in full; €43.00 stays as credit for the customer." in at.markdown.values
    at.checkbox(key=f"pay_use_{portal.second}").uncheck().run()  # leave that one out
    assert shares(ok(at)) == {"INV-2026-00002": "—", "INV-2026-00001": "**€119.00**"}
    next(b for b in at.button if b.label == "Record payment").click().run()
    assert ok(at).subheader.values == ["Payment from Acme GmbH"]
    assert status(portal, portal.first) == "paid" and status(portal, portal.second) == "unpaid"
    assert payments.customer_credit(portal.db, SYSTEM, portal.acme) == {"EUR": Decimal("281.00")}


def test_an_amount_that_is_not_one_is_named_at_once_and_nothing_is_planned(portal: Portal) -> None:
    at = record_form(portal)
    at.text_input(key="pay_amount").input("12,50x").run()
    assert at.error and "amount" in at.error.values[0].lower()
    assert set(shares(at).values()) == {"—"}
    before = snapshot(portal.db)
    next(b for b in at.button if b.label == "Record payment").click().run()
    assert not at.exception and snapshot(portal.db) == before


def test_a_reload_keeps_the_customer_and_cancel_returns_to_the_invoice(portal: Portal) -> None:
    at = open_page("accountant", "app_pages/invoices.py", invoice=portal.first)
    at.button(key="pay").click().run()
    assert dict(at.query_params) == {"record": "1", "customer": str(portal.acme), "invoice": str(portal.first)}
    reloaded = open_page("accountant", PAGE, **dict(at.query_params))  # a fresh session with the same URL
    assert ok(reloaded).selectbox(key="pay_customer").value == portal.acme
    assert reloaded.text_input(key="pay_amount").value == "119.00"
    reloaded.button(key="pay_cancel").click().run()
    assert ok(reloaded).query_params["invoice"] == str(portal.first) and "record" not in reloaded.query_params


def test_credit_can_be_applied_then_refund_above_it_is_refused(portal: Portal) -> None:
    at = ok(submit(record_form(portal), "400.00", "none"))
    assert payments.customer_credit(portal.db, SYSTEM, portal.acme) == {"EUR": Decimal("400.00")}
    next(b for b in at.button if b.label == "Apply credit").click().run()  # oldest due first, both invoices
    assert [t.value for t in ok(at).toast] == ["Credit applied"]
    assert status(portal, portal.first) == "paid" and status(portal, portal.second) == "paid"

    at.button(key="refund").click().run()
    assert at.text_input(key="refund_amount").value == "43.00"
    before = snapshot(portal.db)
    at.text_input(key="refund_amount").input("50.00")
    at.button(key="confirm_refund").click().run()
    assert [e.value for e in at.error] == ["The refund (50.00) is more than the customer's credit (43.00 EUR)."]
    assert snapshot(portal.db) == before


def test_refund_of_credit_and_reversal_with_a_reason(portal: Portal) -> None:
    payment_id = payments.record_payment(portal.db, SYSTEM, {"customer_id": portal.acme, "amount": "80.00",
                                                             "currency": "EUR", "received_on": date.today()})
    at = ok(open_payment("accountant", payment_id))
    at.button(key="refund").click().run()
    assert at.text_input(key="refund_amount").value == "80.00"
    at.text_input(key="refund_amount").input("100.00")
    at.button(key="confirm_refund").click().run()
    assert [e.value for e in at.error] == ["The refund (100.00) is more than the customer's credit (80.00 EUR)."]
    at.text_input(key="refund_amount").input("30.00")
    at.button(key="confirm_refund").click().run()
    assert [t.value for t in ok(at).toast] == ["Refund recorded"]
    assert payments.customer_credit(portal.db, SYSTEM, portal.acme) == {"EUR": Decimal("50.00")}

    at.button(key="reverse").click().run()
    at.button(key="confirm_reverse").click().run()
    assert [e.value for e in at.error] == ["Please give a reason for reversing the payment."]
    at.text_area(key="reverse_reason").input("Transfer bounced")
    at.button(key="confirm_reverse").click().run()
    assert [e.value for e in at.error] == ["Part of this payment was already refunded; it cannot be reversed."]


def test_with_more_customers_than_a_list_holds_a_search_finds_and_picks_the_one(
        portal: Portal, monkeypatch: pytest.MonkeyPatch) -> None:
    customers.create_customer(portal.db, SYSTEM, {"name": "Zeta Ltd", "currency": "GBP"})
    monkeypatch.setattr("ui.widgets.PICKER_SIZE", 1)
    at = ok(open_page("accountant", PAGE))
    next(b for b in at.button if b.label == "Record payment").click().run()
    assert at.selectbox(key="pay_customer").placeholder == "The first 1: search to find others"
    at.text_input(key="pay_customer_search").input("zeta").run()
    assert ok(at).selectbox(key="pay_customer").value is not None  # the only match is chosen
    assert "No open invoices: the payment becomes credit for this customer." in [c.value for c in at.caption]


@pytest.mark.parametrize("answer", ["Record it anyway", "Don't record it"])
def test_the_second_tab_paying_the_same_invoices_is_asked_first(portal: Portal, answer: str) -> None:
    first, second = record_form(portal), record_form(portal)  # two tabs, both showing 357.00 open
    submit(first, "357.00", "auto")
    assert [t.value for t in first.toast] == ["Payment from Acme GmbH recorded"]
    before = snapshot(portal.db)
    assert second.radio(key="pay_mode").value == "auto"
    second.text_input(key="pay_amount").input("357.00")  # typed into the form: no run until it is sent
    next(b for b in second.button if b.label == "Record payment").click().run()
    assert not second.exception
    warning = " ".join(w.value for w in second.warning).replace("\\", "")  # as rendered: no Markdown escapes
    assert "INV-2026-00001 was settled (it had 119.00 EUR open)" in warning
    assert "Nothing was recorded." in warning and "Record the payment of €357.00 from Acme GmbH anyway?" in warning
    assert snapshot(portal.db) == before  # nothing, unless the user confirms
    next(b for b in second.button if b.label == answer).click().run()
    ok(second)
    settled = payments.customer_credit(portal.db, SYSTEM, portal.acme)
    if answer == "Record it anyway":
        assert settled == {"EUR": Decimal("357.00")}  # nothing open any more: all of it is credit
        assert second.subheader.values == ["Payment from Acme GmbH"]
    else:
        assert settled == {} and snapshot(portal.db) == before
        assert not second.warning and second.title.values == ["Record payment"]


def test_a_manual_allocation_confirmed_after_the_warning_goes_where_it_was_typed(portal: Portal) -> None:
    """The list changed under the form (the first invoice was paid elsewhere): the amount typed against the
    second invoice stays with the second invoice, not with whatever row now stands where it was typed."""
    second = record_form(portal)
    second.radio(key="pay_mode").set_value("manual").run()
    editor = next(d for d in second.data_editor if d.key and d.key.startswith("pay_alloc_"))
    second.text_input(key="pay_amount").input("100.00")
    second.session_state[editor.key] = {"edited_rows": {1: {"Allocate": "100.00"}}, "added_rows": [],
                                        "deleted_rows": []}  # row 1: the second invoice, 238.00 open
    payments.record_payment(portal.db, SYSTEM, {"customer_id": portal.acme, "amount": "119.00", "currency": "EUR",
                                                "received_on": date.today()}, [(portal.first, "119.00")])
    next(b for b in second.button if b.label == "Record payment").click().run()
    warning = " ".join(w.value for w in second.warning).replace("\\", "")
    assert "INV-2026-00001 was settled (it had 119.00 EUR open)" in warning and "1 invoice(s) you allocated" in warning
    next(b for b in second.button if b.label == "Record it anyway").click().run()
    ok(second)
    assert status(portal, portal.second) == "partially_paid"  # 100.00 of its 238.00
    assert payments.customer_credit(portal.db, SYSTEM, portal.acme) == {}


def test_a_pending_confirmation_is_dropped_when_another_customer_is_chosen(portal: Portal) -> None:
    other = customers.create_customer(portal.db, SYSTEM, {"name": "Other Ltd", "currency": "EUR"})
    second = record_form(portal)
    second.text_input(key="pay_amount").input("357.00")
    payments.record_payment(portal.db, SYSTEM, {"customer_id": portal.acme, "amount": "119.00", "currency": "EUR",
                                                "received_on": date.today()}, "auto")
    next(b for b in second.button if b.label == "Record payment").click().run()
    assert second.warning and "Record it anyway" in {b.label for b in second.button}
    second.selectbox(key="pay_customer").select(other).run()
    assert not second.warning and "Record it anyway" not in {b.label for b in second.button}
