"""Who may do what (billing.permissions), enforced by every service before it touches anything."""

from __future__ import annotations

import re
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from billing import audit, auth_keys, catalog, credit_notes, customers, exports, invoices, payments, settings, users
from billing.errors import PermissionDeniedError, SessionEndedError
from billing.permissions import ACCOUNTANT as ACCOUNTANT_ROLE
from billing.permissions import ACTIONS, PERMISSIONS, ROLES, SYSTEM, Actor, can, require
from billing.store.db import Database
from tests.conftest import ACCOUNTANT, ADMIN, ANALYST, TODAY, Billed, Seed, Shared, assert_refused, line

BILLING = Path(__file__).resolve().parent.parent / "billing"

CUSTOMER = {"name": "New", "currency": "EUR"}
PRODUCT = {"name": "P", "sku": "P-1", "unit_price": "1.00", "tax_rate_id": 1}
RATE = {"name": "R", "category": "S", "percent": "5"}
PAYMENT = {"customer_id": 1, "amount": "10.00", "currency": "EUR", "received_on": TODAY}

# Every write operation of the domain services, called as `actor` on the billed database.
WRITES: list[Any] = [
    pytest.param(lambda db, a, s, b: customers.create_customer(db, a, CUSTOMER), id="create_customer"),
    pytest.param(lambda db, a, s, b: customers.update_customer(db, a, s.acme, CUSTOMER), id="update_customer"),
    pytest.param(lambda db, a, s, b: customers.set_archived(db, a, s.beta), id="set_archived"),
    pytest.param(lambda db, a, s, b: customers.delete_customer(db, a, s.beta), id="delete_customer"),
    pytest.param(lambda db, a, s, b: catalog.create_tax_rate(db, a, RATE), id="create_tax_rate"),
    pytest.param(lambda db, a, s, b: catalog.update_tax_rate(db, a, s.s7, RATE), id="update_tax_rate"),
    pytest.param(lambda db, a, s, b: catalog.create_product(db, a, PRODUCT), id="create_product"),
    pytest.param(lambda db, a, s, b: catalog.update_product(db, a, s.product, PRODUCT), id="update_product"),
    pytest.param(lambda db, a, s, b: invoices.create_draft(db, a, {"customer_id": s.acme, "lines": [line(s.s19)]}),
                 id="create_draft"),
    pytest.param(lambda db, a, s, b: invoices.update_draft(db, a, b.a, {"customer_id": s.acme,
                                                                       "lines": [line(s.s19)]}), id="update_draft"),
    pytest.param(lambda db, a, s, b: invoices.delete_draft(db, a, b.a), id="delete_draft"),
    pytest.param(lambda db, a, s, b: invoices.issue_invoice(db, a, b.a, today=TODAY), id="issue_invoice"),
    pytest.param(lambda db, a, s, b: invoices.void_invoice(db, a, b.a, "Mistake", today=TODAY), id="void_invoice"),
    pytest.param(lambda db, a, s, b: credit_notes.create_credit_note(db, a, b.a, TODAY), id="create_credit_note"),
    pytest.param(lambda db, a, s, b: invoices.duplicate_invoice(db, a, b.a), id="duplicate_invoice"),
    pytest.param(lambda db, a, s, b: payments.record_payment(db, a, PAYMENT), id="record_payment"),
    pytest.param(lambda db, a, s, b: payments.allocate_payment(db, a, 1, "auto", TODAY), id="allocate_payment"),
    pytest.param(lambda db, a, s, b: payments.apply_credit(db, a, s.acme, "EUR", b.a, "1.00", TODAY),
                 id="apply_credit"),
    pytest.param(lambda db, a, s, b: payments.refund_credit(db, a, s.acme, "EUR", "1.00", TODAY), id="refund_credit"),
    pytest.param(lambda db, a, s, b: payments.reverse_payment(db, a, 1, TODAY, "Bounced"), id="reverse_payment"),
    pytest.param(lambda db, a, s, b: settings.save_company(db, a, {"legal_name": "Hacked"}), id="save_company"),
    pytest.param(lambda db, a, s, b: settings.set_series(db, a, "INV", "X-{SEQ}", 100), id="set_series"),
]

SETTINGS_WRITES = WRITES[-2:]


