"""A stored invoice or credit note as a UN/CEFACT Cross Industry Invoice D16B (EN 16931 or XRechnung 3.0)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from lxml import etree

from billing.documents import InvoiceDocument
from billing.einvoice.content import (
    Facts,
    LineFacts,
    Party,
    VatFacts,
    allowance_facts,
    line_facts,
    money_text,
    number_text,
    rate_text,
    vat_facts,
)
from billing.einvoice.records import Address
from billing.einvoice.source import CII_NS

RAM = "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100"
UDT = "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100"
QDT = "urn:un:unece:uncefact:data:standard:QualifiedDataType:100"
NSMAP = {"rsm": CII_NS, "ram": RAM, "udt": UDT, "qdt": QDT}
Element = etree._Element


class _Writer:
    """Appends ram elements; amounts written with the document currency's decimals."""

    def __init__(self, currency: str) -> None:
        self.currency = currency

    def add(self, parent: Element, name: str, value: str = "", **attrib: str) -> Element:
        element = etree.SubElement(parent, f"{{{RAM}}}{name}", attrib)
        if value:
            element.text = value
        return element

    def opt(self, parent: Element, name: str, value: str, **attrib: str) -> None:
        if value:
            self.add(parent, name, value, **attrib)

    def money(self, parent: Element, name: str, amount: Decimal, **attrib: str) -> None:
        self.add(parent, name, money_text(amount, self.currency), **attrib)

    def day(self, parent: Element, name: str, value: date, namespace: str = UDT) -> None:
        stamp = etree.SubElement(self.add(parent, name), f"{{{namespace}}}DateTimeString", format="102")
        stamp.text = value.strftime("%Y%m%d")

    def indicator(self, parent: Element, is_charge: bool) -> None:
        etree.SubElement(self.add(parent, "ChargeIndicator"), f"{{{UDT}}}Indicator").text = (
            "true" if is_charge else "false")


def build_cii(document: InvoiceDocument, facts: Facts, guideline: str, process: str = "") -> bytes:
    """The document as CII XML: type code 380 (invoice) or 381 (credit note); `guideline` the specification
    identifier (BT-24), `process` the business process (BT-23)."""
    header, currency = document.header, document.currency
    w = _Writer(currency)
    root = etree.Element(f"{{{CII_NS}}}CrossIndustryInvoice", nsmap=NSMAP)
    context = etree.SubElement(root, f"{{{CII_NS}}}ExchangedDocumentContext")
    if process:
        w.add(w.add(context, "BusinessProcessSpecifiedDocumentContextParameter"), "ID", process)
    w.add(w.add(context, "GuidelineSpecifiedDocumentContextParameter"), "ID", guideline)
    exchanged = etree.SubElement(root, f"{{{CII_NS}}}ExchangedDocument")
    w.add(exchanged, "ID", header.number or "")
    w.add(exchanged, "TypeCode", "381" if document.is_credit_note else "380")
    if header.issue_date:
        w.day(exchanged, "IssueDateTime", header.issue_date)
    if header.notes.strip():
        w.add(w.add(exchanged, "IncludedNote"), "Content", " ".join(header.notes.split()))
    trade = etree.SubElement(root, f"{{{CII_NS}}}SupplyChainTradeTransaction")
    for line in document.lines:
        _line(w, trade, line_facts(line, currency))
    agreement = w.add(trade, "ApplicableHeaderTradeAgreement")
    w.opt(agreement, "BuyerReference", facts.buyer_reference)
    _party(w, agreement, "SellerTradeParty", facts.seller)
    _party(w, agreement, "BuyerTradeParty", facts.buyer)
    if facts.order_reference:  # BT-13
        w.add(w.add(agreement, "BuyerOrderReferencedDocument"), "IssuerAssignedID", facts.order_reference)
    delivery = w.add(trade, "ApplicableHeaderTradeDelivery")
    intra_community = any(tax.vat_category == "K" for tax in document.taxes) and header.issue_date  # BR-IC-11/12
    if intra_community:
        _address(w, w.add(w.add(delivery, "ShipToTradeParty"), "PostalTradeAddress"), facts.buyer.address)
    delivered = facts.delivery_date or (header.issue_date if intra_community else None)
    if delivered:  # BT-72
        w.day(w.add(delivery, "ActualDeliverySupplyChainEvent"), "OccurrenceDateTime", delivered)
    _settlement(w, w.add(trade, "ApplicableHeaderTradeSettlement"), document, facts)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def _party(w: _Writer, parent: Element, name: str, party: Party) -> None:
    element = w.add(parent, name)
    w.opt(element, "ID", party.identifier)
    w.add(element, "Name", party.name)
    if party.legal_id:  # BT-30/47
        w.add(w.add(element, "SpecifiedLegalOrganization"), "ID", party.legal_id)
    if party.contact_name or party.contact_phone or party.email:
        contact = w.add(element, "DefinedTradeContact")
        w.opt(contact, "PersonName", party.contact_name)
        if party.contact_phone:
            w.add(w.add(contact, "TelephoneUniversalCommunication"), "CompleteNumber", party.contact_phone)
        if party.email:
            w.add(w.add(contact, "EmailURIUniversalCommunication"), "URIID", party.email)
    _address(w, w.add(element, "PostalTradeAddress"), party.address)
    if party.electronic_address:
        w.add(w.add(element, "URIUniversalCommunication"), "URIID", party.electronic_address,
              schemeID=party.electronic_scheme)
    for company_id, scheme in ((party.vat_id, "VA"), (party.tax_number, "FC")):
        if company_id:
            w.add(w.add(element, "SpecifiedTaxRegistration"), "ID", company_id, schemeID=scheme)


