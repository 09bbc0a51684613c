"""An uploaded e-invoice file made safe to read: size limit, the XML a Factur-X PDF carries, XML without entities."""

from __future__ import annotations

import io
import zlib
from dataclasses import dataclass
from typing import Any

from lxml import etree

from billing.errors import ValidationError

MAX_FILE_BYTES = 10 * 1024 * 1024  # an e-invoice is a few kB; a Factur-X PDF rarely over 1 MB
UBL_INVOICE, UBL_CREDIT_NOTE, CII = "UBL Invoice", "UBL CreditNote", "CII"
UBL_INVOICE_NS = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
UBL_CREDIT_NOTE_NS = "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"
CII_NS = "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"
SYNTAXES: dict[tuple[str, str], str] = {
    (UBL_INVOICE_NS, "Invoice"): UBL_INVOICE,
    (UBL_CREDIT_NOTE_NS, "CreditNote"): UBL_CREDIT_NOTE,
    (CII_NS, "CrossIndustryInvoice"): CII,
}
# The names Factur-X, ZUGFeRD 2 and XRechnung give the XML they attach to a PDF, in order of preference.
ATTACHMENT_NAMES = ("factur-x.xml", "zugferd-invoice.xml", "xrechnung.xml", "order-x.xml")


_DOCTYPE_MARKERS = tuple("<!DOCTYPE".encode(codec) for codec in ("utf-8", "utf-16-le", "utf-16-be"))
_DOCTYPE_REFUSED = ("The XML declares a DOCTYPE (entities or a DTD): e-invoices never do, and such files are "
                    "refused for safety.")


class DocumentError(ValidationError):
    """The file is not an e-invoice this portal can read."""


@dataclass(frozen=True, slots=True)
class Document:
    """An e-invoice's XML, parsed safely.

    syntax: UBL_INVOICE, UBL_CREDIT_NOTE or CII (from the root element and its namespace).
    root: the parsed root element (no DTD loaded, no entity expanded, nothing fetched).
    xml: the XML as re-serialised from `root` (what the rule sets read: no DOCTYPE can reach them).
    from_pdf: the XML was the attachment of a Factur-X / ZUGFeRD PDF.
    """

    syntax: str
    root: etree._Element
    xml: bytes
    from_pdf: bool = False

    @property
    def is_ubl(self) -> bool:
        return self.syntax != CII


def _parser() -> etree.XMLParser:
    # No entities, no DTD, no network, no huge trees: a billion-laughs or external-entity file reads as
    # nothing more than its own bytes, and is then refused for its DOCTYPE.
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False,
                           dtd_validation=False, remove_comments=True, remove_pis=True)


def read_document(data: bytes) -> Document:
    """The e-invoice in `data` (UBL or CII XML, or a Factur-X / ZUGFeRD PDF); DocumentError naming the problem."""
    if len(data) > MAX_FILE_BYTES:
        raise DocumentError(f"The file is too large ({len(data) / 1024 / 1024:.1f} MB): an e-invoice may have at "
                            f"most {MAX_FILE_BYTES // 1024 // 1024} MB.")
    if not data.strip():
        raise DocumentError("The file is empty.")
    if data.lstrip()[:5] == b"%PDF-":
        return _parse_xml(pdf_attachment(data), from_pdf=True)
    return _parse_xml(data, from_pdf=False)


def _parse_xml(data: bytes, *, from_pdf: bool) -> Document:
    if any(marker in data for marker in _DOCTYPE_MARKERS):  # refused before libxml2 reads a single declaration
        raise DocumentError(_DOCTYPE_REFUSED)
    try:
        root = etree.fromstring(data, _parser())
    except etree.XMLSyntaxError as exc:
        raise DocumentError(f"The file is not well-formed XML ({_first_line(str(exc))}).") from exc
    except ValueError as exc:  # lxml refuses some inputs outright (e.g. a unicode string with an encoding)
        raise DocumentError("The file is not XML.") from exc
    docinfo: Any = root.getroottree().docinfo  # lxml-stubs lack DocInfo.doctype
    if docinfo.doctype or docinfo.internalDTD is not None or docinfo.externalDTD is not None:
        raise DocumentError(_DOCTYPE_REFUSED)
    qname = etree.QName(root)
    syntax = SYNTAXES.get((qname.namespace or "", qname.localname))
    if syntax is None:
        raise DocumentError(f"The XML is not an e-invoice: its root element is {qname.localname!r}, not a UBL "
                            "Invoice or CreditNote or a UN/CEFACT CrossIndustryInvoice.")
    return Document(syntax, root, etree.tostring(root, encoding="UTF-8", xml_declaration=True), from_pdf)


