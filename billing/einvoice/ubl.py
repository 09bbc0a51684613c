"""A stored invoice or credit note as a UBL 2.1 Invoice or CreditNote (EN 16931, Peppol BIS 3.0, XRechnung 3.0)."""

from __future__ import annotations

from decimal import Decimal

from lxml import etree

from billing.documents import InvoiceDocument
from billing.einvoice.content import (
    Facts,
    LineFacts,
    Party,
    Payment,
    VatFacts,
    allowance_facts,
    line_facts,
    money_text,
    number_text,
    rate_text,
    vat_facts,
)
from billing.einvoice.records import Address
from billing.einvoice.source import UBL_CREDIT_NOTE_NS, UBL_INVOICE_NS

CAC = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
CBC = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
Element = etree._Element


class _Writer:
    """Appends cac/cbc elements; amounts carry the document's currency."""

    def __init__(self, currency: str) -> None:
        self.currency = currency

    def agg(self, parent: Element, name: str) -> Element:
        return etree.SubElement(parent, f"{{{CAC}}}{name}")

    def text(self, parent: Element, name: str, value: str, **attrib: str) -> Element | None:
        """A cbc element with the text; nothing for an empty text (Peppol refuses empty elements)."""
        if not value:
            return None
        element = etree.SubElement(parent, f"{{{CBC}}}{name}", attrib)
        element.text = value
        return element

    def money(self, parent: Element, name: str, amount: Decimal) -> None:
        self.text(parent, name, money_text(amount, self.currency), currencyID=self.currency)


def build_ubl(document: InvoiceDocument, facts: Facts, customization: str, profile: str = "") -> bytes:
    """The document as UBL 2.1 XML: an Invoice (type 380) or, for a credit note, a CreditNote (type 381)."""
    credit = document.is_credit_note
    header, currency = document.header, document.currency
    w = _Writer(currency)
    namespace, tag = (UBL_CREDIT_NOTE_NS, "CreditNote") if credit else (UBL_INVOICE_NS, "Invoice")
    root = etree.Element(f"{{{namespace}}}{tag}", nsmap={None: namespace, "cac": CAC, "cbc": CBC})  # type: ignore[dict-item]
    w.text(root, "CustomizationID", customization)
    w.text(root, "ProfileID", profile)
    w.text(root, "ID", header.number or "")
    w.text(root, "IssueDate", header.issue_date.isoformat() if header.issue_date else "")
    if not credit:
        w.text(root, "DueDate", header.due_date.isoformat() if header.due_date else "")
    w.text(root, "CreditNoteTypeCode" if credit else "InvoiceTypeCode", "381" if credit else "380")
    w.text(root, "Note", " ".join(header.notes.split()))
    w.text(root, "DocumentCurrencyCode", currency)
    w.text(root, "BuyerReference", facts.buyer_reference)
    if facts.period_start and facts.period_end:  # BG-14
        period = w.agg(root, "InvoicePeriod")
        w.text(period, "StartDate", facts.period_start.isoformat())
        w.text(period, "EndDate", facts.period_end.isoformat())
    if facts.order_reference:  # BT-13
        w.text(w.agg(root, "OrderReference"), "ID", facts.order_reference)
    if facts.preceding_number:  # BG-3: the invoice this credit note credits
        reference = w.agg(w.agg(root, "BillingReference"), "InvoiceDocumentReference")
        w.text(reference, "ID", facts.preceding_number)
        w.text(reference, "IssueDate", facts.preceding_date.isoformat() if facts.preceding_date else "")
    creditor_id = facts.payment.creditor_id if facts.payment is not None else ""
    _party(w, w.agg(root, "AccountingSupplierParty"), facts.seller, creditor_id)
    _party(w, w.agg(root, "AccountingCustomerParty"), facts.buyer)
    intra_community = any(tax.vat_category == "K" for tax in document.taxes)
    if intra_community or facts.delivery_date:  # BT-72; BR-IC-11/12: delivered when, where (buyer)
        delivery = w.agg(root, "Delivery")
        delivered = facts.delivery_date or header.issue_date
        w.text(delivery, "ActualDeliveryDate", delivered.isoformat() if delivered else "")
        if intra_community:
            _address(w, w.agg(w.agg(delivery, "DeliveryLocation"), "Address"), facts.buyer.address)
    if facts.payment is not None:
        _payment_means(w, root, facts.payment)
    terms = facts.payment_terms or (f"Credit for invoice {facts.preceding_number}."  # BR-CO-25: an amount due
                                    if credit and facts.preceding_number else "")  # needs a due date or terms
    if terms:
        w.text(w.agg(root, "PaymentTerms"), "Note", terms)
    for item in document.allowance_charges:
        fact = allowance_facts(item, document.totals.line_total, currency)
        element = w.agg(root, "AllowanceCharge")
        w.text(element, "ChargeIndicator", "true" if fact.is_charge else "false")
        w.text(element, "AllowanceChargeReason", fact.reason)
        if fact.percent is not None:
            w.text(element, "MultiplierFactorNumeric", number_text(fact.percent))
        w.money(element, "Amount", fact.amount)
        if fact.base is not None:
            w.money(element, "BaseAmount", fact.base)
        _category(w, element, "TaxCategory", fact.category, fact.rate)
    tax_total = w.agg(root, "TaxTotal")
    w.money(tax_total, "TaxAmount", header.tax_total)
    for vat in vat_facts(document):
        _subtotal(w, tax_total, vat)
    _totals(w, root, document)
    for line in document.lines:
        _line(w, root, line_facts(line, currency), credit)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def _payment_means(w: _Writer, root: Element, payment: Payment) -> None:
    """BG-16: the means code (BT-81), remittance (BT-83), and the payee's account (BT-84/86) for a credit
    transfer, or the mandate (BT-89) and the account debited (BT-91) for a direct debit."""
    means = w.agg(root, "PaymentMeans")
    w.text(means, "PaymentMeansCode", payment.means_code)
    w.text(means, "PaymentID", payment.remittance)
    if payment.iban:
        account = w.agg(means, "PayeeFinancialAccount")
        w.text(account, "ID", payment.iban)
        if payment.bic:
            w.text(w.agg(account, "FinancialInstitutionBranch"), "ID", payment.bic)
    if payment.mandate or payment.debited_iban:
        mandate = w.agg(means, "PaymentMandate")
        w.text(mandate, "ID", payment.mandate)
        if payment.debited_iban:
            w.text(w.agg(mandate, "PayerFinancialAccount"), "ID", payment.debited_iban)


