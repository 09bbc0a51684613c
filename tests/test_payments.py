"""Payments (billing.payments): record, allocate, credit, refund, reverse; balances and statuses."""

from __future__ import annotations

import threading
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from billing import credit_notes, invoices, payments
from billing.errors import ChangedMeanwhileError, NotFoundError, StateError, ValidationError
from billing.store.db import Database
from tests.conftest import ADMIN, ANALYST, TODAY, Billed, Seed, Shared, assert_refused, draft, issued, line, snapshot

D = Decimal


def pay(db: Database, customer_id: int, amount: Any, allocate: Any = None, currency: str = "EUR",
        received_on: date = TODAY) -> int:
    return payments.record_payment(db, ADMIN, {"customer_id": customer_id, "amount": amount, "currency": currency,
                                               "received_on": received_on}, allocate=allocate)


def balance(db: Database, invoice_id: int, as_of: date = TODAY) -> tuple[Decimal, str]:
    v = invoices.get_invoice(db, ADMIN, invoice_id, as_of=as_of)
    return v.balance, v.status


def credit(db: Database, customer_id: int) -> dict[str, Decimal]:
    return payments.customer_credit(db, ADMIN, customer_id)


# --- recording and allocating -------------------------------------------------------------------


def test_record_payment_without_allocation_is_credit(db: Database, seeded: Seed) -> None:
    payment_id = pay(db, seeded.acme, "250.00")
    payment = payments.get_payment(db, ADMIN, payment_id)
    assert (payment["kind"], payment["amount"], payment["currency"]) == ("payment", D("250.00"), "EUR")
    assert payment["allocations"] == []
    assert payment["reversed"] is False
    assert credit(db, seeded.acme) == {"EUR": D("250.00")}


def test_manual_allocation_over_several_invoices(db: Database, seeded: Seed, billed: Billed) -> None:
    a, b, c = billed.a, billed.b, billed.c
    payment_id = pay(db, seeded.acme, "200.00", [(a, "119.00"), (b, "50.00"), (c, D("10.00"))])
    assert balance(db, a) == (D("0.00"), "paid")
    assert balance(db, b) == (D("9.50"), "partially_paid")
    assert balance(db, c) == (D("13.80"), "partially_paid")
    assert credit(db, seeded.acme) == {"EUR": D("21.00")}
    allocated = {row["invoice_id"]: row["amount"] for row in payments.get_payment(db, ADMIN, payment_id)["allocations"]}
    assert allocated == {a: D("119.00"), b: D("50.00"), c: D("10.00")}


@pytest.mark.parametrize("allocate", [None, "auto", "twice"])
def test_a_recorded_payment_is_shown_as_it_reads_back(db: Database, seeded: Seed, billed: Billed,
                                                       allocate: str | None) -> None:
    # The API answers with record_payment_shown instead of reading the payment again: it must be what get_payment
    # reads (an invoice named twice is one allocation; amounts in the minor unit).
    plan: Any = [(billed.b, "10.5"), (billed.a, "19.00"), (billed.b, "5")] if allocate == "twice" else allocate
    shown = payments.record_payment_shown(db, ADMIN, {"customer_id": seeded.acme, "amount": "150", "currency": "EUR",
                                                      "received_on": TODAY, "reference": "R-1"}, plan)
    assert shown == payments.get_payment(db, ADMIN, shown["id"])
    assert shown["allocations"] or allocate is None


def test_auto_allocation_pays_the_oldest_due_first(db: Database, seeded: Seed, billed: Billed) -> None:
    a, b, c = billed.a, billed.b, billed.c
    pay(db, seeded.acme, "150.00", "auto")
    assert balance(db, b) == (D("0.00"), "paid")  # due 03-10
    assert balance(db, a) == (D("28.50"), "partially_paid")  # due 03-24: 119.00 - 90.50
    assert balance(db, c) == (D("23.80"), "unpaid")  # due 04-30
    assert credit(db, seeded.acme) == {}


