"""Webhooks: endpoints, events written with the change, signed delivery to a receiver on 127.0.0.1, retries."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, timedelta

import pytest

from billing import credit_notes, invoices, payments
from billing.errors import PermissionDeniedError, ValidationError
from billing.store.db import Database, utcnow
from billing.webhooks import EVENT_TYPES, endpoints, signing, worker
from billing.webhooks.endpoints import Endpoint
from tests.conftest import ACCOUNTANT, ADMIN, TODAY, Billed, Seed, assert_refused, issued, line
from tests.webhook_receiver import Receiver, receiver


@pytest.fixture
def hook(db: Database, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Receiver, Endpoint]]:
    """A receiver on 127.0.0.1 and an endpoint taking every event type that points at it."""
    monkeypatch.setenv("BILLING_WEBHOOKS_ALLOW_PRIVATE", "1")
    with receiver() as got:
        endpoint, got.secret = endpoints.create_endpoint(db, ADMIN, got.url, EVENT_TYPES, "test receiver")
        yield got, endpoint


def pay(db: Database, customer_id: int, amount: str, invoice_id: int) -> int:
    return payments.record_payment(db, ADMIN, {"customer_id": customer_id, "currency": "EUR", "amount": amount,
                                               "received_on": TODAY, "method": "bank_transfer"},
                                   [(invoice_id, amount)])


def deliveries(db: Database) -> list[endpoints.Delivery]:
    return endpoints.deliveries_before(db, ADMIN, before_id=None, limit=100)


def test_the_secret_is_shown_once_and_kept_encrypted(db: Database, hook: tuple[Receiver, Endpoint]) -> None:
    got, endpoint = hook
    assert got.secret.startswith("whsec_") and endpoint.secret_hint == got.secret[:10]
    assert endpoint.events == tuple(sorted(EVENT_TYPES))
    with db.connect() as conn:
        stored = conn.exec_driver_sql("SELECT secret FROM webhook_endpoints").scalar_one()
    assert got.secret not in stored
    assert signing.decrypt_secret(db.url, stored) == got.secret


@pytest.mark.parametrize("url", ["ftp://example.com/hook", "file:///etc/passwd", "javascript:alert(1)",
                                 "https://user:pw@example.com/", "http://", "example.com/hook",
                                 "http://example.com:99999/"])
def test_only_http_urls_are_endpoints(db: Database, url: str) -> None:
    assert_refused(db, lambda: endpoints.create_endpoint(db, ADMIN, url, ["invoice.issued"]), ValidationError)


@pytest.mark.parametrize("url", ["http://127.0.0.1:8080/", "http://localhost/", "http://10.0.0.5/",
                                 "http://[::1]/", "http://169.254.169.254/latest/meta-data"])
def test_private_targets_are_refused_unless_the_installation_allows_them(
        db: Database, url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BILLING_WEBHOOKS_ALLOW_PRIVATE", raising=False)
    assert_refused(db, lambda: endpoints.create_endpoint(db, ADMIN, url, ["invoice.issued"]), ValidationError,
                   match="loopback or private")
    monkeypatch.setenv("BILLING_WEBHOOKS_ALLOW_PRIVATE", "1")
    assert endpoints.create_endpoint(db, ADMIN, url, ["invoice.issued"])[0].url == url


def test_unknown_event_types_and_other_roles_are_refused(db: Database) -> None:
    assert_refused(db, lambda: endpoints.create_endpoint(db, ADMIN, "https://example.com/", ["invoice.eaten"]),
                   ValidationError, match="invoice.eaten")
    assert_refused(db, lambda: endpoints.create_endpoint(db, ACCOUNTANT, "https://example.com/", ["invoice.paid"]),
                   PermissionDeniedError)


def test_no_endpoint_no_event(db: Database, seeded: Seed) -> None:
    issued(db, seeded.acme, line(seeded.s19))
    with db.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM webhook_events").scalar_one() == 0


def test_an_issued_invoice_is_delivered_signed(db: Database, seeded: Seed, hook: tuple[Receiver, Endpoint]) -> None:
    got, endpoint = hook
    invoice_id = issued(db, seeded.acme, line(seeded.s19, "2", "50.00"))
    summary = worker.run_once(db, as_of=TODAY)
    assert (summary.held, summary.delivered, summary.retrying) == (True, 1, 0)
    [item] = got.received
    assert item.signed
    event = item.event
    assert event["type"] == "invoice.issued" and event["id"].startswith("evt_")
    assert item.headers["Billing-Event-Id"] == event["id"]
    data = event["data"]
    assert (data["id"], data["number"], data["payable"], data["balance"], data["status"]) == (
        invoice_id, "INV-2025-00001", "119.00", "119.00", "issued")
    [done] = deliveries(db)
    assert (done.status, done.attempts, done.endpoint_id, done.event_id) == ("delivered", 1, endpoint.id, event["id"])
    assert endpoints.get_delivery(db, ADMIN, done.id).tries[0].status_code == 200
    assert worker.run_once(db, as_of=TODAY).delivered == 0  # delivered once is done


def test_a_forged_signature_does_not_verify() -> None:
    body = b'{"id":"evt_1"}'
    header = signing.signature_header("whsec_right", body, 1_800_000_000)
    assert signing.verify_signature("whsec_right", body, header, 1_800_000_000)
    assert not signing.verify_signature("whsec_wrong", body, header, 1_800_000_000)
    assert not signing.verify_signature("whsec_right", body + b" ", header, 1_800_000_000)
    assert not signing.verify_signature("whsec_right", body, header, 1_800_000_000 + 301)  # replayed later
    assert not signing.verify_signature("whsec_right", body, "t=x,v1=00", 1_800_000_000)


def test_payments_settling_and_reversing_emit_their_events(
        db: Database, billed: Billed, seeded: Seed, hook: tuple[Receiver, Endpoint]) -> None:
    got, _ = hook
    partial = pay(db, seeded.acme, "50.00", billed.b)
    settled = pay(db, seeded.acme, "9.50", billed.b)
    payments.reverse_payment(db, ADMIN, settled, TODAY, "bounced")
    worker.run_once(db, as_of=TODAY)
    events = [(item.event["type"], item.event["data"]["id"]) for item in got.received]
    assert sorted(events) == sorted([("payment.recorded", partial), ("invoice.paid", billed.b),
                                     ("payment.recorded", settled), ("payment.reversed", settled)])
    reversed_ = next(item.event["data"] for item in got.received if item.event["type"] == "payment.reversed")
    assert reversed_["reversed_by_payment_id"] is not None and reversed_["amount"] == "9.50"
    assert all(item.signed for item in got.received)


def test_void_and_credit_note_events(db: Database, billed: Billed, hook: tuple[Receiver, Endpoint]) -> None:
    got, _ = hook
    invoices.void_invoice(db, ADMIN, billed.a, "wrong customer", TODAY)
    credit_id = credit_notes.create_credit_note(db, ADMIN, billed.c, TODAY, "returned")
    worker.run_once(db, as_of=TODAY)
    assert sorted((item.event["type"], item.event["data"]["id"]) for item in got.received) == [
        ("credit_note.issued", credit_id), ("invoice.voided", billed.a)]


def test_overdue_is_reported_once_per_invoice(db: Database, billed: Billed, hook: tuple[Receiver, Endpoint]) -> None:
    got, _ = hook
    assert worker.run_once(db, as_of=TODAY).overdue == 0  # b is due on TODAY: not yet overdue
    assert worker.run_once(db, as_of=TODAY + timedelta(days=1)).overdue == 1
    assert worker.run_once(db, as_of=TODAY + timedelta(days=20)).overdue == 1  # a, due 2025-03-24
    assert worker.run_once(db, as_of=TODAY + timedelta(days=21)).overdue == 0
    assert sorted(item.event["data"]["id"] for item in got.received
                  if item.event["type"] == "invoice.overdue") == sorted([billed.a, billed.b])


def test_a_failing_receiver_is_retried_with_backoff_then_the_delivery_fails(
        db: Database, seeded: Seed, hook: tuple[Receiver, Endpoint]) -> None:
    got, _ = hook
    got.status = 500
    issued(db, seeded.acme, line(seeded.s19))
    [pending] = deliveries(db)
    now = pending.created_at
    waits = []
    while True:
        summary = worker.run_once(db, now=now, as_of=TODAY)
        current = endpoints.get_delivery(db, ADMIN, pending.id)
        if current.status != "pending":
            break
        assert summary.retrying == 1 and current.next_attempt_at is not None
        waits.append(current.next_attempt_at - now)
        assert worker.run_once(db, now=current.next_attempt_at - timedelta(seconds=1), as_of=TODAY).retrying == 0
        now = current.next_attempt_at
    assert waits[:4] == [timedelta(seconds=30), timedelta(minutes=1), timedelta(minutes=2), timedelta(minutes=4)]
    assert max(waits) == timedelta(hours=6)
    assert current.status == "failed" and current.attempts == len(got.received) == len(waits) + 1
    assert now <= pending.created_at + timedelta(days=3) < now + timedelta(hours=6)
    assert len({item.event["id"] for item in got.received}) == 1  # the same event id on every retry
    assert len({item.body for item in got.received}) == 1  # and the same body
    assert all(try_.status_code == 500 for try_ in current.tries)
    got.status = 200
    resent = endpoints.resend_delivery(db, ADMIN, pending.id)
    assert resent.status == "pending"
    worker.run_once(db, as_of=TODAY)
    assert endpoints.get_delivery(db, ADMIN, pending.id).status == "delivered"
    assert len({item.event["id"] for item in got.received}) == 1


def test_an_unreachable_endpoint_is_an_attempt_without_status(
        db: Database, seeded: Seed, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BILLING_WEBHOOKS_ALLOW_PRIVATE", "1")
    with receiver() as got:
        url = got.url  # the port is closed once the receiver stops
    endpoints.create_endpoint(db, ADMIN, url, ["invoice.issued"])
    issued(db, seeded.acme, line(seeded.s19))
    assert worker.run_once(db, as_of=TODAY).retrying == 1
    [delivery] = deliveries(db)
    [attempt] = endpoints.get_delivery(db, ADMIN, delivery.id).tries
    assert attempt.status_code is None and "refused" in attempt.error.lower()


def test_a_private_address_is_not_contacted_when_not_allowed(
        db: Database, seeded: Seed, hook: tuple[Receiver, Endpoint], monkeypatch: pytest.MonkeyPatch) -> None:
    got, _ = hook
    issued(db, seeded.acme, line(seeded.s19))
    monkeypatch.delenv("BILLING_WEBHOOKS_ALLOW_PRIVATE")
    worker.run_once(db, as_of=TODAY)
    assert got.received == []
    [delivery] = deliveries(db)
    assert "loopback or private" in delivery.last_error


def test_only_one_holder_of_the_lease_delivers(db: Database, seeded: Seed, hook: tuple[Receiver, Endpoint]) -> None:
    got, _ = hook
    issued(db, seeded.acme, line(seeded.s19))
    now = utcnow()
    assert worker.take_lease(db, "other-host:1:abc", now)
    assert worker.run_once(db, now=now, as_of=TODAY) == worker.RunSummary(False)
    assert got.received == []
    later = now + worker.LEASE_FOR + timedelta(seconds=1)  # the other holder stopped renewing
    assert worker.run_once(db, now=later, as_of=TODAY).delivered == 1


def test_a_disabled_or_deleted_endpoint_gets_no_new_events(
        db: Database, seeded: Seed, hook: tuple[Receiver, Endpoint]) -> None:
    _, endpoint = hook
    endpoints.update_endpoint(db, ADMIN, endpoint.id, active=False)
    issued(db, seeded.acme, line(seeded.s19))
    endpoints.update_endpoint(db, ADMIN, endpoint.id, active=True, events=["payment.recorded"])
    issued(db, seeded.acme, line(seeded.s19))
    assert deliveries(db) == []
    pay(db, seeded.acme, "1.00", invoices.list_invoices(db, ADMIN, TODAY)[0][0].id)
    endpoints.delete_endpoint(db, ADMIN, endpoint.id)
    [orphan] = deliveries(db)
    assert orphan.status == "failed" and "deleted" in orphan.last_error
    assert endpoints.list_endpoints(db, ADMIN) == []


def test_a_rolled_secret_signs_from_then_on(db: Database, seeded: Seed, hook: tuple[Receiver, Endpoint]) -> None:
    got, endpoint = hook
    old = got.secret
    _, got.secret = endpoints.roll_secret(db, ADMIN, endpoint.id)
    assert got.secret != old
    issued(db, seeded.acme, line(seeded.s19))
    worker.run_once(db, as_of=TODAY)
    assert [item.signed for item in got.received] == [True]


def test_the_event_body_is_json_with_money_as_strings(
        db: Database, seeded: Seed, hook: tuple[Receiver, Endpoint]) -> None:
    got, _ = hook
    issued(db, seeded.acme, line(seeded.s19, "1", "10.10"), issue_date=date(2025, 3, 1))
    worker.run_once(db, as_of=TODAY)
    data = json.loads(got.received[0].body)["data"]
    assert data["tax_total"] == "1.92" and data["issue_date"] == "2025-03-01"


def test_an_idle_round_writes_nothing(db: Database, seeded: Seed) -> None:
    issued(db, seeded.acme, line(seeded.s19))  # no endpoint: no event, nothing due
    assert worker.run_once(db, as_of=TODAY) == worker.RunSummary(True)
    with db.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM webhook_lease").scalar_one() == 0
