"""Factur-X export (billing.einvoice.facturx): the PDF/A-3B structure checked with pikepdf, the attached XML valid.

veraPDF is not installed here: these tests check the structure a PDF/A-3B needs (XMP identification, output
intent, associated file, embedded fonts), not every clause of ISO 19005-3.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pikepdf
import pytest
from lxml import etree

from billing.einvoice.export import export_document
from billing.einvoice.reader import parse_document
from billing.einvoice.source import read_document
from billing.einvoice.validation import EN16931, validate_bytes
from tests.conftest import ADMIN, Templates, copy_template, database_url
from tests.test_einvoice_export import ISSUED, Spread, _document, _failures, spread

__all__ = ["spread"]  # the module-scoped fixture, imported to share its database of documents

XMP_NS = {"pdfaid": "http://www.aiim.org/pdfa/ns/id/", "fx": "urn:factur-x:pdfa:CrossIndustryDocument:invoice:1p0#",
          "pdfaExtension": "http://www.aiim.org/pdfa/ns/extension/", "pdfaSchema": "http://www.aiim.org/pdfa/ns/schema#",
          "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#"}


@pytest.fixture(scope="module")
def exported(spread: Spread) -> dict[str, bytes]:
    return {name: export_document(spread.db, ADMIN, spread.ids[name], "facturx")[2] for name in ISSUED}


def _xmp(pdf: pikepdf.Pdf) -> etree._Element:
    return etree.fromstring(pdf.Root.Metadata.read_bytes(), etree.XMLParser(resolve_entities=False))


def test_the_export_is_a_pdf_named_and_typed_as_such(spread: Spread) -> None:
    name, media_type, data = export_document(spread.db, ADMIN, spread.ids["mixed"], "facturx")
    assert name.endswith("-facturx.pdf") and media_type == "application/pdf" and data.startswith(b"%PDF-")


@pytest.mark.parametrize("name", ["mixed", "credit_note", "jpy"])
def test_xmp_identifies_pdfa_3b_and_the_facturx_extension(exported: dict[str, bytes], name: str) -> None:
    with pikepdf.open(io.BytesIO(exported[name])) as pdf:
        xmp = _xmp(pdf)
        assert "Filter" not in pdf.Root.Metadata  # the XMP stays readable to any archive tool
    assert xmp.xpath("string(//pdfaid:part)", namespaces=XMP_NS) == "3"
    assert xmp.xpath("string(//pdfaid:conformance)", namespaces=XMP_NS) == "B"
    assert xmp.xpath("string(//fx:DocumentFileName)", namespaces=XMP_NS) == "factur-x.xml"
    assert xmp.xpath("string(//fx:DocumentType)", namespaces=XMP_NS) == "INVOICE"
    assert xmp.xpath("string(//fx:ConformanceLevel)", namespaces=XMP_NS) == "EN 16931"
    assert xmp.xpath("string(//pdfaSchema:namespaceURI)", namespaces=XMP_NS) == XMP_NS["fx"]


def test_an_srgb_output_intent(exported: dict[str, bytes]) -> None:
    with pikepdf.open(io.BytesIO(exported["mixed"])) as pdf:
        intents = list(pdf.Root.OutputIntents)
        assert [str(intent.S) for intent in intents] == ["/GTS_PDFA1"]
        assert str(intents[0].OutputConditionIdentifier) == "sRGB"
        profile = intents[0].DestOutputProfile
        icc = profile.read_bytes()
        # An ICC profile (signature "acsp") of an RGB colour space, for the three components of DeviceRGB
        assert (int(profile.N), icc[36:40], icc[16:20]) == (3, b"acsp", b"RGB ")


def test_the_xml_is_an_associated_file_with_its_relationship(exported: dict[str, bytes]) -> None:
    with pikepdf.open(io.BytesIO(exported["mixed"])) as pdf:
        associated = list(pdf.Root.AF)
        assert len(associated) == 1
        spec = associated[0]
        assert str(spec.F) == str(spec.UF) == "factur-x.xml"
        assert str(spec.AFRelationship) == "/Alternative"
        assert str(spec.EF.F.Subtype) == "/text/xml"
        names = list(pdf.Root.Names.EmbeddedFiles.Names)
        assert str(names[0]) == "factur-x.xml" and names[1].objgen == spec.objgen
        assert spec.EF.F.read_bytes().startswith(b"<?xml")


def test_every_font_is_embedded(exported: dict[str, bytes]) -> None:
    checked = 0
    with pikepdf.open(io.BytesIO(exported["mixed"])) as pdf:
        for page in pdf.pages:
            for font in page.Resources.Font.values():
                descendants = font.get("/DescendantFonts")
                descriptor = (descendants[0] if descendants else font).FontDescriptor
                assert any(key in descriptor for key in ("/FontFile", "/FontFile2", "/FontFile3")), font
                checked += 1
    assert checked >= 1


@pytest.mark.parametrize("name", ISSUED)
def test_the_attached_xml_passes_en16931_and_reads_back_the_stored_totals(spread: Spread, exported: dict[str, bytes],
                                                                         name: str) -> None:
    data = exported[name]
    report = validate_bytes(data, [EN16931])
    assert report.valid, _failures(report)
    document = read_document(data)
    assert document.from_pdf
    parsed = parse_document(document)
    stored = _document(spread, name)
    header = stored.header
    assert (parsed.number, parsed.is_credit_note) == (header.number, stored.is_credit_note)
    assert (parsed.totals.tax_exclusive, parsed.totals.tax_total, parsed.totals.payable) == (
        header.tax_exclusive, header.tax_total, header.payable)
    assert sorted((v.category, v.rate or 0, v.taxable, v.tax) for v in parsed.vat_breakdown) == sorted(
        (t.vat_category, t.vat_rate, t.taxable, t.tax) for t in stored.taxes)


def test_the_cli_validates_the_pdf(exported: dict[str, bytes], tmp_path: Path,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    from billing.cli import main

    path = tmp_path / "INV-facturx.pdf"
    path.write_bytes(exported["mixed"])
    assert main(["einvoice", "validate", str(path)]) == 0
    assert f"VALID {path}" in capsys.readouterr().out


def test_the_xmp_describes_the_document_and_no_info_dictionary_contradicts_it(exported: dict[str, bytes]) -> None:
    """PDF/A: Info entries must equal their XMP equivalents; fpdf2 writes no Info dictionary at all for a PDF/A."""
    with pikepdf.open(io.BytesIO(exported["mixed"])) as pdf:
        info = {str(key): str(value) for key, value in pdf.docinfo.items()}
        with pdf.open_metadata(set_pikepdf_as_editor=False) as meta:
            xmp = {key: meta.get(key) for key in ("dc:title", "dc:creator", "dc:description", "pdf:Producer",
                                                  "xmp:CreatorTool", "xmp:CreateDate")}
    assert xmp["dc:title"].startswith("Invoice INV-") and xmp["dc:creator"] == ["Example GmbH"]
    assert xmp["dc:description"] == f"{xmp['dc:title']} from Example GmbH"
    assert xmp["pdf:Producer"].startswith("fpdf2 ") and xmp["xmp:CreatorTool"] == "billing-portal"
    assert xmp["xmp:CreateDate"].endswith("+00:00")
    assert info == {}


@pytest.mark.parametrize("name", ["mixed", "credit_note", "kwd"])
def test_the_facturx_library_reads_the_xml_back_and_its_en16931_schema_accepts_it(exported: dict[str, bytes],
                                                                                    name: str) -> None:
    import facturx

    filename, xml = facturx.get_facturx_xml_from_pdf(exported[name], check_xsd=False)
    assert filename == "factur-x.xml"
    assert facturx.get_level(etree.fromstring(xml)) == "en16931"
    assert facturx.xml_check_xsd(xml, flavor="factur-x", level="en16931")


def test_the_cli_exports_a_facturx_pdf_and_a_month_of_them(templates: Templates, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    from billing.cli import main

    monkeypatch.setenv("BILLING_DATABASE_URL", database_url(copy_template(templates.billed, tmp_path / "c.duckdb")))
    one = tmp_path / "one.pdf"
    assert main(["einvoice", "export", "INV-2025-00002", "--format", "facturx", "--output", str(one)]) == 0
    assert one.read_bytes().startswith(b"%PDF-") and validate_bytes(one.read_bytes()).valid
    month = tmp_path / "march.zip"
    assert main(["einvoice", "export-all", "--from", "2025-03-01", "--to", "2025-03-31", "--format", "facturx",
                 "--output", str(month)]) == 0
    with zipfile.ZipFile(month) as archive:
        assert archive.namelist() == [f"INV-2025-0000{n}-facturx.pdf" for n in (1, 2, 3)]
        assert all(read_document(archive.read(name)).from_pdf for name in archive.namelist())
    assert "3 of 3 documents as Factur-X" in capsys.readouterr().out
