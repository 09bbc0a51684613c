"""The audit trail (billing.audit): one event per mutation in its transaction, and a tamper-evident chain."""

from __future__ import annotations

import json
from typing import Any

import pytest
import sqlalchemy as sa

from billing import audit, catalog, customers, invoices, payments, settings
from billing.errors import ValidationError
from billing.store import audit as audit_store
from billing.store.db import Database
from billing.store.schema import audit_events, audit_head
from tests.conftest import ADMIN, TODAY, Billed, Seed, Shared, assert_refused, event_count, line, snapshot

PAYMENT = {"amount": "10.00", "currency": "EUR", "received_on": TODAY}


def _nothing(db: Database, s: Seed, b: Billed) -> Any:
    return None


def _draft(db: Database, s: Seed, b: Billed) -> Any:
    return invoices.create_draft(db, ADMIN, {"customer_id": s.acme, "lines": [line(s.s19)]})


def _payment(db: Database, s: Seed, b: Billed) -> Any:
    return payments.record_payment(db, ADMIN, {**PAYMENT, "customer_id": s.acme})


def _two_payments(db: Database, s: Seed, b: Billed) -> Any:
    _payment(db, s, b)
    return _payment(db, s, b)


# (prepare, act, the actions it must record)
MUTATIONS: list[Any] = [
    pytest.param(_nothing, lambda db, s, b, x: customers.create_customer(db, ADMIN, {"name": "N"}),
                 ["customer.create"], id="create_customer"),
    pytest.param(_nothing, lambda db, s, b, x: customers.update_customer(db, ADMIN, s.beta, {"name": "B"}),
                 ["customer.update"], id="update_customer"),
    pytest.param(_nothing, lambda db, s, b, x: customers.set_archived(db, ADMIN, s.beta),
                 ["customer.archive"], id="archive_customer"),
    pytest.param(_nothing, lambda db, s, b, x: customers.delete_customer(db, ADMIN, s.beta),
                 ["customer.delete"], id="delete_customer"),
    pytest.param(_nothing, lambda db, s, b, x: catalog.create_tax_rate(db, ADMIN, {"name": "R", "percent": "5"}),
                 ["tax_rate.create"], id="create_tax_rate"),
    pytest.param(_nothing, lambda db, s, b, x: catalog.update_tax_rate(db, ADMIN, s.s7, {"name": "R", "percent": "5"}),
                 ["tax_rate.update"], id="update_tax_rate"),
    pytest.param(_nothing, lambda db, s, b, x: catalog.create_product(
        db, ADMIN, {"name": "P", "sku": "P", "unit_price": "1", "tax_rate_id": s.s19}), ["product.create"],
        id="create_product"),
    pytest.param(_nothing, lambda db, s, b, x: catalog.update_product(
        db, ADMIN, s.product, {"name": "P", "sku": "P", "unit_price": "1", "tax_rate_id": s.s19}),
        ["product.update"], id="update_product"),
    pytest.param(_nothing, lambda db, s, b, x: _draft(db, s, b), ["invoice.create_draft"], id="create_draft"),
    pytest.param(_draft, lambda db, s, b, x: invoices.update_draft(
        db, ADMIN, x, {"customer_id": s.acme, "lines": [line(s.s7)]}), ["invoice.update_draft"], id="update_draft"),
    pytest.param(_draft, lambda db, s, b, x: invoices.delete_draft(db, ADMIN, x), ["invoice.delete_draft"],
                 id="delete_draft"),
    pytest.param(_draft, lambda db, s, b, x: invoices.issue_invoice(db, ADMIN, x, today=TODAY), ["invoice.issue"],
                 id="issue_invoice"),
    pytest.param(_nothing, lambda db, s, b, x: invoices.void_invoice(db, ADMIN, b.c, "Mistake", today=TODAY),
                 ["invoice.void"], id="void_invoice"),
    pytest.param(_nothing, lambda db, s, b, x: invoices.create_credit_note(db, ADMIN, b.a, TODAY),
                 ["invoice.credit"], id="create_credit_note"),
    pytest.param(_nothing, lambda db, s, b, x: invoices.duplicate_invoice(db, ADMIN, b.a),
                 ["invoice.create_draft"], id="duplicate_invoice"),
    pytest.param(_nothing, lambda db, s, b, x: _payment(db, s, b), ["payment.record"], id="record_payment"),
    pytest.param(_nothing, lambda db, s, b, x: payments.record_payment(
        db, ADMIN, {**PAYMENT, "customer_id": s.acme}, "auto"), ["payment.record"],
        id="record_and_allocate"),
    pytest.param(_payment, lambda db, s, b, x: payments.allocate_payment(db, ADMIN, x, [(b.a, "10.00")], TODAY),
                 ["payment.allocate"], id="allocate_payment"),
    pytest.param(_two_payments, lambda db, s, b, x: payments.apply_credit(db, ADMIN, s.acme, "EUR", b.a, "15.00",
                                                                          TODAY),
                 ["payment.allocate", "payment.allocate"], id="apply_credit_from_two_payments"),
    pytest.param(_payment, lambda db, s, b, x: payments.refund_credit(db, ADMIN, s.acme, "EUR", "10.00", TODAY),
                 ["payment.refund"], id="refund_credit"),
    pytest.param(_payment, lambda db, s, b, x: payments.reverse_payment(db, ADMIN, x, TODAY, "Bounced"),
                 ["payment.reverse"], id="reverse_payment"),
    pytest.param(_nothing, lambda db, s, b, x: settings.save_company(db, ADMIN, {"legal_name": "New name"}),
                 ["company.save"], id="save_company"),
    pytest.param(_nothing, lambda db, s, b, x: settings.set_series(db, ADMIN, "CN", "C-{SEQ}", 7),
                 ["series.update"], id="set_series"),
]