def _first_line(text: str) -> str:
    return text.splitlines()[0][:160] if text else "no detail"


def pdf_attachment(data: bytes) -> bytes:
    """The e-invoice XML a Factur-X / ZUGFeRD / XRechnung PDF carries as an attachment.

    Read with pypdf (the factur-x library's own reader) but not parsed by facturx.get_xml_from_pdf, which
    parses with lxml's default parser (entities expanded): the bytes go through `_parse_xml` instead. Only the
    chosen attachment is inflated, and never beyond MAX_FILE_BYTES (a PDF of a few MB can hold gigabytes of
    compressed attachments).
    """
    from pypdf import PdfReader

    try:
        streams: dict[str, Any] = {}
        for entry in PdfReader(io.BytesIO(data)).attachment_list:
            for name in (entry.name, entry.alternative_name):
                if isinstance(name, str) and name.lower() not in streams:
                    streams[name.lower()] = entry.pdf_object
        chosen = _chosen_attachment(streams)
        stream = _embedded_stream(chosen) if chosen is not None else None
    except DocumentError:
        raise
    except Exception as exc:  # hostile bytes break pypdf in many ways (NotImplementedError for a mangled filter, ...)
        raise DocumentError("The PDF cannot be read (damaged or not a PDF).") from exc
    if stream is None:
        raise DocumentError("The PDF carries no e-invoice: no factur-x.xml, zugferd-invoice.xml or other XML is "
                            "attached to it (it is a plain PDF, not Factur-X / ZUGFeRD).")
    return _bounded_content(stream)


def _chosen_attachment(files: dict[str, Any]) -> Any:
    """The file specification of the e-invoice among the attachments (by name: nothing is inflated to choose)."""
    chosen = next((files[name] for name in ATTACHMENT_NAMES if name in files), None)
    if chosen is None:
        chosen = next((spec for name, spec in sorted(files.items()) if name.endswith(".xml")), None)
    return chosen


def _embedded_stream(spec: Any) -> Any:
    files = spec.get("/EF")
    files = files.get_object() if files is not None else None
    stream = files.get("/UF", files.get("/F")) if files is not None else None
    return stream.get_object() if stream is not None else None


_TOO_LARGE = f"The XML attached to the PDF is too large (over {MAX_FILE_BYTES // 1024 // 1024} MB)."


def _bounded_content(stream: Any) -> bytes:
    """The stream's bytes, inflated (FlateDecode or none) to at most MAX_FILE_BYTES: DocumentError beyond."""
    params = stream.get("/Params")
    params = params.get_object() if params is not None else {}
    for declared in (stream.get("/DL"), params.get("/Size")):  # the sizes the PDF declares, when it does
        if isinstance(declared, int) and declared > MAX_FILE_BYTES:
            raise DocumentError(_TOO_LARGE)
    filters = stream.get("/Filter")
    filters = filters.get_object() if filters is not None else []
    names = [str(f) for f in (filters if isinstance(filters, list) else [filters])]
    raw: bytes = stream._data  # the stream's bytes as stored (pypdf's get_data would inflate them all)
    if not names:
        content = raw
    elif names in (["/FlateDecode"], ["/Fl"]) and stream.get("/DecodeParms") is None:
        inflater = zlib.decompressobj()
        try:
            content = inflater.decompress(raw, MAX_FILE_BYTES + 1)
        except zlib.error as exc:
            raise DocumentError("The XML attached to the PDF cannot be read (damaged compression).") from exc
    else:
        raise DocumentError(f"The PDF cannot be read (its XML attachment is compressed with {', '.join(names)[:80]}, "
                            "which this portal does not read).")
    if len(content) > MAX_FILE_BYTES:
        raise DocumentError(_TOO_LARGE)
    return content