def test_auto_allocation_remainder_becomes_credit(db: Database, seeded: Seed, billed: Billed) -> None:
    pay(db, seeded.acme, "500.00", "auto")
    assert all(balance(db, i)[1] == "paid" for i in (billed.a, billed.b, billed.c))
    assert credit(db, seeded.acme) == {"EUR": D("297.70")}  # 500 - 119.00 - 59.50 - 23.80


def test_auto_allocation_only_touches_that_customer_and_currency(db: Database, seeded: Seed) -> None:
    acme = issued(db, seeded.acme, line(seeded.s19))
    beta = issued(db, seeded.beta, line(seeded.s19))
    usd = issued(db, seeded.acme, line(seeded.s19), currency="USD")
    pay(db, seeded.acme, "1000.00", "auto")
    assert balance(db, acme)[1] == "paid"
    assert balance(db, beta) == (D("119.00"), "unpaid")
    assert balance(db, usd) == (D("119.00"), "unpaid")
    assert credit(db, seeded.acme) == {"EUR": D("881.00")}


def test_allocate_later_and_statuses_unpaid_partial_paid(db: Database, seeded: Seed, billed: Billed) -> None:
    invoice_id = billed.a
    assert balance(db, invoice_id) == (D("119.00"), "unpaid")
    first = pay(db, seeded.acme, "100.00")
    assert payments.allocate_payment(db, ADMIN, first, [(invoice_id, "100.00")], TODAY) == [(invoice_id, D("100.00"))]
    assert balance(db, invoice_id) == (D("19.00"), "partially_paid")
    second = pay(db, seeded.acme, "19.00")
    payments.allocate_payment(db, ADMIN, second, [(invoice_id, "19.00")], TODAY)
    assert balance(db, invoice_id) == (D("0.00"), "paid")
    assert credit(db, seeded.acme) == {}


def test_overdue_is_judged_by_the_as_of_date(db: Database, seeded: Seed, billed: Billed) -> None:
    invoice_id = billed.a  # 119.00, due 2025-03-24
    assert balance(db, invoice_id, as_of=date(2025, 3, 24)) == (D("119.00"), "unpaid")
    assert balance(db, invoice_id, as_of=date(2025, 3, 25)) == (D("119.00"), "overdue")
    pay(db, seeded.acme, "19.00", [(invoice_id, "19.00")])
    assert balance(db, invoice_id, as_of=date(2025, 3, 25)) == (D("100.00"), "overdue")
    assert balance(db, invoice_id, as_of=date(2025, 3, 20)) == (D("100.00"), "partially_paid")
    pay(db, seeded.acme, "100.00", [(invoice_id, "100.00")])
    assert balance(db, invoice_id, as_of=date(2026, 1, 1)) == (D("0.00"), "paid")


def test_jpy_payment_in_whole_yen(db: Database, seeded: Seed) -> None:
    invoice_id = issued(db, seeded.jpy, line(seeded.s19, "3", "333.5"))  # 1191 JPY
    pay(db, seeded.jpy, "1200", "auto", currency="JPY")
    assert balance(db, invoice_id) == (D("0"), "paid")
    assert credit(db, seeded.jpy) == {"JPY": D("9")}


def test_payment_in_another_currency_is_separate_credit(db: Database, seeded: Seed) -> None:
    pay(db, seeded.acme, "10.00")
    pay(db, seeded.acme, "5.00", currency="USD")
    assert credit(db, seeded.acme) == {"EUR": D("10.00"), "USD": D("5.00")}


