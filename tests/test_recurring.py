"""billing.recurring: schedules, catch-up exactly once, runners at the same time, pause/resume/end, bad input."""

from __future__ import annotations

import os
import threading
from datetime import date, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from billing import invoices, recurring
from billing.dispatch import send_requests
from billing.errors import PermissionDeniedError, ValidationError
from billing.store.db import Database
from billing.store.mail_schema import outbox
from billing.store.schema import invoices as invoices_table
from billing.verify import verify_database
from tests.conftest import ADMIN, ANALYST, Seed, assert_refused, line

START = date(2024, 1, 31)


def schedule(seed: Seed, **extra: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "name": "Hosting", "frequency": "month", "start_date": START, "action": "issue",
        "template": {"customer_id": seed.acme, "notes": "Monthly hosting",
                     "lines": [line(seed.s19, "1", "99.90", "Hosting"), line(seed.s7, "2", "10.05", "Support")]}}
    return {**values, **extra}


def issued_rows(db: Database) -> list[tuple[Any, ...]]:
    query = (sa.select(invoices_table.c.number, invoices_table.c.customer_id, invoices_table.c.status,
                       invoices_table.c.issue_date, invoices_table.c.due_date, invoices_table.c.payable,
                       invoices_table.c.notes)
             .order_by(invoices_table.c.issue_date, invoices_table.c.number))
    with db.connect() as conn:
        return [tuple(row) for row in conn.execute(query)]


def make_year(db: Database, seed: Seed) -> None:
    recurring.create_schedule(db, ADMIN, schedule(seed))
    recurring.create_schedule(db, ADMIN, schedule(seed, name="Rent", day_of_month=0, start_date=date(2024, 1, 1)))
    recurring.create_schedule(db, ADMIN, schedule(seed, name="Licence", frequency="quarter",
                                                  start_date=date(2024, 2, 29), template={
                                                      "customer_id": seed.beta, "lines": [
                                                          line(seed.s19, "2.5", "49.90", product_id=seed.product,
                                                               discount_percent="12.5"),
                                                          line(seed.e0, "1", "300", discount_amount="0.01")],
                                                      "allowance_charges": [{"is_charge": True, "reason": "Shipping",
                                                                             "amount": "4.95",
                                                                             "tax_rate_id": seed.s19}]}))


def test_a_year_day_by_day_gives_the_same_invoices_as_one_catch_up(db: Database, seeded: Seed,
                                                                    tmp_path: Any) -> None:
    from tests.conftest import copy_template, database_url

    other = Database(database_url(copy_template(db.path, tmp_path / "other.duckdb")))  # type: ignore[arg-type]
    make_year(db, seeded)
    make_year(other, seeded)
    day = date(2024, 1, 1)
    while day <= date(2024, 12, 31):
        recurring.run_due_schedules(db, ADMIN, day)
        day += timedelta(days=1)
    report = recurring.run_due_schedules(other, ADMIN, date(2024, 12, 31))
    assert len(report.created) == 12 + 12 + 4
    assert issued_rows(db) == issued_rows(other)
    rows = issued_rows(db)
    assert len(rows) == 28 and all(row[2] == "issued" for row in rows)
    hosting = [row[3] for row in rows if row[6] == "Monthly hosting"]
    assert hosting[:4] == [date(2024, 1, 31), date(2024, 1, 31), date(2024, 2, 29), date(2024, 2, 29)]
    assert rows[0][5] == pytest.approx(rows[2][5])  # same totals every month
    assert recurring.run_due_schedules(db, ADMIN, date(2024, 12, 31)).created == []  # a rerun adds nothing
    for database in (db, other):  # sealed, totals and sales facts as issuing one by one leaves them
        report = verify_database(database, ADMIN)
        assert report.ok, report.problems
    other.dispose()


