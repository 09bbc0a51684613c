"""Read a UBL Invoice or CreditNote, a UN/CEFACT CII invoice or a Factur-X / ZUGFeRD PDF into a ParsedInvoice."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

from lxml import etree

from billing.einvoice.records import Address, AllowanceCharge, Line, ParsedInvoice, Party, Totals, VatBreakdown
from billing.einvoice.source import CII, Document, DocumentError, read_document

__all__ = ["ParsedInvoice", "parse_document", "read_invoice"]

UBL = {"cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
       "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"}
CII_NS = {"rsm": "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100",
          "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100",
          "udt": "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100"}
Element = etree._Element
# An xsd:decimal as e-invoices write them (no exponent, no NaN), of a sane length: "1E+999999999" would read
# as a Decimal, and then print as a billion digits.
_DECIMAL = re.compile(r"[+-]?(\d{1,30}(\.\d{0,20})?|\.\d{1,20})")


class _Reader:
    """Text, amounts and dates of one element's descendants, by a namespaced path."""

    def __init__(self, namespaces: dict[str, str]) -> None:
        self.ns = namespaces

    def all(self, node: Element | None, path: str) -> list[Element]:
        return [] if node is None else list(node.iterfind(path, self.ns))

    def one(self, node: Element | None, path: str) -> Element | None:
        return None if node is None else node.find(path, self.ns)

    def text(self, node: Element | None, path: str) -> str:
        found = self.one(node, path)
        return " ".join((found.text or "").split()) if found is not None else ""

    def attr(self, node: Element | None, path: str, name: str) -> str:
        found = self.one(node, path)
        return (found.get(name) or "").strip() if found is not None else ""

    def amount(self, node: Element | None, path: str) -> Decimal | None:
        """The element's number as a Decimal (exactly as written), None if absent; a DocumentError if not a number."""
        raw = self.text(node, path)
        if not raw:
            return None
        if not _DECIMAL.fullmatch(raw):
            raise DocumentError(f"{path.rsplit(':', 1)[-1]} is not a number: {raw[:40]!r}.")
        return Decimal(raw)

    def required(self, node: Element | None, path: str) -> Decimal:
        value = self.amount(node, path)
        if value is None:
            raise DocumentError(f"The e-invoice lacks {path.rsplit(':', 1)[-1]}: it cannot be read.")
        return value

    def day(self, node: Element | None, path: str) -> date | None:
        """A date written as YYYY-MM-DD (UBL) or YYYYMMDD (CII format 102); None if absent or another format."""
        raw = self.text(node, path).replace("-", "")
        if len(raw) != 8 or not raw.isdigit():
            return None
        try:
            return date(int(raw[:4]), int(raw[4:6]), int(raw[6:]))
        except ValueError:
            return None


def read_invoice(data: bytes) -> ParsedInvoice:
    """The e-invoice in `data` (XML or Factur-X PDF), read; DocumentError if it cannot be."""
    return parse_document(read_document(data))


def parse_document(document: Document) -> ParsedInvoice:
    return _parse_cii(document) if document.syntax == CII else _parse_ubl(document)


# --- UBL 2.1 ------------------------------------------------------------------------------------


def _parse_ubl(document: Document) -> ParsedInvoice:
    r, root = _Reader(UBL), document.root
    credit = document.syntax == "UBL CreditNote"
    currency = r.text(root, "cbc:DocumentCurrencyCode")
    tax_totals = r.all(root, "cac:TaxTotal")
    in_currency = [t for t in tax_totals if r.attr(t, "cbc:TaxAmount", "currencyID") in ("", currency)]
    other = [t for t in tax_totals if t not in in_currency]
    money = r.one(root, "cac:LegalMonetaryTotal")
    totals = Totals(
        line_total=r.required(money, "cbc:LineExtensionAmount"),
        tax_exclusive=r.required(money, "cbc:TaxExclusiveAmount"),
        tax_inclusive=r.required(money, "cbc:TaxInclusiveAmount"), payable=r.required(money, "cbc:PayableAmount"),
        allowances=r.amount(money, "cbc:AllowanceTotalAmount"), charges=r.amount(money, "cbc:ChargeTotalAmount"),
        tax_total=r.amount(in_currency[0], "cbc:TaxAmount") if in_currency else None,
        tax_total_accounting=r.amount(other[0], "cbc:TaxAmount") if other else None,
        prepaid=r.amount(money, "cbc:PrepaidAmount"), rounding=r.amount(money, "cbc:PayableRoundingAmount"))
    line_tag, quantity_tag = ("cac:CreditNoteLine", "cbc:CreditedQuantity") if credit else \
        ("cac:InvoiceLine", "cbc:InvoicedQuantity")
    return ParsedInvoice(
        syntax=document.syntax, number=r.text(root, "cbc:ID"),
        type_code=r.text(root, "cbc:CreditNoteTypeCode" if credit else "cbc:InvoiceTypeCode"),
        issue_date=r.day(root, "cbc:IssueDate"),
        due_date=r.day(root, "cbc:DueDate") or r.day(root, "cac:PaymentMeans/cbc:PaymentDueDate"),
        currency=currency, seller=_ubl_party(r, r.one(root, "cac:AccountingSupplierParty/cac:Party")),
        buyer=_ubl_party(r, r.one(root, "cac:AccountingCustomerParty/cac:Party")),
        buyer_reference=r.text(root, "cbc:BuyerReference"),
        lines=tuple(_ubl_line(r, node, quantity_tag) for node in r.all(root, line_tag)),
        allowances_charges=tuple(_ubl_allowance(r, node) for node in r.all(root, "cac:AllowanceCharge")),
        vat_breakdown=tuple(_ubl_vat(r, node) for total in in_currency for node in r.all(total, "cac:TaxSubtotal")),
        totals=totals)


