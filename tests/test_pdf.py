"""Invoice and credit-note PDFs (billing.pdf): content, stamps, fonts, page sizes. No database needed."""

from __future__ import annotations

import functools
import io
import logging
import re
import shutil
import subprocess
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from fpdf import FPDF
from PIL import Image
from pypdf import PdfReader

from billing import logic
from billing.document_totals import total_rows
from billing.documents import (
    CreditedInvoiceRef,
    DocumentCustomer,
    InvoiceDocument,
    InvoiceHeader,
    StoredAllowanceCharge,
    StoredLine,
    StoredTax,
    computed_totals,
)
from billing.exports import table_to_pdf
from billing.invoices import with_nets
from billing.money import ZERO, format_money
from billing.payment_qr import payment_details
from billing.pdf import render_invoice_pdf, stamp_of
from billing.pdf_document import FONT_CUTS, FONT_DIR, MissingGlyphWarning, _parsed_fonts, font_cut_for
from billing.store.invoices import TOTAL_COLUMNS

# fpdf2 only logs missing glyphs; billing.pdf_document turns them into MissingGlyphWarning, an error here.
pytestmark = pytest.mark.filterwarnings("error::billing.pdf_document.MissingGlyphWarning")

UNICODE_DESCRIPTIONS = ["Consulting € services – Łódź office", "Ωμέγα widget", "Привет subscription (monthly)"]


def line(description: str, quantity: str = "1", price: str = "100.00", rate: str = "19", category: str = "S",
         discount_percent: str = "0", discount_amount: str = "0") -> StoredLine:
    return StoredLine(position=0, product_id=None, description=description, quantity=Decimal(quantity), unit="pcs",
                      unit_price=Decimal(price), base_quantity=Decimal(1), discount_percent=Decimal(discount_percent),
                      discount_amount=Decimal(discount_amount), charge_amount=ZERO, tax_rate_id=None,
                      vat_category=category, vat_rate=Decimal(rate), net_amount=ZERO)


def allowance_charge(reason: str, *, is_charge: bool = False, amount: str | None = None,
                     percent: str | None = None) -> StoredAllowanceCharge:
    return StoredAllowanceCharge(position=0, is_charge=is_charge, reason=reason,
                                 amount=None if amount is None else Decimal(amount),
                                 percent=None if percent is None else Decimal(percent), tax_rate_id=None,
                                 vat_category="S", vat_rate=Decimal("19"))


def make_view(lines: list[StoredLine] | None = None, *, status: str = "unpaid", kind: str = "invoice",
              allowance_charges: list[StoredAllowanceCharge] | None = None, paid: str = "0", currency: str = "EUR",
              customer_name: str = "Zakład Usług Łączności Sp. z o.o.") -> InvoiceDocument:
    """An InvoiceDocument built by hand, its totals from billing.logic as the service computes and stores them."""
    lines = [replace(item, position=n) for n, item in enumerate(
        lines if lines is not None else [line(text) for text in UNICODE_DESCRIPTIONS], start=1)]
    allowance_charges = allowance_charges or []
    totals = computed_totals(lines, allowance_charges, currency)
    credit_note = kind == logic.CREDIT_NOTE
    number = None if status == "draft" else ("CN-2025-0007" if credit_note else "INV-2025-00042")
    header = InvoiceHeader(
        id=7, kind=kind, series="CN" if credit_note else "INV", number=number,
        status={"draft": logic.DRAFT, "void": logic.VOID}.get(status, logic.ISSUED), customer_id=3,
        currency=currency, issue_date=date(2025, 3, 1), due_date=date(2025, 3, 31),
        credited_invoice_id=6 if credit_note else None, notes="", void_reason="",
        **{name: getattr(totals, name) for name in TOTAL_COLUMNS}, paid_amount=Decimal(paid), credited_amount=ZERO,
        created_at=datetime(2025, 3, 1, 9), issued_at=None, voided_on=None, created_by="admin")
    customer = DocumentCustomer(id=3, name=customer_name, email="biuro@example.pl",
                                address="ul. Żółkiewskiego 12\n00-001 Warszawa", country="PL", tax_id="PL5260001246",
                                terms_days=30)
    balance = ZERO if credit_note else totals.payable - Decimal(paid)
    return InvoiceDocument(header=header, customer=customer, lines=tuple(with_nets(lines, totals)),
                           allowance_charges=tuple(allowance_charges),
                           taxes=tuple(StoredTax.from_logic(t) for t in totals.tax_breakdown), totals=totals,
                           balance=balance, status=status,
                           credited_invoice=CreditedInvoiceRef(6, "INV-2025-00041") if credit_note else None)


