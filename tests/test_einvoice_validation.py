"""Checking e-invoices (billing.einvoice.validation, source, wording): the official rules, and hostile files refused."""

from __future__ import annotations

import re
import threading
from pathlib import Path

import pytest
from einvoice_files import (
    BAD_BR_CO_16,
    BILLION_LAUGHS,
    CEN_CII,
    CEN_UBL,
    EXAMPLES,
    EXTERNAL_ENTITY,
    NETWORK_DTD,
    NOT_AN_INVOICE,
    PEPPOL,
    RANDOM_BYTES,
    VALID_CII,
    VALID_UBL,
    XRECHNUNG,
    example_ids,
    facturx_pdf,
    needs_shared,
    plain_pdf,
)

from billing.einvoice import validation
from billing.einvoice.source import MAX_FILE_BYTES, DocumentError, read_document
from billing.einvoice.validation import RuleFailure, parse_svrl, validate_bytes
from billing.einvoice.wording import RULES, VAT_CATEGORIES, explain, rule_words

KNOWN_BAD = {"04.05a-INVOICE_uncefact.xml": {"BR-CL-10", "BR-CL-21"}, "05.01a-INVOICE_ubl.xml": {"BR-CO-16"}}


# --- the official rules on the official examples ---------------------------------------------------


@needs_shared
@pytest.mark.parametrize("name", sorted(KNOWN_BAD))
def test_the_two_known_bad_xrechnung_cases_report_exactly_their_rules(name: str) -> None:
    report = validate_bytes((EXAMPLES / "xrechnung" / name).read_bytes(), ["en16931"])
    assert not report.valid
    assert report.schema_errors == ()
    assert set(report.failed_rules) == KNOWN_BAD[name]


@needs_shared
@pytest.mark.parametrize("path", XRECHNUNG, ids=example_ids(XRECHNUNG))
def test_every_xrechnung_business_case_passes_xrechnung(path: Path) -> None:
    report = validate_bytes(path.read_bytes(), ["xrechnung"])
    assert report.valid, report
    assert validate_bytes(path.read_bytes(), ["en16931"]).valid == (path.name not in KNOWN_BAD)


@needs_shared
@pytest.mark.parametrize("path", CEN_UBL + CEN_CII, ids=example_ids(CEN_UBL + CEN_CII))
def test_every_cen_example_passes_en16931(path: Path) -> None:
    report = validate_bytes(path.read_bytes())
    assert report.valid, report
    assert report.profiles == ("en16931",)


@needs_shared
@pytest.mark.parametrize("path", PEPPOL, ids=example_ids(PEPPOL))
def test_every_peppol_example_passes_peppol_and_en16931(path: Path) -> None:
    report = validate_bytes(path.read_bytes(), ["en16931", "peppol"])
    assert report.valid, report


def test_a_plain_en16931_invoice_is_not_held_to_xrechnung() -> None:
    """XRechnung-only fields are asked for by the XRechnung profile only."""
    without_leitweg = VALID_UBL.read_bytes().replace(b"<cbc:BuyerReference>04011000-12345-03</cbc:BuyerReference>", b"")
    assert validate_bytes(without_leitweg, ["en16931"]).valid
    report = validate_bytes(without_leitweg, ["xrechnung"])
    assert "BR-DE-15" in report.failed_rules
    words = [explain(failure).text for failure in report.failures]
    assert "Leitweg-ID (buyer reference, BT-10) is required for XRechnung: BR-DE-15" in words


def test_schema_errors_make_a_document_invalid() -> None:
    broken = VALID_UBL.read_bytes().replace(b"<cbc:IssueDate>2016-04-04</cbc:IssueDate>",
                                            b"<cbc:IssueDate>2016-04-04</cbc:IssueDate><cbc:Surprise>1</cbc:Surprise>")
    report = validate_bytes(broken)
    assert not report.valid
    assert report.schema_errors and "Surprise" in report.schema_errors[0]
    assert not report.rules_checked and report.failures == ()  # the rules run on schema-valid files only


def test_a_huge_schema_invalid_file_is_answered_quickly_and_briefly() -> None:
    """Two million elements: the schema says no at once; the rule sets (a minute in Saxon) are not run."""
    flood = (b'<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2">' + b"<x/>" * 2_000_000
             + b"</Invoice>")
    report = validate_bytes(flood)
    assert not report.valid and not report.rules_checked
    assert len(report.schema_errors) <= validation.MAX_SCHEMA_ERRORS + 1


def test_a_facturx_pdf_is_checked_by_the_xml_it_carries() -> None:
    report = validate_bytes(facturx_pdf(VALID_CII.read_bytes()), ["en16931", "xrechnung"])
    assert report.valid and report.syntax == "CII" and report.profiles == ("en16931", "xrechnung")


