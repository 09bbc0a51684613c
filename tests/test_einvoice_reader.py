"""Reading e-invoices (billing.einvoice.reader): every official example reads into the totals it states."""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from pathlib import Path

import pytest
from einvoice_files import ALL_EXAMPLES, BAD_BR_CO_16, VALID_CII, VALID_UBL, example_ids, facturx_pdf, needs_shared
from lxml import etree

from billing.einvoice.reader import ParsedInvoice, read_invoice
from billing.einvoice.records import Address
from billing.einvoice.source import DocumentError

# Totals field -> the element that states it: (UBL LegalMonetaryTotal child, CII header monetary summation child).
STATED = {"line_total": ("LineExtensionAmount", "LineTotalAmount"),
          "tax_exclusive": ("TaxExclusiveAmount", "TaxBasisTotalAmount"),
          "tax_inclusive": ("TaxInclusiveAmount", "GrandTotalAmount"), "payable": ("PayableAmount", "DuePayableAmount"),
          "allowances": ("AllowanceTotalAmount", "AllowanceTotalAmount"),
          "charges": ("ChargeTotalAmount", "ChargeTotalAmount"), "prepaid": ("PrepaidAmount", "TotalPrepaidAmount"),
          "rounding": ("PayableRoundingAmount", "RoundingAmount")}
# Known-bad: its amount due is not total with VAT - paid + rounding (BR-CO-16).
PAYABLE_WRONG = {"05.01a-INVOICE_ubl.xml"}


def stated(path: Path) -> dict[str, Decimal | None]:
    """The totals as the file writes them, read with plain XPath (not through the reader)."""
    root = etree.parse(str(path)).getroot()
    ubl = etree.QName(root).localname != "CrossIndustryInvoice"
    parent = "LegalMonetaryTotal" if ubl else "SpecifiedTradeSettlementHeaderMonetarySummation"
    values: dict[str, Decimal | None] = {}
    for field, names in STATED.items():
        found = root.xpath(f"//*[local-name()='{parent}']/*[local-name()='{names[0 if ubl else 1]}']")
        values[field] = Decimal(found[0].text.strip()) if found else None
    return values


def zero(value: Decimal | None) -> Decimal:
    return value if value is not None else Decimal(0)


def amounts(invoice: ParsedInvoice) -> list[object]:
    values: list[object] = list(dataclasses.astuple(invoice.totals))
    for record in (*invoice.lines, *invoice.allowances_charges, *invoice.vat_breakdown):
        values += [value for value in dataclasses.astuple(record) if not isinstance(value, str | bool)]
    return values


@needs_shared
@pytest.mark.parametrize("path", ALL_EXAMPLES, ids=example_ids(ALL_EXAMPLES))
def test_every_example_reads_into_the_totals_it_states(path: Path) -> None:
    invoice = read_invoice(path.read_bytes())
    totals = invoice.totals
    assert {field: getattr(totals, field) for field in STATED} == stated(path)
    assert all(isinstance(value, Decimal) for value in amounts(invoice) if value is not None)
    assert invoice.number and invoice.issue_date and invoice.currency and invoice.seller.name and invoice.buyer.name
    assert invoice.lines
    assert sum((line.net_amount for line in invoice.lines), Decimal(0)) == totals.line_total  # BR-CO-10
    documented = invoice.allowances_charges
    assert sum((a.amount for a in documented if not a.is_charge), Decimal(0)) == zero(totals.allowances)
    assert sum((a.amount for a in documented if a.is_charge), Decimal(0)) == zero(totals.charges)
    assert totals.line_total - zero(totals.allowances) + zero(totals.charges) == totals.tax_exclusive
    assert sum((vat.tax for vat in invoice.vat_breakdown), Decimal(0)) == zero(totals.tax_total)
    assert totals.tax_exclusive + zero(totals.tax_total) == totals.tax_inclusive
    balanced = totals.tax_inclusive - zero(totals.prepaid) + zero(totals.rounding) == totals.payable
    assert balanced != (path.name in PAYABLE_WRONG)