def test_list_payments(db: Database, seeded: Seed, billed: Billed) -> None:
    pay(db, seeded.acme, "100.00", [(billed.a, "60.00")], received_on=date(2025, 3, 1))
    pay(db, seeded.beta, "5.00", received_on=date(2025, 3, 2))
    rows, total = payments.list_payments(db, ADMIN, customer_id=seeded.acme)
    assert total == 1
    assert (rows[0]["amount"], rows[0]["allocated"], rows[0]["unallocated"]) == (D("100.00"), D("60.00"),
                                                                                 D("40.00"))
    rows, total = payments.list_payments(db, ANALYST)
    assert total == 2
    assert [row["customer"] for row in rows] == ["Beta SARL", "Acme GmbH"]  # newest first


# --- credit: apply and refund -------------------------------------------------------------------


def test_apply_credit(db: Database, seeded: Seed, billed: Billed) -> None:
    a = billed.a
    pay(db, seeded.acme, "60.00", received_on=date(2025, 3, 1))
    pay(db, seeded.acme, "60.00", received_on=date(2025, 3, 2))
    payments.apply_credit(db, ADMIN, seeded.acme, "EUR", a, "100.00", TODAY)  # from both, oldest first
    assert balance(db, a) == (D("19.00"), "partially_paid")
    assert credit(db, seeded.acme) == {"EUR": D("20.00")}
    rows, _ = payments.list_payments(db, ADMIN, customer_id=seeded.acme)
    assert sorted((row["received_on"], row["unallocated"]) for row in rows) == [
        (date(2025, 3, 1), D("0.00")), (date(2025, 3, 2), D("20.00"))]


def test_apply_credit_beyond_the_credit_is_refused(db: Database, seeded: Seed, billed: Billed) -> None:
    pay(db, seeded.acme, "50.00")
    error = assert_refused(db, lambda: payments.apply_credit(db, ADMIN, seeded.acme, "EUR", billed.a, "50.01", TODAY),
                           ValidationError)
    assert "50.00 EUR" in str(error)


def test_apply_credit_beyond_the_balance_is_refused(db: Database, seeded: Seed, billed: Billed) -> None:
    pay(db, seeded.acme, "100.00")
    error = assert_refused(db, lambda: payments.apply_credit(db, ADMIN, seeded.acme, "EUR", billed.b, "60.00",
                                                             TODAY), ValidationError)
    assert "59.50 EUR" in str(error)


def test_refund_credit(db: Database, seeded: Seed) -> None:
    pay(db, seeded.acme, "381.00")
    refund_id = payments.refund_credit(db, ADMIN, seeded.acme, "EUR", "81.00", TODAY, method="card", reference="R1")
    refund = payments.get_payment(db, ADMIN, refund_id)
    assert (refund["kind"], refund["amount"], refund["method"]) == ("refund", D("-81.00"), "card")
    assert credit(db, seeded.acme) == {"EUR": D("300.00")}
    payments.refund_credit(db, ADMIN, seeded.acme, "EUR", "300.00", TODAY)
    assert credit(db, seeded.acme) == {}


def test_refund_above_the_credit_is_refused(db: Database, seeded: Seed) -> None:
    pay(db, seeded.acme, "300.00")
    error = assert_refused(db, lambda: payments.refund_credit(db, ADMIN, seeded.acme, "EUR", "300.01", TODAY),
                           ValidationError)
    assert "300.00 EUR" in str(error)


def test_refunded_credit_cannot_be_allocated_again(db: Database, seeded: Seed, billed: Billed) -> None:
    payment_id = pay(db, seeded.acme, "100.00")
    payments.refund_credit(db, ADMIN, seeded.acme, "EUR", "100.00", TODAY)
    assert payments.allocate_payment(db, ADMIN, payment_id, "auto", TODAY) == []
    assert_refused(db, lambda: payments.allocate_payment(db, ADMIN, payment_id, [(billed.a, "1.00")], TODAY),
                   ValidationError)
    assert credit(db, seeded.acme) == {}


# --- reversal -----------------------------------------------------------------------------------


