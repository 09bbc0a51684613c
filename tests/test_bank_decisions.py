"""Deciding statement lines (billing.bank.decisions): confirmed payments go through billing.payments (balances,
allocations, audit), a line is decided once even from two tabs at the same moment, returns reverse the payment
they return, the payer's IBAN is learned, and nothing is recorded unasked unless auto-confirm is on."""

from __future__ import annotations

import threading
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from billing import backup, customers, payments, settings
from billing.bank import decisions, service
from billing.bank.matching import LIKELY, REVERSAL, SURE
from billing.catalog import create_tax_rate
from billing.errors import BillingError, PermissionDeniedError, StateError
from billing.invoices import get_invoice
from billing.store.bank_schema import BANK_TABLES, bank_decisions, bank_lines, customer_ibans
from billing.store.db import Database
from billing.store.schema import audit_events, users
from billing.store.schema import payments as payments_table
from billing.webhooks import EVENT_TYPES, endpoints
from tests.bank_statements import camt053
from tests.conftest import (
    ACCOUNTANT,
    ADMIN,
    ANALYST,
    PG_BIN,
    TODAY,
    Billed,
    Seed,
    assert_refused,
    issued,
    line,
)

DATA = Path(__file__).parent / "data" / "bank"
ACME_IBAN = "DE02100100109307118603"


def imported(db: Database, name: str = "camt053.xml") -> dict[str, dict[str, Any]]:
    service.import_statement(db, ADMIN, (DATA / name).read_bytes(), name)
    return {f"{row['amount']} {row['remittance']}": row for row in service.list_lines(db, ADMIN, limit=100)[0]}


def balance(db: Database, invoice_id: int) -> Decimal:
    return get_invoice(db, ADMIN, invoice_id, as_of=TODAY).balance


def count(db: Database, table: sa.Table) -> int:
    with db.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


def test_nothing_is_recorded_without_confirmation(db: Database, billed: Billed) -> None:
    imported(db)
    assert count(db, payments_table) == 0 and balance(db, billed.a) == Decimal("119.00")


def test_confirming_records_the_payment_through_the_payments_service(db: Database, billed: Billed,
                                                                     seeded: Seed) -> None:
    lines = imported(db)
    line = lines["119.00 RF81 INV2 0250 0001"]
    payment_id = decisions.confirm_line(db, ACCOUNTANT, line["id"])
    payment = payments.get_payment(db, ADMIN, payment_id)
    assert (payment["customer_id"], payment["amount"], payment["received_on"].isoformat()) == \
        (seeded.acme, Decimal("119.00"), "2025-03-11")
    assert [(a["invoice_id"], a["amount"]) for a in payment["allocations"]] == [(billed.a, Decimal("119.00"))]
    assert balance(db, billed.a) == 0
    decided = service.get_line(db, ADMIN, line["id"])
    assert (decided["decision"], decided["payment_id"], decided["decided_by"]) == ("payment", payment_id, "bob")
    with db.connect() as conn:
        assert conn.execute(sa.select(customer_ibans.c.iban).where(customer_ibans.c.customer_id == seeded.acme)
                            ).scalars().all() == [ACME_IBAN]
        actions = conn.execute(sa.select(audit_events.c.action).order_by(audit_events.c.id.desc()).limit(2)).scalars()
        assert list(actions) == ["bank.decide", "payment.record"]
    assert_refused(db, lambda: decisions.confirm_line(db, ADMIN, line["id"]), StateError, match="decided already")


def test_confirm_all_sure_matches_at_once(db: Database, billed: Billed) -> None:
    imported(db)
    done, problems = decisions.confirm_sure(db, ADMIN)
    assert (done, problems) == (3, [])
    assert [balance(db, i) for i in (billed.a, billed.b, billed.c)] == [0, 0, 0]
    assert service.list_lines(db, ADMIN, undecided=True, confidence=SURE)[1] == 0