def _ubl_party(r: _Reader, party: Element | None) -> Party:
    vat = next((r.text(scheme, "cbc:CompanyID") for scheme in r.all(party, "cac:PartyTaxScheme")
                if r.text(scheme, "cac:TaxScheme/cbc:ID").upper() == "VAT"), "")
    address = r.one(party, "cac:PostalAddress")
    return Party(
        name=r.text(party, "cac:PartyLegalEntity/cbc:RegistrationName") or r.text(party, "cac:PartyName/cbc:Name"),
        vat_id=vat, legal_id=r.text(party, "cac:PartyLegalEntity/cbc:CompanyID"),
        address=Address(street=r.text(address, "cbc:StreetName"),
                        additional=r.text(address, "cbc:AdditionalStreetName"),
                        city=r.text(address, "cbc:CityName"), postcode=r.text(address, "cbc:PostalZone"),
                        subdivision=r.text(address, "cbc:CountrySubentity"),
                        country=r.text(address, "cac:Country/cbc:IdentificationCode")),
        electronic_address=r.text(party, "cbc:EndpointID"),
        electronic_scheme=r.attr(party, "cbc:EndpointID", "schemeID"))


def _ubl_line(r: _Reader, node: Element, quantity_tag: str) -> Line:
    tax = r.one(node, "cac:Item/cac:ClassifiedTaxCategory")
    return Line(id=r.text(node, "cbc:ID"), name=r.text(node, "cac:Item/cbc:Name"),
                quantity=r.required(node, quantity_tag), unit_code=r.attr(node, quantity_tag, "unitCode"),
                net_price=r.amount(node, "cac:Price/cbc:PriceAmount"),
                net_amount=r.required(node, "cbc:LineExtensionAmount"),
                vat_category=r.text(tax, "cbc:ID"), vat_rate=r.amount(tax, "cbc:Percent"),
                base_quantity=r.amount(node, "cac:Price/cbc:BaseQuantity"))


def _ubl_allowance(r: _Reader, node: Element) -> AllowanceCharge:
    tax = r.one(node, "cac:TaxCategory")
    return AllowanceCharge(is_charge=r.text(node, "cbc:ChargeIndicator").lower() == "true",
                           amount=r.required(node, "cbc:Amount"), vat_category=r.text(tax, "cbc:ID"),
                           vat_rate=r.amount(tax, "cbc:Percent"), reason=r.text(node, "cbc:AllowanceChargeReason"),
                           reason_code=r.text(node, "cbc:AllowanceChargeReasonCode"),
                           base_amount=r.amount(node, "cbc:BaseAmount"),
                           percent=r.amount(node, "cbc:MultiplierFactorNumeric"))


def _ubl_vat(r: _Reader, node: Element) -> VatBreakdown:
    tax = r.one(node, "cac:TaxCategory")
    return VatBreakdown(category=r.text(tax, "cbc:ID"), rate=r.amount(tax, "cbc:Percent"),
                        taxable=r.required(node, "cbc:TaxableAmount"), tax=r.required(node, "cbc:TaxAmount"),
                        exemption_reason=r.text(tax, "cbc:TaxExemptionReason"),
                        exemption_code=r.text(tax, "cbc:TaxExemptionReasonCode"))


# --- UN/CEFACT CII D16B -------------------------------------------------------------------------


