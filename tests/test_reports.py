"""Reports against a small hand-made history, checked with plain Python over what the test did.

The fixture builds, through the services, invoices in EUR and USD with partial payments, a
reversal, a void, a partial and a full credit note and a refund on chosen dates, and writes down
every event it causes in a `Ledger` (the independent model). Each report is compared exactly to
sums computed from that model with loops, never with the reports' SQL.
"""

from __future__ import annotations

import os
import shutil
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pytest
import sqlalchemy as sa

from billing import credit_notes, customers, invoices, logic, payments, reports, settings, signing
from billing.catalog import create_product, create_tax_rate
from billing.demo import load_demo
from billing.errors import PermissionDeniedError, ValidationError
from billing.logic import CREDIT_NOTE, INVOICE
from billing.permissions import SYSTEM, Actor
from billing.reports import ReportFilters
from billing.store import facts
from billing.store.db import Database
from billing.store.migrations import MIGRATIONS
from billing.verify import verify_database
from tests.conftest import PG_BIN

D = date
TODAY = D(2025, 6, 30)


@dataclass
class Doc:
    """An issued document as the test knows it."""

    id: int
    kind: str
    customer: int
    currency: str
    issue_date: date
    due_date: date
    payable: Decimal
    net: Decimal
    taxes: list[tuple[str, Decimal, Decimal, Decimal]]  # category, rate, taxable, tax
    lines: list[tuple[int | None, Decimal, Decimal]]  # product, net, rate
    credits: int | None = None  # the invoice a credit note credits
    voided_on: date | None = None


@dataclass
class Ledger:
    """Everything the fixture did, with the dates it happened on."""

    docs: dict[str, Doc] = field(default_factory=dict)
    allocations: list[tuple[int, Decimal, date]] = field(default_factory=list)  # invoice, amount, on
    payments: list[tuple[int, str, str, Decimal, date, str]] = field(default_factory=list)
    customers: dict[str, int] = field(default_factory=dict)
    products: dict[str, int] = field(default_factory=dict)

    def invoices(self) -> list[Doc]:
        return [d for d in self.docs.values() if d.kind == INVOICE]

    def credit_notes(self) -> list[Doc]:
        return [d for d in self.docs.values() if d.kind == CREDIT_NOTE]

    def balance(self, doc: Doc, on: date) -> Decimal | None:
        """balance_as_of by the definition; None when the invoice does not exist on that date."""
        if doc.issue_date > on or (doc.voided_on is not None and doc.voided_on <= on):
            return None
        paid = sum((a for i, a, d in self.allocations if i == doc.id and d <= on), Decimal(0))
        credited = sum((c.payable for c in self.credit_notes() if c.credits == doc.id and c.issue_date <= on),
                       Decimal(0))
        return doc.payable - paid - credited

    def open_on(self, on: date) -> list[tuple[Doc, Decimal]]:
        result = []
        for doc in self.invoices():
            balance = self.balance(doc, on)
            if balance is not None and balance > 0:
                result.append((doc, balance))
        return result

    def activity(self, doc: Doc) -> list[date]:
        return [d for i, _, d in self.allocations if i == doc.id] + \
               [c.issue_date for c in self.credit_notes() if c.credits == doc.id]

    def credit(self, customer: int, currency: str, on: date) -> Decimal:
        received = sum((a for c, cur, _, a, d, _ in self.payments if c == customer and cur == currency and d <= on),
                       Decimal(0))
        ours = {d.id for d in self.invoices() if d.customer == customer and d.currency == currency}
        allocated = sum((a for i, a, d in self.allocations if i in ours and d <= on), Decimal(0))
        return received - allocated


def _issue(db: Database, ledger: Ledger, name: str, customer: str, on: date, lines: list[dict[str, Any]],
           allowances: list[dict[str, Any]] | None = None) -> Doc:
    draft = invoices.create_draft(db, SYSTEM, {"customer_id": ledger.customers[customer], "lines": lines,
                                               "allowance_charges": allowances or []})
    invoices.issue_invoice(db, SYSTEM, draft, today=on, issue_date=on)
    return _record(db, ledger, name, draft)


def _record(db: Database, ledger: Ledger, name: str, doc_id: int, credits: int | None = None) -> Doc:
    view = invoices.get_invoice(db, SYSTEM, doc_id, as_of=TODAY)
    h = view.header
    doc = Doc(id=doc_id, kind=h.kind, customer=h.customer_id, currency=h.currency, issue_date=h.issue_date,
              due_date=h.due_date, payable=view.totals.payable, net=view.totals.tax_exclusive,
              taxes=[(t.vat_category, t.vat_rate, t.taxable, t.tax) for t in view.totals.tax_breakdown],
              lines=[(line.product_id, line.net_amount, line.vat_rate) for line in view.lines],
              credits=credits)
    ledger.docs[name] = doc
    return doc


def _pay(db: Database, ledger: Ledger, customer: str, currency: str, amount: str, on: date,
         to: list[tuple[str, str]] | None = None, method: str = "bank_transfer") -> int:
    plan = [(ledger.docs[n].id, a) for n, a in (to or [])]
    payment_id = payments.record_payment(db, SYSTEM, {"customer_id": ledger.customers[customer], "amount": amount,
                                                      "currency": currency, "received_on": on, "method": method,
                                                      "reference": f"ref {on}"}, allocate=plan or None)
    ledger.payments.append((ledger.customers[customer], currency, "payment", Decimal(amount), on, method))
    ledger.allocations += [(doc_id, Decimal(a), on) for doc_id, a in plan]
    return payment_id


