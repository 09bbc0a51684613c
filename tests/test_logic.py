"""Exact unit tests for the pure money math in billing.logic and billing.money."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from billing.errors import StateError, ValidationError
from billing.logic import (
    CREDIT_NOTE,
    CREDITED,
    DRAFT,
    FIRST_DATE,
    INVOICE,
    ISSUED,
    LAST_DATE,
    OVERDUE,
    PAID,
    PARTIALLY_PAID,
    UNPAID,
    VOID,
    AllowanceCharge,
    Line,
    TaxSubtotal,
    allocate_oldest_first,
    can_credit,
    can_credit_whole,
    can_void,
    check_can_edit,
    check_can_void,
    check_credit_amount,
    check_credit_quantity,
    check_date,
    check_due_date,
    check_pattern,
    compute_totals,
    creditable_amount,
    creditable_quantity,
    delivery_date_at_issue,
    display_status,
    document_display_status,
    due_date_for,
    format_number,
    line_net,
    net_price,
    payment_status,
    void_problem,
)
from billing.money import (
    check_currency,
    minor_unit,
    parse_money,
    round_money,
    to_decimal,
)

D = Decimal


def _exponent(value: Decimal) -> int:
    exponent = value.as_tuple().exponent
    assert isinstance(exponent, int)
    return exponent


# --- line_net ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "currency", "expected"),
    [
        pytest.param(Line(D("3"), D("4.115")), "EUR", "12.35", id="half-up"),
        pytest.param(Line(D("1"), D("0.125")), "EUR", "0.13", id="half-up-not-bankers"),
        pytest.param(Line(D("2"), D("10.00"), discount_percent=D("10")), "EUR", "18.00", id="percent"),
        pytest.param(Line(D("1"), D("19.99"), discount_percent=D("15")), "EUR", "16.99", id="percent-rounded"),
        pytest.param(Line(D("2"), D("10.00"), discount_amount=D("1.50")), "EUR", "18.50", id="amount"),
        pytest.param(
            Line(D("4"), D("25.00"), discount_percent=D("10"), discount_amount=D("5.00")),
            "EUR",
            "85.00",
            id="percent-and-amount",
        ),
        pytest.param(Line(D("1"), D("100.00"), charge_amount=D("7.25")), "EUR", "107.25", id="charge"),
        pytest.param(
            Line(D("2"), D("1273.00"), discount_amount=D("12.00"), charge_amount=D("12.00")),
            "EUR",
            "2546.00",
            id="charge-and-allowance",
        ),
        pytest.param(Line(D("250"), D("0.75"), base_quantity=D("1")), "EUR", "187.50", id="base-qty-1"),
        pytest.param(Line(D("3"), D("10.00"), base_quantity=D("12")), "EUR", "2.50", id="base-qty-12"),
        pytest.param(Line(D("5"), D("1.00"), base_quantity=D("3")), "EUR", "1.67", id="base-qty-repeating"),
        pytest.param(Line(D("100.000"), D("0.1212")), "EUR", "12.12", id="four-decimal-price"),
        pytest.param(Line(D("-1"), D("3.96")), "EUR", "-3.96", id="returned-item"),
        pytest.param(Line(D("-1"), D("0.125")), "EUR", "-0.13", id="negative-half-away-from-zero"),
        pytest.param(Line(D("-3"), D("4.115")), "EUR", "-12.35", id="negative-half-up"),
        pytest.param(Line(D("1"), D("-0.005")), "EUR", "-0.01", id="negative-price"),
        pytest.param(Line(D("6"), D("18.33"), net_amount=D("-109.98")), "EUR", "-109.98", id="stated-net"),
        pytest.param(Line(D("1"), D("1.00"), net_amount=D("2.345")), "EUR", "2.35", id="stated-net-rounded"),
        pytest.param(Line(D("3"), D("333.5")), "JPY", "1001", id="jpy-half-up"),
        pytest.param(Line(D("1"), D("2.5")), "JPY", "3", id="jpy-half-not-bankers"),
        pytest.param(Line(D("-1"), D("2.5")), "JPY", "-3", id="jpy-negative"),
        pytest.param(Line(D("1"), D("1234.4")), "JPY", "1234", id="jpy-down"),
        pytest.param(Line(D("1"), D("1.2345")), "KWD", "1.235", id="kwd-half-up"),
        pytest.param(Line(D("-1"), D("1.2345")), "KWD", "-1.235", id="kwd-negative"),
        pytest.param(Line(D("3"), D("0.3333")), "KWD", "1.000", id="kwd-carry"),
        pytest.param(Line(D("0"), D("99.99")), "EUR", "0.00", id="zero-quantity"),
    ],
)
def test_line_net(line: Line, currency: str, expected: str) -> None:
    result = line_net(line, currency)
    assert result == D(expected)
    # Exactly the currency's minor unit, not just numerically equal: "1001" not "1001.0".
    assert str(result) == expected
    assert _exponent(result) == -minor_unit(currency)


@pytest.mark.parametrize("base_quantity", [D("0"), D("-1")])
def test_line_net_refuses_non_positive_base_quantity(base_quantity: Decimal) -> None:
    with pytest.raises(ValidationError):
        line_net(Line(D("1"), D("1.00"), base_quantity=base_quantity), "EUR")


@pytest.mark.parametrize(
    ("gross", "discount", "expected"),
    [("1273.00", "225.00", "1048.00"), ("0.1234", "0.0022", "0.1212"), ("9.95", "0", "9.95")],
)
def test_net_price(gross: str, discount: str, expected: str) -> None:
    assert net_price(D(gross), D(discount)) == D(expected)


# --- compute_totals ---------------------------------------------------------------------------


def test_tax_rounded_once_per_entry_not_per_line() -> None:
    # Per line: 1.05 x 10% = 0.105 -> 0.11, three times 0.33. Once: 3.15 x 10% = 0.315 -> 0.32.
    lines = [Line(D("1"), D("1.05"), "S", D("10"))] * 3
    totals = compute_totals(lines, currency="EUR")
    assert totals.tax_breakdown == (TaxSubtotal("S", D("10"), D("3.15"), D("0.32")),)
    assert totals.tax_total == D("0.32")
    assert totals.tax_inclusive == D("3.47")


def test_tax_rounded_once_per_entry_rounding_down() -> None:
    # Per line: 2.50 x 19% = 0.475 -> 0.48, twice 0.96. Once: 5.00 x 19% = 0.95.
    totals = compute_totals([Line(D("1"), D("2.50"), "S", D("19"))] * 2)
    assert totals.tax_total == D("0.95")


def test_totals_simple_invoice() -> None:
    totals = compute_totals([Line(D("2"), D("49.995"), "S", D("20"))], currency="EUR")
    assert totals.currency == "EUR"
    assert totals.line_nets == (D("99.99"),)
    assert totals.line_total == D("99.99")
    assert totals.allowance_total == D("0.00")
    assert totals.charge_total == D("0.00")
    assert totals.tax_exclusive == D("99.99")
    assert totals.tax_total == D("20.00")  # 19.998
    assert totals.tax_inclusive == D("119.99")
    assert totals.prepaid == D("0.00")
    assert totals.rounding == D("0.00")
    assert totals.payable == D("119.99")


def test_breakdown_one_entry_per_category_and_rate_sorted() -> None:
    lines = [
        Line(D("1"), D("100.00"), "S", D("20")),
        Line(D("1"), D("50.00"), "S", D("10")),
        Line(D("1"), D("30.00"), "E", D("0")),
        Line(D("2"), D("10.00"), "S", D("20")),
    ]
    totals = compute_totals(lines)
    assert totals.tax_breakdown == (
        TaxSubtotal("E", D("0"), D("30.00"), D("0.00")),
        TaxSubtotal("S", D("10"), D("50.00"), D("5.00")),
        TaxSubtotal("S", D("20"), D("120.00"), D("24.00")),
    )
    assert totals.tax_exclusive == D("200.00")
    assert totals.tax_total == D("29.00")
    assert totals.tax_inclusive == D("229.00")


def test_equal_rates_written_differently_share_one_entry() -> None:
    lines = [Line(D("1"), D("10.00"), "S", D("20")), Line(D("1"), D("10.00"), "S", D("20.00"))]
    (entry,) = compute_totals(lines).tax_breakdown
    assert entry.vat_rate == D("20")
    assert entry.taxable == D("20.00")
    assert entry.tax == D("4.00")


def test_document_allowance_amount_reduces_its_category() -> None:
    lines = [Line(D("1"), D("100.00"), "S", D("20")), Line(D("1"), D("50.00"), "S", D("10"))]
    allowance = AllowanceCharge(is_charge=False, vat_category="S", vat_rate=D("20"), amount=D("10.00"))
    totals = compute_totals(lines, [allowance])
    assert totals.allowance_total == D("10.00")
    assert totals.charge_total == D("0.00")
    assert totals.tax_exclusive == D("140.00")
    assert totals.tax_breakdown == (
        TaxSubtotal("S", D("10"), D("50.00"), D("5.00")),
        TaxSubtotal("S", D("20"), D("90.00"), D("18.00")),
    )
    assert totals.tax_total == D("23.00")
    assert totals.payable == D("163.00")


def test_document_charge_percent_of_line_total() -> None:
    charge = AllowanceCharge(is_charge=True, vat_category="S", vat_rate=D("25"), percent=D("5"))
    totals = compute_totals([Line(D("1"), D("200.00"), "S", D("25"))], [charge])
    assert totals.charge_total == D("10.00")
    assert totals.tax_exclusive == D("210.00")
    assert totals.tax_total == D("52.50")
    assert totals.payable == D("262.50")


def test_document_allowance_percent_of_explicit_base() -> None:
    lines = [Line(D("1"), D("100.00"), "S", D("20")), Line(D("1"), D("50.00"), "S", D("10"))]
    allowance = AllowanceCharge(
        is_charge=False, vat_category="S", vat_rate=D("20"), percent=D("10"), base_amount=D("100.00")
    )
    totals = compute_totals(lines, [allowance])
    assert totals.allowance_total == D("10.00")
    assert totals.tax_exclusive == D("140.00")
    assert totals.tax_total == D("23.00")


def test_document_allowance_percent_is_rounded() -> None:
    # 33.33 x 2.5% = 0.83325 -> 0.83.
    allowance = AllowanceCharge(is_charge=False, vat_category="S", vat_rate=D("20"), percent=D("2.5"))
    totals = compute_totals([Line(D("1"), D("33.33"), "S", D("20"))], [allowance])
    assert totals.allowance_total == D("0.83")
    assert totals.tax_breakdown == (TaxSubtotal("S", D("20"), D("32.50"), D("6.50")),)


def test_document_charge_in_category_without_lines_gets_own_entry() -> None:
    charge = AllowanceCharge(is_charge=True, vat_category="E", vat_rate=D("0"), amount=D("5.00"))
    totals = compute_totals([Line(D("1"), D("100.00"), "S", D("20"))], [charge])
    assert totals.tax_breakdown == (
        TaxSubtotal("E", D("0"), D("5.00"), D("0.00")),
        TaxSubtotal("S", D("20"), D("100.00"), D("20.00")),
    )
    assert totals.tax_exclusive == D("105.00")


def test_document_allowance_needs_amount_or_percent() -> None:
    empty = AllowanceCharge(is_charge=False, vat_category="S", vat_rate=D("20"))
    with pytest.raises(ValidationError):
        compute_totals([Line(D("1"), D("10.00"), "S", D("20"))], [empty])


@pytest.mark.parametrize(
    ("prepaid", "rounding", "payable"),
    [
        ("0", "0", "11.91"),
        ("5.00", "0", "6.91"),
        ("5.00", "-0.01", "6.90"),
        ("0", "0.09", "12.00"),
        ("11.91", "0", "0.00"),
    ],
)
def test_prepaid_and_rounding_give_payable(prepaid: str, rounding: str, payable: str) -> None:
    # 10.01 x 19% = 1.9019 -> 1.90, tax-inclusive 11.91.
    totals = compute_totals([Line(D("1"), D("10.01"), "S", D("19"))], (), "EUR", D(prepaid), D(rounding))
    assert totals.tax_inclusive == D("11.91")
    assert totals.prepaid == D(prepaid)
    assert totals.rounding == D(rounding)
    assert totals.payable == D(payable)


def test_payable_adds_up_from_the_rounded_prepaid_and_rounding() -> None:
    # Inputs finer than the minor unit: the shown figures must still satisfy BR-CO-16
    # (0.00 - 0.00 + -0.44 = -0.44, not -0.45 from the unrounded -0.445).
    totals = compute_totals([], (), "EUR", D("0.001"), D("-0.444"))
    assert (totals.prepaid, totals.rounding) == (D("0.00"), D("-0.44"))
    assert totals.payable == D("-0.44")


def test_negative_lines_net_against_positive_lines() -> None:
    lines = [Line(D("1"), D("25.00"), "S", D("20")), Line(D("-1"), D("10.00"), "S", D("20"))]
    totals = compute_totals(lines)
    assert totals.line_nets == (D("25.00"), D("-10.00"))
    assert totals.tax_breakdown == (TaxSubtotal("S", D("20"), D("15.00"), D("3.00")),)


def test_negative_tax_rounds_half_away_from_zero() -> None:
    # -0.05 x 10% = -0.005 -> -0.01.
    totals = compute_totals([Line(D("-1"), D("0.05"), "S", D("10"))])
    assert totals.tax_total == D("-0.01")
    assert totals.payable == D("-0.06")


def test_totals_jpy() -> None:
    totals = compute_totals([Line(D("3"), D("333.5"), "S", D("10"))], currency="JPY")
    assert totals.line_total == D("1001")
    assert totals.tax_total == D("100")  # 100.1
    assert totals.payable == D("1101")
    assert str(totals.payable) == "1101"


def test_totals_kwd() -> None:
    totals = compute_totals([Line(D("1"), D("1.2345"), "S", D("5"))], currency="KWD")
    assert totals.line_total == D("1.235")
    assert totals.tax_total == D("0.062")  # 0.06175
    assert totals.payable == D("1.297")
    assert str(totals.payable) == "1.297"


def test_totals_without_lines_are_zero() -> None:
    totals = compute_totals([])
    assert totals.line_nets == ()
    assert totals.tax_breakdown == ()
    assert str(totals.payable) == "0.00"


# --- lifecycle --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("payable", "allocated", "credited", "expected"),
    [
        ("100.00", "0", "0", UNPAID),
        ("100.00", "40.00", "0", PARTIALLY_PAID),
        ("100.00", "0", "40.00", PARTIALLY_PAID),
        ("100.00", "99.99", "0", PARTIALLY_PAID),
        ("100.00", "60.00", "40.00", PAID),
        ("100.00", "100.00", "0", PAID),
        ("100.00", "110.00", "0", PAID),
        ("0.00", "0", "0", PAID),
    ],
)
def test_payment_status(payable: str, allocated: str, credited: str, expected: str) -> None:
    assert payment_status(D(payable), D(allocated), D(credited)) == expected


AS_OF = date(2024, 6, 15)


@pytest.mark.parametrize(
    ("doc_status", "allocated", "due_date", "expected"),
    [
        (DRAFT, "0", date(2024, 6, 1), DRAFT),
        (VOID, "0", date(2024, 6, 1), VOID),
        (ISSUED, "0", date(2024, 6, 16), UNPAID),
        (ISSUED, "0", AS_OF, UNPAID),  # due today is not yet overdue
        (ISSUED, "0", date(2024, 6, 14), "overdue"),
        (ISSUED, "30.00", date(2024, 6, 14), "overdue"),
        (ISSUED, "30.00", date(2024, 6, 16), PARTIALLY_PAID),
        (ISSUED, "100.00", date(2024, 6, 1), PAID),
        (ISSUED, "0", None, UNPAID),
    ],
)
def test_display_status(doc_status: str, allocated: str, due_date: date | None, expected: str) -> None:
    assert display_status(doc_status, D("100.00"), D(allocated), D("0"), due_date, AS_OF) == expected


def test_display_status_credited_in_full_is_credited_not_overdue() -> None:
    assert display_status(ISSUED, D("100.00"), D("0"), D("100.00"), date(2024, 1, 1), AS_OF) == "credited"


@pytest.mark.parametrize(
    ("issue", "terms", "given", "expected"),
    [
        (date(2024, 1, 31), 30, None, date(2024, 3, 1)),  # leap year
        (date(2023, 1, 31), 30, None, date(2023, 3, 2)),
        (date(2024, 12, 15), 30, None, date(2025, 1, 14)),
        (date(2024, 1, 1), 0, None, date(2024, 1, 1)),
        (date(2024, 1, 1), 30, date(2024, 1, 1), date(2024, 1, 1)),
        (date(2024, 1, 1), 30, date(2024, 2, 15), date(2024, 2, 15)),
    ],
)
def test_due_date_for(issue: date, terms: int, given: date | None, expected: date) -> None:
    assert due_date_for(issue, terms, given) == expected


def test_due_date_before_issue_date_is_refused() -> None:
    with pytest.raises(ValidationError):
        due_date_for(date(2024, 1, 10), 30, date(2024, 1, 9))


@pytest.mark.parametrize(("issue", "due"), [(date(2024, 1, 10), date(2024, 1, 10)), (None, date(2024, 1, 1)),
                                            (date(2024, 1, 10), None), (None, None)])
def test_check_due_date_accepts(issue: date | None, due: date | None) -> None:
    check_due_date(issue, due)


def test_check_due_date_refuses_a_due_date_before_the_issue_date() -> None:
    with pytest.raises(ValidationError, match="before the issue date"):
        check_due_date(date(2024, 1, 10), date(2024, 1, 9))


def test_check_can_edit() -> None:
    check_can_edit(DRAFT)
    for status in (ISSUED, VOID):
        with pytest.raises(StateError):
            check_can_edit(status)


def test_check_can_void_allows_untouched_issued_invoice() -> None:
    check_can_void(ISSUED, D("0"), D("0"), "Sent to the wrong customer")


@pytest.mark.parametrize(
    ("status", "allocated", "credited", "reason", "error"),
    [
        (DRAFT, "0", "0", "reason", StateError),
        (VOID, "0", "0", "reason", StateError),
        (ISSUED, "0.01", "0", "reason", StateError),
        (ISSUED, "0", "10.00", "reason", StateError),
        (ISSUED, "0", "0", "", ValidationError),
        (ISSUED, "0", "0", "   ", ValidationError),
    ],
)
def test_check_can_void_refuses(
    status: str, allocated: str, credited: str, reason: str, error: type[Exception]
) -> None:
    with pytest.raises(error):
        check_can_void(status, D(allocated), D(credited), reason)


@pytest.mark.parametrize(
    ("status", "allocated", "credited", "credits_invoice", "expected"),
    [
        (ISSUED, "0", "0", False, True),
        (ISSUED, "0", "0", True, False),
        (DRAFT, "0", "0", False, False),
        (VOID, "0", "0", False, False),
        (ISSUED, "0.01", "0", False, False),
        (ISSUED, "0", "-0.01", False, False),
    ],
)
def test_can_void_agrees_with_check_can_void(status: str, allocated: str, credited: str, credits_invoice: bool,
                                             expected: bool) -> None:
    assert can_void(status, D(allocated), D(credited), credits_invoice) is expected
    assert (void_problem(status, D(allocated), D(credited), credits_invoice) is None) is expected
    if not expected:
        with pytest.raises(StateError):
            check_can_void(status, D(allocated), D(credited), "a reason", credits_invoice)


@pytest.mark.parametrize(
    ("kind", "status", "payable", "credited", "expected"),
    [
        (INVOICE, ISSUED, "100.00", "0", True),
        (INVOICE, ISSUED, "100.00", "99.99", True),
        (INVOICE, ISSUED, "100.00", "100.00", False),
        (INVOICE, DRAFT, "100.00", "0", False),
        (INVOICE, VOID, "100.00", "0", False),
        (CREDIT_NOTE, ISSUED, "100.00", "0", False),
    ],
)
def test_can_credit(kind: str, status: str, payable: str, credited: str, expected: bool) -> None:
    assert can_credit(kind, status, D(payable), D(credited)) is expected


def test_what_can_still_be_credited() -> None:
    assert creditable_amount(D("119.00"), D("59.50")) == D("59.50")
    assert can_credit_whole(D("0")) and not can_credit_whole(D("0.01"))
    assert creditable_quantity(D("3"), D("1")) == D("2")


@pytest.mark.parametrize(("quantity", "invoiced", "already"), [("2", "3", "1"), ("0.5", "3", "0"), ("-1", "-2", "0")])
def test_check_credit_quantity_accepts(quantity: str, invoiced: str, already: str) -> None:
    check_credit_quantity(D(quantity), D(invoiced), D(already), "Line 1 (Pens)")


@pytest.mark.parametrize(
    ("quantity", "invoiced", "already", "message"),
    [
        ("3", "3", "1", "Line 1 (Pens): 1 of 3 already credited; at most 2 more can be credited."),
        ("4", "3", "0", "Line 1 (Pens): at most 3 can be credited."),
        ("-1", "3", "0", "Line 1 (Pens): at most 3 can be credited."),
        ("1", "-2", "0", "Line 1 (Pens): at most -2 can be credited."),
    ],
)
def test_check_credit_quantity_refuses(quantity: str, invoiced: str, already: str, message: str) -> None:
    with pytest.raises(ValidationError) as caught:
        check_credit_quantity(D(quantity), D(invoiced), D(already), "Line 1 (Pens)")
    assert caught.value.message == message


@pytest.mark.parametrize(
    ("kind", "status", "credited", "expected"),
    [
        (CREDIT_NOTE, ISSUED, "0", CREDIT_NOTE),
        (CREDIT_NOTE, VOID, "0", VOID),
        (INVOICE, ISSUED, "100.00", CREDITED),
        (INVOICE, DRAFT, "0", DRAFT),
        (INVOICE, ISSUED, "0", OVERDUE),
    ],
)
def test_document_display_status(kind: str, status: str, credited: str, expected: str) -> None:
    assert document_display_status(kind, status, D("100.00"), D("0"), D(credited), date(2024, 1, 1),
                                   date(2024, 2, 1)) == expected


@pytest.mark.parametrize(("credit", "remaining"), [("0.01", "100.00"), ("100.00", "100.00")])
def test_check_credit_amount_accepts(credit: str, remaining: str) -> None:
    check_credit_amount(D(credit), D(remaining))


@pytest.mark.parametrize(
    ("credit", "remaining"), [("0", "100.00"), ("-5.00", "100.00"), ("100.01", "100.00"), ("1.00", "0")]
)
def test_check_credit_amount_refuses(credit: str, remaining: str) -> None:
    with pytest.raises(ValidationError):
        check_credit_amount(D(credit), D(remaining))


# --- allocate_oldest_first --------------------------------------------------------------------

OPEN = [
    (1, date(2024, 3, 1), D("100.00")),
    (2, date(2024, 2, 1), D("80.00")),
    (3, date(2024, 4, 1), D("50.00")),
]


@pytest.mark.parametrize(
    ("amount", "expected"),
    [
        ("150.00", [(2, "80.00"), (1, "70.00")]),
        ("80.00", [(2, "80.00")]),
        ("30.00", [(2, "30.00")]),
        ("230.00", [(2, "80.00"), (1, "100.00"), (3, "50.00")]),
        ("500.00", [(2, "80.00"), (1, "100.00"), (3, "50.00")]),
        ("0", []),
    ],
)
def test_allocate_oldest_first(amount: str, expected: list[tuple[int, str]]) -> None:
    assert allocate_oldest_first(D(amount), OPEN) == [(i, D(a)) for i, a in expected]


def test_allocate_same_due_date_breaks_tie_by_id() -> None:
    due = date(2024, 1, 1)
    items = [(9, due, D("10.00")), (4, due, D("10.00"))]
    assert allocate_oldest_first(D("15.00"), items) == [(4, D("10.00")), (9, D("5.00"))]


def test_allocate_skips_settled_and_negative_balances() -> None:
    items = [(1, date(2024, 1, 1), D("0.00")), (2, date(2024, 1, 2), D("-5.00")), (3, date(2024, 1, 3), D("20.00"))]
    assert allocate_oldest_first(D("50.00"), items) == [(3, D("20.00"))]


# --- numbering --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "seq", "expected"),
    [
        ("INV-{YYYY}-{SEQ:05}", 42, "INV-2024-00042"),
        ("INV-{YYYY}-{SEQ:05}", 1, "INV-2024-00001"),
        ("INV-{YYYY}-{SEQ:05}", 123456, "INV-2024-123456"),
        ("INV-{YYYY}-{SEQ:5}", 42, "INV-2024-00042"),
        ("{YY}{MM}-{SEQ}", 7, "2403-7"),
        ("CN/{YYYY}/{MM}/{SEQ:03}", 5, "CN/2024/03/005"),
    ],
)
def test_format_number(pattern: str, seq: int, expected: str) -> None:
    assert format_number(pattern, seq, date(2024, 3, 15)) == expected


def test_format_number_needs_seq() -> None:
    with pytest.raises(ValidationError):
        format_number("INV-{YYYY}", 1, date(2024, 3, 15))


@pytest.mark.parametrize("pattern", ["INV-{SEQ:013}", "INV-{SEQ:0999999999}", "INV-{SEQ:0" + "9" * 5000 + "}"])
def test_format_number_refuses_a_padding_wider_than_12_digits(pattern: str) -> None:
    with pytest.raises(ValidationError, match="at most 12 digits"):  # not a gigabyte string, not a crash
        format_number(pattern, 1, date(2024, 3, 15))


def test_check_pattern() -> None:
    assert check_pattern("INV-{YYYY}-{SEQ:05}") == "INV-{YYYY}-{SEQ:05}"
    with pytest.raises(ValidationError):
        check_pattern("X" * 40 + "{SEQ}")


# --- billing.money ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("12.35", D("12.35")),
        (" 12.35 ", D("12.35")),
        ("-12.35", D("-12.35")),
        ("1,234.56", D("1234.56")),
        ("12,35", D("12.35")),
        (12, D("12")),
        (D("12.35"), D("12.35")),
        ("99999999999999.99", D("99999999999999.99")),
    ],
)
def test_to_decimal_accepts(value: object, expected: Decimal) -> None:
    result = to_decimal(value)
    assert isinstance(result, Decimal)
    assert result == expected


@pytest.mark.parametrize(
    "value",
    [
        "NaN",
        "nan",
        "sNaN",
        "Infinity",
        "-Infinity",
        "inf",
        D("NaN"),
        D("Infinity"),
        float("nan"),
        float("inf"),
        "100000000000000",
        "-100000000000000",
        "1e14",
        "1e1000",
        10**20,
        "abc",
        "",
        "12.3.4",
        "12 35",
        None,
        True,
        [12],
    ],
    ids=repr,
)
def test_to_decimal_refuses(value: object) -> None:
    with pytest.raises(ValidationError):
        to_decimal(value)


@pytest.mark.parametrize("value", [12.35, 0.0, -1.5])
def test_to_decimal_refuses_floats_as_programming_error(value: float) -> None:
    with pytest.raises(TypeError):
        to_decimal(value)


def test_to_decimal_names_the_field() -> None:
    with pytest.raises(ValidationError, match="Price"):
        to_decimal("abc", field="price")


@pytest.mark.parametrize(
    ("value", "currency", "expected"),
    [
        ("12.35", "EUR", "12.35"),
        ("12.3", "EUR", "12.30"),
        ("12.340", "EUR", "12.34"),
        ("-0.01", "EUR", "-0.01"),
        ("1000", "JPY", "1000"),
        ("1000.0", "JPY", "1000"),
        ("1.234", "KWD", "1.234"),
        ("1.5", "BHD", "1.500"),
    ],
)
def test_parse_money(value: str, currency: str, expected: str) -> None:
    assert str(parse_money(value, currency)) == expected


@pytest.mark.parametrize(
    ("value", "currency"),
    [("12.345", "EUR"), ("0.001", "EUR"), ("1000.5", "JPY"), ("1.2345", "KWD"), ("NaN", "EUR"), ("x", "EUR")],
)
def test_parse_money_refuses(value: str, currency: str) -> None:
    with pytest.raises(ValidationError):
        parse_money(value, currency)


@pytest.mark.parametrize(("code", "expected"), [("EUR", "EUR"), ("eur", "EUR"), (" usd ", "USD"), ("JPY", "JPY")])
def test_check_currency_accepts(code: str, expected: str) -> None:
    assert check_currency(code) == expected


@pytest.mark.parametrize("code", ["XYZ", "", "EURO", "EU", "XAU", "XXX", "XTS"])
def test_check_currency_refuses(code: str) -> None:
    with pytest.raises(ValidationError):
        check_currency(code)


@pytest.mark.parametrize(
    ("currency", "decimals"), [("EUR", 2), ("USD", 2), ("JPY", 0), ("jpy", 0), ("KWD", 3), ("BHD", 3)]
)
def test_minor_unit(currency: str, decimals: int) -> None:
    assert minor_unit(currency) == decimals


@pytest.mark.parametrize(
    ("amount", "currency", "expected"),
    [
        ("2.675", "EUR", "2.68"),
        ("-2.675", "EUR", "-2.68"),
        ("2.665", "EUR", "2.67"),
        ("0.5", "JPY", "1"),
        ("-0.5", "JPY", "-1"),
        ("0.0005", "KWD", "0.001"),
        ("7", "EUR", "7.00"),
    ],
)
def test_round_money_half_away_from_zero(amount: str, currency: str, expected: str) -> None:
    assert str(round_money(D(amount), currency)) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [("1,234.50", Decimal("1234.50")), ("12,35", Decimal("12.35")), ("1,234,567", Decimal("1234567"))],
)
def test_to_decimal_separators(text: str, expected: Decimal) -> None:
    assert to_decimal(text) == expected


@pytest.mark.parametrize("text", ["1,234", "1.234,56", "1_000", "١٢٣"])
def test_to_decimal_refuses_ambiguous_or_exotic(text: str) -> None:
    with pytest.raises(ValidationError):
        to_decimal(text)


def test_breakdown_rates_print_without_exponent() -> None:
    totals = compute_totals([Line(Decimal("1"), Decimal("10"), "S", Decimal("20.00"))])
    assert str(totals.tax_breakdown[0].vat_rate) == "20"


def test_percent_line_discount_is_rounded_as_an_amount_first() -> None:
    # 1.10 less 5% = 1.045: the allowance 0.055 rounds to 0.06 first, so the net is 1.04 (R120)
    assert line_net(Line(Decimal("1"), Decimal("1.10"), discount_percent=Decimal("5")), "EUR") == Decimal("1.04")


def test_zero_rate_category_with_a_rate_is_refused() -> None:
    with pytest.raises(ValidationError):
        compute_totals([Line(Decimal("1"), Decimal("10"), "E", Decimal("20"))])


def test_an_invoice_settled_only_by_credit_notes_shows_as_credited() -> None:
    as_of = date(2026, 1, 31)
    assert display_status("issued", Decimal("100"), Decimal(0), Decimal("100"), date(2026, 1, 1), as_of) == "credited"
    assert display_status("issued", Decimal("100"), Decimal("40"), Decimal("60"), date(2026, 1, 1), as_of) == "paid"


# --- the dates the books take ---------------------------------------------------------------------

@pytest.mark.parametrize("day", [date(1, 1, 1), date(1999, 12, 31), date(2100, 1, 1), date(9999, 12, 31)])
def test_a_date_outside_the_books_is_refused_by_name(day: date) -> None:
    with pytest.raises(ValidationError, match=f"^The issue date must be between 2000-01-01 and 2099-12-31, "
                                              f"not {day.isoformat()}.$"):
        check_date(day, "The issue date")


@pytest.mark.parametrize("day", [FIRST_DATE, date(2026, 11, 25), LAST_DATE])
def test_a_date_in_the_books_passes(day: date) -> None:
    assert check_date(day, "The issue date") == day


@pytest.mark.parametrize(("issue", "terms", "given", "match"), [
    (date(9999, 12, 31), 30, None, "The issue date"),  # was an OverflowError
    (date(1, 1, 1), 30, None, "The issue date"),
    (date(2099, 12, 15), 30, None, "The due date .* not 2100-01-14"),
    (date(2099, 1, 1), 0, date(9999, 12, 31), "The due date"),
])
def test_a_due_date_never_leaves_the_books(issue: date, terms: int, given: date | None, match: str) -> None:
    with pytest.raises(ValidationError, match=match):
        due_date_for(issue, terms, given)


def test_allocate_puts_the_invoice_paid_from_first_then_oldest_due() -> None:
    assert allocate_oldest_first(D("150.00"), OPEN, first=3) == [(3, D("50.00")), (2, D("80.00")), (1, D("20.00"))]
    assert allocate_oldest_first(D("150.00"), OPEN, first=99) == allocate_oldest_first(D("150.00"), OPEN)


def test_a_german_sellers_invoice_is_dated_for_delivery_at_issue_when_nothing_else_is_given() -> None:
    issued, delivered = date(2026, 3, 10), date(2026, 3, 2)
    assert delivery_date_at_issue("DE", None, None, issued) == issued
    assert delivery_date_at_issue("de", delivered, None, issued) == delivered
    assert delivery_date_at_issue("DE", None, date(2026, 2, 1), issued) is None  # an invoicing period says when
    assert delivery_date_at_issue("FR", None, None, issued) is None
