"""Property-based tests (Hypothesis) for the invariants of billing.logic's money math."""

from __future__ import annotations

import dataclasses
from datetime import date
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from billing.logic import AllowanceCharge, Line, Totals, allocate_oldest_first, compute_totals
from billing.money import HUNDRED, minor_unit, round_money

# Modest and local (a global profile would change every other Hypothesis test in the run).
modest = settings(max_examples=200, deadline=None)

CURRENCIES = st.sampled_from(["EUR", "JPY", "KWD"])
TAX_CATEGORIES = st.sampled_from(
    [
        ("S", Decimal("20")),
        ("S", Decimal("10")),
        ("S", Decimal("5.5")),
        ("S", Decimal("7.7")),
        ("S", Decimal("25.00")),
        ("E", Decimal("0")),
        ("Z", Decimal("0")),
        ("AE", Decimal("0")),
    ]
)


def _decimals(low: str, high: str, places: int) -> st.SearchStrategy[Decimal]:
    """Decimals in [low, high] with exactly `places` decimals (integers scaled: much faster to draw)."""
    scale = Decimal(10) ** places
    return st.integers(int(Decimal(low) * scale), int(Decimal(high) * scale)).map(
        lambda units: Decimal(units).scaleb(-places)
    )


# Strategies are built once here: building them inside a composite re-validates them on every draw.
QUANTITIES = _decimals("-50", "1000", 3)
PRICES = _decimals("0", "10000", 4)
BASE_QUANTITIES = st.sampled_from([Decimal(1), Decimal(10), Decimal(12), Decimal("0.5")])
PERCENTS = _decimals("0", "100", 2)
SMALL_AMOUNTS = _decimals("0", "100", 2)
OPTIONAL_PERCENTS = st.one_of(st.just(Decimal(0)), PERCENTS)
OPTIONAL_AMOUNTS = st.one_of(st.just(Decimal(0)), SMALL_AMOUNTS)
DOCUMENT_AMOUNTS = _decimals("0", "500", 3)
BASE_AMOUNTS = st.one_of(st.none(), _decimals("0", "5000", 2))


@st.composite
def lines(draw: st.DrawFn) -> Line:
    category, rate = draw(TAX_CATEGORIES)
    return Line(
        quantity=draw(QUANTITIES),
        net_price=draw(PRICES),
        vat_category=category,
        vat_rate=rate,
        base_quantity=draw(BASE_QUANTITIES),
        discount_percent=draw(OPTIONAL_PERCENTS),
        discount_amount=draw(OPTIONAL_AMOUNTS),
        charge_amount=draw(OPTIONAL_AMOUNTS),
    )


@st.composite
def allowance_charges(draw: st.DrawFn) -> AllowanceCharge:
    category, rate = draw(TAX_CATEGORIES)
    is_charge = draw(st.booleans())
    if draw(st.booleans()):
        return AllowanceCharge(is_charge, category, rate, amount=draw(DOCUMENT_AMOUNTS))
    return AllowanceCharge(is_charge, category, rate, percent=draw(PERCENTS), base_amount=draw(BASE_AMOUNTS))


DOCUMENTS = st.tuples(
    st.lists(lines(), min_size=0, max_size=8),
    st.lists(allowance_charges(), max_size=3),
    CURRENCIES,
    _decimals("0", "1000", 3),
    _decimals("-1", "1", 3),
)


def _money_figures(totals: Totals) -> list[Decimal]:
    figures = [
        totals.line_total,
        totals.allowance_total,
        totals.charge_total,
        totals.tax_exclusive,
        totals.tax_total,
        totals.tax_inclusive,
        totals.prepaid,
        totals.rounding,
        totals.payable,
        *totals.line_nets,
    ]
    for entry in totals.tax_breakdown:
        figures += [entry.taxable, entry.tax]
    return figures


