"""billing.vat_help: the VAT treatment an invoice calls for, by the seller's and the customer's countries and
the customer's VAT ID."""

from __future__ import annotations

import pytest

from billing import vat_help
from billing.vat_help import vat_advice


@pytest.mark.parametrize(("seller", "country", "vat_id", "kind", "category"), [
    ("DE", "FR", "FR40303265045", vat_help.REVERSE_CHARGE, "AE"),
    ("DE", "AT", "ATU 135 856 27", vat_help.REVERSE_CHARGE, "AE"),  # typed with blanks
    ("DE", "GR", "EL094014201", vat_help.REVERSE_CHARGE, "AE"),  # Greece: EL
    ("FR", "DE", "de136695976", vat_help.REVERSE_CHARGE, "AE"),
    ("DE", "FR", "FR40303265046", vat_help.EU_CONSUMER, None),  # check digits wrong
    ("DE", "FR", "DE136695976", vat_help.EU_CONSUMER, None),  # another country's VAT ID
    ("DE", "FR", "", vat_help.EU_CONSUMER, None),
    ("DE", "DE", "DE136695976", vat_help.DOMESTIC, None),
    ("DE", "US", "", vat_help.EXPORT_CONSUMER, None),
    ("DE", "GB", "GB980780684", vat_help.EXPORT_BUSINESS, None),
    ("DE", "", "FR40303265045", vat_help.UNKNOWN, None),
    ("", "FR", "FR40303265045", vat_help.UNKNOWN, None),
    ("CH", "FR", "FR40303265045", vat_help.UNKNOWN, None),
])
def test_the_advice_by_countries_and_vat_id(seller: str, country: str, vat_id: str, kind: str,
                                            category: str | None) -> None:
    advice = vat_advice(seller, country, vat_id)
    assert (advice.kind, advice.category) == (kind, category)
    assert advice.note
    assert bool(advice.exemption_text) == (category is not None)


def test_reverse_charge_text_is_in_the_invoice_language() -> None:
    assert "Steuerschuldnerschaft des Leistungsempfängers" in vat_advice("DE", "AT", "ATU13585627", "de").exemption_text
    assert "Autoliquidation" in vat_advice("DE", "FR", "FR40303265045", "fr").exemption_text
    assert "Article 196" in vat_advice("DE", "FR", "FR40303265045").exemption_text


def test_a_consumer_abroad_gets_a_clear_note() -> None:
    note = vat_advice("DE", "FR", "").note
    assert "consumer in FR" in note and "OSS" in note
    assert "not a valid FR VAT number" in vat_advice("DE", "FR", "FR123").note
    assert "consumer outside the EU (US)" in vat_advice("DE", "US", "").note
