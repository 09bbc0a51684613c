"""Issued invoices and credit notes exported as e-invoices (UBL, CII, Peppol BIS, XRechnung, Factur-X), checked first.

Each format asks only for what its rules need: a plain EN 16931 export never asks for a Leitweg-ID or a seller
contact, an XRechnung export refuses without them (naming each missing field) rather than produce a file that
fails. Every file is validated with the official rules of its profile before it leaves `export_document`.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, fields, is_dataclass, replace
from datetime import date
from typing import Any

from billing import invoices, logic, parties, settings
from billing.documents import DIRECT_DEBIT, DocumentParty, InvoiceDocument
from billing.einvoice.cii import build_cii
from billing.einvoice.content import (
    Facts,
    Party,
    Payment,
    categories_of,
    finer_amounts,
    party_of,
    payment_of,
    without_vat_ids,
)
from billing.einvoice.facturx import MEDIA_TYPE as FACTURX_MEDIA_TYPE
from billing.einvoice.facturx import facturx_pdf
from billing.einvoice.ubl import build_ubl
from billing.einvoice.validation import EN16931, PEPPOL, PROFILES, XRECHNUNG, validate_bytes
from billing.einvoice.wording import explain
from billing.errors import StateError, ValidationError
from billing.permissions import Actor
from billing.references import creditor_reference
from billing.store import invoices as invoice_store
from billing.store.db import Database
from billing.text import xml_unfit

EN16931_ID = "urn:cen.eu:en16931:2017"
PEPPOL_ID = "urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0"
PEPPOL_PROCESS = "urn:fdc:peppol.eu:2017:poacc:billing:01:1.0"
XRECHNUNG_ID = "urn:cen.eu:en16931:2017#compliant#urn:xeinkauf.de:kosit:xrechnung_3.0"
MEDIA_TYPE = "application/xml"


@dataclass(frozen=True, slots=True)
class Format:
    """An export format: its name (the CLI's --format), label, whether UBL, the specification identifier
    (BT-24), the business process (BT-23), the rule sets its files are checked against, and whether the XML is
    handed out attached to the document's PDF/A-3 (Factur-X) rather than as itself."""

    name: str
    label: str
    ubl: bool
    customization: str
    rules: tuple[str, ...]
    process: str = ""
    pdf: bool = False

    @property
    def media_type(self) -> str:
        return FACTURX_MEDIA_TYPE if self.pdf else MEDIA_TYPE


FORMATS: dict[str, Format] = {f.name: f for f in (
    Format("ubl", "UBL 2.1 (EN 16931)", True, EN16931_ID, (EN16931,)),
    Format("cii", "UN/CEFACT CII (EN 16931)", False, EN16931_ID, (EN16931,)),
    Format("peppol", "Peppol BIS Billing 3.0", True, PEPPOL_ID, (EN16931, PEPPOL), PEPPOL_PROCESS),
    Format("xrechnung-ubl", "XRechnung 3.0 (UBL)", True, XRECHNUNG_ID, (EN16931, XRECHNUNG), PEPPOL_PROCESS),
    Format("xrechnung-cii", "XRechnung 3.0 (CII)", False, XRECHNUNG_ID, (EN16931, XRECHNUNG), PEPPOL_PROCESS),
    Format("facturx", "Factur-X / ZUGFeRD (EN 16931, PDF/A-3)", False, EN16931_ID, (EN16931,), pdf=True),
)}


def format_of(name: str) -> Format:
    if name not in FORMATS:
        raise ValidationError(f"Unknown e-invoice format {name!r}: choose from {', '.join(FORMATS)}.")
    return FORMATS[name]


def facts_of(document: InvoiceDocument, company: dict[str, Any], preceding_date: date | None = None) -> Facts:
    """The one place party data is filled: seller and buyer as the document shows them (frozen when it was
    issued; the company profile `company` only for a document without a frozen seller), its references, delivery
    and payment details (credit transfer to the seller's IBAN, or SEPA direct debit under its mandate)."""
    header, credited = document.header, document.credited_invoice
    seller = document.seller or parties.seller_of_company(company)
    return Facts(seller=party_of(seller, seller=True), buyer=party_of(document.customer, seller=False),
                 payment=_payment(document, seller), buyer_reference=header.buyer_reference,
                 order_reference=header.order_reference, delivery_date=header.delivery_date,
                 period_start=header.period_start, period_end=header.period_end,
                 payment_terms=" ".join(header.payment_terms.split()),
                 preceding_number=(credited.number or "") if credited else "", preceding_date=preceding_date)


def _payment(document: InvoiceDocument, seller: DocumentParty) -> Payment | None:
    """BG-16 as the document asks: a direct debit under its mandate (BG-19), else a credit transfer to the seller's
    IBAN (the frozen one, else the one in the company's bank details text), or none without an IBAN."""
    if document.is_credit_note:
        remittance = ""
    else:
        try:
            remittance = creditor_reference(document.header.number or "")  # BT-83, as the PDF and QR code print it
        except ValueError:
            remittance = ""
    if document.header.payment_means == DIRECT_DEBIT:  # seller and buyer as frozen at issue, like the rest
        return Payment(iban="", means_code="59", remittance=remittance, mandate=document.header.mandate_reference,
                       creditor_id=seller.creditor_id, debited_iban=document.customer.iban)
    return payment_of(seller.bank_details, seller.iban, seller.bic, remittance)


def _with_email_address(party: Party) -> Party:
    """XRechnung takes an e-mail address (scheme EM) as electronic address when no other is given; Peppol does not."""
    if party.electronic_address or not party.email:
        return party
    return replace(party, electronic_address=party.email, electronic_scheme="EM")


def missing_fields(document: InvoiceDocument, facts: Facts, fmt: Format) -> list[str]:
    """What the format needs and the document or its parties lack, each field named with its business term."""
    seller, buyer = facts.seller, facts.buyer
    needs: list[tuple[bool, str]] = [(bool(seller.address.country), "Seller country (BT-40)"),
                                     (bool(buyer.address.country), "Buyer country (BT-55)"),
                                     (document.header.payment_means != "credit_transfer" or facts.payment is not None,
                                      "Company IBAN (BT-84) for payment by credit transfer (BT-81)")]
    if document.header.payment_means == DIRECT_DEBIT:  # a SEPA direct debit is collected with both (BG-19)
        payment = facts.payment or Payment(iban="")
        needs += [(bool(payment.creditor_id),
                   "Company SEPA creditor identifier (BT-90) in settings, for payment by direct debit"),
                  (bool(payment.debited_iban), "Customer's IBAN to debit (BT-91), for payment by direct debit")]
    if PEPPOL in fmt.rules:
        needs += [(bool(seller.electronic_address and seller.electronic_scheme != "EM"),
                   "Seller electronic address with its Peppol scheme (BT-34, e.g. 0088 GLN or 9930 DE VAT)"),
                  (bool(buyer.electronic_address and buyer.electronic_scheme != "EM"),
                   "Buyer electronic address with its Peppol scheme (BT-49)"),
                  (bool(facts.buyer_reference or facts.order_reference),
                   "Buyer reference (BT-10) or purchase order reference (BT-13)")]
    if XRECHNUNG in fmt.rules:
        needs += [(bool(facts.buyer_reference), "Leitweg-ID (buyer reference, BT-10)"),
                  (bool(seller.contact_name), "Seller contact name (BT-41)"),
                  (bool(seller.contact_phone), "Seller contact phone (BT-42)"),
                  (bool(seller.email), "Seller contact e-mail (BT-43)"),
                  (facts.payment is not None, "Payment means (BT-81): the company's IBAN (BT-84) in settings"),
                  (bool(seller.address.city), "Seller city (BT-37)"),
                  (bool(seller.address.postcode), "Seller post code (BT-38)"),
                  (bool(buyer.address.city), "Buyer city (BT-52)"),
                  (bool(buyer.address.postcode), "Buyer post code (BT-53)"),
                  (bool(buyer.electronic_address or buyer.email), "Buyer electronic address or e-mail (BT-49)")]
    return [field for present, field in needs if not present]


def render(document: InvoiceDocument, facts: Facts, fmt: Format) -> bytes:
    """The document in the format, not yet validated; ValidationError naming each missing field, or the rule a
    document breaks that the format cannot express."""
    if document.header.status != logic.ISSUED or not document.header.number:
        raise StateError("Only an issued invoice or credit note can be exported as an e-invoice; this one is "
                         f"{document.header.status}.")
    categories = categories_of(document)
    if "O" in categories and len(categories) > 1:
        raise ValidationError("VAT category O (not subject to VAT) cannot be combined with other VAT categories on "
                              "one e-invoice (BR-O-11 to BR-O-14): issue separate invoices.")
    finer = finer_amounts(document)
    if finer:
        raise ValidationError(f"EN 16931 writes amounts with at most 2 decimals (BR-DEC-09 to BR-DEC-23): this "
                              f"{document.currency} document has amounts such as {finer[0]} that cannot be written "
                              "exactly.")
    if XRECHNUNG in fmt.rules:
        facts = replace(facts, seller=_with_email_address(facts.seller), buyer=_with_email_address(facts.buyer))
    missing = missing_fields(document, facts, fmt)
    if missing:
        raise ValidationError(f"An e-invoice in {fmt.label} needs: " + "; ".join(missing) + ".")
    if "O" in categories:
        facts = without_vat_ids(facts)
    try:
        if fmt.ubl:
            return build_ubl(document, facts, fmt.customization, fmt.process)
        return build_cii(document, facts, fmt.customization, fmt.process)
    except ValidationError:
        raise
    except ValueError as exc:  # lxml: "All strings must be XML compatible" (legacy text from before the check)
        raise ValidationError(_unfit_message(document, facts)) from exc


def _unfit_texts(value: object, where: str) -> Iterator[str]:
    """Where in `value` (a document or its facts) a text holds a character XML cannot carry."""
    if isinstance(value, str):
        if any(xml_unfit(ch) for ch in value):
            yield where
    elif is_dataclass(value):
        for field in fields(value):
            yield from _unfit_texts(getattr(value, field.name), f"{where} {field.name.replace('_', ' ')}".strip())
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value, start=1):
            yield from _unfit_texts(item, f"{where.removesuffix('s')} {index}")
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _unfit_texts(item, f"{where} {key}")