def events_after(db: Database, last_id: int) -> list[dict[str, Any]]:
    with db.connect() as conn:
        rows = conn.execute(sa.select(audit_events).where(audit_events.c.id > last_id)
                            .order_by(audit_events.c.id)).mappings().all()
    return [dict(row) for row in rows]


@pytest.mark.parametrize(("prepare", "act", "actions"), MUTATIONS)
def test_every_mutation_writes_its_events(db: Database, seeded: Seed, billed: Billed, prepare: Any, act: Any,
                                          actions: list[str]) -> None:
    arg = prepare(db, seeded, billed)
    before = event_count(db)
    act(db, seeded, billed, arg)
    new = events_after(db, before)
    assert [event["action"] for event in new] == actions
    assert event_count(db) == before + len(actions)
    assert all(event["actor"] == "alice" for event in new)
    assert all(event["after"] is not None or event["before"] is not None for event in new)
    assert audit.verify_chain(db, ADMIN).ok


def test_event_content(db: Database, seeded: Seed) -> None:
    before = event_count(db)
    customers.update_customer(db, ADMIN, seeded.beta, {"name": "Beta SAS", "currency": "EUR"})
    [event] = events_after(db, before)
    assert (event["entity"], event["entity_id"], event["id"]) == ("customer", str(seeded.beta), before + 1)
    assert json.loads(event["before"])["name"] == "Beta SARL"
    assert json.loads(event["after"])["name"] == "Beta SAS"


def test_refused_operations_write_no_event(refusals: Shared) -> None:
    db, seeded, billed = refusals.db, refusals.seed, refusals.bill
    before = event_count(db)
    assert_refused(db, lambda: invoices.void_invoice(db, ADMIN, billed.a, "", today=TODAY), ValidationError)
    assert_refused(db, lambda: customers.create_customer(db, ADMIN, {"name": ""}), ValidationError)
    # The payment row and its event are written first; the allocation then fails: both are rolled back.
    assert_refused(db, lambda: payments.record_payment(db, ADMIN, {**PAYMENT, "customer_id": seeded.acme},
                                                       [(billed.a, "10.01")]), ValidationError)
    assert event_count(db) == before


