"""The audit trail (billing.audit): one event per mutation in its transaction, and a tamper-evident chain."""

from __future__ import annotations

import json
from typing import Any

import duckdb
import pytest
import sqlalchemy as sa

from billing import audit, catalog, credit_notes, customers, invoices, payments, settings, signing
from billing.errors import ValidationError
from billing.store import audit as audit_store
from billing.store import audit_files
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
    pytest.param(_nothing, lambda db, s, b, x: credit_notes.create_credit_note(db, ADMIN, b.a, TODAY),
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

    def append_then_fail(conn: Any, row: dict[str, Any]) -> None:
        real(conn, row)
        raise RuntimeError("disk full")

    monkeypatch.setattr(audit_store, "append_event", append_then_fail)
    for change in (lambda: invoices.issue_invoice(db, ADMIN, draft_id, today=TODAY),
                   lambda: payments.record_payment(db, ADMIN, {**PAYMENT, "customer_id": seeded.acme}, "auto"),
                   lambda: credit_notes.create_credit_note(db, ADMIN, billed.a, TODAY)):
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
    """Even with the key, an edited event no longer links to the event after it."""
    with db.connect() as conn:
        event = dict(conn.execute(sa.select(audit_events).where(audit_events.c.id == 5)).mappings().one())
    event["after"] = '{"name":"Someone else"}'
    report = tamper(db, audit_events.update().where(audit_events.c.id == 5).values(
        after=event["after"], hash=audit.keyed_hash(event, key_of(db))))
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
    forged["hash"] = audit.keyed_hash(forged, key_of(db))
    report = tamper(db, audit_events.insert().values(**forged))
    assert (report.ok, report.first_bad_id) == (False, 16)
    assert "head" in report.problem


def test_rewritten_last_event_is_detected_by_the_head(db: Database, seeded: Seed, billed: Billed) -> None:
    last = last_event(db)
    last["actor"] = "mallory"
    report = tamper(db, audit_events.update().where(audit_events.c.id == 15).values(
        actor="mallory", hash=audit.keyed_hash(last, key_of(db))))
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


# --- the keyed chain and its head kept outside the database -------------------------------------


def key_of(db: Database) -> bytes:
    key = signing.audit_key(db.url, create=False)
    assert key is not None
    return key


def head_file(db: Database) -> audit_files.Head | None:
    path = signing.head_path(db.url)
    assert path is not None
    return audit_files.read_head(path)


def rechain(db: Database, start: int, hasher: Any, stop: int | None = None, **edit: Any) -> None:
    """Rewrite events `start`..`stop` as an attacker would: edit event `start`, recompute the hashes and
    links from there with `hasher`, and move the head row along (the last event when `stop` is None)."""
    with db.engine.begin() as conn:
        prev = conn.execute(sa.select(audit_events.c.hash).where(audit_events.c.id == start - 1)).scalar() or "0" * 64
        rows = conn.execute(sa.select(audit_events).where(audit_events.c.id >= start,
                                                          audit_events.c.id <= (stop or 10**9))
                            .order_by(audit_events.c.id)).mappings().all()
        for n, row in enumerate(rows):
            event = {**row, **(edit if n == 0 else {}), "prev_hash": prev}
            event["hash"] = prev = hasher(event)
            conn.execute(audit_events.update().where(audit_events.c.id == event["id"]).values(**event))
        if stop is None:
            conn.execute(audit_head.update().values(last_id=rows[-1]["id"], last_hash=prev))


def test_an_edited_event_with_the_chain_recomputed_without_the_key_is_detected(db: Database, seeded: Seed,
                                                                               billed: Billed) -> None:
    """The attack that passed before the chain was keyed: edit an event, recompute every SHA-256 after it
    and the head row; the chain is consistent, but not keyed."""
    rechain(db, 5, audit.event_hash, after='{"name":"Someone else"}')
    report = audit.verify_chain(db, ADMIN)
    assert (report.ok, report.first_bad_id) == (False, 5)
    assert "changed" in report.problem


def test_a_truncated_chain_with_the_head_moved_back_is_detected(db: Database, seeded: Seed, billed: Billed) -> None:
    """The other attack that passed: delete the last events and move the head row back to the new end."""
    with db.connect() as conn:
        hash_13 = conn.execute(sa.select(audit_events.c.hash).where(audit_events.c.id == 13)).scalar_one()
    report = tamper(db, audit_events.delete().where(audit_events.c.id > 13),
                    audit_head.update().values(last_id=13, last_hash=hash_13))
    assert (report.ok, report.first_bad_id) == (False, 14)
    assert "removed from its end" in report.problem


def test_a_legitimate_write_after_a_truncation_does_not_hide_it(db: Database, seeded: Seed, billed: Billed) -> None:
    with db.connect() as conn:
        hash_13 = conn.execute(sa.select(audit_events.c.hash).where(audit_events.c.id == 13)).scalar_one()
    tamper(db, audit_events.delete().where(audit_events.c.id > 13),
           audit_head.update().values(last_id=13, last_hash=hash_13))
    for _ in range(3):  # events 14, 15, 16: past the recorded head, but not its descendants
        customers.create_customer(db, ADMIN, {"name": "After the attack"})
    assert head_file(db) == audit_files.Head(1, 15, billed_head_hash(db, 15))
    report = audit.verify_chain(db, ADMIN)
    assert (report.ok, report.first_bad_id) == (False, 15)
    assert "rewritten" in report.problem


def billed_head_hash(db: Database, event_id: int) -> str:
    """The hash the billed template recorded for its event (from the head file, not the database)."""
    head = head_file(db)
    assert head is not None and head.last_id == event_id
    return head.last_hash


def test_the_head_is_recorded_outside_the_database_after_each_commit(db: Database, seeded: Seed,
                                                                    billed: Billed) -> None:
    path = signing.head_path(db.url)
    assert path is not None and path.parent == signing.key_path(db.url, signing.AUDIT_KEY_FILE).parent
    assert (path.stat().st_mode & 0o777) == 0o600
    assert (signing.key_path(db.url, signing.AUDIT_KEY_FILE).stat().st_mode & 0o777) == 0o600
    assert head_file(db) == audit_files.Head(1, 15, last_event(db)["hash"])
    payments.record_payment(db, ADMIN, {**PAYMENT, "customer_id": seeded.acme}, [(billed.a, "10.00")])
    assert head_file(db) == audit_files.Head(1, 16, last_event(db)["hash"])


def test_a_refused_or_failed_commit_does_not_move_the_head(refusals: Shared, monkeypatch: pytest.MonkeyPatch) -> None:
    db = refusals.db
    before = head_file(db)
    assert_refused(db, lambda: payments.record_payment(db, ADMIN, {**PAYMENT, "customer_id": refusals.seed.acme},
                                                       [(refusals.bill.a, "10.01")]), ValidationError)

    def failing_commit(dbapi_connection: Any) -> None:
        raise duckdb.IOException("the disk went away during COMMIT")

    monkeypatch.setattr(db.engine.dialect, "do_commit", failing_commit)
    with pytest.raises(Exception, match=r"COMMIT|could not be read or written"):
        customers.create_customer(db, ADMIN, {"name": "Never committed"})
    monkeypatch.undo()
    assert head_file(db) == before
    assert audit.verify_chain(db, ADMIN).ok


def test_a_head_file_one_transaction_behind_is_accepted(db: Database, seeded: Seed, billed: Billed) -> None:
    """A crash between the commit and the file write leaves the file behind: that is not tampering."""
    path = signing.head_path(db.url)
    assert path is not None
    with db.connect() as conn:
        hash_13 = conn.execute(sa.select(audit_events.c.hash).where(audit_events.c.id == 13)).scalar_one()
    audit_files.write_head(path, audit_files.Head(1, 13, hash_13), force=True)
    assert audit.verify_chain(db, ADMIN) == audit.ChainReport(True, 15)
    customers.create_customer(db, ADMIN, {"name": "Next"})
    assert head_file(db) == audit_files.Head(1, 16, last_event(db)["hash"])


def test_rewriting_with_the_key_but_not_the_head_file_is_detected(db: Database, seeded: Seed, billed: Billed) -> None:
    """Who holds the key can rewrite the chain; the head kept outside the database still shows it."""
    rechain(db, 5, lambda e: audit.keyed_hash(e, key_of(db)), after='{"name":"Someone else"}')
    report = audit.verify_chain(db, ADMIN)
    assert (report.ok, report.first_bad_id) == (False, 15)
    assert "rewritten" in report.problem


@pytest.mark.parametrize("lost", ["key", "head"])
def test_a_lost_key_or_head_file_fails_verify_and_stops_writes(db: Database, seeded: Seed, billed: Billed,
                                                               lost: str) -> None:
    path = signing.key_path(db.url, signing.AUDIT_KEY_FILE) if lost == "key" else signing.head_path(db.url)
    assert path is not None
    path.unlink()
    report = audit.verify_chain(db, ADMIN)
    assert not report.ok
    assert ("no audit key" if lost == "key" else "is missing") in report.problem
    error = assert_refused(db, lambda: customers.create_customer(db, ADMIN, {"name": "N"}))
    assert "missing: an administrator must put it back beside the database file" in str(error)


def test_a_damaged_head_file_fails_verify_with_a_message(db: Database, seeded: Seed) -> None:
    path = signing.head_path(db.url)
    assert path is not None
    path.write_text("{not json")
    report = audit.verify_chain(db, ADMIN)
    assert not report.ok and "cannot be read" in report.problem


def as_older_version(db: Database) -> None:
    """Make the database look as an older version left it: an unkeyed chain without seals, no key, no head file."""
    with db.engine.begin() as conn:
        for event_id, after in conn.execute(sa.select(audit_events.c.id, audit_events.c.after)).all():
            unsealed = {k: v for k, v in json.loads(after).items() if k != "sealed"} if after else None
            conn.execute(audit_events.update().where(audit_events.c.id == event_id)
                         .values(after=audit.to_json(unsealed)))
    rechain(db, 1, audit.event_hash)
    signing.key_path(db.url, signing.AUDIT_KEY_FILE).unlink()
    path = signing.head_path(db.url)
    assert path is not None
    path.unlink()


def test_an_unkeyed_chain_of_an_older_version_keeps_verifying_and_the_next_event_keys_it(
        db: Database, seeded: Seed, billed: Billed) -> None:
    as_older_version(db)
    assert audit.verify_chain(db, ADMIN) == audit.ChainReport(True, 15)
    customers.create_customer(db, ADMIN, {"name": "After the upgrade"})
    assert head_file(db) == audit_files.Head(16, 16, last_event(db)["hash"])
    assert last_event(db)["hash"] == audit.keyed_hash(last_event(db), key_of(db))
    assert audit.verify_chain(db, ADMIN) == audit.ChainReport(True, 16)
    # The unkeyed events are sealed in by the first keyed one: recomputing them breaks its link.
    rechain(db, 5, audit.event_hash, stop=15, after='{"name":"Someone else"}')
    report = audit.verify_chain(db, ADMIN)
    assert (report.ok, report.first_bad_id) == (False, 16)
    assert "does not link" in report.problem