def _unfit_message(document: InvoiceDocument, facts: Facts) -> str:
    kind = "Credit note" if document.is_credit_note else "Invoice"
    places = [*_unfit_texts(document, ""), *_unfit_texts(facts, "")]
    where = f"the text of {', '.join(places[:5])}" if places else "one of its texts"
    return (f"{kind} {document.header.number} cannot be exported as an e-invoice: {where} holds a character an "
            "e-invoice cannot carry (a control character, U+FFFE, U+FFFF or a lone surrogate).")


def check_rules(xml: bytes, fmt: Format) -> None:
    """ValidationError listing each failed rule in words when the file fails its schema or its rule sets."""
    report = validate_bytes(xml, fmt.rules)
    if report.valid:
        return
    problems = [f"XML schema, {error}" for error in report.schema_errors]
    problems += [explain(failure).text for failure in report.failures]
    raise ValidationError(f"The {fmt.label} e-invoice fails the rules of {' + '.join(PROFILES[p] for p in fmt.rules)}: "
                          + "; ".join(problems))


def file_name(document: InvoiceDocument, fmt: Format) -> str:
    number = re.sub(r"[^A-Za-z0-9._-]+", "_", document.header.number or f"draft-{document.id}")
    return f"{number}-{fmt.name}.{'pdf' if fmt.pdf else 'xml'}"