def _address(w: _Writer, element: Element, address: Address) -> None:
    w.opt(element, "PostcodeCode", address.postcode)
    w.opt(element, "LineOne", address.street)
    w.opt(element, "LineTwo", address.additional)
    w.opt(element, "CityName", address.city)
    w.add(element, "CountryID", address.country)
    w.opt(element, "CountrySubDivisionName", address.subdivision)


def _tax(w: _Writer, parent: Element, category: str, rate: Decimal, vat: VatFacts | None = None) -> None:
    """A TradeTax: on the VAT breakdown with its amounts and exemption reason, on a line or allowance without."""
    element = w.add(parent, "ApplicableTradeTax" if vat is not None or parent.tag.endswith("Settlement")
                    else "CategoryTradeTax")
    if vat is not None:
        w.money(element, "CalculatedAmount", vat.tax)
    w.add(element, "TypeCode", "VAT")
    if vat is not None:
        w.opt(element, "ExemptionReason", vat.reason)
        w.money(element, "BasisAmount", vat.taxable)
    w.add(element, "CategoryCode", category)
    if vat is not None:
        w.opt(element, "ExemptionReasonCode", vat.reason_code)
    if category != "O" or vat is not None:  # category O: no rate on lines, allowances, charges (BR-O-05..07);
        w.add(element, "RateApplicablePercent", rate_text(rate))  # the breakdown's 0 is required in Germany (BR-DE-14)


def _line(w: _Writer, trade: Element, line: LineFacts) -> None:
    item = w.add(trade, "IncludedSupplyChainTradeLineItem")
    w.add(w.add(item, "AssociatedDocumentLineDocument"), "LineID", line.id)
    w.add(w.add(item, "SpecifiedTradeProduct"), "Name", line.name)
    price = w.add(w.add(item, "SpecifiedLineTradeAgreement"), "NetPriceProductTradePrice")
    w.add(price, "ChargeAmount", number_text(line.price))
    if line.base_quantity != 1:
        w.add(price, "BasisQuantity", number_text(line.base_quantity), unitCode=line.unit_code)
    w.add(w.add(item, "SpecifiedLineTradeDelivery"), "BilledQuantity", number_text(line.quantity),
          unitCode=line.unit_code)
    settlement = w.add(item, "SpecifiedLineTradeSettlement")
    _tax(w, settlement, line.category, line.rate)
    for is_charge, amount in ((False, line.allowance), (True, line.charge)):
        if amount:
            allowance = w.add(settlement, "SpecifiedTradeAllowanceCharge")
            w.indicator(allowance, is_charge)
            w.money(allowance, "ActualAmount", amount)
            w.add(allowance, "Reason", "Charge" if is_charge else "Discount")
    w.money(w.add(settlement, "SpecifiedTradeSettlementLineMonetarySummation"), "LineTotalAmount", line.net)


