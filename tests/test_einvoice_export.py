"""E-invoice export (billing.einvoice.export, ubl, cii): a spread of real documents through the official rules."""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, replace
from decimal import Decimal
from pathlib import Path

import pytest

from billing import customers, invoices, logic, settings
from billing.documents import InvoiceDocument, computed_totals
from billing.einvoice.content import Party, Payment, split_address
from billing.einvoice.export import FORMATS, export_document, facts_of, format_of, render
from billing.einvoice.reader import parse_document, read_invoice
from billing.einvoice.source import read_document
from billing.einvoice.validation import EN16931, ValidationReport, validate_bytes
from billing.einvoice.wording import explain
from billing.errors import StateError, ValidationError
from billing.models import CustomerIn
from billing.permissions import Actor
from billing.store.db import Database
from tests.conftest import ADMIN, TODAY, Templates, copy_template, database_url
from tests.einvoice_spread import (
    COMPANY,
    ISSUED,
    completed,
    line_charged,
    rule_set_counts,
    spread_documents,
    with_prepaid,
)


@dataclass(frozen=True)
class Spread:
    """A database of issued documents covering every VAT category, allowances and charges, currencies
    (tests.einvoice_spread)."""

    db: Database
    ids: dict[str, int]


@pytest.fixture(scope="module")
def spread(templates: Templates, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Spread]:
    path = copy_template(templates.seeded, tmp_path_factory.mktemp("einvoice") / "spread.duckdb")
    db = Database(database_url(path))
    db.migrate()
    ids = spread_documents(db, templates.seed)
    yield Spread(db, ids)
    db.dispose()


def _failures(report: ValidationReport) -> str:
    return "\n".join([*report.schema_errors, *(explain(f).text + " | " + f.message for f in report.failures)])


def _document(spread: Spread, name: str) -> InvoiceDocument:
    return invoices.get_invoice(spread.db, ADMIN, spread.ids[name], as_of=TODAY)


@pytest.mark.parametrize("fmt", ["ubl", "cii"])
@pytest.mark.parametrize("name", ISSUED)
def test_every_document_passes_the_schema_and_en16931(spread: Spread, name: str, fmt: str) -> None:
    file_name, media_type, xml = export_document(spread.db, ADMIN, spread.ids[name], fmt, validate=False)
    report = validate_bytes(xml, [EN16931])
    assert report.valid, _failures(report)
    assert media_type == "application/xml" and file_name.endswith(f"-{fmt}.xml")
    assert export_document(spread.db, ADMIN, spread.ids[name], fmt)[2] == xml  # the service validates the same


@pytest.mark.parametrize("fmt", ["ubl", "cii", "facturx"])
@pytest.mark.parametrize("name", ISSUED)
def test_round_trip_gives_the_stored_totals_and_vat_breakdown(spread: Spread, name: str, fmt: str) -> None:
    document = _document(spread, name)
    parsed = parse_document(read_document(export_document(spread.db, ADMIN, spread.ids[name], fmt, validate=False)[2]))
    header = document.header
    computed = computed_totals(document.lines, document.allowance_charges, document.currency)
    assert (computed.tax_exclusive, computed.tax_total, computed.payable) == (
        header.tax_exclusive, header.tax_total, header.payable + header.prepaid)
    assert sorted((t.vat_category, t.vat_rate, t.taxable, t.tax) for t in computed.tax_breakdown) == sorted(
        (t.vat_category, logic.rate_key(t.vat_rate), t.taxable, t.tax) for t in document.taxes)
    assert (parsed.number, parsed.currency, parsed.issue_date) == (header.number, header.currency, header.issue_date)
    assert parsed.is_credit_note == document.is_credit_note
    totals = parsed.totals
    assert (totals.line_total, totals.tax_exclusive, totals.tax_total, totals.tax_inclusive, totals.payable) == (
        header.line_total, header.tax_exclusive, header.tax_total, header.tax_inclusive, header.payable)
    assert (totals.allowances or 0, totals.charges or 0, totals.prepaid or 0) == (
        header.allowance_total, header.charge_total, header.prepaid)
    assert sorted((v.category, v.rate or 0, v.taxable, v.tax) for v in parsed.vat_breakdown) == sorted(
        (t.vat_category, t.vat_rate, t.taxable, t.tax) for t in document.taxes)
    assert [line.net_amount for line in parsed.lines] == [line.net_amount for line in document.lines]