def build(db: Database) -> Ledger:
    ledger = Ledger()
    settings.save_company(db, SYSTEM, {"legal_name": "Reports GmbH", "country": "DE", "tax_id": "DE136695976",
                                       "base_currency": "EUR", "timezone": "Europe/Berlin"})
    s19 = create_tax_rate(db, SYSTEM, {"name": "S19", "category": "S", "percent": "19"})
    s7 = create_tax_rate(db, SYSTEM, {"name": "S7", "category": "S", "percent": "7"})
    e0 = create_tax_rate(db, SYSTEM, {"name": "E0", "category": "E", "percent": "0", "exemption_reason": "Exempt"})
    for name, currency, terms in (("acme", "EUR", 14), ("beta", "EUR", 30), ("gamma", "USD", 30)):
        ledger.customers[name] = customers.create_customer(db, SYSTEM, {"name": name.title(), "currency": currency,
                                                                       "terms_days": terms, "country": "DE"})
    widget = create_product(db, SYSTEM, {"name": "Widget", "sku": "W", "unit": "pcs", "unit_price": "49.90",
                                         "currency": "EUR", "tax_rate_id": s19})
    ledger.products["widget"] = widget

    def w(qty: str) -> dict[str, Any]:
        return {"description": "Widget", "quantity": qty, "unit_price": "49.90", "tax_rate_id": s19,
                "product_id": widget}

    def free(amount: str, rate: int, text: str = "Service") -> dict[str, Any]:
        return {"description": text, "quantity": "1", "unit_price": amount, "tax_rate_id": rate}

    _issue(db, ledger, "a1", "acme", D(2025, 1, 10), [w("2"), free("100.00", s7, "Setup")],
           [{"is_charge": False, "reason": "Loyalty", "amount": "10.00", "tax_rate_id": s19}])
    _issue(db, ledger, "b1", "beta", D(2025, 1, 15), [free("1000.00", s19)])
    _issue(db, ledger, "g1", "gamma", D(2025, 1, 20), [free("1000.00", s19)])
    _issue(db, ledger, "a2", "acme", D(2025, 2, 1), [free("200.00", s19)])
    _pay(db, ledger, "acme", "EUR", str(ledger.docs["a1"].payable), D(2025, 2, 5),
         [("a1", str(ledger.docs["a1"].payable))])
    _issue(db, ledger, "b2", "beta", D(2025, 2, 10), [free("300.00", e0)])
    _pay(db, ledger, "gamma", "USD", "400.00", D(2025, 2, 10), [("g1", "400.00")], method="card")
    bounced = _pay(db, ledger, "beta", "EUR", "500.00", D(2025, 2, 20), [("b1", "500.00")])
    _pay(db, ledger, "beta", "EUR", "300.00", D(2025, 2, 25), [("b2", "300.00")])
    _issue(db, ledger, "a3", "acme", D(2025, 3, 1), [free("50.00", s19)])
    _issue(db, ledger, "g2", "gamma", D(2025, 3, 1), [free("250.00", e0)])
    _issue(db, ledger, "a4", "acme", D(2025, 3, 5), [w("3")])
    _pay(db, ledger, "acme", "EUR", "100.00", D(2025, 3, 10), [("a2", "100.00")], method="cash")
    # The bounced transfer: its allocation is undone by a negative row on the reversal date.
    payments.reverse_payment(db, SYSTEM, bounced, D(2025, 3, 10), "Bounced")
    ledger.payments.append((ledger.customers["beta"], "EUR", "reversal", Decimal("-500.00"), D(2025, 3, 10),
                            "bank_transfer"))
    ledger.allocations.append((ledger.docs["b1"].id, Decimal("-500.00"), D(2025, 3, 10)))
    # b2 is credited in full after it was paid: the payment is released to customer credit.
    cn2 = credit_notes.create_credit_note(db, SYSTEM, ledger.docs["b2"].id, today=D(2025, 3, 15))
    _record(db, ledger, "cn2", cn2, credits=ledger.docs["b2"].id)
    ledger.allocations.append((ledger.docs["b2"].id, Decimal("-300.00"), D(2025, 3, 15)))
    invoices.void_invoice(db, SYSTEM, ledger.docs["a3"].id, "Wrong customer", today=D(2025, 3, 20))
    ledger.docs["a3"].voided_on = D(2025, 3, 20)
    cn1 = credit_notes.create_credit_note(db, SYSTEM, ledger.docs["a4"].id, today=D(2025, 3, 25), lines=[w("1")])
    _record(db, ledger, "cn1", cn1, credits=ledger.docs["a4"].id)
    payments.refund_credit(db, SYSTEM, ledger.customers["beta"], "EUR", "100.00", D(2025, 3, 30))
    ledger.payments.append((ledger.customers["beta"], "EUR", "refund", Decimal("-100.00"), D(2025, 3, 30),
                            "bank_transfer"))
    _pay(db, ledger, "beta", "EUR", str(ledger.docs["b1"].payable), D(2025, 4, 5),
         [("b1", str(ledger.docs["b1"].payable))])
    _pay(db, ledger, "gamma", "USD", "200.00", D(2025, 4, 20))
    return ledger


@dataclass(frozen=True)
class World:
    path: Path
    ledger: Ledger


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    path = tmp_path_factory.mktemp("reports") / "r.duckdb"
    db = Database(f"duckdb:///{path}")
    db.migrate()
    ledger = build(db)
    db.dispose()
    return World(path, ledger)


@pytest.fixture
def db(world: World) -> Any:
    database = Database(f"duckdb:///{world.path}")
    yield database
    database.dispose()


@pytest.fixture
def ledger(world: World) -> Ledger:
    return world.ledger


AGING_DATES = [D(2025, 1, 9), D(2025, 1, 31), D(2025, 2, 21), D(2025, 3, 11), D(2025, 3, 16), D(2025, 3, 22),
               D(2025, 3, 26), D(2025, 4, 10), TODAY]


def _bucket(days_past_due: int, buckets: tuple[int, ...]) -> str:
    labels = reports.bucket_labels(buckets)
    if days_past_due <= 0:
        return labels[0]
    for n, limit in enumerate(buckets, start=1):
        if days_past_due <= limit:
            return labels[n]
    return labels[-1]


def _expected_aging(ledger: Ledger, on: date, buckets: tuple[int, ...]) -> dict[str, dict[str, Decimal]]:
    table: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for doc, balance in ledger.open_on(on):
        table[doc.currency][_bucket((on - doc.due_date).days, buckets)] += balance
    return table