def test_a_return_reverses_the_payment_it_returns(db: Database, billed: Billed) -> None:
    lines = imported(db)
    decisions.confirm_sure(db, ADMIN)
    assert service.rematch(db, ADMIN) == 3  # the return, the fee, Beta's advance
    returned = service.get_line(db, ADMIN, lines["-59.50 Account closed"]["id"])
    proposal = returned["proposal"]
    assert (proposal.kind, proposal.confidence) == (REVERSAL, LIKELY)
    assert "end-to-end id" in proposal.reason and "AC04" in proposal.reason
    reversal_id = decisions.confirm_line(db, ADMIN, returned["id"])
    reversal = payments.get_payment(db, ADMIN, reversal_id)
    assert (reversal["kind"], reversal["amount"], reversal["reverses_payment_id"]) == \
        ("reversal", Decimal("-59.50"), proposal.reverses)
    assert balance(db, billed.b) == Decimal("59.50")


def test_pick_another_invoice_and_split(db: Database, billed: Billed, seeded: Seed) -> None:
    lines = imported(db, "mt940.sta")
    batch = lines["83.30 Acme GmbH Sammelzahlung fuer die Rechnungen INV-2025-00002 und INV-2025-00003 vielen Dank"]
    payment_id = decisions.confirm_line(db, ADMIN, batch["id"], allocations=[(billed.b, "59.50"), (billed.c, "20.00")])
    assert [balance(db, i) for i in (billed.b, billed.c)] == [0, Decimal("3.80")]
    assert payments.customer_credit(db, ADMIN, seeded.acme) == {"EUR": Decimal("3.80")}
    assert payments.get_payment(db, ADMIN, payment_id)["amount"] == Decimal("83.30")
    first = lines["119.00 Zahlung INV-2025-00001 Danke"]
    decisions.confirm_line(db, ADMIN, first["id"], allocations=[(billed.c, "3.80")])
    assert balance(db, billed.c) == 0 and balance(db, billed.a) == Decimal("119.00")
    found = decisions.find_open_invoices(db, ADMIN, "00001", "EUR")
    assert [(row["id"], row["customer"], row["balance"]) for row in found] == \
        [(billed.a, "Acme GmbH", Decimal("119.00"))]


def test_mark_as_not_a_customer_payment(db: Database, billed: Billed) -> None:
    lines = imported(db)
    fee = lines["-2.50 Kontofuehrungsgebuehr Maerz"]
    decisions.mark_not_payment(db, ADMIN, fee["id"], "fee")
    assert (service.get_line(db, ADMIN, fee["id"])["decision"], count(db, payments_table)) == ("other", 0)
    other = lines["50.00 Advance payment"]
    assert_refused(db, lambda: decisions.mark_not_payment(db, ADMIN, other["id"], "gift"), BillingError,
                   match="Category must be one of")
    assert_refused(db, lambda: decisions.confirm_line(db, ADMIN, fee["id"]), StateError)


def test_money_going_out_is_never_recorded_as_a_payment(db: Database, billed: Billed) -> None:
    lines = imported(db)
    fee = lines["-2.50 Kontofuehrungsgebuehr Maerz"]
    assert_refused(db, lambda: decisions.confirm_line(db, ADMIN, fee["id"], customer_id=1), BillingError,
                   match="Money going out")