def test_reverse_payment_restores_balances_and_keeps_the_original(db: Database, seeded: Seed,
                                                                  billed: Billed) -> None:
    a, b = billed.a, billed.b
    payment_id = pay(db, seeded.acme, "200.00", [(a, "119.00"), (b, "50.00")])
    reversal_id = payments.reverse_payment(db, ADMIN, payment_id, date(2025, 3, 12), "Bounced")
    assert balance(db, a) == (D("119.00"), "unpaid")
    assert balance(db, b) == (D("59.50"), "unpaid")
    assert credit(db, seeded.acme) == {}
    original = payments.get_payment(db, ADMIN, payment_id)
    assert (original["amount"], original["reversed"], original["allocations"]) == (D("200.00"), True, [])
    reversal = payments.get_payment(db, ADMIN, reversal_id)
    assert (reversal["kind"], reversal["amount"], reversal["reverses_payment_id"], reversal["reference"]) == (
        "reversal", D("-200.00"), payment_id, "Bounced")
    rows, total = payments.list_payments(db, ADMIN, customer_id=seeded.acme)
    assert total == 2
    assert {row["id"]: row["reversed"] for row in rows} == {payment_id: True, reversal_id: False}


def test_second_reversal_is_refused(db: Database, seeded: Seed) -> None:
    payment_id = pay(db, seeded.acme, "10.00")
    payments.reverse_payment(db, ADMIN, payment_id, TODAY, "Mistake")
    assert_refused(db, lambda: payments.reverse_payment(db, ADMIN, payment_id, TODAY, "Again"), StateError,
                   match="already been reversed")


def test_reversal_needs_a_reason(db: Database, seeded: Seed) -> None:
    payment_id = pay(db, seeded.acme, "10.00")
    assert_refused(db, lambda: payments.reverse_payment(db, ADMIN, payment_id, TODAY, " "), ValidationError)


def test_only_payments_can_be_reversed(db: Database, seeded: Seed) -> None:
    payment_id = pay(db, seeded.acme, "10.00")
    refund_id = payments.refund_credit(db, ADMIN, seeded.acme, "EUR", "4.00", TODAY)
    assert_refused(db, lambda: payments.reverse_payment(db, ADMIN, refund_id, TODAY, "No"), StateError)
    reversal_id = pay(db, seeded.beta, "1.00")
    reversal_id = payments.reverse_payment(db, ADMIN, reversal_id, TODAY, "Test")
    assert_refused(db, lambda: payments.reverse_payment(db, ADMIN, reversal_id, TODAY, "No"), StateError)
    assert_refused(db, lambda: payments.reverse_payment(db, ADMIN, 999, TODAY, "No"), NotFoundError)
    # Part of the payment was refunded: reversing it would leave negative credit.
    assert_refused(db, lambda: payments.reverse_payment(db, ADMIN, payment_id, TODAY, "Bounced"), StateError,
                   match="refunded")


def test_a_reversed_payment_cannot_be_allocated(db: Database, seeded: Seed, billed: Billed) -> None:
    payment_id = pay(db, seeded.acme, "10.00")
    payments.reverse_payment(db, ADMIN, payment_id, TODAY, "Bounced")
    assert_refused(db, lambda: payments.allocate_payment(db, ADMIN, payment_id, [(billed.a, "10.00")], TODAY),
                   StateError)


def test_credit_after_a_reversal_comes_from_the_other_payments(db: Database, seeded: Seed,
                                                               billed: Billed) -> None:
    a = billed.a
    bounced = pay(db, seeded.acme, "119.00", [(a, "119.00")], received_on=date(2025, 3, 1))
    payments.reverse_payment(db, ADMIN, bounced, TODAY, "Bounced")
    pay(db, seeded.acme, "50.00")
    assert credit(db, seeded.acme) == {"EUR": D("50.00")}
    payments.apply_credit(db, ADMIN, seeded.acme, "EUR", a, "50.00", TODAY)
    assert balance(db, a) == (D("69.00"), "partially_paid")
    assert credit(db, seeded.acme) == {}