def test_totals_are_the_templates_to_the_cent(db: Database, seeded: Seed) -> None:
    recurring.create_schedule(db, ADMIN, schedule(seeded))
    invoice_id = recurring.run_due_schedules(db, ADMIN, START).created[0]
    document = invoices.get_invoice(db, ADMIN, invoice_id, as_of=START)
    # 99.90 + 19 % = 118.88 (118.881), 2 x 10.05 = 20.10 + 7 % = 21.51 (21.507): 140.39
    assert document.header.payable == invoices.preview_totals(db, ADMIN, schedule(seeded)["template"]).payable
    assert str(document.header.payable) == "140.39"
    assert document.header.issue_date == START and document.header.due_date == date(2024, 2, 14)


def test_draft_mode_leaves_drafts_and_send_mode_asks_to_send(db: Database, seeded: Seed) -> None:
    recurring.create_schedule(db, ADMIN, schedule(seeded, action="draft"))
    recurring.create_schedule(db, ADMIN, schedule(seeded, action="send", name="Sent"))
    report = recurring.run_due_schedules(db, ADMIN, START)
    assert len(report.created) == 2 and len(report.issued) == 1
    statuses = {invoices.get_invoice(db, ADMIN, i, as_of=START).header.status for i in report.created}
    assert statuses == {"draft", "issued"}
    with db.connect() as conn:
        assert send_requests(conn, "invoice", report.issued[0]) == [("issued", START)]
        queued = conn.execute(sa.select(outbox.c.recipients, outbox.c.document_id)).all()
    assert [tuple(row) for row in queued] == [("ap@acme.example", report.issued[0])]  # into the e-mail outbox


def test_threads_running_at_once_create_no_duplicate(db: Database, seeded: Seed) -> None:
    for name in ("A", "B", "C"):
        recurring.create_schedule(db, ADMIN, schedule(seeded, name=name))
    errors: list[BaseException] = []

    def run() -> None:
        try:
            recurring.run_due_schedules(db, ADMIN, date(2024, 6, 30))
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    rows = issued_rows(db)
    assert len(rows) == 3 * 6 and len({row[0] for row in rows}) == 18


def test_pause_skips_the_periods_meanwhile_resume_and_end(db: Database, seeded: Seed) -> None:
    schedule_id = recurring.create_schedule(db, ADMIN, schedule(seeded, start_date=date(2024, 1, 10)))
    assert len(recurring.run_due_schedules(db, ADMIN, date(2024, 2, 10)).created) == 2
    recurring.pause_schedule(db, ADMIN, schedule_id)
    assert recurring.run_due_schedules(db, ADMIN, date(2024, 5, 1)).created == []
    assert recurring.upcoming_invoices(db, ADMIN, date(2024, 5, 1)) == []
    recurring.resume_schedule(db, ADMIN, schedule_id, as_of=date(2024, 5, 1))
    upcoming = recurring.upcoming_invoices(db, ADMIN, date(2024, 5, 1))
    assert [item.on for item in upcoming] == [date(2024, 5, 10), date(2024, 6, 10), date(2024, 7, 10)]
    assert len(recurring.run_due_schedules(db, ADMIN, date(2024, 5, 10)).created) == 1
    recurring.end_schedule(db, ADMIN, schedule_id)
    assert recurring.run_due_schedules(db, ADMIN, date(2024, 12, 31)).created == []
    found, runs = recurring.get_schedule(db, ADMIN, schedule_id)
    assert found.status == "ended" and [run["period_date"] for run in runs] == [
        date(2024, 5, 10), date(2024, 2, 10), date(2024, 1, 10)]


def test_a_schedule_ends_after_its_count(db: Database, seeded: Seed) -> None:
    schedule_id = recurring.create_schedule(db, ADMIN, schedule(seeded, max_count=3))
    assert len(recurring.run_due_schedules(db, ADMIN, date(2025, 1, 1)).created) == 3
    recurring.run_due_schedules(db, ADMIN, date(2025, 1, 2))
    assert recurring.get_schedule(db, ADMIN, schedule_id)[0].status == "ended"