def test_amounts_are_written_with_the_currency_decimals(spread: Spread) -> None:
    jpy = export_document(spread.db, ADMIN, spread.ids["jpy"], "ubl")[2].decode()
    kwd = export_document(spread.db, ADMIN, spread.ids["kwd"], "cii")[2].decode()
    assert '<cbc:PayableAmount currencyID="JPY">' in jpy and "." not in jpy.split("<cbc:PayableAmount")[1][:30]
    assert _document(spread, "kwd").header.payable == Decimal("23.580")
    assert "<ram:DuePayableAmount>23.58</ram:DuePayableAmount>" in kwd  # exact, in the 2 decimals EN 16931 allows


def test_amounts_finer_than_2_decimals_are_refused_naming_the_rules(spread: Spread) -> None:
    with pytest.raises(ValidationError, match=r"at most 2 decimals \(BR-DEC-09 to BR-DEC-23\): this KWD document"):
        export_document(spread.db, ADMIN, spread.ids["kwd_fine"], "ubl")


def test_a_credit_note_references_the_invoice_it_credits(spread: Spread) -> None:
    invoice = _document(spread, "mixed").header
    ubl = export_document(spread.db, ADMIN, spread.ids["credit_note"], "ubl")[2].decode()
    cii = export_document(spread.db, ADMIN, spread.ids["credit_note"], "cii")[2].decode()
    assert f"<cbc:ID>{invoice.number}</cbc:ID><cbc:IssueDate>{invoice.issue_date}</cbc:IssueDate>" in ubl
    assert "<CreditNote " in ubl and "<cbc:CreditNoteTypeCode>381<" in ubl
    assert f"<ram:IssuerAssignedID>{invoice.number}</ram:IssuerAssignedID>" in cii
    assert "<ram:TypeCode>381</ram:TypeCode>" in cii


def test_exemption_reasons_come_from_the_tax_rates(spread: Spread) -> None:
    xml = export_document(spread.db, ADMIN, spread.ids["intra_community"], "ubl")[2].decode()
    assert "<cbc:TaxExemptionReasonCode>VATEX-EU-IC<" in xml and ">Intra-community supply</cbc:TaxExemption" in xml


def test_a_partly_paid_invoice_exports_as_issued(spread: Spread) -> None:
    """Payments after issue do not change the issued document: BT-113 is what was paid before issuing."""
    document = _document(spread, "partly_paid")
    assert document.header.paid_amount > 0 and document.balance < document.header.payable
    parsed = read_invoice(export_document(spread.db, ADMIN, spread.ids["partly_paid"], "cii")[2])
    assert parsed.totals.payable == document.header.payable and parsed.totals.prepaid is None


@pytest.mark.parametrize("fmt", ["ubl", "cii", "xrechnung-ubl", "xrechnung-cii", "peppol", "facturx"])
@pytest.mark.parametrize("variant", ["prepaid", "line_charge"])
def test_prepaid_amount_and_line_charges(spread: Spread, fmt: str, variant: str) -> None:
    document = _document(spread, "zero")
    changed = with_prepaid(document, Decimal("40.00")) if variant == "prepaid" else line_charged(document)
    xml = render(changed, completed(facts_of(changed, settings.get_company(spread.db) or {})), format_of(fmt))
    report = validate_bytes(xml, format_of(fmt).rules)
    assert report.valid, _failures(report)
    totals = read_invoice(xml).totals
    assert (totals.prepaid or 0, totals.payable) == (changed.header.prepaid, changed.header.payable)


XR_PEPPOL = ["mixed", "zero", "reverse_charge", "intra_community", "jpy", "direct_debit", "credit_note"]


@pytest.mark.parametrize("fmt", ["xrechnung-ubl", "xrechnung-cii", "peppol"])
@pytest.mark.parametrize("name", XR_PEPPOL)
def test_with_the_party_data_xrechnung_and_peppol_pass_their_rules(spread: Spread, name: str, fmt: str) -> None:
    document = _document(spread, name)
    preceding = _document(spread, "mixed").header.issue_date if document.credited_invoice else None
    chosen = format_of(fmt)
    xml = render(document, completed(facts_of(document, settings.get_company(spread.db) or {}, preceding)), chosen)
    report = validate_bytes(xml, chosen.rules)
    assert report.valid, _failures(report)


def test_xrechnung_refuses_naming_each_missing_field(spread: Spread) -> None:
    with pytest.raises(ValidationError) as caught:
        export_document(spread.db, ADMIN, spread.ids["mixed"], "xrechnung-ubl")
    message = caught.value.message
    assert message == ("An e-invoice in XRechnung 3.0 (UBL) needs: Leitweg-ID (buyer reference, BT-10); Seller contact "
                       "name (BT-41); Seller contact phone (BT-42); Buyer city (BT-52); Buyer post code (BT-53).")
    with pytest.raises(ValidationError, match=r"BT-10\); Seller contact name \(BT-41\)"):
        export_document(spread.db, ADMIN, spread.ids["mixed"], "xrechnung-cii")