def _walk(value: object) -> list[object]:
    """Every leaf value inside dataclasses, tuples and lists."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return [leaf for f in dataclasses.fields(value) for leaf in _walk(getattr(value, f.name))]
    if isinstance(value, tuple | list):
        return [leaf for item in value for leaf in _walk(item)]
    return [value]


def _totals(document: tuple[list[Line], list[AllowanceCharge], str, Decimal, Decimal]) -> Totals:
    doc_lines, items, currency, prepaid, rounding = document
    return compute_totals(doc_lines, items, currency, prepaid, rounding)


@modest
@given(DOCUMENTS)
def test_totals_identities(document: tuple[list[Line], list[AllowanceCharge], str, Decimal, Decimal]) -> None:
    totals = _totals(document)
    assert totals.line_total == sum(totals.line_nets, Decimal(0))
    assert totals.tax_exclusive == totals.line_total - totals.allowance_total + totals.charge_total
    assert totals.tax_inclusive == totals.tax_exclusive + totals.tax_total
    assert totals.payable == totals.tax_inclusive - totals.prepaid + totals.rounding
    assert sum((entry.taxable for entry in totals.tax_breakdown), Decimal(0)) == totals.tax_exclusive
    assert totals.tax_total == sum((entry.tax for entry in totals.tax_breakdown), Decimal(0))
    for entry in totals.tax_breakdown:
        # Tax rounded once per (category, rate) entry.
        assert entry.tax == round_money(entry.taxable * entry.vat_rate / HUNDRED, totals.currency)
    keys = [(entry.vat_category, entry.vat_rate) for entry in totals.tax_breakdown]
    assert len(keys) == len(set(keys))


@modest
@given(DOCUMENTS)
def test_every_figure_has_the_currency_minor_unit(
    document: tuple[list[Line], list[AllowanceCharge], str, Decimal, Decimal],
) -> None:
    totals = _totals(document)
    for figure in _money_figures(totals):
        assert isinstance(figure, Decimal)
        assert figure.as_tuple().exponent == -minor_unit(totals.currency), figure


@modest
@given(DOCUMENTS)
def test_no_float_in_totals(document: tuple[list[Line], list[AllowanceCharge], str, Decimal, Decimal]) -> None:
    leaves = _walk(_totals(document))
    assert not any(isinstance(leaf, float) for leaf in leaves)
    assert any(isinstance(leaf, Decimal) for leaf in leaves)


@modest
@given(DOCUMENTS, st.data())
def test_totals_independent_of_line_order(
    document: tuple[list[Line], list[AllowanceCharge], str, Decimal, Decimal], data: st.DataObject
) -> None:
    doc_lines, items, currency, prepaid, rounding = document
    shuffled = data.draw(st.permutations(doc_lines))
    original = compute_totals(doc_lines, items, currency, prepaid, rounding)
    reordered = compute_totals(shuffled, items, currency, prepaid, rounding)
    assert sorted(reordered.line_nets) == sorted(original.line_nets)
    assert dataclasses.replace(reordered, line_nets=()) == dataclasses.replace(original, line_nets=())


INVOICE_IDS = st.lists(st.integers(1, 10_000), unique=True, max_size=10)
DUE_DATES = st.dates(date(2020, 1, 1), date(2026, 12, 31))
BALANCES = _decimals("-50", "5000", 2)
PAYMENTS = _decimals("0", "30000", 2)


@st.composite
def open_items(draw: st.DrawFn) -> list[tuple[int, date, Decimal]]:
    return [(invoice_id, draw(DUE_DATES), draw(BALANCES)) for invoice_id in draw(INVOICE_IDS)]


@modest
@given(PAYMENTS, open_items())
def test_allocation_sums_to_what_can_be_allocated(amount: Decimal, items: list[tuple[int, date, Decimal]]) -> None:
    allocations = allocate_oldest_first(amount, items)
    total_open = sum((balance for _, _, balance in items if balance > 0), Decimal(0))
    assert sum((allocated for _, allocated in allocations), Decimal(0)) == min(amount, total_open)
    balances = {invoice_id: balance for invoice_id, _, balance in items}
    allocated_ids = [invoice_id for invoice_id, _ in allocations]
    assert len(allocated_ids) == len(set(allocated_ids))
    for invoice_id, allocated in allocations:
        assert Decimal(0) < allocated <= balances[invoice_id]
    assert not any(isinstance(leaf, float) for leaf in _walk(allocations))


@modest
@given(PAYMENTS, open_items())
def test_allocation_pays_oldest_first(amount: Decimal, items: list[tuple[int, date, Decimal]]) -> None:
    allocations = allocate_oldest_first(amount, items)
    balances = {invoice_id: balance for invoice_id, _, balance in items}
    # Every invoice but the last one allocated to is settled in full.
    for invoice_id, allocated in allocations[:-1]:
        assert allocated == balances[invoice_id]
    due = {invoice_id: (due_date, invoice_id) for invoice_id, due_date, _ in items}
    order = [due[invoice_id] for invoice_id, _ in allocations]
    assert order == sorted(order)