def test_reversing_a_payment_released_by_a_credit_note(db: Database, seeded: Seed, billed: Billed) -> None:
    invoice_id = billed.a
    payment_id = pay(db, seeded.acme, "119.00", [(invoice_id, "119.00")])
    credit_notes.create_credit_note(db, ADMIN, invoice_id, TODAY)
    assert credit(db, seeded.acme) == {"EUR": D("119.00")}
    payments.reverse_payment(db, ADMIN, payment_id, TODAY, "Bounced")
    assert credit(db, seeded.acme) == {}
    assert balance(db, invoice_id) == (D("0.00"), "credited")


# --- bad input: refused, readable, nothing written ---------------------------------------------


@pytest.mark.parametrize(
    ("amount", "currency", "match"),
    [
        pytest.param("1.5", "JPY", "more than 0 decimal", id="jpy-decimals"),
        pytest.param("1.234", "EUR", "more than 2 decimal", id="eur-3-decimals"),
        pytest.param("0.0001", "KWD", "more than 3 decimal", id="kwd-4-decimals"),
        pytest.param("NaN", "EUR", "not a number", id="nan"),
        pytest.param("Infinity", "EUR", "not a number", id="infinity"),
        pytest.param(D("Infinity"), "EUR", "finite", id="decimal-infinity"),
        pytest.param("abc", "EUR", "not a number", id="abc"),
        pytest.param("1,234", "EUR", "ambiguous", id="ambiguous-comma"),
        pytest.param("100000000000000000000", "EUR", "too large", id="1e20"),
        pytest.param(D("1E+20"), "EUR", "too large", id="decimal-1e20"),
        pytest.param(1.5, "EUR", "floating point", id="float"),
        pytest.param(float("nan"), "EUR", "floating point", id="float-nan"),
        pytest.param("0", "EUR", "greater than zero", id="zero"),
        pytest.param("-5.00", "EUR", "greater than zero", id="negative"),
        pytest.param("5.00", "XYZ", "Unknown currency", id="unknown-currency"),
        pytest.param("5.00", "", "Unknown currency", id="no-currency"),
    ],
)
def test_bad_payment_is_refused(refusals: Shared, amount: Any, currency: str, match: str) -> None:
    db, seeded = refusals.db, refusals.seed
    customer = seeded.jpy if currency == "JPY" else seeded.acme
    error = assert_refused(db, lambda: pay(db, customer, amount, currency=currency), ValidationError)
    assert match.lower() in str(error).lower()


def test_payment_of_unknown_customer_is_refused(refusals: Shared) -> None:
    db = refusals.db
    assert_refused(db, lambda: pay(db, 999, "5.00"), ValidationError, match="does not exist")


def test_unknown_payment_method_is_refused(refusals: Shared) -> None:
    db, seeded = refusals.db, refusals.seed
    assert_refused(db, lambda: payments.record_payment(db, ADMIN, {
        "customer_id": seeded.acme, "amount": "5.00", "currency": "EUR", "received_on": TODAY, "method": "barter"}),
        ValidationError, match="method")


def test_paying_a_void_invoice_is_refused(db: Database, seeded: Seed, billed: Billed) -> None:
    invoice_id = billed.a
    invoices.void_invoice(db, ADMIN, invoice_id, "Duplicate", today=TODAY)
    assert_refused(db, lambda: pay(db, seeded.acme, "119.00", [(invoice_id, "119.00")]), StateError,
                   match="INV-2025-00001 is void")


def test_paying_a_draft_is_refused(db: Database, seeded: Seed) -> None:
    invoice_id = draft(db, seeded.acme, line(seeded.s19))
    assert_refused(db, lambda: pay(db, seeded.acme, "119.00", [(invoice_id, "119.00")]), StateError, match="draft")


def test_paying_a_credit_note_is_refused(db: Database, seeded: Seed, billed: Billed) -> None:
    invoice_id = billed.a
    credit_id = credit_notes.create_credit_note(db, ADMIN, invoice_id, TODAY, lines=[line(seeded.s19, "1", "1.00")])
    assert_refused(db, lambda: pay(db, seeded.acme, "1.19", [(credit_id, "1.19")]), StateError)