@pytest.mark.parametrize("write", WRITES)
def test_analyst_cannot_write(refusals: Shared, write: Any) -> None:
    db, seeded, billed = refusals.db, refusals.seed, refusals.bill
    error = assert_refused(db, lambda: write(db, ANALYST, seeded, billed), PermissionDeniedError)
    assert "analyst" in str(error)


@pytest.mark.parametrize("write", SETTINGS_WRITES)
def test_accountant_cannot_change_settings(refusals: Shared, write: Any) -> None:
    db, seeded, billed = refusals.db, refusals.seed, refusals.bill
    assert_refused(db, lambda: write(db, ACCOUNTANT, seeded, billed), PermissionDeniedError, match="accountant")


def test_accountant_sees_settings_but_not_the_audit_trail(refusals: Shared) -> None:
    db = refusals.db
    assert [row["code"] for row in settings.list_series(db, ACCOUNTANT)] == ["CN", "INV", "QUO"]
    assert_refused(db, lambda: audit.verify_chain(db, ACCOUNTANT), PermissionDeniedError)
    assert_refused(db, lambda: audit.list_events(db, ANALYST), PermissionDeniedError)


def test_accountant_does_the_daily_work(db: Database, seeded: Seed, billed: Billed) -> None:
    customer = customers.create_customer(db, ACCOUNTANT, CUSTOMER)
    invoice_id = invoices.create_draft(db, ACCOUNTANT, {"customer_id": customer, "lines": [line(seeded.s19)]})
    invoices.issue_invoice(db, ACCOUNTANT, invoice_id, today=TODAY)
    payments.record_payment(db, ACCOUNTANT, {**PAYMENT, "customer_id": customer, "amount": "119.00"}, "auto")
    assert invoices.get_invoice(db, ACCOUNTANT, invoice_id, as_of=TODAY).status == "paid"


def test_analyst_can_read(db: Database, seeded: Seed, billed: Billed) -> None:
    assert invoices.get_invoice(db, ANALYST, billed.a, as_of=TODAY).header.number == "INV-2025-00001"
    assert invoices.list_invoices(db, ANALYST, as_of=TODAY)[1] == 3
    assert customers.search_customers(db, ANALYST)[1] == 4
    assert payments.customer_credit(db, ANALYST, seeded.acme) == {}
    assert len(catalog.list_products(db, ANALYST)) == 1


# --- the table itself -------------------------------------------------------------------------


def test_every_role_has_a_row_and_only_known_actions() -> None:
    assert set(PERMISSIONS) == set(ROLES)
    for allowed in PERMISSIONS.values():
        assert allowed <= set(ACTIONS)


def test_every_action_is_described_and_granted_to_someone() -> None:
    assert all(description and description[0].isupper() for description in ACTIONS.values())
    assert set().union(*PERMISSIONS.values()) == set(ACTIONS)
    assert PERMISSIONS["admin"] == frozenset(ACTIONS)


def test_roles_are_nested() -> None:
    assert PERMISSIONS["analyst"] < PERMISSIONS[ACCOUNTANT_ROLE] < PERMISSIONS["admin"]
    assert not any(action.endswith((".write", ".manage")) for action in PERMISSIONS["analyst"])


def test_every_action_the_services_require_is_in_the_table() -> None:
    used = set()
    for path in BILLING.rglob("*.py"):
        used |= set(re.findall(r"""require\(\s*\w+,\s*\w+,\s*["']([a-z_.]+)["']""", path.read_text()))
    assert used, "no require() calls found"
    assert used <= set(ACTIONS), used - set(ACTIONS)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("action", sorted(ACTIONS))
def test_can_and_require_agree_with_the_table(role: str, action: str) -> None:
    actor = Actor("someone", role)
    assert can(actor, action) == (action in PERMISSIONS[role])
    if can(actor, action):
        require(None, actor, action)  # type: ignore[arg-type]
    else:
        with pytest.raises(PermissionDeniedError, match=role):
            require(None, actor, action)  # type: ignore[arg-type]


def test_unknown_action_is_a_programming_error() -> None:
    with pytest.raises(KeyError):
        can(ADMIN, "invoices.delete_everything")


def test_unknown_role_may_do_nothing() -> None:
    assert not any(can(Actor("x", "root"), action) for action in ACTIONS)


def test_system_actor_is_admin() -> None:
    assert all(can(SYSTEM, action) for action in ACTIONS)