def test_peppol_refuses_without_electronic_addresses(spread: Spread) -> None:
    with pytest.raises(ValidationError) as caught:
        export_document(spread.db, ADMIN, spread.ids["mixed"], "peppol")
    assert "Seller electronic address with its Peppol scheme (BT-34" in caught.value.message
    assert "Buyer electronic address with its Peppol scheme (BT-49)" in caught.value.message


def test_plain_en16931_asks_for_no_xrechnung_field(spread: Spread) -> None:
    document = _document(spread, "mixed")
    facts = facts_of(document, settings.get_company(spread.db) or {})
    bare = replace(facts, payment=None, seller=replace(facts.seller, email=""))
    for fmt in ("ubl", "cii"):
        report = validate_bytes(render(document, bare, format_of(fmt)), [EN16931])
        assert report.valid, _failures(report)


def test_a_draft_is_refused(spread: Spread) -> None:
    with pytest.raises(StateError, match="Only an issued invoice or credit note can be exported"):
        export_document(spread.db, ADMIN, spread.ids["draft"], "ubl")


def test_category_o_mixed_with_others_is_refused_naming_the_rule(spread: Spread) -> None:
    document = _document(spread, "not_subject")
    mixed = replace(document, lines=(*document.lines, replace(document.lines[0], vat_category="S",
                                                               vat_rate=Decimal(19))))
    with pytest.raises(ValidationError, match="BR-O-11"):
        render(mixed, facts_of(mixed, COMPANY), FORMATS["ubl"])


def test_a_failing_file_lists_the_rules_in_words(spread: Spread) -> None:
    from billing.einvoice.export import check_rules

    document = _document(spread, "mixed")
    broken = replace(document, header=replace(document.header, payable=document.header.payable + 1))
    with pytest.raises(ValidationError, match=r"Amount due \(BT-115\) must equal .*: BR-CO-16"):
        check_rules(render(broken, facts_of(broken, COMPANY), FORMATS["cii"]), FORMATS["cii"])


def test_the_permission_is_checked(spread: Spread) -> None:
    from billing.errors import PermissionDeniedError

    with pytest.raises(PermissionDeniedError):
        export_document(spread.db, Actor("nobody", "guest"), spread.ids["mixed"], "ubl")


@pytest.mark.parametrize(("text", "street", "additional", "city", "postcode"), [
    ("Hauptstraße 1\n10115 Berlin", "Hauptstraße 1", "", "Berlin", "10115"),
    ("Keizersgracht 1\nUnit 4\n1015 CJ Amsterdam\nNetherlands", "Keizersgracht 1", "Unit 4, Netherlands",
     "Amsterdam", "1015 CJ"),
    ("ul. Żółkiewskiego 12\n00-001 Warszawa", "ul. Żółkiewskiego 12", "", "Warszawa", "00-001"),
    ("10 Downing Street\nLondon SW1A 2AA", "10 Downing Street", "London SW1A 2AA", "", ""),
    ("", "", "", "", ""),
])
def test_split_address(text: str, street: str, additional: str, city: str, postcode: str) -> None:
    assert split_address(text, "de") == split_address(text, "DE")
    address = split_address(text, "DE")
    assert (address.street, address.additional, address.city, address.postcode, address.country) == (
        street, additional, city, postcode, "DE")


def test_payment_means_from_the_bank_details() -> None:
    from billing.einvoice.content import payment_of

    assert payment_of(COMPANY["bank_details"]) == Payment("DE89370400440532013000", "COBADEFFXXX")
    assert payment_of("Pay in cash") is None
    assert Party("x", split_address("", "DE")).vat_id == ""


def test_rule_set_counts(spread: Spread) -> None:
    """Every spread document passes every rule set of every format (the benchmark `python -m
    benchmarks.bench_einvoice --counts` prints these counts for the closing note)."""
    counts, failures = rule_set_counts(spread.db, spread.ids)
    assert failures == []
    assert {(count.fmt, count.profile) for count in counts} == {
        (fmt, profile) for fmt, chosen in FORMATS.items() for profile in chosen.rules}
    assert {(count.passed, count.checked) for count in counts} == {(len(ISSUED) + 2, len(ISSUED) + 2)}
    assert str(counts[0]) == f"UBL 2.1 (EN 16931): {len(ISSUED) + 2}/{len(ISSUED) + 2} passed EN 16931"