@pytest.fixture
def company() -> dict[str, Any]:
    return {"legal_name": "Acme Consulting GmbH", "address": "Hauptstraße 1\n10115 Berlin", "country": "DE",
            "tax_id": "DE136695976", "email": "billing@acme.example",
            "bank_details": "IBAN DE89 3704 0044 0532 0130 00, BIC COBADEFFXXX", "base_currency": "EUR",
            "timezone": "Europe/Berlin", "page_size": "A4", "logo": None}


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def test_invoice_shows_number_total_and_unicode_text(company: dict[str, Any]) -> None:
    view = make_view()
    data = render_invoice_pdf(view, company)
    text = pdf_text(data)
    assert data.startswith(b"%PDF-")
    assert "INV-2025-00042" in text
    assert format_money(view.totals.payable, "EUR") == "€357.00"
    assert "€357.00" in text
    for expected in [*UNICODE_DESCRIPTIONS, "€", "ł", "Ωμέγα", "Привет", "Zakład Usług Łączności"]:
        assert expected in text
    assert "Poland" in text and "Germany" in text  # the countries of both addresses, by name


def test_invoice_shows_vat_breakdown_totals_and_payment_instructions(company: dict[str, Any]) -> None:
    allowance_charges = [allowance_charge("Loyalty", percent="10"),
                         allowance_charge("Shipping", is_charge=True, amount="12.50")]
    view = make_view([line("Design", "2", "150.00", discount_percent="10"), line("Export", "1", "80.00", "0", "Z")],
                     allowance_charges=allowance_charges, paid="100.00", status="partially_paid")
    text = pdf_text(render_invoice_pdf(view, company))
    # 2 x 150 - 10% = 270; 80 (zero rated); discount 10% of 350 = 35; shipping 12.50
    assert view.totals.tax_exclusive == Decimal("327.50")
    for expected in ["€270.00", "€80.00", "-€35.00", "€12.50", "Standard rate", "Zero rated goods",
                     "€327.50", format_money(view.totals.tax_total, "EUR"),
                     format_money(view.totals.tax_inclusive, "EUR"), "-€100.00", format_money(view.balance, "EUR"),
                     "Balance due", "IBAN DE89 3704 0044 0532 0130 00", "Reference: RF41 INV2 0250 0042",
                     "March 31, 2025", "Loyalty (10% of €350.00)"]:
        assert expected in text


def test_unit_prices_print_with_all_their_decimals(company: dict[str, Any]) -> None:
    text = pdf_text(render_invoice_pdf(make_view([line("Bolts", "1000", "0.0125")]), company))
    assert "€0.0125" in text and "€12.50" in text


def test_amounts_and_dates_follow_the_locale(company: dict[str, Any]) -> None:
    view = make_view([line("Beratung", "10", "123.45")])
    text = pdf_text(render_invoice_pdf(view, company, locale="de_DE"))
    assert "1.469,06\xa0€" in text and "31. März 2025" in text
    assert "Polen" in text and "Deutschland" in text


def test_text_beyond_the_first_font_cut_is_printed(company: dict[str, Any]) -> None:
    # Russian month names come from Babel, not from the invoice's own text: the document is drawn
    # again with the wider cut rather than printing blanks.
    text = pdf_text(render_invoice_pdf(make_view([line("Consulting")]), company, locale="ru_RU"))
    assert "мар" in text