def _party(w: _Writer, parent: Element, party: Party, creditor_id: str = "") -> None:
    """A party; the seller with its SEPA creditor identifier (BT-90) as an identification of scheme SEPA."""
    element = w.agg(parent, "Party")
    if party.electronic_address:
        w.text(element, "EndpointID", party.electronic_address, schemeID=party.electronic_scheme)
    if party.identifier:
        w.text(w.agg(element, "PartyIdentification"), "ID", party.identifier)
    if creditor_id:
        w.text(w.agg(element, "PartyIdentification"), "ID", creditor_id, schemeID="SEPA")
    _address(w, w.agg(element, "PostalAddress"), party.address)
    for company_id, scheme in ((party.vat_id, "VAT"), (party.tax_number, "FC")):
        if company_id:
            tax_scheme = w.agg(element, "PartyTaxScheme")
            w.text(tax_scheme, "CompanyID", company_id)
            w.text(w.agg(tax_scheme, "TaxScheme"), "ID", scheme)
    legal = w.agg(element, "PartyLegalEntity")
    w.text(legal, "RegistrationName", party.name)
    w.text(legal, "CompanyID", party.legal_id)  # BT-30/47
    if party.contact_name or party.contact_phone or party.email:
        contact = w.agg(element, "Contact")
        w.text(contact, "Name", party.contact_name)
        w.text(contact, "Telephone", party.contact_phone)
        w.text(contact, "ElectronicMail", party.email)


def _address(w: _Writer, element: Element, address: Address) -> None:
    w.text(element, "StreetName", address.street)
    w.text(element, "AdditionalStreetName", address.additional)
    w.text(element, "CityName", address.city)
    w.text(element, "PostalZone", address.postcode)
    w.text(element, "CountrySubentity", address.subdivision)
    w.text(w.agg(element, "Country"), "IdentificationCode", address.country)


def _category(w: _Writer, parent: Element, name: str, category: str, rate: Decimal, vat: VatFacts | None = None
              ) -> None:
    element = w.agg(parent, name)
    w.text(element, "ID", category)
    if category != "O" or vat is not None:  # category O: no rate on lines, allowances, charges (BR-O-05..07);
        w.text(element, "Percent", rate_text(rate))  # the breakdown's 0 is required in Germany (BR-DE-14)
    if vat is not None:
        w.text(element, "TaxExemptionReasonCode", vat.reason_code)
        w.text(element, "TaxExemptionReason", vat.reason)
    w.text(w.agg(element, "TaxScheme"), "ID", "VAT")


def _subtotal(w: _Writer, tax_total: Element, vat: VatFacts) -> None:
    subtotal = w.agg(tax_total, "TaxSubtotal")
    w.money(subtotal, "TaxableAmount", vat.taxable)
    w.money(subtotal, "TaxAmount", vat.tax)
    _category(w, subtotal, "TaxCategory", vat.category, vat.rate, vat)


def _totals(w: _Writer, root: Element, document: InvoiceDocument) -> None:
    header = document.header
    total = w.agg(root, "LegalMonetaryTotal")
    w.money(total, "LineExtensionAmount", header.line_total)
    w.money(total, "TaxExclusiveAmount", header.tax_exclusive)
    w.money(total, "TaxInclusiveAmount", header.tax_inclusive)
    if document.allowance_charges:
        w.money(total, "AllowanceTotalAmount", header.allowance_total)
        w.money(total, "ChargeTotalAmount", header.charge_total)
    if header.prepaid:
        w.money(total, "PrepaidAmount", header.prepaid)
    if header.rounding:
        w.money(total, "PayableRoundingAmount", header.rounding)
    w.money(total, "PayableAmount", header.payable)


def _line(w: _Writer, root: Element, line: LineFacts, credit: bool) -> None:
    element = w.agg(root, "CreditNoteLine" if credit else "InvoiceLine")
    w.text(element, "ID", line.id)
    w.text(element, "CreditedQuantity" if credit else "InvoicedQuantity", number_text(line.quantity),
           unitCode=line.unit_code)
    w.money(element, "LineExtensionAmount", line.net)
    for is_charge, amount in ((False, line.allowance), (True, line.charge)):
        if amount:
            item = w.agg(element, "AllowanceCharge")
            w.text(item, "ChargeIndicator", "true" if is_charge else "false")
            w.text(item, "AllowanceChargeReason", "Charge" if is_charge else "Discount")
            w.money(item, "Amount", amount)
    product = w.agg(element, "Item")
    w.text(product, "Name", line.name)
    _category(w, product, "ClassifiedTaxCategory", line.category, line.rate)
    price = w.agg(element, "Price")
    w.text(price, "PriceAmount", number_text(line.price), currencyID=w.currency)
    if line.base_quantity != 1:
        w.text(price, "BaseQuantity", number_text(line.base_quantity), unitCode=line.unit_code)
