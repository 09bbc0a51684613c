"""Structured addresses: old free text split only where that is sure, parts printed in the country's order."""

from __future__ import annotations

import pytest

from billing import customers
from billing.addresses import AddressParts, needs_completing, split_reliably
from billing.errors import ValidationError
from billing.store.db import Database
from tests.conftest import ADMIN, Seed, assert_refused


@pytest.mark.parametrize(("text", "parts"), [
    ("Hauptstraße 5\n10115 Berlin", AddressParts("Hauptstraße 5", "", "Berlin", "10115")),
    ("Kerkstraat 4\nc/o Jan de Vries\n1012 AB Amsterdam", AddressParts("Kerkstraat 4", "c/o Jan de Vries", "Amsterdam",
                                                                        "1012 AB")),
    ("ul. Żółkiewskiego 12\n00-001 Warszawa", AddressParts("ul. Żółkiewskiego 12", "", "Warszawa", "00-001")),
    ("5 High Street\nLondon EC1A 1BB", AddressParts("5 High Street", "", "London", "EC1A 1BB")),
    ("12 Main Street\nNew York NY 10001", AddressParts("12 Main Street", "", "New York", "10001", "NY")),
    ("  Ringstraße 1 \n\n 1010   Wien ", AddressParts("Ringstraße 1", "", "Wien", "1010")),
])
def test_an_address_that_splits_surely(text: str, parts: AddressParts) -> None:
    assert split_reliably(text) == parts


@pytest.mark.parametrize("text", ["", "Berlin", "Postfach\n10115 Berlin", "Hauptstraße 5\nBerlin",
                                  "Hauptstraße 5\nHinterhaus\n2. OG\n10115 Berlin", "Hauptstraße 5, 10115 Berlin"])
def test_an_address_that_does_not_split_surely_is_left_to_a_person(text: str) -> None:
    assert split_reliably(text) is None
    assert needs_completing(text, AddressParts()) == bool(text)


def test_the_printed_text_follows_the_country() -> None:
    parts = AddressParts("6 Market Street", "Suite 4", "Chicago", "60601", "IL")
    assert parts.text("US") == "6 Market Street\nSuite 4\nChicago IL 60601"
    assert AddressParts("Hauptstraße 5", "", "Berlin", "10115").text("DE") == "Hauptstraße 5\n10115 Berlin"


def test_a_customer_saved_with_parts_prints_them_and_text_alone_is_split(db: Database, seeded: Seed) -> None:
    customers.update_customer(db, ADMIN, seeded.acme, {"name": "Acme GmbH", "country": "DE", "street": "Domkloster 4",
                                                       "postcode": "50667", "city": "Köln", "address": "old text"})
    row = customers.get_customer(db, ADMIN, seeded.acme)
    assert row["address"] == "Domkloster 4\n50667 Köln"
    customers.update_customer(db, ADMIN, seeded.beta, {"name": "Beta SARL", "country": "FR",
                                                       "address": "2 rue de la Paix\n75002 Paris"})
    row = customers.get_customer(db, ADMIN, seeded.beta)
    assert (row["street"], row["postcode"], row["city"]) == ("2 rue de la Paix", "75002", "Paris")
    assert customers.incomplete_addresses(db, ADMIN) == ([], 0)
    customers.update_customer(db, ADMIN, seeded.usd, {"name": "Gamma Inc", "country": "US", "currency": "USD",
                                                      "address": "Somewhere in Ohio"})
    assert customers.incomplete_addresses(db, ADMIN) == ([(seeded.usd, "Gamma Inc")], 1)


@pytest.mark.parametrize(("data", "message"), [
    ({"electronic_address": "4000001123452", "electronic_scheme": "0000"}, "'0000' is not in the EAS code list"),
    ({"electronic_address": "4000001123452"}, "give the address and its scheme together"),
])
def test_an_electronic_address_needs_a_scheme_of_the_eas_list(db: Database, seeded: Seed, data: dict[str, str],
                                                              message: str) -> None:
    assert_refused(db, lambda: customers.update_customer(db, ADMIN, seeded.acme, {"name": "Acme GmbH", **data}),
                   ValidationError, match=message)