@pytest.mark.parametrize(("status", "kind", "stamp"), [
    ("void", logic.INVOICE, "VOID"),
    ("paid", logic.INVOICE, "PAID"),
    ("draft", logic.INVOICE, "DRAFT"),
    ("credit_note", logic.CREDIT_NOTE, "CREDIT NOTE"),
    ("credited", logic.INVOICE, "CREDITED"),  # an invoice its credit notes settled
])
def test_stamp(company: dict[str, Any], status: str, kind: str, stamp: str) -> None:
    view = make_view(status=status, kind=kind, paid="357.00" if status == "paid" else "0")
    assert stamp_of(view) == stamp
    text = pdf_text(render_invoice_pdf(view, company))
    # the title of a credit note says CREDIT NOTE too: the stamp is the second one
    assert text.count(stamp) == (2 if kind == logic.CREDIT_NOTE else 1)


@pytest.mark.parametrize("status", ["unpaid", "partially_paid", "overdue"])
def test_open_invoices_carry_no_stamp(company: dict[str, Any], status: str) -> None:
    view = make_view(status=status)
    assert stamp_of(view) is None
    text = pdf_text(render_invoice_pdf(view, company))
    assert not any(word in text for word in ("VOID", "PAID", "DRAFT", "CREDIT NOTE"))


def test_void_invoice_gives_its_reason_and_asks_for_no_payment(company: dict[str, Any]) -> None:
    view = make_view(status="void")
    view = replace(view, header=replace(view.header, void_reason="Entered twice"))
    text = pdf_text(render_invoice_pdf(view, company))
    assert "Entered twice" in text and "Please pay" not in text and "Balance due" not in text


def test_credit_note_references_the_credited_invoice(company: dict[str, Any]) -> None:
    view = make_view(status="credit_note", kind=logic.CREDIT_NOTE)
    text = pdf_text(render_invoice_pdf(view, company))
    assert "CN-2025-0007" in text and "INV-2025-00041" in text and "Please pay" not in text


def test_draft_has_no_number_and_asks_for_no_payment(company: dict[str, Any]) -> None:
    text = pdf_text(render_invoice_pdf(make_view(status="draft"), company))
    assert "No. draft" in text and "Please pay" not in text and "Balance due" not in text


def test_a_glyph_the_font_lacks_is_an_error_under_the_test_filter(company: dict[str, Any]) -> None:
    view = make_view([line("Tea 漢字")])
    with pytest.raises(MissingGlyphWarning, match="U\\+6F22"):
        render_invoice_pdf(view, company)


def test_a_glyph_the_font_lacks_warns_outside_tests(company: dict[str, Any]) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        data = render_invoice_pdf(make_view([line("Smile 😀")]), company)
    assert [type(warning.message) for warning in caught] == [MissingGlyphWarning]
    assert "Smile" in pdf_text(data)


def test_fpdf_alone_only_logs_missing_glyphs(caplog: pytest.LogCaptureFixture) -> None:
    """Why billing.pdf_document raises its own warning: the pyproject filter on fpdf's warnings never fires."""
    pdf = FPDF()
    pdf.add_font("dejavu", "", FONT_DIR / "DejaVuSans.ttf")
    pdf.set_font("dejavu", size=10)
    pdf.add_page()
    pdf.cell(text="漢字")
    with caplog.at_level(logging.WARNING, logger="fpdf"), warnings.catch_warnings():
        warnings.simplefilter("error")
        pdf.output()
    assert "missing the following glyphs" in caplog.text


def test_letter_page_size(company: dict[str, Any]) -> None:
    page = PdfReader(io.BytesIO(render_invoice_pdf(make_view(), {**company, "page_size": "Letter"}))).pages[0]
    assert (round(float(page.mediabox.width)), round(float(page.mediabox.height))) == (612, 792)


def test_a4_page_size(company: dict[str, Any]) -> None:
    page = PdfReader(io.BytesIO(render_invoice_pdf(make_view(), company))).pages[0]
    assert (round(float(page.mediabox.width)), round(float(page.mediabox.height))) == (595, 842)