def test_cross_currency_allocation_is_refused(db: Database, seeded: Seed, billed: Billed) -> None:
    invoice_id = billed.a
    error = assert_refused(db, lambda: pay(db, seeded.acme, "119.00", [(invoice_id, "119.00")], currency="USD"),
                           ValidationError)
    assert "EUR" in str(error) and "USD" in str(error)
    usd_payment = pay(db, seeded.acme, "119.00", currency="USD")
    assert_refused(db, lambda: payments.allocate_payment(db, ADMIN, usd_payment, [(invoice_id, "119.00")], TODAY),
                   ValidationError)
    assert_refused(db, lambda: payments.apply_credit(db, ADMIN, seeded.acme, "USD", invoice_id, "119.00", TODAY),
                   ValidationError)


def test_allocation_to_another_customers_invoice_is_refused(db: Database, seeded: Seed) -> None:
    invoice_id = issued(db, seeded.beta, line(seeded.s19))
    assert_refused(db, lambda: pay(db, seeded.acme, "119.00", [(invoice_id, "119.00")]), ValidationError,
                   match="another customer")


@pytest.mark.parametrize(
    ("amount", "allocations", "match"),
    [
        pytest.param("200.00", [(0, "100.01"), (1, "59.51")], "more than the balance", id="above-balance"),
        pytest.param("200.00", [(0, "119.01")], "119.00 EUR", id="above-balance-amount-shown"),
        pytest.param("100.00", [(0, "60.00"), (1, "40.01")], "exceed", id="above-payment"),
        pytest.param("200.00", [(0, "60.00"), (0, "60.00")], "more than the balance", id="same-invoice-twice"),
        pytest.param("100.00", [(0, "0")], "greater than zero", id="zero"),
        pytest.param("100.00", [(0, "-1.00")], "greater than zero", id="negative"),
        pytest.param("100.00", [(0, "1.001")], "more than 2 decimal", id="decimals"),
        pytest.param("100.00", [(0, "NaN")], "not a number", id="nan"),
        pytest.param("100.00", [(999, "1.00")], "does not exist", id="unknown-invoice"),
    ],
)
def test_over_allocation_and_bad_allocations_are_refused(db: Database, seeded: Seed, billed: Billed,
                                                        amount: str, allocations: list[tuple[int, str]],
                                                        match: str) -> None:
    ids = [billed.a, billed.b]  # 119.00 and 59.50
    plan = [(ids[i] if i < len(ids) else i, value) for i, value in allocations]
    error = assert_refused(db, lambda: pay(db, seeded.acme, amount, plan), ValidationError)
    assert match.lower() in str(error).lower()
    # And the same against an existing payment's remainder.
    payment_id = pay(db, seeded.acme, amount)
    error = assert_refused(db, lambda: payments.allocate_payment(db, ADMIN, payment_id, plan, TODAY), ValidationError)
    assert match.lower() in str(error).lower()


@pytest.mark.parametrize(
    "call",
    [
        pytest.param(lambda db, s, i, p: payments.apply_credit(db, ADMIN, s.acme, "EUR", i, "1.001", TODAY),
                     id="apply-decimals"),
        pytest.param(lambda db, s, i, p: payments.apply_credit(db, ADMIN, s.acme, "EUR", i, "0", TODAY),
                     id="apply-zero"),
        pytest.param(lambda db, s, i, p: payments.apply_credit(db, ADMIN, s.acme, "EUR", i, "abc", TODAY),
                     id="apply-abc"),
        pytest.param(lambda db, s, i, p: payments.refund_credit(db, ADMIN, s.acme, "EUR", "-1.00", TODAY),
                     id="refund-negative"),
        pytest.param(lambda db, s, i, p: payments.refund_credit(db, ADMIN, s.acme, "JPY", "1.5", TODAY),
                     id="refund-jpy-decimals"),
        pytest.param(lambda db, s, i, p: payments.refund_credit(db, ADMIN, s.acme, "EUR", "1.00", TODAY,
                                                                method="barter"), id="refund-method"),
        pytest.param(lambda db, s, i, p: payments.refund_credit(db, ADMIN, s.acme, "EUR", "Infinity", TODAY),
                     id="refund-infinity"),
    ],
)
def test_bad_credit_operations_are_refused(db: Database, seeded: Seed, billed: Billed, call: Any) -> None:
    invoice_id = billed.a
    payment_id = pay(db, seeded.acme, "50.00")
    assert_refused(db, lambda: call(db, seeded, invoice_id, payment_id), ValidationError)