@pytest.mark.parametrize("on", AGING_DATES)
def test_aging_as_of_rebuilds_the_history(db: Database, ledger: Ledger, on: date) -> None:
    expected = _expected_aging(ledger, on, reports.DEFAULT_BUCKETS)
    frame = reports.aging(db, SYSTEM, on)
    labels = reports.bucket_labels()
    assert list(frame.columns[: len(labels) + 2]) == ["currency", *labels, "Total"]
    got = {row["currency"]: row for row in frame.to_dict("records")}
    assert set(got) == set(expected)
    for currency, row in got.items():
        for label in labels:
            assert row[label] == expected[currency].get(label, Decimal(0)), (on, currency, label)
        assert row["Total"] == sum((row[label] for label in labels), Decimal(0))
        assert row["Total"] == sum((b for d, b in ledger.open_on(on) if d.currency == currency), Decimal(0))
        assert row["open_invoices"] == sum(1 for d, _ in ledger.open_on(on) if d.currency == currency)


def test_aging_sees_payment_reversal_credit_and_void(db: Database, ledger: Ledger) -> None:
    docs = ledger.docs

    def open_ids(on: date) -> dict[int, Decimal]:
        page, _ = reports.aging_invoices(db, SYSTEM, on, "EUR", limit=100)
        return dict(zip(page["id"], page["balance"], strict=True))

    b1 = docs["b1"]
    assert open_ids(D(2025, 2, 19))[b1.id] == b1.payable
    assert open_ids(D(2025, 2, 21))[b1.id] == b1.payable - Decimal("500.00")  # partial payment
    assert open_ids(D(2025, 3, 11))[b1.id] == b1.payable  # reversed
    assert b1.id not in open_ids(D(2025, 4, 5))  # paid in full
    b2 = docs["b2"]
    assert b2.id not in open_ids(D(2025, 2, 26)) and b2.id not in open_ids(D(2025, 3, 16))
    a3 = docs["a3"]
    assert open_ids(D(2025, 3, 19))[a3.id] == a3.payable and a3.id not in open_ids(D(2025, 3, 20))  # voided
    a4 = docs["a4"]
    assert open_ids(D(2025, 3, 24))[a4.id] == a4.payable
    assert open_ids(D(2025, 3, 25))[a4.id] == a4.payable - docs["cn1"].payable  # partial credit note


@pytest.mark.parametrize("buckets", [(15, 45), (7, 14, 21, 28, 60)])
def test_aging_custom_buckets_sum_exactly(db: Database, ledger: Ledger, buckets: tuple[int, ...]) -> None:
    on = D(2025, 4, 10)
    frame = reports.aging(db, SYSTEM, on, buckets=buckets)
    expected = _expected_aging(ledger, on, buckets)
    labels = reports.bucket_labels(buckets)
    for row in frame.to_dict("records"):
        assert {label: row[label] for label in labels} == {label: expected[row["currency"]].get(label, Decimal(0))
                                                            for label in labels}
        assert row["Total"] == sum((row[label] for label in labels), Decimal(0))


def test_bucket_labels_and_bad_buckets() -> None:
    assert reports.bucket_labels((30, 60, 90)) == ["Current", "1-30", "31-60", "61-90", "90+"]
    for bad in [(), (30, 30), (60, 30), (0, 30), (30, 60, 3651)]:
        with pytest.raises(ValidationError):
            reports.bucket_labels(bad)
    assert reports.bucket_labels((30, 3650))[-1] == "3650+"


@pytest.mark.parametrize("day", [D(1, 1, 1), D(1999, 12, 31), D(2100, 1, 1), D(9999, 12, 31)])
def test_reports_on_days_outside_the_books_are_refused_not_overflowed(db: Database, day: date) -> None:
    inside = D(2025, 1, 1)
    calls = [lambda: reports.aging(db, SYSTEM, day), lambda: reports.aging_by_customer(db, SYSTEM, day),
             lambda: reports.aging_invoices(db, SYSTEM, day, "EUR", "90+"),
             lambda: reports.collections(db, SYSTEM, day), lambda: reports.cash_forecast(db, SYSTEM, day),
             lambda: reports.dashboard(db, SYSTEM, ReportFilters(inside, TODAY), day),
             lambda: reports.revenue_series(db, SYSTEM, ReportFilters(min(day, inside), max(day, inside))),
             lambda: reports.tax_report(db, SYSTEM, min(day, inside), max(day, inside)),
             lambda: reports.customer_statement(db, SYSTEM, 1, "EUR", min(day, inside), max(day, inside))]
    for call in calls:
        with pytest.raises(ValidationError, match="must be between 2000-01-01 and 2099-12-31"):
            call()


@pytest.mark.parametrize("on", [D(2025, 2, 21), D(2025, 3, 26), TODAY])
def test_aging_by_customer_and_drill_down(db: Database, ledger: Ledger, on: date) -> None:
    page, total = reports.aging_by_customer(db, SYSTEM, on, limit=10)
    expected: dict[tuple[int, str], list[tuple[Doc, Decimal]]] = defaultdict(list)
    for doc, balance in ledger.open_on(on):
        expected[(doc.customer, doc.currency)].append((doc, balance))
    assert total == len(expected)
    # Biggest first within each currency; currencies are never compared with each other.
    for currency in set(page["currency"]):
        totals = list(page[page["currency"] == currency]["Total"])
        assert totals == sorted(totals, reverse=True)
    first = page.iloc[0]
    assert first["Total"] == max(sum((b for _, b in items), Decimal(0))
                                 for (_, cur), items in expected.items() if cur == first["currency"])
    for row in page.to_dict("records"):
        items = expected[(row["customer_id"], row["currency"])]
        assert row["Total"] == sum((b for _, b in items), Decimal(0))
        assert row["oldest_due"] == min(d.due_date for d, _ in items)
        drill, count = reports.aging_invoices(db, SYSTEM, on, row["currency"], customer_id=row["customer_id"])
        assert count == len(items) and sum(drill["balance"], Decimal(0)) == row["Total"]
        for label in reports.bucket_labels():
            in_bucket, _ = reports.aging_invoices(db, SYSTEM, on, row["currency"], bucket=label,
                                                  customer_id=row["customer_id"])
            assert sum(in_bucket["balance"], Decimal(0)) == row[label]