def test_warnings_do_not_make_a_document_invalid() -> None:
    svrl = b"""<svrl:schematron-output xmlns:svrl="http://purl.oclc.org/dsdl/svrl">
      <svrl:failed-assert id="BR-X-1" flag="warning" location="/a"><svrl:text> soft  note</svrl:text>
      </svrl:failed-assert>
      <svrl:failed-assert id="BR-X-2" location="/b"><svrl:text>hard</svrl:text></svrl:failed-assert>
      <svrl:failed-assert id="BR-X-3" flag="information" location="/c"><svrl:text>fyi</svrl:text></svrl:failed-assert>
    </svrl:schematron-output>"""
    failures = parse_svrl(svrl)
    assert failures == [RuleFailure("BR-X-1", "warning", "soft note", "/a"),
                        RuleFailure("BR-X-2", "fatal", "hard", "/b"), RuleFailure("BR-X-3", "information", "fyi", "/c")]
    assert [failure.is_fatal for failure in failures] == [False, True, False]


def test_each_stylesheet_is_compiled_once_per_process() -> None:
    validate_bytes(VALID_UBL.read_bytes(), ["en16931"])
    compiled = validation.SAXON._compiled[("en16931", True)]
    validate_bytes(BAD_BR_CO_16.read_bytes(), ["en16931"])
    assert validation.SAXON._compiled[("en16931", True)] is compiled


def test_validating_from_several_threads_gives_the_same_answers() -> None:
    files = [VALID_UBL, VALID_CII, BAD_BR_CO_16] * 4
    results: dict[int, tuple[str, ...]] = {}

    def check(index: int, path: Path) -> None:
        results[index] = validate_bytes(path.read_bytes(), ["en16931"]).failed_rules

    threads = [threading.Thread(target=check, args=(i, path)) for i, path in enumerate(files)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [results[i] for i in range(len(files))] == [(), (), ("BR-CO-16",)] * 4


def test_an_unknown_profile_is_refused() -> None:
    with pytest.raises(DocumentError, match="Unknown rule set 'zugferd'"):
        validate_bytes(VALID_UBL.read_bytes(), ["zugferd"])


# --- hostile and wrong files ----------------------------------------------------------------------

BAD_INPUTS = [
    pytest.param(b"Invoice no. 1, total 100 EUR", "not well-formed XML", id="not XML"),
    pytest.param(RANDOM_BYTES, "not well-formed XML", id="random bytes"),
    pytest.param(b"", "empty", id="empty"),
    pytest.param(BILLION_LAUGHS, "DOCTYPE", id="billion laughs"),
    pytest.param(EXTERNAL_ENTITY, "DOCTYPE", id="external entity"),
    pytest.param(NETWORK_DTD, "DOCTYPE", id="DTD on the network"),
    pytest.param(NOT_AN_INVOICE, "root element is 'Order'", id="another UBL document"),
    pytest.param(b"%PDF-1.7\n" + RANDOM_BYTES, "PDF cannot be read", id="damaged PDF"),
    pytest.param(b" " * (MAX_FILE_BYTES + 1), "too large", id="over the size limit"),
]


@pytest.mark.parametrize(("data", "message"), BAD_INPUTS)
def test_a_bad_file_is_refused_with_a_clear_message(data: bytes, message: str) -> None:
    with pytest.raises(DocumentError, match=message) as refused:
        validate_bytes(data)
    assert "Traceback" not in refused.value.message


def test_a_50_mb_file_is_refused_before_it_is_parsed() -> None:
    with pytest.raises(DocumentError, match=r"too large \(50\.0 MB\)"):
        read_document(b"<" * (50 * 1024 * 1024))


def test_a_pdf_without_an_e_invoice_is_refused() -> None:
    with pytest.raises(DocumentError, match="carries no e-invoice"):
        read_document(plain_pdf())


def test_an_external_entity_is_never_read() -> None:
    with pytest.raises(DocumentError) as refused:
        read_document(EXTERNAL_ENTITY)
    assert "root:" not in refused.value.message  # nothing of /etc/passwd


def test_a_mangled_pdf_is_refused_as_unreadable() -> None:
    pdf = facturx_pdf(VALID_CII.read_bytes()).replace(b"/FlateDecode", b"/FlateDecodX")  # pypdf: NotImplementedError
    with pytest.raises(DocumentError, match="PDF cannot be read"):
        read_document(pdf)


def test_a_pdf_carrying_an_xml_bomb_is_refused() -> None:
    with pytest.raises(DocumentError, match="DOCTYPE"):
        read_document(facturx_pdf_raw(BILLION_LAUGHS))


def pdf_with_bombs(count: int, invoice: bytes | None = None) -> bytes:
    """A small PDF carrying `count` XML attachments of 30 MB of spaces each (a few kB each compressed), and
    `invoice` as factur-x.xml when given."""
    import io
    import zlib

    from pypdf import PdfWriter
    from pypdf.generic import NameObject, NumberObject

    bomb = zlib.compress(b"<" + b" " * (30 * 1024 * 1024), 9)
    writer = PdfWriter(clone_from=io.BytesIO(plain_pdf()))
    for i in range(count):
        writer.add_attachment(f"a{i:02}.xml", b"x")
    for entry in list(writer.attachment_list):
        stream = entry.pdf_object["/EF"].get_object()["/F"].get_object()
        stream.set_data(bomb)
        stream[NameObject("/Filter")] = NameObject("/FlateDecode")
        stream[NameObject("/Length")] = NumberObject(len(bomb))
    if invoice is not None:
        writer.add_attachment("factur-x.xml", invoice)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _read_measured(pdf: bytes) -> tuple[str, int]:
    """What reading `pdf` gives (the syntax or the refusal) and the peak memory it took."""
    import tracemalloc

    tracemalloc.start()
    try:
        outcome = read_document(pdf).syntax
    except DocumentError as exc:
        outcome = exc.message
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return outcome, peak


def test_a_pdf_of_huge_compressed_attachments_is_refused_without_inflating_them() -> None:
    pdf = pdf_with_bombs(20)  # 600 MB once inflated; a00.xml is the attachment chosen
    assert len(pdf) < 2 * 1024 * 1024
    outcome, peak = _read_measured(pdf)
    assert outcome == "The XML attached to the PDF is too large (over 10 MB)."
    assert peak < 3 * MAX_FILE_BYTES


def test_the_invoice_beside_huge_attachments_is_read_without_inflating_them() -> None:
    outcome, peak = _read_measured(pdf_with_bombs(20, VALID_CII.read_bytes()))
    assert outcome == "CII"
    assert peak < 3 * MAX_FILE_BYTES


def facturx_pdf_raw(xml: bytes) -> bytes:
    """A PDF with `xml` attached as factur-x.xml, whatever it holds (the factur-x library refuses non-invoices)."""
    import io

    from pypdf import PdfWriter

    writer = PdfWriter(clone_from=io.BytesIO(plain_pdf()))
    writer.add_attachment("factur-x.xml", xml)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


# --- the words ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("rule", "words"), [
    ("BR-DE-15", "Leitweg-ID (buyer reference, BT-10) is required for XRechnung: BR-DE-15"),
    ("BR-CO-16", "Amount due (BT-115) must equal total with VAT - paid amount + rounding: BR-CO-16"),
    ("BR-AE-10", "VAT exemption reason (BT-120, BT-121) is wrong or missing for VAT category AE (reverse charge): "
                 "BR-AE-10"),
    ("BR-S-02", "Seller VAT identifier or tax registration (BT-31, BT-32, BT-63) is required with VAT category S "
                "(standard rate) on a line: BR-S-02"),
    ("BR-O-02", "VAT identifiers (BT-31, BT-48, BT-63) must be left out with VAT category O (not subject to VAT): "
                "BR-O-02"),
    ("BR-IC-08", "Taxable amount of the VAT breakdown (BT-116) does not match the lines in VAT category K "
                 "(intra-community supply): BR-IC-08"),
    ("BR-CO-09", "VAT identifiers (BT-31, BT-48, BT-63) must start with the country code (e.g. DE, EL): BR-CO-09"),
    ("PEPPOL-EN16931-R010", "Buyer electronic address (BT-49) is required for Peppol: PEPPOL-EN16931-R010"),
])
def test_a_known_rule_names_the_field_to_fix(rule: str, words: str) -> None:
    explained = explain(RuleFailure(rule, "fatal", "[x]-the rule's own text", "/"))
    assert explained.text == words
    assert explained.field is not None and explained.field in words