# --- a browser session's actor is checked live, at the moment of acting --------------------------

LOSSES = ["signed out", "disabled", "password reset", "demoted", "expired"]


def session_actor(db: Database, username: str = "dora", role: str = ACCOUNTANT_ROLE,
                  hours: float = 24) -> tuple[Actor, str]:
    """A user with a live browser session, and the actor a page of that session acts as."""
    users.create_user(db, SYSTEM, username, "a long enough secret", role)
    token, expires = auth_keys.issue_token("k" * 64, username, timedelta(hours=hours))
    users.start_session(db, username, token, expires)
    user = users.session_user(db, token)
    assert user is not None and user.session is not None
    return user.actor, token


def lose_access(db: Database, how: str, token: str) -> None:
    if how == "signed out":
        users.end_session(db, token)
    elif how == "disabled":
        users.update_user(db, SYSTEM, "dora", active=False)
    elif how == "password reset":
        users.update_user(db, SYSTEM, "dora", password="another long secret")
    elif how == "demoted":
        users.update_user(db, SYSTEM, "dora", role="analyst")


@pytest.mark.parametrize("how", LOSSES)
def test_a_session_that_lost_access_can_no_longer_write(db: Database, seeded: Seed, billed: Billed,
                                                        how: str) -> None:
    actor, token = session_actor(db, hours=24 if how != "expired" else 1 / 3600)
    if how == "expired":
        time.sleep(1.1)
    lose_access(db, how, token)
    expected = PermissionDeniedError if how == "demoted" else SessionEndedError
    for write in WRITES:
        if write.id in ("save_company", "set_series"):
            continue  # an accountant may not do these anyway
        error = assert_refused(db, lambda w=write: w.values[0](db, actor, seeded, billed), expected)
        if how == "demoted":
            assert "analyst" in str(error), write.id  # the role as stored now, not the one the tab kept
        else:
            assert str(error) == "Your session has ended. Please sign in again."


@pytest.mark.parametrize("how", LOSSES)
def test_a_session_that_lost_access_can_no_longer_read_or_export(db: Database, seeded: Seed, billed: Billed,
                                                                 how: str) -> None:
    actor, token = session_actor(db, hours=24 if how != "expired" else 1 / 3600)
    fetched: list[int] = []
    assert exports.export_rows(db, actor, lambda: fetched.append(1) or "rows") == "rows"
    if how == "expired":
        time.sleep(1.1)
    lose_access(db, how, token)
    if how == "demoted":  # an analyst still reads and exports, but writes no more
        assert customers.get_customer(db, actor, seeded.acme)["name"] == "Acme GmbH"
        assert exports.export_rows(db, actor, lambda: "rows") == "rows"
        with pytest.raises(PermissionDeniedError, match="analyst"):
            customers.create_customer(db, actor, CUSTOMER)
        return
    with pytest.raises(SessionEndedError):
        customers.get_customer(db, actor, seeded.acme)
    with pytest.raises(SessionEndedError):
        exports.export_rows(db, actor, lambda: fetched.append(2))
    with pytest.raises(SessionEndedError):
        invoices.list_invoices(db, actor, as_of=TODAY)
    assert fetched == [1]  # the refused export fetched nothing


def test_a_live_session_acts_with_its_role_as_stored_now(db: Database, seeded: Seed) -> None:
    actor, _ = session_actor(db, role="analyst")
    with pytest.raises(PermissionDeniedError, match="analyst"):
        customers.create_customer(db, actor, CUSTOMER)
    users.update_user(db, SYSTEM, "dora", role=ACCOUNTANT_ROLE)  # promoted: the open tab may now write
    assert customers.create_customer(db, actor, CUSTOMER) > 0
    forged = Actor("dora", "admin", actor.session)  # a role claimed by the caller counts for nothing
    with pytest.raises(PermissionDeniedError, match="accountant"):
        settings.save_company(db, forged, {"legal_name": "Hacked"})


def test_a_session_acts_only_as_its_own_user(db: Database, seeded: Seed) -> None:
    actor, _ = session_actor(db)
    users.create_user(db, SYSTEM, "eve", "a long enough secret", "admin")
    with pytest.raises(SessionEndedError):  # dora's session does not make anyone else's actor live
        customers.create_customer(db, Actor("eve", "admin", actor.session), CUSTOMER)