@pytest.mark.parametrize("on", [D(2025, 3, 26), TODAY])
def test_top_overdue_is_the_past_due_balance_per_customer_biggest_first(db: Database, ledger: Ledger,
                                                                     on: date) -> None:
    expected: dict[tuple[int, str], list[Doc]] = defaultdict(list)
    overdue: dict[tuple[int, str], Decimal] = defaultdict(Decimal)
    for doc, balance in ledger.open_on(on):
        if doc.due_date < on:
            expected[(doc.customer, doc.currency)].append(doc)
            overdue[(doc.customer, doc.currency)] += balance
    assert overdue  # the ledger has past-due invoices on these days
    top = reports.top_overdue(db, SYSTEM, on, limit=2)
    assert len(top) == sum(min(2, len([k for k in overdue if k[1] == cur])) for cur in {k[1] for k in overdue})
    for currency in set(top["currency"]):
        mine = top[top["currency"] == currency]
        wanted = sorted((amount for (_, cur), amount in overdue.items() if cur == currency), reverse=True)[:2]
        assert list(mine["overdue"]) == wanted
    for row in top.to_dict("records"):
        key = (row["customer_id"], row["currency"])
        assert row["overdue"] == overdue[key]
        assert row["oldest_due"] == min(doc.due_date for doc in expected[key])
    assert reports.top_overdue(db, SYSTEM, on, currencies=("XYZ",)).empty


