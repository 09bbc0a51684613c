"""Read a UBL Invoice or CreditNote, a UN/CEFACT CII invoice or a Factur-X / ZUGFeRD PDF into a ParsedInvoice."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from typing import NamedTuple

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
    line_tag = "cac:CreditNoteLine" if credit else "cac:InvoiceLine"
    return ParsedInvoice(
        syntax=document.syntax, number=r.text(root, "cbc:ID"),
        type_code=r.text(root, "cbc:CreditNoteTypeCode" if credit else "cbc:InvoiceTypeCode"),
        issue_date=r.day(root, "cbc:IssueDate"),
        due_date=r.day(root, "cbc:DueDate") or r.day(root, "cac:PaymentMeans/cbc:PaymentDueDate"),
        currency=currency, seller=_ubl_party(r, r.one(root, "cac:AccountingSupplierParty/cac:Party")),
        buyer=_ubl_party(r, r.one(root, "cac:AccountingCustomerParty/cac:Party")),
        buyer_reference=r.text(root, "cbc:BuyerReference"),
        lines=tuple(_line(r, node, _UBL_CREDIT_LINE if credit else _UBL_LINE) for node in r.all(root, line_tag)),
        allowances_charges=tuple(_allowance(r, node, _UBL_ALLOWANCE) for node in r.all(root, "cac:AllowanceCharge")),
        vat_breakdown=tuple(_vat(r, node, _UBL_VAT)
                            for total in in_currency for node in r.all(total, "cac:TaxSubtotal")),
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
        lines=tuple(_line(r, node, _CII_LINE) for node in r.all(trade, "ram:IncludedSupplyChainTradeLineItem")),
        allowances_charges=tuple(_allowance(r, node, _CII_ALLOWANCE)
                                 for node in r.all(settlement, "ram:SpecifiedTradeAllowanceCharge")),
        vat_breakdown=tuple(_vat(r, node, _CII_VAT) for node in r.all(settlement, "ram:ApplicableTradeTax")),
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


# --- lines, allowances and charges, VAT breakdown: one reader, a table of paths per syntax ----------------


class _LinePaths(NamedTuple):
    id: str
    name: str
    quantity: str
    price: str  # the price element; amount and base quantity below it
    price_amount: str
    base_quantity: str
    net_amount: str
    tax: str  # the VAT category element; category and rate below it
    category: str
    rate: str


_UBL_LINE = _LinePaths("cbc:ID", "cac:Item/cbc:Name", "cbc:InvoicedQuantity", "cac:Price", "cbc:PriceAmount",
                       "cbc:BaseQuantity", "cbc:LineExtensionAmount", "cac:Item/cac:ClassifiedTaxCategory", "cbc:ID",
                       "cbc:Percent")
_UBL_CREDIT_LINE = _UBL_LINE._replace(quantity="cbc:CreditedQuantity")
_CII_LINE = _LinePaths(
    "ram:AssociatedDocumentLineDocument/ram:LineID", "ram:SpecifiedTradeProduct/ram:Name",
    "ram:SpecifiedLineTradeDelivery/ram:BilledQuantity",
    "ram:SpecifiedLineTradeAgreement/ram:NetPriceProductTradePrice", "ram:ChargeAmount", "ram:BasisQuantity",
    "ram:SpecifiedLineTradeSettlement/ram:SpecifiedTradeSettlementLineMonetarySummation/ram:LineTotalAmount",
    "ram:SpecifiedLineTradeSettlement/ram:ApplicableTradeTax", "ram:CategoryCode", "ram:RateApplicablePercent")


def _line(r: _Reader, node: Element, p: _LinePaths) -> Line:
    price, tax = r.one(node, p.price), r.one(node, p.tax)
    return Line(id=r.text(node, p.id), name=r.text(node, p.name), quantity=r.required(node, p.quantity),
                unit_code=r.attr(node, p.quantity, "unitCode"), net_price=r.amount(price, p.price_amount),
                net_amount=r.required(node, p.net_amount), vat_category=r.text(tax, p.category),
                vat_rate=r.amount(tax, p.rate), base_quantity=r.amount(price, p.base_quantity))


class _AllowancePaths(NamedTuple):
    indicator: str
    amount: str
    base_amount: str
    percent: str
    reason: str
    reason_code: str
    tax: str
    category: str
    rate: str


_UBL_ALLOWANCE = _AllowancePaths("cbc:ChargeIndicator", "cbc:Amount", "cbc:BaseAmount", "cbc:MultiplierFactorNumeric",
                                 "cbc:AllowanceChargeReason", "cbc:AllowanceChargeReasonCode", "cac:TaxCategory",
                                 "cbc:ID", "cbc:Percent")
_CII_ALLOWANCE = _AllowancePaths("ram:ChargeIndicator/udt:Indicator", "ram:ActualAmount", "ram:BasisAmount",
                                 "ram:CalculationPercent", "ram:Reason", "ram:ReasonCode", "ram:CategoryTradeTax",
                                 "ram:CategoryCode", "ram:RateApplicablePercent")


def _allowance(r: _Reader, node: Element, p: _AllowancePaths) -> AllowanceCharge:
    tax = r.one(node, p.tax)
    return AllowanceCharge(is_charge=r.text(node, p.indicator).lower() == "true", amount=r.required(node, p.amount),
                           vat_category=r.text(tax, p.category), vat_rate=r.amount(tax, p.rate),
                           reason=r.text(node, p.reason), reason_code=r.text(node, p.reason_code),
                           base_amount=r.amount(node, p.base_amount), percent=r.amount(node, p.percent))


class _VatPaths(NamedTuple):
    taxable: str
    amount: str
    tax: str  # the element holding category, rate and exemption ("." : the breakdown line itself)
    category: str
    rate: str
    reason: str
    reason_code: str


_UBL_VAT = _VatPaths("cbc:TaxableAmount", "cbc:TaxAmount", "cac:TaxCategory", "cbc:ID", "cbc:Percent",
                     "cbc:TaxExemptionReason", "cbc:TaxExemptionReasonCode")
_CII_VAT = _VatPaths("ram:BasisAmount", "ram:CalculatedAmount", ".", "ram:CategoryCode", "ram:RateApplicablePercent",
                     "ram:ExemptionReason", "ram:ExemptionReasonCode")


def _vat(r: _Reader, node: Element, p: _VatPaths) -> VatBreakdown:
    tax = r.one(node, p.tax)
    return VatBreakdown(category=r.text(tax, p.category), rate=r.amount(tax, p.rate),
                        taxable=r.required(node, p.taxable), tax=r.required(node, p.amount),
                        exemption_reason=r.text(tax, p.reason), exemption_code=r.text(tax, p.reason_code))