def test_long_invoice_breaks_pages_repeats_the_table_header_and_numbers_pages(company: dict[str, Any]) -> None:
    view = make_view([line(f"Item {number} with a description long enough to wrap onto a second line of the "
                           "description column") for number in range(1, 61)])
    reader = PdfReader(io.BytesIO(render_invoice_pdf(view, company)))
    pages = [page.extract_text() for page in reader.pages]
    assert len(pages) >= 3
    assert all("Description" in page and "Unit price" in page for page in pages[:-1])
    assert f"Page 1 of {len(pages)}" in pages[0] and f"Page {len(pages)} of {len(pages)}" in pages[-1]
    assert "Item 60 with" in "\n".join(pages) and format_money(view.balance, "EUR") in pages[-1]


def test_stamped_long_invoice_has_the_stamp_once_and_every_footer(company: dict[str, Any]) -> None:
    view = make_view([line(f"Item {number}") for number in range(1, 80)], status="void")
    pages = [page.extract_text() for page in PdfReader(io.BytesIO(render_invoice_pdf(view, company))).pages]
    # once, in the room left on the last page (over the lines of page 1 only when there is none)
    assert len(pages) >= 2 and "\n".join(pages).count("VOID") == 1
    assert all(f"Page {number} of {len(pages)}" in text for number, text in enumerate(pages, start=1))


def test_footer_names_the_company_and_its_tax_id(company: dict[str, Any]) -> None:
    assert "VAT ID: DE136695976" in pdf_text(render_invoice_pdf(make_view(), company)).splitlines()[-1]


def test_logo_is_embedded(company: dict[str, Any]) -> None:
    logo = io.BytesIO()
    Image.new("RGB", (120, 40), (200, 30, 30)).save(logo, format="PNG")
    page = PdfReader(io.BytesIO(render_invoice_pdf(make_view(), {**company, "logo": logo.getvalue()}))).pages[0]
    assert len(page.images) == 1


def test_fonts_are_parsed_once_and_documents_do_not_share_state(company: dict[str, Any]) -> None:
    first = pdf_text(render_invoice_pdf(make_view([line("Ωμέγα")]), company))
    misses = _parsed_fonts.cache_info().misses
    second = pdf_text(render_invoice_pdf(make_view([line("Привет")]), company))
    third = pdf_text(render_invoice_pdf(make_view([line("Ωμέγα")]), company))
    assert _parsed_fonts.cache_info().misses == misses
    assert "Ωμέγα" in first and "Привет" in second and "Ωμέγα" in third and "Привет" not in third


@pytest.mark.parametrize(("text", "cut"), [
    ("Müller GmbH – Łódź, 12 €", 0),
    ("Ωμέγα Привет", 1),
    ("Հայերեն", 2),
    ("漢字", len(FONT_CUTS) - 1),
    ("Cafe\u0301", 0),  # decomposed é is printed composed
])
def test_the_smallest_font_cut_covering_the_text_is_chosen(text: str, cut: int) -> None:
    assert font_cut_for(text) == cut


def test_decomposed_accents_print_composed(company: dict[str, Any]) -> None:
    assert "Café crème" in pdf_text(render_invoice_pdf(make_view([line("Cafe\u0301 cre\u0300me")]), company))


def test_every_document_currency_is_formatted(company: dict[str, Any]) -> None:
    view = replace(make_view([line("Consulting", "1", "1000")], currency="JPY"))
    assert "¥1,190" in pdf_text(render_invoice_pdf(view, company))


def test_an_exempt_or_reverse_charge_invoice_says_why_no_vat_is_charged(company: dict[str, Any]) -> None:
    view = make_view([line("Consulting", "1", "500.00", "0", "AE"), line("Training", "1", "100.00", "0", "E")])
    view = replace(view, exemption_reasons={"AE": "Reverse charge: VAT due by the recipient (Art. 196 VAT Directive)",
                                            "E": "Exempt under section 4 UStG", "K": "Not on this invoice"})
    text = pdf_text(render_invoice_pdf(view, company))
    assert "VAT reverse charge: Reverse charge: VAT due by the recipient (Art. 196 VAT Directive)" in text
    assert "Exempt from tax: Exempt under section 4 UStG" in text and "Not on this invoice" not in text