def _settlement(w: _Writer, settlement: Element, document: InvoiceDocument, facts: Facts) -> None:
    header, currency, payment = document.header, document.currency, facts.payment
    if payment is not None:  # BT-90, BT-83 (the schema's order)
        w.opt(settlement, "CreditorReferenceID", payment.creditor_id)
        w.opt(settlement, "PaymentReference", payment.remittance)
    w.add(settlement, "InvoiceCurrencyCode", currency)
    if payment is not None:
        means = w.add(settlement, "SpecifiedTradeSettlementPaymentMeans")
        w.add(means, "TypeCode", payment.means_code)
        if payment.debited_iban:  # BT-91
            w.add(w.add(means, "PayerPartyDebtorFinancialAccount"), "IBANID", payment.debited_iban)
        if payment.iban:
            w.add(w.add(means, "PayeePartyCreditorFinancialAccount"), "IBANID", payment.iban)
        if payment.iban and payment.bic:
            w.add(w.add(means, "PayeeSpecifiedCreditorFinancialInstitution"), "BICID", payment.bic)
    for vat in vat_facts(document):
        _tax(w, settlement, vat.category, vat.rate, vat)
    if facts.period_start and facts.period_end:  # BG-14
        period = w.add(settlement, "BillingSpecifiedPeriod")
        w.day(period, "StartDateTime", facts.period_start)
        w.day(period, "EndDateTime", facts.period_end)
    for stored in document.allowance_charges:
        fact = allowance_facts(stored, document.totals.line_total, currency)
        element = w.add(settlement, "SpecifiedTradeAllowanceCharge")
        w.indicator(element, fact.is_charge)
        if fact.percent is not None and fact.base is not None:
            w.add(element, "CalculationPercent", number_text(fact.percent))
            w.money(element, "BasisAmount", fact.base)
        w.money(element, "ActualAmount", fact.amount)
        w.add(element, "Reason", fact.reason)
        _tax(w, element, fact.category, fact.rate)
    _payment_terms(w, settlement, document, facts)
    total = w.add(settlement, "SpecifiedTradeSettlementHeaderMonetarySummation")
    w.money(total, "LineTotalAmount", header.line_total)
    if document.allowance_charges:
        w.money(total, "ChargeTotalAmount", header.charge_total)
        w.money(total, "AllowanceTotalAmount", header.allowance_total)
    w.money(total, "TaxBasisTotalAmount", header.tax_exclusive)
    w.money(total, "TaxTotalAmount", header.tax_total, currencyID=currency)
    if header.rounding:
        w.money(total, "RoundingAmount", header.rounding)
    w.money(total, "GrandTotalAmount", header.tax_inclusive)
    if header.prepaid:
        w.money(total, "TotalPrepaidAmount", header.prepaid)
    w.money(total, "DuePayableAmount", header.payable)
    if facts.preceding_number:  # BG-3: the invoice this credit note credits
        reference = w.add(settlement, "InvoiceReferencedDocument")
        w.add(reference, "IssuerAssignedID", facts.preceding_number)
        if facts.preceding_date:
            w.day(reference, "FormattedIssueDateTime", facts.preceding_date, QDT)


def _payment_terms(w: _Writer, settlement: Element, document: InvoiceDocument, facts: Facts) -> None:
    """The payment terms text (BT-20), due date (BT-9) and direct debit mandate (BT-89); a credit note without
    terms says what it credits (BR-CO-25: an amount due needs a due date or payment terms)."""
    due = document.header.due_date if not document.is_credit_note else None
    text = facts.payment_terms or (f"Credit for invoice {facts.preceding_number}." if facts.preceding_number
                                   and not due else "")
    mandate = facts.payment.mandate if facts.payment is not None else ""
    if not (text or due or mandate):
        return
    terms = w.add(settlement, "SpecifiedTradePaymentTerms")
    w.opt(terms, "Description", text)
    if due:
        w.day(terms, "DueDateDateTime", due)
    w.opt(terms, "DirectDebitMandateID", mandate)