def test_an_unknown_rule_falls_back_to_its_own_message() -> None:
    failure = RuleFailure("BR-XX-99", "fatal", "[BR-XX-99]-Something specific must hold.", "/Invoice")
    assert explain(failure).text == "Something specific must hold.: BR-XX-99"
    assert explain(failure).field is None
    assert rule_words("BR-Q-1") is None


def test_every_rule_in_the_table_is_a_rule_of_the_rule_files() -> None:
    """The table speaks of rules that exist, under the ids the rule files give them (BR-CO-09, not BR-CO-9)."""
    text = "".join(path.read_text(encoding="utf-8") for path in validation.RULES.glob("*.xsl*"))
    named = set(re.findall(r"(?:BR|PEPPOL)-[A-Z0-9-]*[0-9a-z]", text))
    assert set(RULES) - named == set()
    for prefix in VAT_CATEGORIES:
        assert {f"BR-{prefix}-{n:02d}" for n in range(1, 11)} <= named, prefix


@needs_shared
def test_every_rule_the_examples_break_under_en16931_has_words() -> None:
    for name, rules in KNOWN_BAD.items():
        report = validate_bytes((EXAMPLES / "xrechnung" / name).read_bytes())
        assert {explain(f).field is not None for f in report.failures} == {True}, rules