def test_an_overdue_invoice_asks_for_payment_now(company: dict[str, Any]) -> None:
    text = pdf_text(render_invoice_pdf(make_view(status="overdue"), company))
    assert "was due on March 31, 2025. Please pay it now." in text and "Please pay €" not in text


def test_the_totals_are_the_rows_the_screen_shows_in_its_order(company: dict[str, Any]) -> None:
    view = make_view([line("Design", "2", "150.00", discount_percent="10", discount_amount="5.00"),
                      line("Export", "1", "80.00", "0", "Z")], paid="100.00", status="partially_paid")
    view = replace(view, header=replace(view.header, credited_amount=Decimal("50.00")))
    text = pdf_text(render_invoice_pdf(view, company))
    rows = total_rows(view.totals, kind=logic.INVOICE, status=view.status, paid=Decimal("100.00"),
                      credited=Decimal("50.00"), balance=view.balance)
    assert [row.label for row in rows] == ["Lines", "Net amount", "VAT 19%", "Zero rated goods (0%)", "Total",
                                           "Paid", "Credited", "Balance due"]
    printed = [f"{row.label} {format_money(row.amount, 'EUR')}" for row in rows]
    assert all(row in text for row in printed), text
    assert sorted(printed, key=text.index) == printed
    assert "10% + €5.00" in text  # the line's discount, as billing.discounts formats it with the PDF's money


def _without_timestamp(document: bytes) -> bytes:
    """The PDF less what differs between two renders of one document: the creation time and the ID made from it."""
    return re.sub(rb"/CreationDate \(D:\d+Z\)|/ID \[<[0-9A-F]+><[0-9A-F]+>\]", b"", document)


@pytest.mark.slow
def test_documents_render_in_8_threads_at_once(company: dict[str, Any]) -> None:
    """8 threads x 100 renders, as browser sessions render invoices: each is the very PDF a render alone gives.

    The documents differ in size so their objects number differently: fpdf2 numbered a font descriptor
    shared by every document, and a render in one thread broke another's (KeyError in output())."""
    latin = [line(f"Item {n}") for n in range(1, 41)]
    documents = [functools.partial(render_invoice_pdf, make_view(latin[:2], customer_name="Acme"), company),
                 functools.partial(render_invoice_pdf, make_view(latin, customer_name="Acme"), company),
                 functools.partial(table_to_pdf, pd.DataFrame({"customer": ["Acme", "Beta"]}), "Customers"),
                 functools.partial(table_to_pdf, pd.DataFrame({"customer": [f"C{n}" for n in range(90)]}), "All")]
    alone = [document() for document in documents]
    assert [len(PdfReader(io.BytesIO(data), strict=True).pages) for data in alone] == [1, 2, 1, 2]

    def render(n: int) -> tuple[int, bytes]:
        return n % len(documents), _without_timestamp(documents[n % len(documents)]())

    with ThreadPoolExecutor(max_workers=8) as pool:
        renders = list(pool.map(render, range(800)))  # an exception in any render is raised here
    expected = [_without_timestamp(data) for data in alone]
    assert sum(data == expected[kind] for kind, data in renders) == 800


# --- payment QR code (billing.payment_qr), read back from the rendered page -----------------------------------------

needs_poppler_and_zbar = pytest.mark.skipif(
    not (shutil.which("pdftoppm") and shutil.which("zbarimg")),
    reason="needs pdftoppm and zbarimg (Debian's poppler-utils and zbar-tools, installed by scripts/test.sh)")


@pytest.fixture
def account(company: dict[str, Any]) -> dict[str, Any]:
    """The company with its account entered in Settings: EUR invoices carry a QR code paying it."""
    return {**company, "bank_details": "Commerzbank Berlin", "iban": "DE89370400440532013000", "bic": "COBADEFFXXX"}


