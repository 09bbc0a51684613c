"""Factur-X / ZUGFeRD (EN 16931 profile): the invoice PDF as PDF/A-3B with its CII XML attached as `factur-x.xml`.

fpdf2 draws the PDF/A-3B in one pass: DejaVu embedded, the sRGB output intent, the XML as an associated file of the
document (AFRelationship /Alternative: the XML is the invoice's equivalent, as ZUGFeRD asks of the EN 16931
profile) and the XMP metadata, which the factur-x library writes: pdfaid part 3 conformance B and the Factur-X
extension schema (document type INVOICE, file name, version 1.0, conformance level EN 16931). The XMP states what
the PDF's Info dictionary states (title, author, subject, producer, creator, creation date), as PDF/A requires.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from fpdf import FPDF_VERSION
from lxml import etree

from billing.documents import InvoiceDocument

if TYPE_CHECKING:
    from billing.pdf_document import Document

PDF_COMPLIANCE = "PDF/A-3B"
ATTACHMENT = "factur-x.xml"
RELATIONSHIP = "Alternative"
MEDIA_TYPE = "application/pdf"
FACTURX_URN = "urn:factur-x:pdfa:CrossIndustryDocument:invoice:1p0#"
PRODUCER = f"fpdf2 {FPDF_VERSION}"


def _xmp(pdf: Document, created: datetime) -> str:
    """The XMP packet's content (fpdf2 wraps it in <?xpacket?>) from the factur-x library, with the PDF's own
    Info values."""
    import facturx  # loaded on the first Factur-X, as fpdf2 on the first PDF

    metadata = {"pdfa3_flavor": "B", "title": pdf.title or "", "author": pdf.author or "",
                "subject": pdf.subject or "", "producer": PRODUCER, "creator_tool": pdf.creator or "",
                "timestamp": created.strftime("%Y-%m-%dT%H:%M:%S+00:00"), "version": "1.0",
                "documenttype": "INVOICE", "xml_filename": ATTACHMENT, "xmp_level": "EN 16931", "urn": FACTURX_URN}
    return str(etree.tostring(facturx.generate_xmp_object(metadata), encoding="unicode"))


def facturx_pdf(document: InvoiceDocument, company: dict[str, Any], cii: bytes, *,
                now: datetime | None = None) -> bytes:
    """The document's PDF/A-3B with `cii` (its CII XML in the EN 16931 profile, checked by the caller) attached."""
    from billing.pdf import render_invoice_pdf

    created = (now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    kind = "Credit note" if document.is_credit_note else "Invoice"
    seller = company.get("legal_name") or ""

    def finish(pdf: Document) -> None:
        pdf.set_subject(f"{kind} {document.header.number} from {seller}" if seller else
                        f"{kind} {document.header.number}")
        pdf.set_producer(PRODUCER)
        pdf.set_creation_date(created)
        pdf.embed_file(bytes=cii, basename=ATTACHMENT, mime_type="text/xml", desc="Factur-X XML file",
                       modification_date=created, associated_file_relationship=RELATIONSHIP)
        pdf.set_xmp_metadata(_xmp(pdf, created))

    return render_invoice_pdf(document, company, compliance=PDF_COMPLIANCE, finish=finish)
