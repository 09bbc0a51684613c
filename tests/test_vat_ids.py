"""VAT identifiers: real ids per country accepted and stored compact, wrong ones refused naming the field."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from billing import customers, settings
from billing.demo_names import demo_vat_id
from billing.errors import ValidationError
from billing.store.db import Database
from billing.vat_ids import compact_vat_id, is_vat_id
from tests.conftest import ADMIN, Seed, assert_refused

# Published VAT ids of real companies (the examples python-stdnum and the EU's VIES documentation use), as typed.
REAL = [("EL 094 014 201", "EL094014201"), ("DE 136 695 976", "DE136695976"), ("ATU13585627", "ATU13585627"),
        ("FR 40 303 265 045", "FR40303265045"), ("NL004495445B01", "NL004495445B01"),
        ("BE 0403.019.261", "BE0403019261"), ("IT 00743110157", "IT00743110157"),
        ("ESA78304516", "ESA78304516"), ("PL 526-000-12-46", "PL5260001246"), ("DK 13585628", "DK13585628"),
        ("SE 5560125790 01", "SE556012579001"), ("IE 6433435F", "IE6433435F"), ("GB 980 7806 84", "GB980780684"),
        ("CHE-107.787.577 IVA", "CHE107787577IVA"), ("NO 995 525 828 MVA", "NO995525828MVA"),
        ("de136695976", "DE136695976")]


@pytest.mark.parametrize(("typed", "stored"), REAL)
def test_real_vat_ids_are_accepted_and_stored_compact(typed: str, stored: str) -> None:
    assert compact_vat_id(typed) == stored
    assert compact_vat_id(stored) == stored


@pytest.mark.parametrize(("typed", "why"), [
    ("DE 136 695 977", "DE VAT number (its check digit is wrong)"),
    ("DE 136 695 97", "DE VAT number (it has the wrong number of characters)"),
    ("FR 41 303 265 045", "FR VAT number (its check digit is wrong)"),
    ("EL 094 014 202", "EL VAT number (its check digit is wrong)"),
    ("136695976", "must start with its two-letter country code"),
    ("EIN 12-3456789", "must start with its two-letter country code (EI is none)"),
])
def test_a_wrong_vat_id_is_refused_naming_the_field(typed: str, why: str) -> None:
    with pytest.raises(ValidationError) as caught:
        compact_vat_id(typed, "Customer VAT ID (BT-48)")
    assert caught.value.message.startswith(f"Customer VAT ID (BT-48): '{typed}' ")
    assert why in caught.value.message


@given(st.sampled_from(REAL), st.lists(st.sampled_from([" ", ".", "-"]), max_size=4), st.data())
def test_spaces_dots_and_dashes_do_not_matter(real: tuple[str, str], noise: list[str], data: st.DataObject) -> None:
    stored = real[1]
    text = list(stored)
    for mark in noise:
        text.insert(data.draw(st.integers(2, len(text))), mark)
    assert compact_vat_id("".join(text)) == stored


@given(st.integers(1, 10**6), st.sampled_from(["DE", "AT", "FR", "NL", "GB"]))
def test_the_demo_vat_ids_pass_their_country_check(i: int, country: str) -> None:
    assert is_vat_id(demo_vat_id(i, country))


def test_a_customer_with_a_wrong_vat_id_is_refused_and_nothing_written(db: Database, seeded: Seed) -> None:
    error = assert_refused(db, lambda: customers.create_customer(
        db, ADMIN, {"name": "Wrong", "country": "DE", "tax_id": "DE 136 695 977"}), ValidationError)
    assert "Customer VAT ID (BT-48)" in str(error)
    error = assert_refused(db, lambda: settings.save_company(
        db, ADMIN, {"legal_name": "Example GmbH", "tax_id": "DE1"}), ValidationError)
    assert "Company VAT ID (BT-31)" in str(error)


def test_a_customer_vat_id_is_stored_compact(db: Database, seeded: Seed) -> None:
    customers.update_customer(db, ADMIN, seeded.beta, {"name": "Beta SARL", "tax_id": "fr 40 303 265 045"})
    assert customers.get_customer(db, ADMIN, seeded.beta)["tax_id"] == "FR40303265045"