def test_the_event_shares_the_transaction_of_the_mutation(db: Database, seeded: Seed, billed: Billed,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """If writing the event fails, the change it describes is not written either."""
    draft_id = _draft(db, seeded, billed)
    real = audit_store.append_event

    def append_then_fail(conn: Any, event: dict[str, Any], hasher: Any) -> dict[str, Any]:
        real(conn, event, hasher)
        raise RuntimeError("disk full")

    monkeypatch.setattr(audit_store, "append_event", append_then_fail)
    for change in (lambda: invoices.issue_invoice(db, ADMIN, draft_id, today=TODAY),
                   lambda: payments.record_payment(db, ADMIN, {**PAYMENT, "customer_id": seeded.acme}, "auto"),
                   lambda: invoices.create_credit_note(db, ADMIN, billed.a, TODAY)):
        assert_refused(db, change, RuntimeError)


def test_list_events(db: Database, seeded: Seed, billed: Billed) -> None:
    rows, total = audit.list_events(db, ADMIN, entity="invoice", action="issue")
    assert total == 3
    assert [row["entity_id"] for row in rows] == [str(billed.c), str(billed.b), str(billed.a)]  # newest first
    rows, total = audit.list_events(db, ADMIN, actor="alice", limit=2, offset=1)
    assert total == event_count(db) and len(rows) == 2
    assert audit.list_events(db, ADMIN, actor="nobody") == ([], 0)


# --- the hash chain ---------------------------------------------------------------------------


def test_chain_verifies(db: Database, seeded: Seed, billed: Billed) -> None:
    report = audit.verify_chain(db, ADMIN)
    assert report.ok and report.first_bad_id is None and report.problem == ""
    assert report.events == event_count(db) == 15  # 9 to seed, 2 x 3 to bill


def test_empty_chain_verifies(db: Database) -> None:
    report = audit.verify_chain(db, ADMIN)
    assert (report.ok, report.events) == (True, 0)


def tamper(db: Database, *statements: Any) -> audit.ChainReport:
    with db.engine.begin() as conn:
        for statement in statements:
            conn.execute(statement)
    return audit.verify_chain(db, ADMIN)


def last_event(db: Database) -> dict[str, Any]:
    with db.connect() as conn:
        return dict(conn.execute(sa.select(audit_events).order_by(audit_events.c.id.desc())).mappings().first()
                    or {})


@pytest.mark.parametrize(
    ("column", "value"),
    [("after", '{"name":"Someone else"}'), ("before", "{}"), ("actor", "bob"), ("action", "customer.update"),
     ("entity_id", "2")],
)
def test_edited_event_is_detected(db: Database, seeded: Seed, billed: Billed, column: str, value: Any) -> None:
    report = tamper(db, audit_events.update().where(audit_events.c.id == 5).values({column: value}))
    assert (report.ok, report.first_bad_id) == (False, 5)
    assert "changed" in report.problem


def test_edited_event_with_recomputed_hash_breaks_the_next_link(db: Database, seeded: Seed, billed: Billed) -> None:
    with db.connect() as conn:
        event = dict(conn.execute(sa.select(audit_events).where(audit_events.c.id == 5)).mappings().one())
    event["after"] = '{"name":"Someone else"}'
    report = tamper(db, audit_events.update().where(audit_events.c.id == 5).values(
        after=event["after"], hash=audit.event_hash(event)))
    assert (report.ok, report.first_bad_id) == (False, 6)
    assert "does not link" in report.problem


def test_deleted_event_is_detected(db: Database, seeded: Seed, billed: Billed) -> None:
    report = tamper(db, audit_events.delete().where(audit_events.c.id == 7))
    assert (report.ok, report.first_bad_id) == (False, 7)
    assert "missing" in report.problem


def test_deleted_last_event_is_detected(db: Database, seeded: Seed, billed: Billed) -> None:
    report = tamper(db, audit_events.delete().where(audit_events.c.id == 15))
    assert (report.ok, report.first_bad_id) == (False, 15)


def test_forged_event_is_detected(db: Database, seeded: Seed, billed: Billed) -> None:
    forged = {**last_event(db), "id": 16, "action": "invoice.void", "hash": "f" * 64}
    report = tamper(db, audit_events.insert().values(**forged))
    assert (report.ok, report.first_bad_id) == (False, 16)


def test_forged_event_with_a_valid_hash_is_detected_by_the_head(db: Database, seeded: Seed, billed: Billed) -> None:
    last = last_event(db)
    forged = {**last, "id": 16, "action": "invoice.void", "prev_hash": last["hash"]}
    forged["hash"] = audit.event_hash(forged)
    report = tamper(db, audit_events.insert().values(**forged))
    assert (report.ok, report.first_bad_id) == (False, 16)
    assert "head" in report.problem


def test_rewritten_last_event_is_detected_by_the_head(db: Database, seeded: Seed, billed: Billed) -> None:
    last = last_event(db)
    last["actor"] = "mallory"
    report = tamper(db, audit_events.update().where(audit_events.c.id == 15).values(
        actor="mallory", hash=audit.event_hash(last)))
    assert (report.ok, report.first_bad_id) == (False, 15)


def test_moved_head_is_detected(db: Database, seeded: Seed, billed: Billed) -> None:
    report = tamper(db, audit_head.update().values(last_id=14))
    assert (report.ok, report.first_bad_id) == (False, 15)


def test_chain_continues_correctly_after_verification(db: Database, seeded: Seed, billed: Billed) -> None:
    for _ in range(3):
        customers.create_customer(db, ADMIN, {"name": "More"})
    with db.connect() as conn:
        assert audit_store.head(conn)[0] == 18
    assert audit.verify_chain(db, ADMIN) == audit.ChainReport(True, 18)
    assert len(snapshot(db)["audit_events"]) == 18