def packaged(document: InvoiceDocument, company: dict[str, Any], xml: bytes, fmt: Format) -> bytes:
    """What the format hands out: the XML itself, or (Factur-X) the document's PDF/A-3 with the XML attached."""
    return facturx_pdf(document, company, xml) if fmt.pdf else xml


def inputs_of(db: Database, actor: Actor, invoice_id: int, as_of: date
              ) -> tuple[InvoiceDocument, dict[str, Any], date | None]:
    """What an issued document's e-invoice is made of: the document (without payments), the company, the issue
    date of the invoice a credit note credits; the permission is checked live (reading the invoice)."""
    document = invoices.get_invoice(db, actor, invoice_id, as_of=as_of, activity=False)
    company = settings.get_company(db) or {}
    preceding_date = None
    if document.credited_invoice is not None:
        with db.connect() as conn:
            credited = invoice_store.get_header(conn, document.credited_invoice.id)
        preceding_date = credited.issue_date if credited else None
    return document, company, preceding_date


_VALIDATED: dict[tuple[str, str], None] = {}  # (digest of the XML, format) found valid in this process, oldest first
_VALIDATED_KEPT = 1024


def exported_file(document: InvoiceDocument, company: dict[str, Any], preceding_date: date | None, fmt: str, *,
                  validate: bool = True) -> bytes:
    """The file of `inputs_of` in the format (the XML, or the Factur-X PDF), the XML validated against the format's
    rule sets unless `validate` is False (the same bytes are checked once per process): what the download and the
    e-mail hand out. No database: it may run in a drawing process (billing.drawing_pool)."""
    chosen = format_of(fmt)
    xml = render(document, facts_of(document, company, preceding_date), chosen)
    if validate:
        key = (hashlib.sha256(xml).hexdigest(), chosen.name)
        if key not in _VALIDATED:
            check_rules(xml, chosen)
            _VALIDATED[key] = None
            while len(_VALIDATED) > _VALIDATED_KEPT:
                del _VALIDATED[next(iter(_VALIDATED))]
    return packaged(document, company, xml, chosen)


def export_document(db: Database, actor: Actor, invoice_id: int, fmt: str, *, validate: bool = True,
                    today: Callable[[], date] = date.today) -> tuple[str, str, bytes]:
    """(file name, media type, file) of an issued document in the format (the XML, or the Factur-X PDF); the
    permission is checked live (reading the invoice). The XML is validated against the format's rule sets unless
    `validate` is False (bulk export speed)."""
    chosen = format_of(fmt)
    document, company, preceding_date = inputs_of(db, actor, invoice_id, today())
    return (file_name(document, chosen), chosen.media_type,
            exported_file(document, company, preceding_date, chosen.name, validate=validate))
