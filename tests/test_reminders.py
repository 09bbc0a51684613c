"""billing.reminders: levels, once per level, the highest level due, late fees as own invoices, never to settled
or disputed invoices."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa

from billing import credit_notes, invoices, payments, reminders
from billing.errors import PermissionDeniedError, ValidationError
from billing.store.db import Database
from billing.store.mail_schema import outbox
from tests.conftest import ACCOUNTANT, ADMIN, TODAY, Billed, Seed, assert_refused, header, issued, line

DUE_B = date(2025, 3, 10)  # billed.b: 59.50, due on TODAY; a: 119.00 due 03-24; c: 23.80 due 04-30


def levels(seed: Seed) -> list[dict[str, Any]]:
    return [{"days_after_due": 7, "subject": "Reminder: invoice {number}", "body": "{balance} {currency} due"},
            {"days_after_due": 14, "subject": "Second reminder {number}", "fee_amount": "5.00",
             "fee_tax_rate_id": seed.e0},
            {"days_after_due": 30, "subject": "Final notice {number}", "fee_percent": "10",
             "fee_tax_rate_id": seed.e0}]


def test_each_level_once_on_its_day(db: Database, billed: Billed, seeded: Seed) -> None:
    reminders.save_levels(db, ADMIN, levels(seeded))
    assert reminders.send_reminders(db, ADMIN, DUE_B + timedelta(days=6)).given == []
    first = reminders.send_reminders(db, ADMIN, DUE_B + timedelta(days=7))
    assert first.given == [(billed.b, 1)] and first.fee_invoices == []
    assert reminders.send_reminders(db, ADMIN, DUE_B + timedelta(days=8)).given == []  # not twice
    second = reminders.send_reminders(db, ADMIN, DUE_B + timedelta(days=14))
    assert second.given == [(billed.b, 2)]
    fee = invoices.get_invoice(db, ADMIN, second.fee_invoices[0], as_of=TODAY)
    assert fee.header.status == "issued" and fee.header.payable == Decimal("5.00")
    assert "Late fee: reminder 2" in fee.lines[0].description
    assert header(db, billed.b).payable == Decimal("59.50")  # the original stays as it was
    given = reminders.reminders_of(db, ADMIN, billed.b)
    assert [(row["level"], row["reminded_on"]) for row in given] == [(1, date(2025, 3, 17)), (2, date(2025, 3, 24))]
    with db.connect() as conn:  # each reminder into the e-mail outbox with its level's subject
        subjects = conn.execute(sa.select(outbox.c.subject).where(outbox.c.document_id == billed.b)
                                .order_by(outbox.c.id)).scalars().all()
    assert subjects == ["Reminder: invoice INV-2025-00002", "Second reminder INV-2025-00002"]


def test_after_downtime_only_the_highest_level_due_is_given(db: Database, billed: Billed, seeded: Seed) -> None:
    reminders.save_levels(db, ADMIN, levels(seeded))
    report = reminders.send_reminders(db, ADMIN, DUE_B + timedelta(days=40))
    by_invoice = dict(report.given)
    assert by_invoice[billed.b] == 3 and by_invoice[billed.a] == 2
    fees = {invoices.get_invoice(db, ADMIN, i, as_of=TODAY).header.payable for i in report.fee_invoices}
    assert fees == {Decimal("5.95"), Decimal("5.00")}  # 10 % of 59.50; the fixed fee of level 2


def test_never_to_paid_credited_void_or_disputed_invoices(db: Database, billed: Billed, seeded: Seed) -> None:
    reminders.save_levels(db, ADMIN, levels(seeded))
    payments.record_payment(db, ADMIN, {"customer_id": seeded.acme, "amount": "59.50", "currency": "EUR",
                                        "received_on": TODAY}, allocate=[(billed.b, "59.50")])
    credit_notes.create_credit_note(db, ADMIN, billed.a, today=TODAY)
    disputed = issued(db, seeded.beta, line(seeded.s19), due_date="2025-03-10")
    reminders.set_disputed(db, ADMIN, disputed, "Goods arrived damaged", TODAY)
    voided = issued(db, seeded.beta, line(seeded.s19), due_date="2025-03-10")
    invoices.void_invoice(db, ADMIN, voided, "Wrong customer", today=TODAY)
    partly = issued(db, seeded.beta, line(seeded.s19), due_date="2025-03-10")
    payments.record_payment(db, ADMIN, {"customer_id": seeded.beta, "amount": "50.00", "currency": "EUR",
                                        "received_on": TODAY}, allocate=[(partly, "50.00")])
    late = date(2025, 12, 31)
    assert {item.invoice_id for item in reminders.due_reminders(db, ADMIN, late)} == {billed.c, partly}
    assert {invoice_id for invoice_id, _ in reminders.send_reminders(db, ADMIN, late).given} == {billed.c, partly}
    reminders.clear_disputed(db, ADMIN, disputed)
    assert [item.invoice_id for item in reminders.due_reminders(db, ADMIN, late)] == [disputed]


def test_no_levels_no_reminders(db: Database, billed: Billed) -> None:
    assert reminders.send_reminders(db, ADMIN, date(2026, 1, 1)).given == []


def test_placeholders_are_filled_and_others_left(db: Database, billed: Billed, seeded: Seed) -> None:
    reminders.save_levels(db, ADMIN, [{"days_after_due": 1, "subject": "Invoice {number} {unknown} {0.__class__}",
                                       "body": "Please pay {balance} {currency} (due {due_date})."}])
    item = reminders.due_reminders(db, ADMIN, date(2025, 3, 12))[0]
    subject, body = reminders.reminder_text(reminders.list_levels(db, ADMIN)[0], item)
    assert subject == "Invoice INV-2025-00002 {unknown} {0.__class__}"
    assert body == "Please pay 59.50 EUR (due 2025-03-10)."


@pytest.mark.parametrize(("level", "message"), [
    ({"days_after_due": 0, "subject": "x"}, "Days after due"),
    ({"days_after_due": 7, "subject": ""}, "Subject"),
    ({"days_after_due": 7, "subject": "x", "fee_amount": "5", "fee_percent": "2", "fee_tax_rate_id": 1}, "not both"),
    ({"days_after_due": 7, "subject": "x", "fee_amount": "5"}, "needs a tax rate"),
    ({"days_after_due": 7, "subject": "x", "fee_percent": "150", "fee_tax_rate_id": 1}, "at most 100"),
    ({"days_after_due": 7, "subject": "x", "fee_amount": "5", "fee_tax_rate_id": 999}, "Tax rate 999 does not exist"),
])
def test_bad_levels_are_refused_with_a_message(db: Database, seeded: Seed, level: dict[str, Any],
                                               message: str) -> None:
    assert_refused(db, lambda: reminders.save_levels(db, ADMIN, [level]), ValidationError, message)


def test_the_same_days_twice_and_an_empty_dispute_reason(db: Database, billed: Billed) -> None:
    same = [{"days_after_due": 7, "subject": "a"}, {"days_after_due": 7, "subject": "b"}]
    assert_refused(db, lambda: reminders.save_levels(db, ADMIN, same), ValidationError, "same number of days")
    assert_refused(db, lambda: reminders.set_disputed(db, ADMIN, billed.a, " ", TODAY), ValidationError, "why")


def test_an_accountant_may_not_set_levels(db: Database, seeded: Seed) -> None:
    with pytest.raises(PermissionDeniedError):
        reminders.save_levels(db, ACCOUNTANT, levels(seeded))
