"""Conformance of billing.logic.compute_totals with the public EN 16931 UBL example invoices.

The corpus lives in shared/en16931/ubl beside the clone (CI copies shared/ there). Every file's
document totals and VAT breakdown are recomputed; for the files where the Peppol line rule R120
holds, each line net is recomputed from quantity, price and line allowances/charges too.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest

from billing.logic import AllowanceCharge, Line, Totals, compute_totals, net_price
from billing.money import ZERO

UBL_DIR = Path(__file__).resolve().parents[2] / "shared" / "en16931" / "ubl"
UBL_FILES = sorted(UBL_DIR.glob("*.xml"))
EXPECTED_FILE_COUNT = 15

NS = {
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
}

# Files where line net = quantity x net price / base quantity + charges - allowances (R120), as
# listed in shared/en16931/README.md. For the others the stated line net is taken as given.
LINE_RULE_HOLDS = frozenset(
    {
        "BIS3_Invoice_negativ",
        "BIS3_Invoice_positive",
        "sample-discount-price",
        "ubl-tc434-creditnote1",
        "ubl-tc434-example4",
        "ubl-tc434-example6",
        "ubl-tc434-example7",
        "ubl-tc434-example9",
    }
)
LINE_RULE_FAILS = frozenset(
    {
        "guide-example1",
        "guide-example2",
        "guide-example3",
        "ubl-tc434-example1",
        "ubl-tc434-example2",
        "ubl-tc434-example3",
        "ubl-tc434-example10",
    }
)

# LegalMonetaryTotal element -> Totals field.
MONETARY_TOTALS = {
    "LineExtensionAmount": "line_total",
    "AllowanceTotalAmount": "allowance_total",
    "ChargeTotalAmount": "charge_total",
    "TaxExclusiveAmount": "tax_exclusive",
    "TaxInclusiveAmount": "tax_inclusive",
    "PrepaidAmount": "prepaid",
    "PayableRoundingAmount": "rounding",
    "PayableAmount": "payable",
}


@dataclass(frozen=True)
class ParsedDocument:
    """What the test needs from one UBL document: inputs to compute_totals and stated figures."""

    currency: str
    lines: list[Line]
    stated_line_nets: list[Decimal]
    allowance_charges: list[AllowanceCharge]
    prepaid: Decimal
    rounding: Decimal
    monetary_totals: dict[str, Decimal]
    tax_total: Decimal
    tax_subtotals: list[tuple[str, Decimal, Decimal, Decimal]]  # category, rate, taxable, tax


def _text(element: ET.Element, path: str) -> str | None:
    found = element.find(path, NS)
    if found is None or found.text is None:
        return None
    return found.text.strip()


def _decimal(element: ET.Element, path: str, default: Decimal | None = None) -> Decimal:
    text = _text(element, path)
    if text is None:
        if default is None:
            raise AssertionError(f"missing required element {path}")
        return default
    return Decimal(text)


def _is_charge(element: ET.Element) -> bool:
    # xsd:boolean: "true"/"false" or "1"/"0" (ubl-tc434-example2 uses the digits).
    indicator = _text(element, "cbc:ChargeIndicator")
    assert indicator in {"true", "false", "1", "0"}, f"bad ChargeIndicator {indicator!r}"
    return indicator in {"true", "1"}


def _tax_category(element: ET.Element) -> tuple[str, Decimal]:
    """Category code and rate; a category such as O carries no Percent, i.e. a rate of 0."""
    category = _text(element, "cbc:ID")
    assert category, "tax category without an ID"
    return category, _decimal(element, "cbc:Percent", ZERO)


def _parse_line(element: ET.Element, quantity_tag: str, recompute: bool) -> tuple[Line, Decimal]:
    stated_net = _decimal(element, "cbc:LineExtensionAmount")
    tax_category = element.find("cac:Item/cac:ClassifiedTaxCategory", NS)
    assert tax_category is not None, "line without ClassifiedTaxCategory"
    category, rate = _tax_category(tax_category)
    if not recompute:
        line = Line(
            quantity=_decimal(element, quantity_tag),
            net_price=_decimal(element, "cac:Price/cbc:PriceAmount"),
            vat_category=category,
            vat_rate=rate,
            net_amount=stated_net,
        )
        return line, stated_net

    price = element.find("cac:Price", NS)
    assert price is not None, "line without Price"
    item_net_price = _decimal(price, "cbc:PriceAmount")
    price_discount = price.find("cac:AllowanceCharge", NS)
    if price_discount is not None:
        # BT-146 net price = BT-148 gross price - BT-147 price discount.
        assert not _is_charge(price_discount), "a price adjustment can only be a discount"
        gross = _decimal(price_discount, "cbc:BaseAmount", item_net_price)
        discount = _decimal(price_discount, "cbc:Amount")
        assert net_price(gross, discount) == item_net_price
    discount_amount = charge_amount = ZERO
    for adjustment in element.findall("cac:AllowanceCharge", NS):
        if _is_charge(adjustment):
            charge_amount += _decimal(adjustment, "cbc:Amount")
        else:
            discount_amount += _decimal(adjustment, "cbc:Amount")
    line = Line(
        quantity=_decimal(element, quantity_tag),
        net_price=item_net_price,
        vat_category=category,
        vat_rate=rate,
        base_quantity=_decimal(price, "cbc:BaseQuantity", Decimal(1)),
        discount_amount=discount_amount,
        charge_amount=charge_amount,
    )
    return line, stated_net


def _parse_document_allowance_charge(element: ET.Element) -> AllowanceCharge:
    tax_category = element.find("cac:TaxCategory", NS)
    assert tax_category is not None, "document allowance/charge without TaxCategory"
    category, rate = _tax_category(tax_category)
    percent = _text(element, "cbc:MultiplierFactorNumeric")
    base = _text(element, "cbc:BaseAmount")
    if percent is not None and base is not None:
        return AllowanceCharge(
            is_charge=_is_charge(element),
            vat_category=category,
            vat_rate=rate,
            percent=Decimal(percent),
            base_amount=Decimal(base),
            reason=_text(element, "cbc:AllowanceChargeReason") or "",
        )
    return AllowanceCharge(
        is_charge=_is_charge(element),
        vat_category=category,
        vat_rate=rate,
        amount=_decimal(element, "cbc:Amount"),
        reason=_text(element, "cbc:AllowanceChargeReason") or "",
    )


def parse_ubl(path: Path, recompute_lines: bool) -> ParsedDocument:
    root = ET.parse(path).getroot()
    local_name = root.tag.rsplit("}", 1)[-1]
    if local_name == "Invoice":
        line_tag, quantity_tag = "cac:InvoiceLine", "cbc:InvoicedQuantity"
    elif local_name == "CreditNote":
        line_tag, quantity_tag = "cac:CreditNoteLine", "cbc:CreditedQuantity"
    else:
        raise AssertionError(f"{path.name}: unexpected root element {local_name}")

    currency = _text(root, "cbc:DocumentCurrencyCode")
    assert currency, "no DocumentCurrencyCode"

    parsed_lines = [_parse_line(line, quantity_tag, recompute_lines) for line in root.findall(line_tag, NS)]
    assert parsed_lines, "document without lines"
    allowance_charges = [_parse_document_allowance_charge(e) for e in root.findall("cac:AllowanceCharge", NS)]

    monetary = root.find("cac:LegalMonetaryTotal", NS)
    assert monetary is not None, "no LegalMonetaryTotal"
    # An absent optional total (allowances, charges, prepaid, rounding) means zero.
    monetary_totals = {tag: _decimal(monetary, f"cbc:{tag}", ZERO) for tag in MONETARY_TOTALS}

    # A document may carry a second TaxTotal in the tax currency (BT-111); use the document one.
    document_tax_totals = [
        tax_total
        for tax_total in root.findall("cac:TaxTotal", NS)
        if (amount := tax_total.find("cbc:TaxAmount", NS)) is not None and amount.get("currencyID") == currency
    ]
    assert len(document_tax_totals) == 1, "expected exactly one TaxTotal in the document currency"
    tax_total = document_tax_totals[0]
    subtotals = []
    for subtotal in tax_total.findall("cac:TaxSubtotal", NS):
        tax_category = subtotal.find("cac:TaxCategory", NS)
        assert tax_category is not None, "TaxSubtotal without TaxCategory"
        category, rate = _tax_category(tax_category)
        subtotals.append((category, rate, _decimal(subtotal, "cbc:TaxableAmount"), _decimal(subtotal, "cbc:TaxAmount")))

    return ParsedDocument(
        currency=currency,
        lines=[line for line, _ in parsed_lines],
        stated_line_nets=[net for _, net in parsed_lines],
        allowance_charges=allowance_charges,
        prepaid=monetary_totals["PrepaidAmount"],
        rounding=monetary_totals["PayableRoundingAmount"],
        monetary_totals=monetary_totals,
        tax_total=_decimal(tax_total, "cbc:TaxAmount"),
        tax_subtotals=subtotals,
    )


def _compute(document: ParsedDocument) -> Totals:
    return compute_totals(
        document.lines, document.allowance_charges, document.currency, document.prepaid, document.rounding
    )


def test_corpus_is_complete() -> None:
    """A missing or moved shared/ directory must fail loudly, not pass with zero cases."""
    assert UBL_DIR.is_dir(), f"EN 16931 corpus not found at {UBL_DIR}"
    assert len(UBL_FILES) == EXPECTED_FILE_COUNT
    assert {path.stem for path in UBL_FILES} == LINE_RULE_HOLDS | LINE_RULE_FAILS


@pytest.mark.parametrize("path", UBL_FILES, ids=[path.name for path in UBL_FILES])
def test_document_totals_match(path: Path) -> None:
    recompute_lines = path.stem in LINE_RULE_HOLDS
    document = parse_ubl(path, recompute_lines)
    totals = _compute(document)

    assert totals.currency == document.currency
    assert list(totals.line_nets) == document.stated_line_nets
    for tag, field_name in MONETARY_TOTALS.items():
        assert getattr(totals, field_name) == document.monetary_totals[tag], tag

    assert totals.tax_total == document.tax_total
    computed = sorted((e.vat_category, e.vat_rate, e.taxable, e.tax) for e in totals.tax_breakdown)
    assert computed == sorted(document.tax_subtotals)
