"""The EPC QR code's payload (billing.payment_qr) against EPC069-12 version 002, field by field, and its QR code."""

from __future__ import annotations

from decimal import Decimal

import pytest

from billing.payment_qr import MAX_PAYLOAD_BYTES, epc_payload, qr_modules
from billing.references import creditor_reference

IBAN = "DE89370400440532013000"
BIC = "COBADEFFXXX"
REFERENCE = creditor_reference("INV-2025-00042")


def fields(**changes: object) -> list[str]:
    arguments: dict[str, object] = {"name": "Acme Consulting GmbH", "iban": IBAN, "bic": BIC,
                                    "amount": Decimal("257.00"), "currency": "EUR", "reference": REFERENCE}
    return epc_payload(**{**arguments, **changes}).split("\n")  # type: ignore[arg-type]


def test_the_payload_holds_the_epc_fields_in_their_order() -> None:
    assert REFERENCE == "RF41INV202500042"
    assert fields() == [
        "BCD",  # service tag
        "002",  # version: the BIC is optional
        "1",  # character set: UTF-8
        "SCT",  # SEPA credit transfer
        "COBADEFFXXX",
        "Acme Consulting GmbH",
        "DE89370400440532013000",
        "EUR257.00",
        "",  # no purpose code
        "RF41INV202500042",  # structured remittance; the unstructured text and the note to the payer left out
    ]


def test_the_payload_ends_with_the_last_field_given() -> None:
    payload = epc_payload("Acme", IBAN, BIC, Decimal("1.00"), "EUR", REFERENCE)
    assert payload.endswith("\nRF41INV202500042") and "\r" not in payload


@pytest.mark.parametrize(("amount", "printed"), [
    ("12.3", "EUR12.30"), ("12.30", "EUR12.30"), ("0.01", "EUR0.01"), ("7", "EUR7.00"),
    ("999999999.99", "EUR999999999.99"), ("1E+3", "EUR1000.00"),
])
def test_the_amount_is_euros_with_a_decimal_point_and_cents(amount: str, printed: str) -> None:
    assert fields(amount=Decimal(amount))[7] == printed


@pytest.mark.parametrize("amount", ["0", "0.00", "-1.00", "0.001", "12.345", "1000000000.00", "NaN", "Infinity"])
def test_an_amount_outside_the_epc_range_or_with_fractions_of_a_cent_is_refused(amount: str) -> None:
    with pytest.raises(ValueError, match=r"0\.01 to 999999999\.99"):
        fields(amount=Decimal(amount))


@pytest.mark.parametrize("currency", ["USD", "CHF", "eur", ""])
def test_only_euros_are_transferred(currency: str) -> None:
    with pytest.raises(ValueError, match="euros only"):
        fields(currency=currency)


def test_the_bic_is_optional_and_checked_when_given() -> None:
    assert fields(bic="")[4] == ""
    assert fields(bic="cobadeff")[4] == "COBADEFF"
    with pytest.raises(ValueError):
        fields(bic="COBA1EFF")


def test_the_iban_is_checked_and_written_compact() -> None:
    assert fields(iban="de89 3704 0044 0532 0130 00")[6] == IBAN
    with pytest.raises(ValueError):
        fields(iban="DE89370400440532013001")  # a wrong check digit


def test_the_name_is_one_line_of_at_most_70_characters() -> None:
    assert fields(name="M" * 70)[5] == "M" * 70
    assert fields(name="Müller & Söhne Ωμέγα GmbH")[5] == "Müller & Söhne Ωμέγα GmbH"  # UTF-8, character set 1
    for name in ("M" * 71, "", "  ", "Acme\nGmbH"):
        with pytest.raises(ValueError, match="1 to 70 characters"):
            fields(name=name)


def test_the_reference_must_be_a_valid_rf_reference() -> None:
    with pytest.raises(ValueError):
        fields(reference="RF42INV202500042")  # a wrong check digit
    with pytest.raises(ValueError):
        fields(reference="INV-2025-00042")


def test_a_payload_over_331_bytes_is_refused() -> None:
    widest = "\U0001f4b6" * 70  # 70 characters of four bytes in UTF-8
    longest_ascii = epc_payload("M" * 70, IBAN, BIC, Decimal("999999999.99"), "EUR", creditor_reference("X" * 21))
    assert len(longest_ascii.encode()) <= MAX_PAYLOAD_BYTES
    with pytest.raises(ValueError, match="331 bytes"):
        fields(name=widest)


def test_the_qr_code_is_a_square_of_dark_runs_within_its_size() -> None:
    payload = "\n".join(fields())
    code = qr_modules(payload)
    assert code.size == 41  # version 6 holds these 97 bytes at level M (version 5 only 84)
    assert all(0 <= row < code.size and first >= 0 and first + length <= code.size and length > 0
               for row, first, length in code.runs)
    # the three finder patterns: the first row starts and ends with a run of seven dark modules
    first_row = [run for run in code.runs if run[0] == 0]
    assert first_row[0] == (0, 0, 7) and first_row[-1] == (0, code.size - 7, 7)