def _parse_cii(document: Document) -> ParsedInvoice:
    r, root = _Reader(CII_NS), document.root
    trade = r.one(root, "rsm:SupplyChainTradeTransaction")
    agreement = r.one(trade, "ram:ApplicableHeaderTradeAgreement")
    settlement = r.one(trade, "ram:ApplicableHeaderTradeSettlement")
    currency = r.text(settlement, "ram:InvoiceCurrencyCode")
    money = r.one(settlement, "ram:SpecifiedTradeSettlementHeaderMonetarySummation")
    tax_amounts = r.all(money, "ram:TaxTotalAmount")
    in_currency = [t for t in tax_amounts if (t.get("currencyID") or currency) == currency]
    other = [t for t in tax_amounts if t not in in_currency]
    totals = Totals(
        line_total=r.required(money, "ram:LineTotalAmount"), tax_exclusive=r.required(money, "ram:TaxBasisTotalAmount"),
        tax_inclusive=r.required(money, "ram:GrandTotalAmount"), payable=r.required(money, "ram:DuePayableAmount"),
        allowances=r.amount(money, "ram:AllowanceTotalAmount"), charges=r.amount(money, "ram:ChargeTotalAmount"),
        tax_total=_number(in_currency), tax_total_accounting=_number(other),
        prepaid=r.amount(money, "ram:TotalPrepaidAmount"), rounding=r.amount(money, "ram:RoundingAmount"))
    return ParsedInvoice(
        syntax=document.syntax, number=r.text(root, "rsm:ExchangedDocument/ram:ID"),
        type_code=r.text(root, "rsm:ExchangedDocument/ram:TypeCode"),
        issue_date=r.day(root, "rsm:ExchangedDocument/ram:IssueDateTime/udt:DateTimeString"),
        due_date=r.day(settlement, "ram:SpecifiedTradePaymentTerms/ram:DueDateDateTime/udt:DateTimeString"),
        currency=currency, seller=_cii_party(r, r.one(agreement, "ram:SellerTradeParty")),
        buyer=_cii_party(r, r.one(agreement, "ram:BuyerTradeParty")),
        buyer_reference=r.text(agreement, "ram:BuyerReference"),
        lines=tuple(_cii_line(r, node) for node in r.all(trade, "ram:IncludedSupplyChainTradeLineItem")),
        allowances_charges=tuple(_cii_allowance(r, node)
                                 for node in r.all(settlement, "ram:SpecifiedTradeAllowanceCharge")),
        vat_breakdown=tuple(_cii_vat(r, node) for node in r.all(settlement, "ram:ApplicableTradeTax")),
        totals=totals)


def _number(elements: list[Element]) -> Decimal | None:
    if not elements:
        return None
    raw = " ".join((elements[0].text or "").split())
    if not _DECIMAL.fullmatch(raw):
        raise DocumentError(f"TaxTotalAmount is not a number: {raw[:40]!r}.")
    return Decimal(raw)


def _cii_party(r: _Reader, party: Element | None) -> Party:
    registrations = {r.attr(reg, "ram:ID", "schemeID").upper(): r.text(reg, "ram:ID")
                     for reg in r.all(party, "ram:SpecifiedTaxRegistration")}
    address = r.one(party, "ram:PostalTradeAddress")
    uri = "ram:URIUniversalCommunication/ram:URIID"
    return Party(
        name=r.text(party, "ram:Name"), vat_id=registrations.get("VA", ""),
        legal_id=r.text(party, "ram:SpecifiedLegalOrganization/ram:ID"),
        address=Address(street=r.text(address, "ram:LineOne"), additional=r.text(address, "ram:LineTwo"),
                        city=r.text(address, "ram:CityName"), postcode=r.text(address, "ram:PostcodeCode"),
                        subdivision=r.text(address, "ram:CountrySubDivisionName"),
                        country=r.text(address, "ram:CountryID")),
        electronic_address=r.text(party, uri), electronic_scheme=r.attr(party, uri, "schemeID"))


def _cii_line(r: _Reader, node: Element) -> Line:
    settlement = r.one(node, "ram:SpecifiedLineTradeSettlement")
    tax = r.one(settlement, "ram:ApplicableTradeTax")
    price = r.one(node, "ram:SpecifiedLineTradeAgreement/ram:NetPriceProductTradePrice")
    quantity = "ram:SpecifiedLineTradeDelivery/ram:BilledQuantity"
    line_total = "ram:SpecifiedTradeSettlementLineMonetarySummation/ram:LineTotalAmount"
    return Line(id=r.text(node, "ram:AssociatedDocumentLineDocument/ram:LineID"),
                name=r.text(node, "ram:SpecifiedTradeProduct/ram:Name"), quantity=r.required(node, quantity),
                unit_code=r.attr(node, quantity, "unitCode"), net_price=r.amount(price, "ram:ChargeAmount"),
                net_amount=r.required(settlement, line_total),
                vat_category=r.text(tax, "ram:CategoryCode"), vat_rate=r.amount(tax, "ram:RateApplicablePercent"),
                base_quantity=r.amount(price, "ram:BasisQuantity"))


def _cii_allowance(r: _Reader, node: Element) -> AllowanceCharge:
    tax = r.one(node, "ram:CategoryTradeTax")
    return AllowanceCharge(is_charge=r.text(node, "ram:ChargeIndicator/udt:Indicator").lower() == "true",
                           amount=r.required(node, "ram:ActualAmount"), vat_category=r.text(tax, "ram:CategoryCode"),
                           vat_rate=r.amount(tax, "ram:RateApplicablePercent"), reason=r.text(node, "ram:Reason"),
                           reason_code=r.text(node, "ram:ReasonCode"), base_amount=r.amount(node, "ram:BasisAmount"),
                           percent=r.amount(node, "ram:CalculationPercent"))


def _cii_vat(r: _Reader, node: Element) -> VatBreakdown:
    return VatBreakdown(category=r.text(node, "ram:CategoryCode"), rate=r.amount(node, "ram:RateApplicablePercent"),
                        taxable=r.required(node, "ram:BasisAmount"), tax=r.required(node, "ram:CalculatedAmount"),
                        exemption_reason=r.text(node, "ram:ExemptionReason"),
                        exemption_code=r.text(node, "ram:ExemptionReasonCode"))