def test_a_ubl_invoice_in_detail() -> None:
    invoice = read_invoice(VALID_UBL.read_bytes())
    assert (invoice.syntax, invoice.number, invoice.type_code, invoice.kind) == ("UBL Invoice", "123456XX", "380",
                                                                                 "invoice")
    assert str(invoice.issue_date) == "2016-04-04" and invoice.currency == "EUR"
    assert invoice.buyer_reference == "04011000-12345-03"
    assert invoice.seller.name == "[Seller name]" and invoice.seller.vat_id == "DE 123456789"
    assert invoice.seller.address == Address(street="[Seller address line 1]", city="[Seller city]", postcode="12345",
                                             country="DE")
    assert (invoice.seller.electronic_address, invoice.seller.electronic_scheme) == ("seller@email.de", "EM")
    first = invoice.lines[0]
    assert (first.id, first.quantity, first.unit_code, first.net_price, first.net_amount) == (
        "Zeitschrift [...]", Decimal("1"), "XPP", Decimal("288.79"), Decimal("288.79"))
    assert (first.vat_category, first.vat_rate) == ("S", Decimal("7"))
    assert [(v.category, v.rate, v.taxable, v.tax) for v in invoice.vat_breakdown] == [
        ("S", Decimal("7"), Decimal("314.86"), Decimal("22.04"))]
    assert (invoice.totals.tax_total, invoice.totals.payable) == (Decimal("22.04"), Decimal("336.9"))


def test_ubl_and_cii_twins_read_the_same() -> None:
    ubl, cii = read_invoice(VALID_UBL.read_bytes()), read_invoice(VALID_CII.read_bytes())
    assert cii.syntax == "CII"
    assert (cii.number, cii.issue_date, cii.currency, cii.buyer_reference) == (
        ubl.number, ubl.issue_date, ubl.currency, ubl.buyer_reference)
    assert cii.totals == ubl.totals
    assert cii.vat_breakdown == ubl.vat_breakdown
    assert [(x.net_amount, x.vat_rate) for x in cii.lines] == [(x.net_amount, x.vat_rate) for x in ubl.lines]
    assert (cii.seller.name, cii.seller.vat_id, cii.seller.address) == (ubl.seller.name, ubl.seller.vat_id,
                                                                        ubl.seller.address)


def test_the_xml_inside_a_facturx_pdf_is_read() -> None:
    from_pdf = read_invoice(facturx_pdf(VALID_CII.read_bytes()))
    assert from_pdf == read_invoice(VALID_CII.read_bytes())


@needs_shared
def test_a_credit_note_is_a_credit_note() -> None:
    from einvoice_files import SHARED

    assert SHARED is not None
    invoice = read_invoice((SHARED / "en16931" / "ubl" / "ubl-tc434-creditnote1.xml").read_bytes())
    assert (invoice.syntax, invoice.kind, invoice.type_code) == ("UBL CreditNote", "credit_note", "381")
    assert invoice.totals.payable > 0  # a credit note states positive amounts


def test_the_records_are_frozen() -> None:
    invoice = read_invoice(BAD_BR_CO_16.read_bytes())
    with pytest.raises(dataclasses.FrozenInstanceError):
        invoice.number = "X"  # type: ignore[misc]


def test_an_amount_that_is_not_a_number_is_refused_by_name() -> None:
    broken = VALID_UBL.read_bytes().replace(b'<cbc:PayableAmount currencyID="EUR">336.9<',
                                            b'<cbc:PayableAmount currencyID="EUR">lots<')
    with pytest.raises(DocumentError, match="PayableAmount is not a number"):
        read_invoice(broken)


def test_a_missing_required_total_is_refused_by_name() -> None:
    broken = VALID_UBL.read_bytes().replace(b'<cbc:PayableAmount currencyID="EUR">336.9</cbc:PayableAmount>', b"")
    with pytest.raises(DocumentError, match="lacks PayableAmount"):
        read_invoice(broken)
