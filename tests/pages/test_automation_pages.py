"""AppTest of the recurring invoices, quotes and payment reminders pages, per role: lists, actions, bad input."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from portal import ROOT, app_as, download_payload, ok
from streamlit.runtime.media_file_manager import MediaFileManager
from streamlit.runtime.media_file_storage import MediaFileStorageError
from streamlit.testing.v1 import AppTest

from billing import catalog, customers, document_links, invoices, mailing, quotes, recurring, reminders
from billing.auth_keys import issue_token
from billing.permissions import SYSTEM
from billing.store.db import Database
from billing.users import end_session, start_session

RECURRING, QUOTES, REMINDERS = "app_pages/recurring.py", "app_pages/quotes.py", "app_pages/reminders.py"


def ids(db: Database) -> tuple[int, int]:
    """An EUR customer and a standard tax rate of the demo data."""
    with db.connect() as conn:
        customer = conn.execute(sa.text("SELECT min(id) FROM customers WHERE currency = 'EUR' AND NOT archived"))
        customer_id = int(customer.scalar_one())
        rate = conn.execute(sa.text("SELECT min(id) FROM tax_rates WHERE category = 'S' AND active"))
        return customer_id, int(rate.scalar_one())


def lines(rate: int) -> list[dict[str, Any]]:
    return [{"description": "Hosting", "quantity": "1", "unit_price": "99.90", "tax_rate_id": rate}]


def select_row(at: AppTest, table: str, row: int) -> AppTest:
    [key] = [k for k in at.session_state if k.startswith(f"{table}:grid:")]
    at.session_state[key] = {"selection": {"rows": [row], "columns": [], "cells": []}}
    return at.run()


def click(at: AppTest, label: str) -> AppTest:
    next(button for button in at.button if button.label == label).click()
    return at.run()


def texts(at: AppTest) -> str:
    return "\n".join([*(e.value for e in at.success), *(e.value for e in at.markdown), *(e.value for e in at.caption),
                      *(df.value.to_csv() for df in at.dataframe)])


@pytest.mark.parametrize("page", [RECURRING, QUOTES, REMINDERS])
@pytest.mark.parametrize("role", ["admin", "accountant", "analyst"])
def test_the_pages_render_for_every_role(demo_db: Database, page: str, role: str) -> None:
    at = ok(app_as(role, page))
    labels = {tab.label for tab in at.tabs} | {button.label for button in at.button}
    writing = {"New schedule", "New quote", "Disputes", "Run what is due now"}
    assert bool(labels & writing) is (role != "analyst")


def test_a_schedule_is_listed_run_and_paused(db: Database) -> None:
    customer, rate = ids(db)
    recurring.create_schedule(db, SYSTEM, {"name": "Monthly hosting", "frequency": "month",
                                           "start_date": date(2026, 1, 31), "action": "issue",
                                           "template": {"customer_id": customer, "lines": lines(rate)}})
    at = ok(app_as("accountant", RECURRING))
    assert "Monthly hosting" in texts(at)
    at = ok(click(at, "Run what is due now"))
    assert "Recurring invoices created:" in texts(at)
    at = ok(select_row(at, "schedules", 0))
    assert "Invoices created:" in texts(at)
    at = ok(click(at, "Pause"))
    assert recurring.list_schedules(db, SYSTEM)[0].status == "paused"


def test_a_new_schedule_without_a_customer_or_name_is_refused_with_a_message(db: Database) -> None:
    at = ok(app_as("accountant", RECURRING))
    at = click(at, "Create schedule")
    assert [e.value for e in at.error] == ["Choose the customer first."]
    customer, _ = ids(db)
    at.session_state["schedule_customer"] = customer
    at = click(at.run(), "Create schedule")
    assert at.error and "Name" in at.error[0].value and not at.exception
    assert recurring.list_schedules(db, SYSTEM) == []


def test_a_quote_is_sent_accepted_and_converted(db: Database) -> None:
    customer, rate = ids(db)
    quote_id = quotes.create_quote(db, SYSTEM, {"customer_id": customer, "lines": lines(rate)})
    at = ok(select_row(app_as("accountant", QUOTES), "quotes", 0))
    assert at.get("download_button")
    at = ok(click(at, "Send…"))
    at.text_input(key=f"send:quote:{quote_id}:to").input("buyer@example.com")
    at = ok(select_row(ok(at.button(key="confirm_send").click().run()), "quotes", 0))
    sent = quotes.get_quote(db, SYSTEM, quote_id)
    assert sent.status == "sent"
    [message] = mailing.mail_history(db, SYSTEM, quote_id, document_links.QUOTE).messages
    assert message.recipients == ("buyer@example.com",) and str(sent.number) in message.subject
    assert "buyer\u2060@example.com" in texts(at)  # the quote shows what was sent, to whom (plain())
    at = ok(select_row(click(at, "Mark accepted"), "quotes", 0))
    ok(click(at, "Convert to invoice"))
    assert quotes.get_quote(db, SYSTEM, quote_id).status == "converted"


def test_the_quote_pdf_is_made_on_click_and_refused_to_a_tab_whose_session_ended(
        db: Database, downloads: list[MediaFileManager]) -> None:
    customer, rate = ids(db)
    quotes.create_quote(db, SYSTEM, {"customer_id": customer, "lines": lines(rate)})
    token, expires = issue_token("k" * 40, "analyst", timedelta(hours=1))
    start_session(db, "analyst", token, expires)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=30)
    at.session_state["auth_username"], at.session_state["auth_token"] = "analyst", token  # a browser's sign-in
    at = ok(select_row(at.switch_page(QUOTES).run(), "quotes", 0))
    button = next(d for d in at.get("download_button") if d.key == "quote_pdf")
    assert button.proto.deferred_file_id and not button.proto.url  # not made with the page: on the click
    assert download_payload(downloads, at, "quote_pdf").startswith(b"%PDF")
    end_session(db, token)  # signed out in another tab: the page still shows the button
    with pytest.raises(MediaFileStorageError, match="Your session has ended"):
        download_payload(downloads, at, "quote_pdf")


def test_the_analyst_sees_a_quote_without_its_actions(db: Database) -> None:
    customer, rate = ids(db)
    quotes.create_quote(db, SYSTEM, {"customer_id": customer, "lines": lines(rate)})
    at = ok(select_row(app_as("analyst", QUOTES), "quotes", 0))
    assert not {"Send…", "Convert to invoice"} & {button.label for button in at.button}


def test_reminders_due_are_listed_and_given(database_copy: Callable[[Path], Database], portal_template: Path) -> None:
    db = database_copy(portal_template)  # no demo data: its hundreds of overdue invoices would all be reminded
    rate = catalog.create_tax_rate(db, SYSTEM, {"name": "VAT 19%", "category": "S", "percent": "19"})
    customer = customers.create_customer(db, SYSTEM, {"name": "Late Payer GmbH", "currency": "EUR", "terms_days": 14})
    paid_late = invoices.create_draft(db, SYSTEM, {"customer_id": customer, "lines": lines(rate)})
    number = invoices.issue_invoice(db, SYSTEM, paid_late, today=date(2025, 1, 10))
    reminders.save_levels(db, SYSTEM, [{"days_after_due": 7, "subject": "Reminder {number}"}])
    at = ok(app_as("accountant", REMINDERS))
    assert number in texts(at)
    at = ok(click(at, "Give the due reminders now"))
    assert "1 reminders given" in texts(at)
    assert reminders.due_reminders(db, SYSTEM, date.today()) == []


def test_bad_reminder_levels_are_refused_with_a_message(db: Database) -> None:
    at = ok(app_as("admin", REMINDERS))
    at.session_state["levels_grid"] = {"edited_rows": {}, "added_rows": [{"Days after due": 0, "Subject": "x"}],
                                       "deleted_rows": []}
    at = click(at.run(), "Save levels")
    assert at.error and "Days after due" in at.error[0].value and not at.exception
    assert reminders.list_levels(db, SYSTEM) == []


def test_the_customers_answer_through_the_link_shows_on_the_quote(db: Database) -> None:
    customer, rate = ids(db)
    quote_id = quotes.create_quote(db, SYSTEM, {"customer_id": customer, "lines": lines(rate)})
    quotes.send_quote(db, SYSTEM, quote_id, date.today())
    quotes.accept_quote_by_customer(db, quote_id, date.today(), link="7")
    at = ok(select_row(app_as("accountant", QUOTES), "quotes", 0))
    assert f"accepted by the customer through its link on {date.today()}" in texts(at)
    assert "Convert to invoice" in {button.label for button in at.button}