@pytest.mark.parametrize(
    "call",
    [
        pytest.param(lambda db, s, i, p: pay(db, s.acme, "50.00", [(i, 50.0)]), id="record-allocation"),
        pytest.param(lambda db, s, i, p: payments.allocate_payment(db, ADMIN, p, [(i, 10.0)], TODAY),
                     id="allocate"),
        pytest.param(lambda db, s, i, p: payments.apply_credit(db, ADMIN, s.acme, "EUR", i, 10.0, TODAY),
                     id="apply-credit"),
        pytest.param(lambda db, s, i, p: payments.refund_credit(db, ADMIN, s.acme, "EUR", 10.0, TODAY),
                     id="refund"),
    ],
)
def test_float_amounts_are_refused(db: Database, seeded: Seed, billed: Billed, call: Any) -> None:
    """Amounts passed as parameters (not through a model) are typed Decimal | str; a float is a
    programming error that billing.money.to_decimal reports as TypeError. Nothing is written either way."""
    invoice_id = billed.a
    payment_id = pay(db, seeded.acme, "50.00")
    before = snapshot(db)
    with pytest.raises((TypeError, ValidationError), match="float"):
        call(db, seeded, invoice_id, payment_id)
    assert snapshot(db) == before


def test_allocate_unknown_payment(refusals: Shared) -> None:
    db = refusals.db
    assert_refused(db, lambda: payments.allocate_payment(db, ADMIN, 999, "auto", TODAY), NotFoundError)


# --- two tabs paying the same invoice ---------------------------------------------------------------


def open_balances(db: Database, customer_id: int, currency: str = "EUR") -> dict[int, Decimal]:
    """What a payment form shows: the customer's open invoices and their balances."""
    return {int(i["id"]): i["balance"] for i in payments.open_invoices(db, ADMIN, customer_id, currency)}


def pay_seen(db: Database, customer_id: int, amount: str, allocate: Any, seen: dict[int, Decimal] | None) -> int:
    return payments.record_payment(db, ADMIN, {"customer_id": customer_id, "amount": amount, "currency": "EUR",
                                               "received_on": TODAY}, allocate=allocate, seen=seen)


@pytest.mark.parametrize("allocate", ["auto", "manual"])
def test_the_second_tab_paying_the_same_invoice_is_told_and_records_nothing(db: Database, seeded: Seed,
                                                                           billed: Billed, allocate: str) -> None:
    shown = open_balances(db, seeded.acme)  # both tabs open the form now
    plan = "auto" if allocate == "auto" else [(billed.a, "119.00")]
    pay_seen(db, seeded.acme, "119.00", plan, shown)  # the first tab records
    error = assert_refused(db, lambda: pay_seen(db, seeded.acme, "119.00", plan, shown), ChangedMeanwhileError)
    if allocate == "auto":  # oldest due first: all of B (59.50, due first), then 59.50 of A
        assert "INV-2025-00002 was settled (it had 59.50 EUR open)" in str(error)
        assert "INV-2025-00001 now has 59.50 EUR open, not 119.00" in str(error)
    else:
        assert "INV-2025-00001 was settled (it had 119.00 EUR open)" in str(error)
    assert str(error).endswith("Nothing was recorded.")
    assert credit(db, seeded.acme) == {}