def test_tax_report_equals_sum_over_documents(db: Database, ledger: Ledger) -> None:
    start, end = D(2025, 1, 1), D(2025, 3, 31)
    expected: dict[tuple[str, str, Decimal], dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for doc in ledger.docs.values():
        if doc.voided_on is not None or not start <= doc.issue_date <= end:
            continue
        prefix = "credit" if doc.kind == CREDIT_NOTE else "invoices"
        for category, rate, taxable, tax in doc.taxes:
            entry = expected[(doc.currency, category, rate)]
            entry[f"{prefix}_taxable"] += taxable
            entry[f"{prefix}_tax"] += tax
    frame = reports.tax_report(db, SYSTEM, start, end)
    assert len(frame) == len(expected)
    for row in frame.to_dict("records"):
        entry = expected[(row["currency"], row["vat_category"], row["vat_rate"])]
        for name in ("invoices_taxable", "invoices_tax", "credit_taxable", "credit_tax"):
            assert row[name] == entry.get(name, Decimal(0)), name
        assert row["taxable"] == entry["invoices_taxable"] - entry.get("credit_taxable", Decimal(0))
        assert row["tax"] == entry["invoices_tax"] - entry.get("credit_tax", Decimal(0))
    only_usd = reports.tax_report(db, SYSTEM, start, end, currencies=("USD",))
    assert set(only_usd["currency"]) == {"USD"}


def _month(day: date) -> date:
    return day.replace(day=1)


def test_revenue_series_by_month(db: Database, ledger: Ledger) -> None:
    filters = ReportFilters(D(2025, 1, 1), D(2025, 4, 30))
    frame = reports.revenue_series(db, SYSTEM, filters, "month", as_of=TODAY)
    invoiced: dict[tuple[date, str], Decimal] = defaultdict(Decimal)
    net: dict[tuple[date, str], Decimal] = defaultdict(Decimal)
    collected: dict[tuple[date, str], Decimal] = defaultdict(Decimal)
    for doc in ledger.docs.values():
        if doc.voided_on is None:
            sign = -1 if doc.kind == CREDIT_NOTE else 1
            invoiced[(_month(doc.issue_date), doc.currency)] += sign * doc.payable
            net[(_month(doc.issue_date), doc.currency)] += sign * doc.net
    for _, currency, _, amount, on, _ in ledger.payments:
        collected[(_month(on), currency)] += amount
    assert len(frame) == 8  # four months x two currencies, months without documents included
    for row in frame.to_dict("records"):
        key = (row["period"], row["currency"])
        assert (row["invoiced"], row["net"], row["collected"]) == (invoiced[key], net[key], collected[key]), key
        assert row["group"] == "" and row["group_id"] is None


def test_revenue_series_breakdowns_add_up(db: Database, ledger: Ledger) -> None:
    filters = ReportFilters(D(2025, 1, 1), D(2025, 3, 31))
    total = reports.revenue_series(db, SYSTEM, filters, "quarter", as_of=TODAY)
    by_total = {r["currency"]: (r["invoiced"], r["net"]) for r in total.to_dict("records")}
    for breakdown in ("customer", "currency", "tax_rate"):
        frame = reports.revenue_series(db, SYSTEM, filters, "quarter", breakdown, as_of=TODAY)
        for currency, (invoiced, net) in by_total.items():
            rows = frame[frame["currency"] == currency]
            assert sum(rows["invoiced"], Decimal(0)) == invoiced, breakdown
            assert sum(rows["net"], Decimal(0)) == net, breakdown
    customers_frame = reports.revenue_series(db, SYSTEM, filters, "quarter", "customer", as_of=TODAY)
    assert set(customers_frame["group"]) == {"Acme", "Beta", "Gamma"}
    assert customers_frame["group_id"].map(type).eq(int).all()
    top1 = reports.revenue_series(db, SYSTEM, filters, "quarter", "customer", as_of=TODAY, top=1)
    assert set(top1[top1["currency"] == "EUR"]["group"]) == {"Beta", reports.OTHER_CUSTOMERS}


def test_revenue_series_by_product_uses_the_lines(db: Database, ledger: Ledger) -> None:
    widget = ledger.products["widget"]
    filters = ReportFilters(D(2025, 1, 1), D(2025, 3, 31))
    frame = reports.revenue_series(db, SYSTEM, filters, "month", "product", as_of=TODAY)
    net: dict[tuple[date, Any], Decimal] = defaultdict(Decimal)
    gross: dict[tuple[date, Any], Decimal] = defaultdict(Decimal)
    for doc in ledger.docs.values():
        if doc.voided_on is not None or doc.currency != "EUR" or doc.issue_date > filters.date_to:
            continue
        sign = -1 if doc.kind == CREDIT_NOTE else 1
        groups: dict[tuple[Any, Decimal], Decimal] = defaultdict(Decimal)
        for product, line_net, rate in doc.lines:
            groups[(product, rate)] += line_net
        for (product, rate), amount in groups.items():
            vat = (amount * rate / 100).quantize(Decimal("0.01"), rounding="ROUND_HALF_UP")
            net[(_month(doc.issue_date), product)] += sign * amount
            gross[(_month(doc.issue_date), product)] += sign * (amount + vat)
    eur = frame[frame["currency"] == "EUR"]
    assert {(r["period"], r["group_id"]): (r["net"], r["invoiced"]) for r in eur.to_dict("records")
            if r["invoiced"] or r["net"]} == \
        {k: (net[k], gross[k]) for k in net}
    assert set(eur["group"]) == {"Widget", reports.NO_PRODUCT}
    # Collected by product: money allocated in the month to invoices with that product, in full under each.
    collected: dict[tuple[date, Any], Decimal] = defaultdict(Decimal)
    by_id = {d.id: d for d in ledger.docs.values()}
    for invoice_id, amount, on in ledger.allocations:
        doc = by_id[invoice_id]
        if doc.currency == "EUR" and filters.date_from <= on <= filters.date_to:
            for product in {p for p, _, _ in doc.lines}:
                collected[(_month(on), product)] += amount
    got = {(r["period"], r["group_id"]): r["collected"] for r in eur.to_dict("records") if r["collected"]}
    assert got == {k: v for k, v in collected.items() if v}
    only_widget = ReportFilters(D(2025, 1, 1), D(2025, 3, 31), product_ids=(widget,))
    filtered = reports.revenue_series(db, SYSTEM, only_widget, "quarter", as_of=TODAY)
    assert list(filtered["net"]) == [sum((v for (_, p), v in net.items() if p == widget), Decimal(0))]
    page, count = reports.revenue_invoices(db, SYSTEM, filters, "month", D(2025, 3, 1), "EUR", "product", widget,
                                           as_of=TODAY)
    assert count == 2 and list(page["number"].str[:2]) == ["IN", "CN"]
    assert sum(page["net"], Decimal(0)) == net[(D(2025, 3, 1), widget)]


def test_revenue_invoices_drill_down(db: Database, ledger: Ledger) -> None:
    filters = ReportFilters(D(2025, 1, 1), D(2025, 4, 30))
    page, count = reports.revenue_invoices(db, SYSTEM, filters, "month", D(2025, 3, 1), "EUR", as_of=TODAY)
    march = [d for d in ledger.docs.values() if d.currency == "EUR" and _month(d.issue_date) == D(2025, 3, 1)
             and d.voided_on is None]
    assert count == len(march) == 3
    series = reports.revenue_series(db, SYSTEM, filters, "month", as_of=TODAY)
    point = series[(series["period"] == D(2025, 3, 1)) & (series["currency"] == "EUR")]
    assert sum(page["invoiced"], Decimal(0)) == point["invoiced"].iloc[0]
    assert dict(zip(page["kind"], page["status"], strict=False))["credit_note"] == "credit_note"
    first, _ = reports.revenue_invoices(db, SYSTEM, filters, "month", D(2025, 3, 1), "EUR", limit=1, offset=2,
                                        as_of=TODAY)
    assert list(first["id"]) == [page["id"].iloc[2]]


def test_status_filter_follows_display_status(db: Database, ledger: Ledger) -> None:
    filters = ReportFilters(D(2025, 1, 1), D(2025, 3, 31), statuses=("paid",), currencies=("EUR",))
    frame = reports.revenue_series(db, SYSTEM, filters, "quarter", as_of=TODAY)
    def status(doc: Doc) -> str:
        paid_amount = sum((a for i, a, _ in ledger.allocations if i == doc.id), Decimal(0))
        credited = sum((c.payable for c in ledger.credit_notes() if c.credits == doc.id), Decimal(0))
        return logic.display_status(logic.ISSUED, doc.payable, paid_amount, credited, doc.due_date, TODAY)

    paid = [d for d in ledger.invoices() if d.currency == "EUR" and d.voided_on is None
            and d.issue_date <= filters.date_to and status(d) == "paid"]
    credits = [c for c in ledger.credit_notes() if any(c.credits == d.id for d in paid)]
    expected = sum((d.payable for d in paid), Decimal(0)) - sum((c.payable for c in credits), Decimal(0))
    assert list(frame["invoiced"]) == [expected]
    with pytest.raises(ValidationError):
        reports.revenue_series(db, SYSTEM, ReportFilters(D(2025, 1, 1), D(2025, 1, 2), statuses=("late",)))


def test_dashboard_matches_the_ledger(db: Database, ledger: Ledger) -> None:
    start, end, as_of = D(2025, 3, 1), D(2025, 3, 31), D(2025, 4, 30)
    prev_start, prev_end = D(2025, 1, 29), D(2025, 2, 28)
    frame = reports.dashboard(db, SYSTEM, ReportFilters(start, end), as_of)
    rows = {r["currency"]: r for r in frame.to_dict("records")}
    for currency, row in rows.items():
        for suffix, lo, hi in (("", start, end), ("_prev", prev_start, prev_end)):
            docs = [d for d in ledger.docs.values() if d.currency == currency and d.voided_on is None
                    and lo <= d.issue_date <= hi]
            invoiced = sum((-d.payable if d.kind == CREDIT_NOTE else d.payable for d in docs), Decimal(0))
            collected = sum((a for _, cur, _, a, on, _ in ledger.payments if cur == currency and lo <= on <= hi),
                            Decimal(0))
            open_items = [(d, b) for d, b in ledger.open_on(hi) if d.currency == currency]
            outstanding = sum((b for _, b in open_items), Decimal(0))
            overdue = sum((b for d, b in open_items if d.due_date < hi), Decimal(0))
            assert row[f"invoiced{suffix}"] == invoiced
            assert row[f"collected{suffix}"] == collected
            assert row[f"outstanding{suffix}"] == outstanding
            assert row[f"overdue{suffix}"] == overdue
            assert row[f"open_invoices{suffix}"] == len(open_items)
            days = (hi - lo).days + 1
            dso = (outstanding * days / invoiced).quantize(Decimal("0.1"), "ROUND_HALF_UP") if invoiced > 0 else None
            assert row[f"dso{suffix}"] == dso
            settled = [d for d in ledger.invoices() if d.currency == currency and ledger.balance(d, TODAY) == 0
                       and any(i == d.id and a > 0 for i, a, _ in ledger.allocations)
                       and sum((a for i, a, _ in ledger.allocations if i == d.id), Decimal(0)) > 0
                       and lo <= max(ledger.activity(d)) <= hi]
            avg = (Decimal(sum((max(ledger.activity(d)) - d.issue_date).days for d in settled)) / len(settled)
                   ).quantize(Decimal("0.1"), "ROUND_HALF_UP") if settled else None
            assert row[f"avg_days_to_pay{suffix}"] == avg
    assert rows["EUR"]["avg_days_to_pay_prev"] == Decimal("26.0")  # a1: issued 10 January, paid 5 February


def test_statement_identities(db: Database, ledger: Ledger) -> None:
    beta = ledger.customers["beta"]
    start, end = D(2025, 2, 1), D(2025, 3, 31)
    statement = reports.customer_statement(db, SYSTEM, beta, "EUR", start, end)

    def owed(on: date) -> Decimal:
        balances = [ledger.balance(d, on) for d in ledger.invoices() if d.customer == beta]
        return sum((b for b in balances if b is not None), Decimal(0)) - ledger.credit(beta, "EUR", on)

    assert statement.opening_balance == owed(start - timedelta(days=1)) == ledger.docs["b1"].payable
    assert statement.closing_balance == owed(end)
    entries = statement.entries
    assert statement.opening_balance + sum(entries["debit"], Decimal(0)) - sum(entries["credit"], Decimal(0)) \
        == statement.closing_balance
    running = statement.opening_balance
    for row in entries.to_dict("records"):
        running += row["debit"] - row["credit"]
        assert row["balance"] == running
    assert list(entries["kind"]) == ["invoice", "payment", "payment", "reversal", "credit_note", "refund"]
    credit_note = entries[entries["kind"] == "credit_note"].iloc[0]
    credited = {row["number"] for row in entries.to_dict("records") if row["kind"] == "invoice"}
    assert credit_note["description"] in {f"Credit note for invoice {number}" for number in credited}
    acme = reports.customer_statement(db, SYSTEM, ledger.customers["acme"], "EUR", D(2025, 3, 1), D(2025, 3, 31))
    voided = invoices.get_invoice(db, SYSTEM, ledger.docs["a3"].id, TODAY).header.number
    assert acme.notes == [f"Voided invoice {voided} is not shown."]


def test_payments_by_method(db: Database, ledger: Ledger) -> None:
    frame = reports.payments_by_method(db, SYSTEM, ReportFilters(D(2025, 1, 1), D(2025, 6, 30)), "month")
    expected: dict[tuple[date, str, str], list[Decimal]] = defaultdict(list)
    for _, currency, _, amount, on, method in ledger.payments:
        expected[(_month(on), method, currency)].append(amount)
    got = {(r["period"], r["method"], r["currency"]): (r["count"], r["amount"]) for r in frame.to_dict("records")}
    assert got == {k: (len(v), sum(v, Decimal(0))) for k, v in expected.items()}


def test_collections_ranks_overdue_invoices_with_habits(db: Database, ledger: Ledger) -> None:
    on = D(2025, 4, 30)
    page, total = reports.collections(db, SYSTEM, on)
    overdue = [(d, b) for d, b in ledger.open_on(on) if d.due_date < on]
    assert total == len(overdue)
    assert {(r["id"], r["balance"]) for r in page.to_dict("records")} == {(d.id, b) for d, b in overdue}
    ages = [reports.bucket_labels().index(_bucket(r["days_overdue"], reports.DEFAULT_BUCKETS))
            for r in page.to_dict("records")]
    assert ages == sorted(ages, reverse=True)
    acme = page[page["customer_id"] == ledger.customers["acme"]].iloc[0]
    assert acme["avg_days_to_pay"] == Decimal("26.0") and acme["on_time_share"] == Decimal("0.00")
    assert acme["open_invoices"] == sum(1 for d, _ in ledger.open_on(on) if d.customer == ledger.customers["acme"])
    gamma = page[page["customer_id"] == ledger.customers["gamma"]].iloc[0]
    assert gamma["avg_days_to_pay"] is None and gamma["on_time_share"] is None


@pytest.mark.parametrize("on", [D(2025, 2, 1), D(2025, 4, 30)])
def test_cash_forecast_without_history_follows_due_dates(db: Database, ledger: Ledger, on: date) -> None:
    frame = reports.cash_forecast(db, SYSTEM, on, horizon_days=35)
    expected: dict[tuple[str, date], Decimal] = defaultdict(Decimal)
    for doc, balance in ledger.open_on(on):
        day = max(doc.due_date, on)
        expected[(doc.currency, day - timedelta(days=day.weekday()))] += balance
    got = {(r["currency"], r["week"]): r["expected"] for r in frame.to_dict("records") if r["expected"] != 0}
    assert got == dict(expected)
    assert frame["week"].min() == on - timedelta(days=on.weekday())
    assert "median" in reports.FORECAST_METHOD


def test_cash_forecast_uses_each_customers_median_and_spreads_late_payers(world: World, tmp_path: Path) -> None:
    path = tmp_path / "forecast.duckdb"
    shutil.copyfile(world.path, path)
    db = Database(f"duckdb:///{path}")
    try:
        rate = create_tax_rate(db, SYSTEM, {"name": "Zero", "category": "E", "percent": "0",
                                            "exemption_reason": "Exempt"})
        ledger = Ledger(customers={
            name: customers.create_customer(db, SYSTEM, {"name": name.title(), "currency": "EUR", "terms_days": 30})
            for name in ("steady", "late")})
        line = [{"description": "Work", "quantity": "1", "unit_price": "100.00", "tax_rate_id": rate}]
        # steady pays 10, 12 and 40 days after issue (median 12, two of three on time);
        # late pays 45, 50 and 60 days after (all after the 30-day terms).
        for name, delays in (("steady", (10, 12, 40)), ("late", (45, 50, 60))):
            for n, delay in enumerate(delays):
                issued_on = D(2025, 1, 6) + timedelta(days=20 * n)
                _issue(db, ledger, f"{name}{n}", name, issued_on, line)
                _pay(db, ledger, name, "EUR", "100.00", issued_on + timedelta(days=delay), [(f"{name}{n}", "100.00")])
        _issue(db, ledger, "steady_open", "steady", D(2025, 6, 2), line)  # expected 2 + 12 = 14 June
        _issue(db, ledger, "late_open", "late", D(2025, 4, 1), line)  # expected 20 May: passed on 2 June
        on = D(2025, 6, 2)
        frame = reports.cash_forecast(db, SYSTEM, on, horizon_days=28)
        # world's EUR invoices still open are due before 2 June: they come in this week (no history).
        earlier = sum((b for d, b in world.ledger.open_on(on) if d.currency == "EUR"), Decimal(0))
        eur = {r["week"]: (r["expected"], r["invoices"]) for r in frame.to_dict("records") if r["currency"] == "EUR"}
        count = sum(1 for d, _ in world.ledger.open_on(on) if d.currency == "EUR")
        assert eur[D(2025, 6, 2)] == (earlier + Decimal("25.00"), count + 1)  # late_open: a quarter now
        assert eur[D(2025, 6, 9)] == (Decimal("125.00"), 2)  # steady_open (14 June) and a quarter of late_open
        assert eur[D(2025, 6, 16)] == eur[D(2025, 6, 23)] == (Decimal("25.00"), 1)
        assert eur[D(2025, 6, 30)] == (Decimal("0.00"), 0)
    finally:
        db.dispose()


def test_reports_need_the_permission(db: Database) -> None:
    nobody = Actor("mallory", "guest")
    f = ReportFilters(D(2025, 1, 1), D(2025, 1, 31))
    calls = [lambda: reports.dashboard(db, nobody, f, TODAY), lambda: reports.revenue_series(db, nobody, f),
             lambda: reports.revenue_invoices(db, nobody, f, "month", D(2025, 1, 1), "EUR"),
             lambda: reports.aging(db, nobody, TODAY), lambda: reports.aging_by_customer(db, nobody, TODAY),
             lambda: reports.aging_invoices(db, nobody, TODAY, "EUR"),
             lambda: reports.customer_statement(db, nobody, 1, "EUR", D(2025, 1, 1), TODAY),
             lambda: reports.tax_report(db, nobody, D(2025, 1, 1), TODAY),
             lambda: reports.payments_by_method(db, nobody, f), lambda: reports.collections(db, nobody, TODAY),
             lambda: reports.cash_forecast(db, nobody, TODAY)]
    for call in calls:
        with pytest.raises(PermissionDeniedError):
            call()


def test_maintained_report_data_is_verified(db: Database, world: World, tmp_path: Path) -> None:
    report = verify_database(db, SYSTEM)
    assert report.ok, report.problems
    with db.connect() as conn:
        dates = {r.id: (r.first_activity_on, r.last_activity_on) for r in conn.execute(sa.text(
            "SELECT id, first_activity_on, last_activity_on FROM invoices WHERE kind = 'invoice'"))}
    for doc in world.ledger.invoices():
        events = world.ledger.activity(doc)
        assert dates[doc.id] == ((min(events), max(events)) if events else (None, None))
    copy = tmp_path / "tampered.duckdb"
    shutil.copyfile(world.path, copy)
    tampered = Database(f"duckdb:///{copy}")
    try:
        with tampered.engine.begin() as conn:
            conn.execute(sa.text("UPDATE invoices SET last_activity_on = DATE '2030-01-01' WHERE id = :id"),
                         {"id": world.ledger.docs["b1"].id})
            conn.execute(sa.text("DELETE FROM sales_facts WHERE invoice_id = :id AND dimension = 'tax'"),
                         {"id": world.ledger.docs["g1"].id})
            conn.execute(sa.text("UPDATE invoices SET is_open = NOT is_open WHERE id = :id"),
                         {"id": world.ledger.docs["b1"].id})
        problems = verify_database(tampered, SYSTEM).problems
    finally:
        tampered.dispose()
    assert any("activity dates" in p for p in problems)
    assert any(" with a balance of " in p for p in problems)
    assert any(f"document {world.ledger.docs['g1'].id}" in p for p in problems)


def test_migrations_2_and_3_fill_the_report_data_of_a_version_1_database(world: World, tmp_path: Path) -> None:
    old = tmp_path / "old.duckdb"
    con = duckdb.connect(str(old))
    con.execute(f"ATTACH '{world.path}' AS w (READ_ONLY)")
    tables = [r[0] for r in con.execute("SELECT table_name FROM information_schema.tables "
                                        "WHERE table_catalog = 'w'").fetchall()]
    for name in tables:
        if name == "invoices":
            con.execute("CREATE TABLE invoices AS "
                        "SELECT * EXCLUDE (first_activity_on, last_activity_on, is_open) FROM w.invoices")
        elif name == "schema_version":
            con.execute("CREATE TABLE schema_version AS SELECT * FROM w.schema_version WHERE version = 1")
        elif name not in ("sales_facts", "collection_facts"):
            con.execute(f"CREATE TABLE {name} AS SELECT * FROM w.{name}")
    con.close()
    signing.copy_installation_files(f"duckdb:///{world.path}", f"duckdb:///{old}")  # the chain's key and head
    migrated = Database(f"duckdb:///{old}")
    try:
        assert migrated.migrate() == MIGRATIONS[-1][0]
        assert verify_database(migrated, SYSTEM).ok
        with migrated.connect() as conn:
            assert facts.maintained_problems(conn) == []
            fact_rows = conn.execute(sa.text("SELECT count(*) FROM sales_facts")).scalar_one()
    finally:
        migrated.dispose()
    original = Database(f"duckdb:///{world.path}")
    try:
        with original.connect() as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM sales_facts")).scalar_one() == fact_rows
    finally:
        original.dispose()


# --- the demo dataset ------------------------------------------------------------------------

@pytest.mark.slow
def test_demo_aging_matches_raw_tables(tmp_path: Path) -> None:
    as_of = D(2026, 11, 25)
    db = Database(f"duckdb:///{tmp_path}/demo.duckdb")
    db.migrate()
    try:
        load_demo(db, SYSTEM, "S", as_of)
        with db.connect() as conn:
            inv = pd.read_sql(sa.text("SELECT id, kind, status, currency, issue_date, due_date, voided_on, payable, "
                                      "paid_amount, credited_amount, credited_invoice_id FROM invoices"), conn,
                              coerce_float=False)
            alloc = pd.read_sql(sa.text("SELECT invoice_id, amount, allocated_on FROM allocations"), conn,
                                coerce_float=False)
            assert facts.maintained_problems(conn) == []
        today = reports.aging(db, SYSTEM, as_of)
        issued = inv[(inv["kind"] == "invoice") & (inv["status"] == "issued")]
        balance = issued["payable"] - issued["paid_amount"] - issued["credited_amount"]
        current = balance[balance > 0].groupby(issued["currency"]).sum()
        assert {r["currency"]: r["Total"] for r in today.to_dict("records")} == \
            {c: Decimal(v).quantize(Decimal(1) if c == "JPY" else Decimal("0.01")) for c, v in current.items()}
        for past in (D(2025, 11, 25), D(2026, 6, 30)):
            frame = reports.aging(db, SYSTEM, past)
            assert {r["currency"]: r["Total"] for r in frame.to_dict("records")} == _pandas_aging(inv, alloc, past)
    finally:
        db.dispose()


def _pandas_aging(inv: pd.DataFrame, alloc: pd.DataFrame, on: date) -> dict[str, Decimal]:
    """Outstanding per currency as of `on`, the plain way: payable less what was paid and credited by then."""
    paid = alloc[alloc["allocated_on"] <= on].groupby("invoice_id")["amount"].sum().to_dict()
    notes = inv[(inv["kind"] == "credit_note") & (inv["status"] == "issued") & (inv["issue_date"] <= on)]
    credited = notes.groupby("credited_invoice_id")["payable"].sum().to_dict()
    alive = (inv["kind"] == "invoice") & (inv["issue_date"] <= on) & (
        (inv["status"] == "issued") | ((inv["status"] == "void") & (inv["voided_on"] > on)))
    docs = inv[alive].set_index("id")
    nothing = Decimal(0)
    left = docs["payable"] - docs.index.map(lambda i: paid.get(i, nothing)).to_series(index=docs.index) \
        - docs.index.map(lambda i: credited.get(i, nothing)).to_series(index=docs.index)
    positive = left[left > 0]
    sums = positive.groupby(docs.loc[positive.index, "currency"]).sum()
    return {c: Decimal(v).quantize(Decimal(1) if c == "JPY" else Decimal("0.01")) for c, v in sums.items()}


# --- the same reports on PostgreSQL ----------------------------------------------------------

def _pg_available() -> bool:
    return (PG_BIN / "initdb").exists() or bool(os.environ.get("CI"))


def _same_reports(db: Database) -> dict[str, Any]:
    """Every report function once, with options that reach each SQL path."""
    year = ReportFilters(D(2025, 1, 1), D(2025, 6, 30))
    widget = ReportFilters(D(2025, 1, 1), D(2025, 6, 30), product_ids=(1,), statuses=("paid", "overdue"))
    results: dict[str, Any] = {
        "dashboard": reports.dashboard(db, SYSTEM, ReportFilters(D(2025, 3, 1), D(2025, 3, 31)), D(2025, 4, 30)),
        "dashboard filtered": reports.dashboard(db, SYSTEM, widget, D(2025, 4, 30)),
        "statement": reports.customer_statement(db, SYSTEM, 2, "EUR", D(2025, 2, 1), D(2025, 3, 31)).entries,
        "tax": reports.tax_report(db, SYSTEM, D(2025, 1, 1), D(2025, 6, 30)),
        "payments": reports.payments_by_method(db, SYSTEM, year, "week"),
        "forecast": reports.cash_forecast(db, SYSTEM, D(2025, 2, 1)),
        "collections": reports.collections(db, SYSTEM, D(2025, 4, 30))[0],
    }
    for breakdown in reports.BREAKDOWNS:
        results[f"series {breakdown}"] = reports.revenue_series(db, SYSTEM, year, "quarter", breakdown, as_of=TODAY)
        results[f"series {breakdown} filtered"] = reports.revenue_series(db, SYSTEM, widget, "month", breakdown,
                                                                         as_of=TODAY)
    for on in AGING_DATES:
        results[f"aging {on}"] = reports.aging(db, SYSTEM, on)
        results[f"aging by customer {on}"] = reports.aging_by_customer(db, SYSTEM, on)[0]
    results["drill-down"] = reports.aging_invoices(db, SYSTEM, D(2025, 3, 16), "EUR", "1-30")[0]
    results["revenue drill-down"] = reports.revenue_invoices(db, SYSTEM, year, "month", D(2025, 3, 1), "EUR",
                                                             "tax_rate", "S:19", as_of=TODAY)[0]
    return {name: frame.to_dict("records") for name, frame in results.items()}


@pytest.mark.slow
def test_reports_give_the_same_figures_on_postgresql(world: World, request: pytest.FixtureRequest) -> None:
    if not _pg_available():
        pytest.skip("PostgreSQL 15 server binaries are not installed")
    pg = Database(request.getfixturevalue("pg_url"))
    pg.migrate()
    duck = Database(f"duckdb:///{world.path}")
    try:
        build(pg)
        assert verify_database(pg, SYSTEM).ok
        on_postgres, on_duckdb = _same_reports(pg), _same_reports(duck)
        for name, rows in on_duckdb.items():
            assert on_postgres[name] == rows, name
    finally:
        pg.dispose()
        duck.dispose()