def test_cli_export_and_export_all(templates: Templates, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    from billing.cli import main

    monkeypatch.setenv("BILLING_DATABASE_URL", database_url(copy_template(templates.billed, tmp_path / "c.duckdb")))
    one = tmp_path / "one.xml"
    assert main(["einvoice", "export", "INV-2025-00002", "--format", "cii", "--output", str(one)]) == 0
    assert read_invoice(one.read_bytes()).number == "INV-2025-00002" and validate_bytes(one.read_bytes()).valid
    month = tmp_path / "march.zip"
    assert main(["einvoice", "export-all", "--from", "2025-03-01", "--to", "2025-03-31", "--format", "ubl",
                 "--output", str(month)]) == 0
    with zipfile.ZipFile(month) as archive:
        assert archive.namelist() == [f"INV-2025-0000{n}-ubl.xml" for n in (1, 2, 3)]
        assert all(validate_bytes(archive.read(name)).valid for name in archive.namelist())
    out = capsys.readouterr()
    assert "Exported 3 of 3 (0 failed)" in out.err and "3 of 3 documents as UBL 2.1 (EN 16931)" in out.out
    assert main(["einvoice", "export-all", "--from", "2025-03-01", "--to", "2025-03-31", "--format",
                 "xrechnung-cii", "--output", str(tmp_path / "x.zip")]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[1] == "3 not exported:"
    assert lines[2].startswith("  INV-2025-00001: An e-invoice in XRechnung 3.0 (CII) needs: Leitweg-ID (buyer ")
    assert main(["einvoice", "export", "INV-9", "--format", "ubl", "--output", str(one)]) != 0
    assert "no invoice or credit note numbered 'INV-9'" in capsys.readouterr().err


@pytest.mark.parametrize("fmt", ["ubl", "cii"])
def test_the_bulk_export_gives_the_files_of_single_exports(spread: Spread, fmt: str) -> None:
    from billing.einvoice.bulk import export_documents, period_documents

    ids = period_documents(spread.db, ADMIN, TODAY, TODAY)
    assert sorted(ids) == sorted(spread.ids[name] for name in [*ISSUED, "kwd_fine"])
    before = {invoice_id: export_document(spread.db, ADMIN, invoice_id, fmt) for invoice_id in ids
              if invoice_id != spread.ids["kwd_fine"]}
    customer_id = _document(spread, "direct_debit").header.customer_id
    customer = customers.get_customer(spread.db, ADMIN, customer_id)
    fields = {name: value for name, value in customer.items() if name in CustomerIn.model_fields}
    settings.save_company(spread.db, ADMIN, {**COMPANY, "legal_name": "Example AG", "creditor_id": ""})
    customers.update_customer(spread.db, ADMIN, customer_id, {**fields, "name": "Beta SAS", "street": "Avenue Foch 1",
                                                              "iban": "DE02120300000000202051"})
    try:  # issued documents show their parties as frozen at issue, in bulk as one by one
        items = list(export_documents(spread.db, ADMIN, ids, fmt))
        for invoice_id, item in zip(ids, items, strict=True):
            if invoice_id == spread.ids["kwd_fine"]:
                assert item.xml is None and "BR-DEC-09" in item.problem
            else:
                assert (item.file_name, "application/xml", item.xml) == before[invoice_id]
                assert export_document(spread.db, ADMIN, invoice_id, fmt) == before[invoice_id]
    finally:
        settings.save_company(spread.db, ADMIN, COMPANY)
        customers.update_customer(spread.db, ADMIN, customer_id, fields)
    assert b"Exempt educational services" in before[spread.ids["kwd"]][2]


@pytest.mark.parametrize("fmt", ["ubl", "cii"])
def test_the_remittance_information_is_the_invoices_creditor_reference(spread: Spread, fmt: str) -> None:
    from lxml import etree

    from billing.references import creditor_reference

    name = ISSUED[0]
    document = _document(spread, name)
    assert not document.is_credit_note and document.header.number
    xml = export_document(spread.db, ADMIN, spread.ids[name], fmt)[2]  # validated against EN 16931
    path = ("//cac:PaymentMeans/cbc:PaymentID" if fmt == "ubl"
            else "//ram:ApplicableHeaderTradeSettlement/ram:PaymentReference")
    root = etree.fromstring(xml)
    namespaces = {"ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100",
                  "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
                  "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"}
    assert [e.text for e in root.xpath(path, namespaces=namespaces)] == [
        creditor_reference(document.header.number)]  # BT-83, as the PDF prints it and its QR code carries it


def test_the_structured_company_account_comes_before_the_bank_details_text() -> None:
    from billing.einvoice.content import payment_of

    assert payment_of("IBAN DE89 3704 0044 0532 0130 00", "DE02120300000000202051", "BYLADEM1001", "RF18539007547034") \
        == Payment("DE02120300000000202051", "BYLADEM1001", remittance="RF18539007547034")
