"""ISO 11649 creditor references (billing.references): derived from invoice numbers, valid by python-stdnum,
found in free text however they are spaced or cased, and never mistaken when a digit is wrong."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from stdnum import iso11649

from billing.references import compact_number, creditor_reference, find_references, format_reference, reference_body


@pytest.mark.parametrize(("number", "reference"), [
    ("INV-2025-00001", "RF81INV202500001"),
    ("INV-2026-00042", "RF36INV202600042"),
    ("539007547034", "RF18539007547034"),  # the example of ISO 11649 itself
])
def test_reference_of_an_invoice_number(number: str, reference: str) -> None:
    assert creditor_reference(number) == reference
    assert iso11649.is_valid(reference)


def test_long_numbers_keep_their_last_21_characters() -> None:
    reference = creditor_reference("ACME-CONSULTING-GMBH-INVOICE-2026-000042")
    assert iso11649.is_valid(reference)
    assert reference_body(reference) == "GMBHINVOICE2026000042"[-21:]
    assert len(reference) <= 25


def test_a_number_without_letters_or_digits_has_no_reference() -> None:
    with pytest.raises(ValueError, match="no letters or digits"):
        creditor_reference("--/--")


@given(st.text(alphabet="ABCXYZ0123456789-/ ", min_size=1, max_size=40).filter(lambda t: compact_number(t)))
def test_every_derived_reference_is_valid_and_found_again(number: str) -> None:
    reference = creditor_reference(number)
    assert iso11649.is_valid(reference)
    assert find_references(f"Payment {format_reference(reference)} thanks") == [reference]


def test_references_in_text_spaced_cased_and_several() -> None:
    text = "rf18 5390 0754 7034 and RF81INV202500001, also RF81 INV2 0250 0001 again"
    assert find_references(text) == ["RF18539007547034", "RF81INV202500001"]


def test_a_wrong_digit_is_no_reference() -> None:
    assert find_references("RF18 5390 0754 7035") == []
    assert find_references("RF82INV202500001") == []


def test_formatted_in_groups_of_four() -> None:
    assert format_reference("RF18539007547034") == "RF18 5390 0754 7034"