def both_tabs(confirm: Callable[[], object]) -> list[str]:
    """Run `confirm` in two threads at the same moment: what each got ('recorded' or the refusal)."""
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def tab() -> None:
        barrier.wait()
        try:
            confirm()
            outcomes.append("recorded")
        except BillingError as exc:
            outcomes.append(exc.message)

    threads = [threading.Thread(target=tab) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def test_two_tabs_confirming_the_same_line_record_one_payment(db: Database, billed: Billed) -> None:
    line = imported(db)["119.00 RF81 INV2 0250 0001"]
    outcomes = sorted(both_tabs(lambda: decisions.confirm_line(db, ADMIN, line["id"])))
    assert len(outcomes) == 2 and outcomes[-1] == "recorded"
    assert "decided" in outcomes[0]
    assert (count(db, payments_table), count(db, bank_decisions)) == (1, 1)
    assert balance(db, billed.a) == 0


def test_a_line_another_user_decided_is_refused_naming_them(db: Database, billed: Billed) -> None:
    lines = imported(db)
    fee, first = lines["-2.50 Kontofuehrungsgebuehr Maerz"], lines["119.00 RF81 INV2 0250 0001"]
    decisions.mark_not_payment(db, ACCOUNTANT, fee["id"], "fee")
    assert_refused(db, lambda: decisions.confirm_line(db, ADMIN, fee["id"], customer_id=1), StateError,
                   match=r"decided already by bob \(not a customer payment: fee\): nothing was recorded")
    payment_id = decisions.confirm_line(db, ACCOUNTANT, first["id"])
    assert_refused(db, lambda: decisions.mark_not_payment(db, ADMIN, first["id"], "other_income"), StateError,
                   match=rf"decided already by bob \(payment {payment_id}\)")


def test_a_proposal_that_changed_since_it_was_seen_is_not_confirmed(db: Database, billed: Billed,
                                                                    seeded: Seed) -> None:
    """A stale tab shows the line's old proposal; meanwhile the invoice was paid by hand and the line matched
    again: confirming what the tab showed records nothing."""
    line = imported(db)["119.00 RF81 INV2 0250 0001"]
    shown = line["proposal"]
    payments.record_payment(db, ADMIN, {"customer_id": seeded.acme, "currency": "EUR", "amount": "119.00",
                                        "received_on": TODAY, "method": "cash"}, [(billed.a, "119.00")])
    service.rematch(db, ADMIN)
    now = service.get_line(db, ADMIN, line["id"])["proposal"]
    assert now != shown and billed.a not in now.invoice_ids
    assert_refused(db, lambda: decisions.confirm_line(db, ADMIN, line["id"], seen=shown), StateError,
                   match="matched again since you looked at it")
    assert count(db, payments_table) == 1 and count(db, bank_decisions) == 0


@pytest.mark.parametrize("confirm", ["one", "all sure"])
def test_lines_proposed_for_an_invoice_just_paid_are_matched_again(db: Database, billed: Billed,
                                                                   confirm: str) -> None:
    acme = {"name": "Acme GmbH", "iban": ACME_IBAN, "date": "2025-03-12", "currency": "EUR"}
    data = camt053([{**acme, "amount": "119.00", "text": "RF81 INV2 0250 0001", "ref": "R-1"},
                    {**acme, "amount": "50.00", "text": "INV-2025-00001 Teilzahlung", "ref": "R-2"}])
    service.import_statement(db, ADMIN, data, "two.xml")
    first, second = service.list_lines(db, ADMIN, limit=10)[0]
    assert (second["proposal"].invoice_ids, second["proposal"].confidence) == ({billed.a}, LIKELY)
    if confirm == "one":
        decisions.confirm_line(db, ADMIN, first["id"])
    else:
        assert decisions.confirm_sure(db, ADMIN) == (1, [])
    again = service.get_line(db, ADMIN, second["id"])["proposal"]
    assert billed.a not in again.invoice_ids and "INV-2025-00001" not in again.reason
    decisions.confirm_line(db, ADMIN, second["id"], seen=again)
    assert balance(db, billed.a) == 0


def test_a_line_pays_only_invoices_of_its_currency(db: Database, billed: Billed, seeded: Seed) -> None:
    dollars = customers.create_customer(db, ADMIN, {"name": "Yank Inc", "currency": "USD", "terms_days": 14})
    usd = issued(db, dollars, line(seeded.s19, "1", "50.00"), currency="USD")
    euros = imported(db)["50.00 Advance payment"]
    assert_refused(db, lambda: decisions.confirm_line(db, ADMIN, euros["id"], allocations=[(usd, "50.00")]),
                   BillingError, match="is in USD, the payment in EUR")
    assert decisions.find_open_invoices(db, ADMIN, "Yank", "EUR") == []


def test_a_line_of_zero_is_not_confirmed_as_a_payment(db: Database, billed: Billed) -> None:
    data = (DATA / "camt053.xml").read_bytes().replace(b'<Amt Ccy="EUR">50.00</Amt>', b'<Amt Ccy="EUR">0.00</Amt>')
    service.import_statement(db, ADMIN, data, "zero.xml")
    zero = next(row for row in service.list_lines(db, ADMIN, limit=100)[0] if row["amount"] == 0)
    assert_refused(db, lambda: decisions.confirm_line(db, ADMIN, zero["id"], customer_id=1), BillingError,
                   match="A line of zero moves no money")
    decisions.mark_not_payment(db, ADMIN, zero["id"], "other")


def test_webhooks_and_the_audit_trail_follow_a_confirmation(db: Database, billed: Billed,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BILLING_WEBHOOKS_ALLOW_PRIVATE", "1")
    endpoints.create_endpoint(db, ADMIN, "http://127.0.0.1:9/hook", EVENT_TYPES, "ERP")
    lines = imported(db)
    decisions.confirm_sure(db, ADMIN)
    service.rematch(db, ADMIN)
    reversal = decisions.confirm_line(db, ADMIN, lines["-59.50 Account closed"]["id"])
    with db.connect() as conn:
        events = conn.execute(sa.text("SELECT type, entity_id FROM webhook_events ORDER BY created_at, id")).all()
        actions = conn.execute(sa.select(audit_events.c.action, audit_events.c.entity_id)
                               .order_by(audit_events.c.id)).all()
    paid = [(t, int(i)) for t, i in events if t == "invoice.paid"]
    assert sorted(paid) == sorted([("invoice.paid", billed.a), ("invoice.paid", billed.b),
                                   ("invoice.paid", billed.c)])
    assert [t for t, _ in events].count("payment.recorded") == 3
    returned = payments.get_payment(db, ADMIN, reversal)["reverses_payment_id"]
    assert ("payment.reversed", returned) in [(t, int(i)) for t, i in events]
    assert [a for a, _ in actions].count("bank.decide") == 4
    assert ("payment.reverse", str(returned)) in [(a, str(i)) for a, i in actions]


def test_a_learned_iban_finds_the_customer_next_time(db: Database, billed: Billed, seeded: Seed) -> None:
    decisions.confirm_line(db, ADMIN, imported(db)["119.00 RF81 INV2 0250 0001"]["id"])
    data = (DATA / "mt940.sta").read_bytes().replace(b"Acme GmbH Sammelzahlung fuer die Rechnungen", b"Danke") \
        .replace(b"INV-2025-00002 und INV-2025-00003", b"Sammelzahlung").replace(b"?32Acme GmbH", b"?32A. Someone")
    data = data.replace(b":61:2503110311C83,30NTRFNONREF//MT-0002\r\n:86:",
                        b":61:2503110311C83,30NTRFNONREF//MT-0002\r\n:86:166?00GUTSCHRIFT?31" + ACME_IBAN.encode()
                        + b"?20")
    service.import_statement(db, ADMIN, data, "next.sta")
    rows = {row["bank_reference"]: row for row in service.list_lines(db, ADMIN, limit=100)[0]}
    proposal = rows["MT-0002"]["proposal"]
    assert (proposal.customer_id, proposal.invoice_ids, proposal.confidence) == (seeded.acme, {billed.b, billed.c},
                                                                                 LIKELY)
    assert "IBAN of Acme GmbH" in proposal.reason


def test_auto_confirm_records_exact_reference_matches_at_import(db: Database, billed: Billed) -> None:
    assert_refused(db, lambda: service.set_auto_confirm(db, ACCOUNTANT, True), PermissionDeniedError)
    service.set_auto_confirm(db, ADMIN, True)
    assert service.auto_confirm(db, ACCOUNTANT)
    report = service.import_statement(db, ACCOUNTANT, (DATA / "camt053.xml").read_bytes(), "camt053.xml")
    assert report.auto_confirmed == 3 and count(db, payments_table) == 3
    assert service.list_lines(db, ADMIN, undecided=False)[1] == 3


@pytest.mark.parametrize("action", [
    lambda db, line_id: decisions.confirm_line(db, ANALYST, line_id),
    lambda db, line_id: decisions.mark_not_payment(db, ANALYST, line_id, "fee"),
    lambda db, line_id: decisions.confirm_sure(db, ANALYST),
])
def test_an_analyst_may_not_decide(db: Database, billed: Billed, action: Any) -> None:
    line = imported(db)["119.00 RF81 INV2 0250 0001"]
    assert_refused(db, lambda: action(db, line["id"]), PermissionDeniedError)


def test_statements_and_decisions_are_in_backups_and_restores(db: Database, billed: Billed, tmp_path: Path) -> None:
    lines = imported(db)
    decisions.confirm_line(db, ADMIN, lines["119.00 RF81 INV2 0250 0001"]["id"])
    with db.engine.begin() as conn:  # a restore needs an active owner
        conn.execute(users.insert().values(username="owner", name="Owner", role="admin", password_hash="x",
                                           active=True, created_at=TODAY, password_changed_at=TODAY))
    before = {table.name: count(db, table) for table in BANK_TABLES}
    path = tmp_path / "backup.zip"
    report = backup.backup_database(db, ADMIN, path)
    assert {table.name for table in BANK_TABLES} <= set(report.tables)
    decisions.confirm_sure(db, ADMIN)
    backup.restore_database(db, ADMIN, path)
    assert {table.name: count(db, table) for table in BANK_TABLES} == before
    assert before["bank_lines"] == 6 and before["bank_decisions"] == 1 and before["customer_ibans"] == 1


@pytest.mark.skipif(not (PG_BIN / "initdb").exists(), reason="PostgreSQL 15 server binaries are not installed")
def test_import_and_confirm_on_postgresql(pg_url: str) -> None:
    """Also two tabs importing one file at the same moment: its lines stored once, neither tab refused."""
    pg = Database(pg_url)
    pg.migrate()
    try:
        settings.save_company(pg, ADMIN, {"legal_name": "Example GmbH", "base_currency": "EUR", "timezone": "UTC"})
        s19 = create_tax_rate(pg, ADMIN, {"name": "VAT 19%", "category": "S", "percent": "19"})
        acme = customers.create_customer(pg, ADMIN, {"name": "Acme GmbH", "currency": "EUR", "terms_days": 14})
        for price in ("100.00", "50.00", "20.00"):
            issued(pg, acme, line(s19, "1", price))
        data = (DATA / "camt053.xml").read_bytes()
        assert both_tabs(lambda: service.import_statement(pg, ADMIN, data, "camt053.xml")) == ["recorded"] * 2
        assert service.list_lines(pg, ADMIN, confidence=SURE)[1] == 3
        assert count(pg, bank_lines) == 6
        assert service.import_statement(pg, ADMIN, (DATA / "camt053.xml").read_bytes(), "again.xml").lines_new == 0
        first = service.list_lines(pg, ADMIN, confidence=SURE)[0][0]
        assert sorted(both_tabs(lambda: decisions.confirm_line(pg, ADMIN, first["id"])))[-1] == "recorded"
        assert decisions.confirm_sure(pg, ADMIN) == (2, [])
        assert count(pg, payments_table) == 3
        assert service.rematch(pg, ADMIN) == 3
        assert payments.customer_credit(pg, ADMIN, acme) == {}
    finally:
        pg.dispose()


def test_a_line_pays_the_invoices_of_one_customer(db: Database, billed: Billed, seeded: Seed) -> None:
    other = issued(db, seeded.beta, line(seeded.s19, "1", "10.00"))
    line_id = imported(db)["119.00 RF81 INV2 0250 0001"]["id"]
    assert_refused(db, lambda: decisions.confirm_line(db, ADMIN, line_id, allocations=[(billed.a, "100.00"),
                                                                                       (other, "11.90")]),
                   BillingError, match="invoices of one customer")
