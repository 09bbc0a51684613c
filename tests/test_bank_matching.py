"""Matching statement lines to invoices (billing.bank.matching, pure): references first, then amount and
counterparty, several invoices in one transfer, partial and over-payments, currencies kept apart, returns."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from billing.bank.clues import NumberIndex
from billing.bank.lines import StatementLine
from billing.bank.matching import (
    LIKELY,
    NO_IDEA,
    OTHER,
    PAYMENT,
    POSSIBLE,
    REVERSAL,
    SURE,
    Customer,
    Matcher,
    OpenInvoice,
    PastPayment,
    normal_name,
)
from billing.references import creditor_reference, format_reference

ACME, BETA, GAMMA = 1, 2, 3
IBAN_ACME = "DE02100100109307118603"
INVOICES = [
    OpenInvoice(11, "INV-2025-00011", ACME, "EUR", Decimal("119.00"), date(2025, 3, 1)),
    OpenInvoice(12, "INV-2025-00012", ACME, "EUR", Decimal("59.50"), date(2025, 3, 5)),
    OpenInvoice(13, "INV-2025-00013", ACME, "EUR", Decimal("23.80"), date(2025, 3, 9)),
    OpenInvoice(21, "INV-2025-00021", BETA, "EUR", Decimal("500.00"), date(2025, 3, 2)),
    OpenInvoice(31, "INV-2025-00031", GAMMA, "USD", Decimal("119.00"), date(2025, 3, 2)),
]
CUSTOMERS = [Customer(ACME, "Acme GmbH", (IBAN_ACME,)), Customer(BETA, "Beta Handels-GmbH"),
             Customer(GAMMA, "Gamma Inc")]


def line(amount: str, text: str = "", name: str = "", iban: str = "", currency: str = "EUR",
         **extra: object) -> StatementLine:
    return StatementLine("DE89370400440532013000", date(2025, 3, 12), None, Decimal(amount), currency, name, iban,
                         text, **extra)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def matcher() -> Matcher:
    return Matcher(INVOICES, CUSTOMERS, [PastPayment(77, ACME, Decimal("59.50"), "EUR", "E2E-2", IBAN_ACME)])


def test_rf_reference_with_the_amount_fitting_is_sure(matcher: Matcher) -> None:
    reference = format_reference(creditor_reference("INV-2025-00011"))
    proposal = matcher.propose(line("119.00", f"Payment {reference.lower()}"))
    assert (proposal.kind, proposal.confidence, proposal.customer_id) == (PAYMENT, SURE, ACME)
    assert proposal.allocations == ((11, Decimal("119.00")),)
    assert f"{reference} found in the text" in proposal.reason


@pytest.mark.parametrize("text", ["INV-2025-00012", "inv 2025 00012", "Rechnung INV2025/00012 danke", "2025-00012"])
def test_invoice_number_however_written(matcher: Matcher, text: str) -> None:
    proposal = matcher.propose(line("59.50", text))
    assert (proposal.confidence, proposal.allocations) == (SURE, ((12, Decimal("59.50")),))


def test_a_typo_in_the_number_is_likely_never_sure(matcher: Matcher) -> None:
    proposal = matcher.propose(line("59.50", "INV-2025-0012"))  # a zero missing
    assert (proposal.confidence, proposal.invoice_ids) == (LIKELY, {12})
    assert "nearly an invoice number" in proposal.reason


def test_a_typo_whose_amount_does_not_fit_from_a_stranger_is_no_evidence(matcher: Matcher) -> None:
    assert matcher.propose(line("7.00", "INV-2025-0012", name="Someone Else")) == NO_IDEA


def test_several_numbers_in_one_transfer(matcher: Matcher) -> None:
    proposal = matcher.propose(line("83.30", "INV-2025-00012 und INV-2025-00013"))
    assert proposal.confidence == SURE
    assert proposal.allocations == ((12, Decimal("59.50")), (13, Decimal("23.80")))


def test_named_invoices_of_which_some_add_up(matcher: Matcher) -> None:
    proposal = matcher.propose(line("83.30", "INV-2025-00011, INV-2025-00012, INV-2025-00013"))
    assert (proposal.confidence, proposal.invoice_ids) == (LIKELY, {12, 13})


def test_amounts_adding_up_for_a_known_iban_without_text(matcher: Matcher) -> None:
    proposal = matcher.propose(line("142.80", "", iban=IBAN_ACME))
    assert (proposal.confidence, proposal.invoice_ids, proposal.customer_id) == (LIKELY, {11, 13}, ACME)
    assert "IBAN of Acme GmbH" in proposal.reason


def test_amount_and_similar_name(matcher: Matcher) -> None:
    proposal = matcher.propose(line("500.00", "thanks", name="BETA HANDELS GMBH"))
    assert (proposal.confidence, proposal.invoice_ids) == (LIKELY, {21})
    assert "amount and name of Beta Handels-GmbH" in proposal.reason


def test_partial_payment_by_reference(matcher: Matcher) -> None:
    proposal = matcher.propose(line("50.00", "INV-2025-00011 first part"))
    assert (proposal.confidence, proposal.allocations) == (LIKELY, ((11, Decimal("50.00")),))
    assert "partial payment" in proposal.reason


def test_overpayment_becomes_credit(matcher: Matcher) -> None:
    proposal = matcher.propose(line("130.00", "INV-2025-00011"))
    assert proposal.allocations == ((11, Decimal("119.00")),)
    assert (proposal.credit, proposal.confidence) == (Decimal("11.00"), LIKELY)


def test_foreign_currency_only_meets_invoices_of_its_currency(matcher: Matcher) -> None:
    assert 31 not in matcher.propose(line("119.00", "INV-2025-00031")).invoice_ids
    usd = matcher.propose(line("119.00", "INV-2025-00031", currency="USD"))
    assert (usd.confidence, usd.invoice_ids) == (SURE, {31})
    assert matcher.propose(line("119.00", "INV-2025-00011", currency="USD")).invoice_ids != {11}


def test_amount_alone_is_only_possible(matcher: Matcher) -> None:
    proposal = matcher.propose(line("23.80", "", name="Unknown Payer"))
    assert (proposal.confidence, proposal.invoice_ids) == (POSSIBLE, {13})


def test_a_return_is_proposed_as_the_reversal_of_the_payment(matcher: Matcher) -> None:
    proposal = matcher.propose(line("-59.50", "Account closed", iban=IBAN_ACME, end_to_end_id="E2E-2",
                                    is_return=True, return_code="AC04"))
    assert (proposal.kind, proposal.reverses, proposal.confidence) == (REVERSAL, 77, LIKELY)
    assert "AC04" in proposal.reason


def test_fees_and_money_going_out_are_not_customer_payments(matcher: Matcher) -> None:
    fee = matcher.propose(line("-2.50", "Kontoführungsgebühr"))
    assert (fee.kind, fee.category, fee.confidence) == (OTHER, "fee", POSSIBLE)
    assert matcher.propose(line("-100.00", "Rent")).category == "outgoing"


@pytest.mark.parametrize("text", ["", "INV-2025-00011", format_reference(creditor_reference("INV-2025-00011"))])
def test_a_line_of_zero_moves_no_money_whatever_its_text(matcher: Matcher, text: str) -> None:
    proposal = matcher.propose(line("0.00", text, iban=IBAN_ACME))
    assert (proposal.kind, proposal.category, proposal.allocations) == (OTHER, "other", ())
    assert proposal.reason == "the amount is zero: no money moved"


def test_names_compared_without_legal_form_or_case() -> None:
    assert normal_name("ACME GmbH.") == normal_name("Acme") == "acme"
    assert normal_name("Müller & Söhne KG") == "muller sohne"


def test_short_numbers_need_their_exact_digits() -> None:
    index = NumberIndex([(1, "A-12")])
    assert index.clues("A-12") and not index.clues("13")


def test_a_short_number_without_its_prefix_names_nothing() -> None:
    index = NumberIndex([(1, "A-2026")])
    assert [c.how for c in index.clues("A 2026")] == ["number"] and index.clues("Paid 2026") == []