def scanned(data: bytes, folder: Path) -> list[str | None]:
    """Each page's QR code as a phone would read it: the page rendered at 100 dpi by poppler, decoded by zbar
    (its bytes as they are, UTF-8 by the EPC character set, not zbar's guess of the encoding); None if none."""
    (folder / "document.pdf").write_bytes(data)
    subprocess.run(["pdftoppm", "-png", "-r", "100", str(folder / "document.pdf"), str(folder / "page")], check=True)
    codes: list[str | None] = []
    for page in sorted(folder.glob("page-*.png")):
        found = subprocess.run(["zbarimg", "--raw", "-q", "-Sbinary", "-Sdisable", "-Sqrcode.enable", str(page)],
                               capture_output=True, check=False)
        assert found.returncode in (0, 4), found.stderr  # 4: no symbol on the page
        codes.append(found.stdout.decode("utf-8") if found.returncode == 0 else None)
    return codes


@needs_poppler_and_zbar
def test_a_partly_paid_invoice_carries_a_qr_code_for_the_amount_still_due(account: dict[str, Any],
                                                                          tmp_path: Path) -> None:
    view = make_view(paid="100.00", status="partially_paid")
    data = render_invoice_pdf(view, account)
    [code] = scanned(data, tmp_path)
    assert code is not None
    assert code == payment_details(view, account).qr_payload  # type: ignore[union-attr]
    fields = code.split("\n")
    assert fields[:4] == ["BCD", "002", "1", "SCT"]
    assert (fields[4], fields[5], fields[6]) == ("COBADEFFXXX", "Acme Consulting GmbH", "DE89370400440532013000")
    assert view.balance == Decimal("257.00") and fields[7] == "EUR257.00"  # 357.00 less the 100.00 paid
    assert fields[8:] == ["", "RF41INV202500042"]
    text = pdf_text(data)
    for expected in ["Scan to pay", "IBAN DE89 3704 0044 0532 0130 00 · BIC COBADEFFXXX", "Commerzbank Berlin",
                     "Reference: RF41 INV2 0250 0042", "Please pay €257.00"]:
        assert expected in text


@needs_poppler_and_zbar
def test_the_qr_code_follows_a_long_invoice_to_its_last_page_and_keeps_its_utf8_name(account: dict[str, Any],
                                                                                  tmp_path: Path) -> None:
    company = {**account, "legal_name": "Müller & Söhne Ωμέγα GmbH", "bic": ""}
    view = make_view([line(f"Item {n}") for n in range(1, 28)], status="overdue")
    first, last = scanned(render_invoice_pdf(view, company), tmp_path)
    assert first is None and last is not None
    assert last.split("\n")[4:8] == ["", "Müller & Söhne Ωμέγα GmbH", "DE89370400440532013000", "EUR3213.00"]


@needs_poppler_and_zbar
@pytest.mark.parametrize(("why", "changes", "status", "kind"), [
    ("in dollars", {"currency": "USD"}, "unpaid", logic.INVOICE),
    ("a credit note", {}, "credit_note", logic.CREDIT_NOTE),
    ("paid", {"paid": "357.00"}, "paid", logic.INVOICE),
    ("a draft", {}, "draft", logic.INVOICE),
    ("void", {}, "void", logic.INVOICE),
])
def test_no_qr_code_where_nothing_is_to_be_paid_in_euros(account: dict[str, Any], tmp_path: Path, why: str,
                                                         changes: dict[str, str], status: str, kind: str) -> None:
    view = make_view(status=status, kind=kind, **changes)
    data = render_invoice_pdf(view, account)
    assert scanned(data, tmp_path) == [None], why
    assert "Scan to pay" not in pdf_text(data)


@needs_poppler_and_zbar
def test_without_an_iban_the_bank_details_are_printed_as_before_and_no_qr_code(company: dict[str, Any],
                                                                               tmp_path: Path) -> None:
    data = render_invoice_pdf(make_view(), company)
    assert scanned(data, tmp_path) == [None]
    text = pdf_text(data)
    assert "IBAN DE89 3704 0044 0532 0130 00, BIC COBADEFFXXX" in text and "Reference: RF41 INV2 0250 0042" in text
    assert "Scan to pay" not in text


def test_a_dollar_invoice_has_the_reference_but_no_qr_payload(account: dict[str, Any]) -> None:
    details = payment_details(make_view(currency="USD"), account)
    assert details is not None
    assert (details.reference, details.iban, details.qr_payload) == ("RF41INV202500042", account["iban"], None)