def test_an_archived_customer_keeps_the_period_and_says_why(db: Database, seeded: Seed) -> None:
    from billing import customers

    schedule_id = recurring.create_schedule(db, ADMIN, schedule(seeded))
    customers.set_archived(db, ADMIN, seeded.acme)
    report = recurring.run_due_schedules(db, ADMIN, date(2024, 3, 31))
    assert report.created == [] and "archived" in report.failed[schedule_id]
    found = recurring.get_schedule(db, ADMIN, schedule_id)[0]
    assert found.next_period == 0 and "archived" in found.last_error


@pytest.mark.parametrize(("extra", "message"), [
    ({"frequency": "daily"}, "Unknown frequency"),
    ({"action": "mail"}, "Unknown action"),
    ({"end_date": date(2023, 1, 1)}, "end date is before"),
    ({"name": ""}, "Name"),
    ({"template": {"customer_id": 999, "lines": []}}, "at least one line|does not exist"),
])
def test_bad_schedules_are_refused_with_a_message(db: Database, seeded: Seed, extra: dict[str, Any],
                                                  message: str) -> None:
    assert_refused(db, lambda: recurring.create_schedule(db, ADMIN, schedule(seeded, **extra)), ValidationError,
                   message)


def test_an_analyst_may_see_but_not_create(db: Database, seeded: Seed) -> None:
    assert recurring.list_schedules(db, ANALYST) == []
    with pytest.raises(PermissionDeniedError):
        recurring.create_schedule(db, ANALYST, schedule(seeded))
    with pytest.raises(PermissionDeniedError):
        recurring.run_due_schedules(db, ANALYST, START)


@pytest.mark.timeout(300)
def test_two_processes_on_postgresql_create_no_duplicate(pg_url: str) -> None:
    import subprocess
    import sys
    from pathlib import Path

    from billing import catalog, customers, settings

    pg = Database(pg_url)
    pg.migrate()
    settings.save_company(pg, ADMIN, {"legal_name": "Acme GmbH", "base_currency": "EUR", "timezone": "Europe/Berlin"})
    rate = catalog.create_tax_rate(pg, ADMIN, {"name": "VAT 19%", "category": "S", "percent": "19"})
    for index in range(12):
        customer = customers.create_customer(pg, ADMIN, {"name": f"Customer {index}", "currency": "EUR"})
        recurring.create_schedule(pg, ADMIN, {
            "name": f"Plan {index}", "frequency": "month", "start_date": date(2025, 1, 1 + index), "action": "issue",
            "template": {"customer_id": customer, "lines": [line(rate, "1", f"{10 + index}.00")]}})
    repo = Path(__file__).resolve().parent.parent
    env = {**os.environ, "BILLING_DATABASE_URL": pg_url, "PYTHONPATH": str(repo)}
    runners = [subprocess.Popen([sys.executable, "-m", "billing", "run-due", "--as-of", "2025-12-31"], cwd=repo,
                                env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
               for _ in range(2)]
    outputs = [runner.communicate(timeout=240) for runner in runners]
    assert [runner.returncode for runner in runners] == [0, 0], outputs
    rows = issued_rows(pg)
    assert len(rows) == 12 * 12
    assert sorted(row[0] for row in rows) == [f"INV-2025-{n:05}" for n in range(1, 145)]
    report = verify_database(pg, ADMIN)
    assert report.ok, report.problems
    pg.dispose()


def test_a_template_that_no_longer_reads_is_reported_not_a_crash(db: Database, seeded: Seed) -> None:
    from billing.store.automation_schema import recurring_schedules

    broken = recurring.create_schedule(db, ADMIN, schedule(seeded, name="Broken"))
    recurring.create_schedule(db, ADMIN, schedule(seeded, name="Fine"))
    with db.engine.begin() as conn:
        conn.execute(recurring_schedules.update().where(recurring_schedules.c.id == broken)
                     .values(template='{"customer_id": "x"}'))
    report = recurring.run_due_schedules(db, ADMIN, START)
    assert len(report.created) == 1 and "can no longer be read" in report.failed[broken]