def test_a_payment_confirmed_after_the_warning_is_recorded_as_things_are_now(db: Database, seeded: Seed,
                                                                            billed: Billed) -> None:
    shown = open_balances(db, seeded.acme)
    pay_seen(db, seeded.acme, "119.00", [(billed.a, "119.00")], shown)
    with pytest.raises(ChangedMeanwhileError):
        pay_seen(db, seeded.acme, "119.00", "auto", shown)
    pay_seen(db, seeded.acme, "119.00", "auto", None)  # the user confirmed: oldest due first, as things are now
    assert balance(db, billed.b) == (D("0.00"), "paid")  # 59.50, due first
    assert balance(db, billed.c) == (D("0.00"), "paid")  # 23.80
    assert credit(db, seeded.acme) == {"EUR": D("35.70")}


def test_an_invoice_issued_meanwhile_is_not_paid_unasked(db: Database, seeded: Seed, billed: Billed) -> None:
    shown = open_balances(db, seeded.acme)
    newer = issued(db, seeded.acme, line(seeded.s19, "1", "10.00"), due_date="2025-03-10")
    error = assert_refused(db, lambda: pay_seen(db, seeded.acme, "11.90", "auto", shown), ChangedMeanwhileError)
    assert "INV-2025-00004 (11.90 EUR) was issued" in str(error)
    assert balance(db, newer)[0] == D("11.90")


def test_a_payment_kept_as_credit_is_not_checked(db: Database, seeded: Seed, billed: Billed) -> None:
    shown = open_balances(db, seeded.acme)
    pay_seen(db, seeded.acme, "119.00", "auto", shown)
    pay_seen(db, seeded.acme, "5.00", None, shown)  # nothing goes to an invoice: nothing the user relied on changed
    assert credit(db, seeded.acme) == {"EUR": D("5.00")}


def test_two_tabs_paying_at_once_record_one_payment(db: Database, seeded: Seed, billed: Billed) -> None:
    shown = open_balances(db, seeded.acme)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def tab() -> None:
        barrier.wait()
        try:
            pay_seen(db, seeded.acme, "119.00", [(billed.a, "119.00")], shown)
            outcomes.append("recorded")
        except ChangedMeanwhileError:
            outcomes.append("told")

    threads = [threading.Thread(target=tab) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["recorded", "told"]
    assert balance(db, billed.a) == (D("0.00"), "paid")
    assert credit(db, seeded.acme) == {}


# --- dates the books do not take -------------------------------------------------------------------

@pytest.mark.parametrize("day", [date(1, 1, 1), date(1999, 12, 31), date(2100, 1, 1), date(9999, 12, 31)])
def test_money_dated_outside_the_books_is_refused(refusals: Shared, day: date) -> None:
    db, acme, invoice_id = refusals.db, refusals.seed.acme, refusals.bill.a
    assert_refused(db, lambda: payments.record_payment(db, ADMIN, {
        "customer_id": acme, "amount": "10.00", "currency": "EUR", "received_on": day}), ValidationError,
        match=f"Received on: must be between 2000-01-01 and 2099-12-31, not {day.isoformat()}")
    for call, what in [
        (lambda: payments.refund_credit(db, ADMIN, acme, "EUR", "1.00", on=day), "The refund date"),
        (lambda: payments.reverse_payment(db, ADMIN, 1, on=day, reason="bounced"), "The reversal date"),
        (lambda: payments.allocate_payment(db, ADMIN, 1, [(invoice_id, "1.00")], on=day), "The allocation date"),
        (lambda: payments.apply_credit(db, ADMIN, acme, "EUR", invoice_id, "1.00", on=day), "The allocation date"),
    ]:
        assert_refused(db, call, ValidationError, match=f"{what} must be between 2000-01-01 and 2099-12-31")
