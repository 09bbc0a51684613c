"""Customers (billing.customers): create, edit, archive, delete only without documents, search."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from billing import customers, payments
from billing.errors import NotFoundError, StateError, ValidationError
from billing.store.db import Database
from tests.conftest import ADMIN, ANALYST, TODAY, Billed, Seed, Shared, assert_refused, draft, line


def test_create_and_get(db: Database) -> None:
    customer_id = customers.create_customer(db, ADMIN, {"name": "  Zeta AG ", "email": "x@zeta.example",
                                                        "country": "ch", "currency": "chf", "terms_days": 10})
    row = customers.get_customer(db, ANALYST, customer_id)
    assert (row["name"], row["country"], row["currency"], row["terms_days"]) == ("Zeta AG", "CH", "CHF", 10)
    assert row["archived"] is False
    assert row["created_at"] is not None


def test_defaults(db: Database) -> None:
    row = customers.get_customer(db, ADMIN, customers.create_customer(db, ADMIN, {"name": "Plain"}))
    assert (row["currency"], row["terms_days"], row["email"], row["notes"]) == ("EUR", 30, "", "")


def test_update(db: Database, seeded: Seed) -> None:
    customers.update_customer(db, ADMIN, seeded.acme, {"name": "Acme Europe GmbH", "currency": "EUR",
                                                       "terms_days": 21, "notes": "Key account"})
    row = customers.get_customer(db, ADMIN, seeded.acme)
    assert (row["name"], row["terms_days"], row["notes"]) == ("Acme Europe GmbH", 21, "Key account")


def test_currency_change_allowed_without_documents(db: Database, seeded: Seed) -> None:
    customers.update_customer(db, ADMIN, seeded.beta, {"name": "Beta SARL", "currency": "CHF"})
    assert customers.get_customer(db, ADMIN, seeded.beta)["currency"] == "CHF"


def test_currency_change_refused_with_documents(refusals: Shared) -> None:
    db, seeded = refusals.db, refusals.seed  # Acme has the billed invoices
    assert_refused(db, lambda: customers.update_customer(db, ADMIN, seeded.acme, {"name": "Acme", "currency": "USD"}),
                   StateError, match="currency")


def test_archive_hides_and_unarchive_restores(db: Database, seeded: Seed) -> None:
    customers.set_archived(db, ADMIN, seeded.beta)
    assert customers.get_customer(db, ADMIN, seeded.beta)["archived"] is True
    names = [row["name"] for row in customers.search_customers(db, ADMIN)[0]]
    assert "Beta SARL" not in names
    rows, total = customers.search_customers(db, ADMIN, include_archived=True)
    assert total == 4 and "Beta SARL" in [row["name"] for row in rows]
    assert seeded.beta not in [option[0] for option in customers.customer_options(db, ADMIN)]
    customers.set_archived(db, ADMIN, seeded.beta, archived=False)
    assert customers.get_customer(db, ADMIN, seeded.beta)["archived"] is False


def test_delete_customer_without_documents(db: Database, seeded: Seed) -> None:
    customers.delete_customer(db, ADMIN, seeded.beta)
    with pytest.raises(NotFoundError):
        customers.get_customer(db, ADMIN, seeded.beta)


def test_delete_customer_with_invoices_is_refused_archive_works(db: Database, seeded: Seed) -> None:
    draft(db, seeded.beta, line(seeded.s19))
    error = assert_refused(db, lambda: customers.delete_customer(db, ADMIN, seeded.beta), StateError)
    assert "Archive" in str(error)
    customers.set_archived(db, ADMIN, seeded.beta)
    assert customers.get_customer(db, ADMIN, seeded.beta)["archived"] is True


def test_delete_customer_with_only_a_payment_is_refused(db: Database, seeded: Seed) -> None:
    payments.record_payment(db, ADMIN, {"customer_id": seeded.beta, "amount": "1.00", "currency": "EUR",
                                        "received_on": TODAY})
    assert_refused(db, lambda: customers.delete_customer(db, ADMIN, seeded.beta), StateError)


@pytest.mark.parametrize(
    "call",
    [
        pytest.param(lambda db: customers.get_customer(db, ADMIN, 999), id="get"),
        pytest.param(lambda db: customers.update_customer(db, ADMIN, 999, {"name": "X"}), id="update"),
        pytest.param(lambda db: customers.set_archived(db, ADMIN, 999), id="archive"),
        pytest.param(lambda db: customers.delete_customer(db, ADMIN, 999), id="delete"),
    ],
)
def test_unknown_customer(refusals: Shared, call: Any) -> None:
    db = refusals.db
    assert_refused(db, lambda: call(db), NotFoundError, match="999")


@pytest.mark.parametrize(
    ("data", "match"),
    [
        pytest.param({"name": ""}, "Name", id="empty-name"),
        pytest.param({"name": "   "}, "Name", id="blank-name"),
        pytest.param({"name": "X" * 201}, "Name", id="long-name"),
        pytest.param({"name": "X", "email": "not-an-email"}, "email address", id="bad-email"),
        pytest.param({"name": "X", "country": "Germany"}, "Country", id="long-country"),
        pytest.param({"name": "X", "country": "D1"}, "two-letter", id="bad-country"),
        pytest.param({"name": "X", "currency": "XYZ"}, "Unknown currency", id="unknown-currency"),
        pytest.param({"name": "X", "currency": "XAU"}, "Unknown currency", id="gold-is-not-money"),
        pytest.param({"name": "X", "terms_days": -1}, "Payment terms", id="negative-terms"),
        pytest.param({"name": "X", "terms_days": 366}, "Payment terms", id="terms-too-long"),
        pytest.param({"name": "X", "surprise": 1}, "Surprise", id="unknown-field"),
    ],
)
def test_bad_customer_is_refused(refusals: Shared, data: dict[str, Any], match: str) -> None:
    db = refusals.db
    assert_refused(db, lambda: customers.create_customer(db, ADMIN, data), ValidationError, match=match)


def test_bad_update_is_refused(refusals: Shared) -> None:
    db, seeded = refusals.db, refusals.seed
    assert_refused(db, lambda: customers.update_customer(db, ADMIN, seeded.acme, {"name": "Acme", "email": "nope"}),
                   ValidationError)


def test_search_by_name_email_tax_id_and_currency(db: Database, seeded: Seed) -> None:
    customers.update_customer(db, ADMIN, seeded.beta, {"name": "Beta SARL", "tax_id": "FR40303265045",
                                                       "currency": "EUR"})
    assert [r["id"] for r in customers.search_customers(db, ADMIN, "acme")[0]] == [seeded.acme]
    assert [r["id"] for r in customers.search_customers(db, ADMIN, "AP@ACME")[0]] == [seeded.acme]
    assert [r["id"] for r in customers.search_customers(db, ADMIN, " 303265045 ")[0]] == [seeded.beta]
    rows, total = customers.search_customers(db, ADMIN, currency="EUR")
    assert total == 2 and [r["name"] for r in rows] == ["Acme GmbH", "Beta SARL"]
    rows, total = customers.search_customers(db, ADMIN, limit=1, offset=1)
    assert total == 4 and [r["name"] for r in rows] == ["Beta SARL"]
    assert customers.search_customers(db, ADMIN, "100%")[1] == 0


def test_customer_options(db: Database, seeded: Seed) -> None:
    assert customers.customer_options(db, ANALYST, "ga") == [(seeded.usd, "Gamma Inc", "USD")]
    assert [option[1] for option in customers.customer_options(db, ANALYST)] == [
        "Acme GmbH", "Beta SARL", "Delta KK", "Gamma Inc"]


def test_archived_customer_keeps_its_invoices_payable(db: Database, seeded: Seed, billed: Billed) -> None:
    customers.set_archived(db, ADMIN, seeded.acme)
    payments.record_payment(db, ADMIN, {"customer_id": seeded.acme, "amount": "119.00", "currency": "EUR",
                                        "received_on": date(2025, 3, 20)}, allocate=[(billed.a, "119.00")])
    assert payments.customer_credit(db, ADMIN, seeded.acme) == {}
