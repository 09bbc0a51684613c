"""Invoice, credit-note and statement PDFs in the customer's language (billing.i18n): German text, amounts
and dates read back from the PDF; every language prints its own words and none of the English ones."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import replace
from datetime import date
from decimal import Decimal
from typing import Any

import pandas as pd
import pytest

from billing import i18n
from billing.pdf import render_invoice_pdf
from billing.reports import Statement
from billing.statement_pdf import statement_pdf
from tests.test_pdf import allowance_charge, line, make_view, pdf_text

pytestmark = pytest.mark.filterwarnings("error::billing.pdf_document.MissingGlyphWarning")

# Words of the English documents that a translated one must not print (they would be strings missed).
ENGLISH_WORDS = ["Issue date", "Due date", "Bill to", "Balance due", "Net amount", "Please pay", "Description",
                 "Unit price", "Scan to pay", "Page 1 of", "Discount", "Standard rate", "Opening balance",
                 "Closing balance", "Statement of account", "Invoice for", "Paid and credited"]


@pytest.fixture
def company() -> dict[str, Any]:
    return {"legal_name": "Acme Consulting GmbH", "address": "Hauptstraße 1\n10115 Berlin", "country": "DE",
            "tax_id": "DE123456789", "email": "billing@acme.example", "iban": "DE89370400440532013000",
            "bank_details": "Commerzbank Berlin", "base_currency": "EUR", "page_size": "A4", "logo": None}


def german(view: Any) -> Any:
    return replace(view, customer=replace(view.customer, language="de", country="DE", name="Muster GmbH"))


def test_a_german_invoice_is_german(company: dict[str, Any]) -> None:
    view = german(make_view([line("Beratung", "1", "1234.56"), line("Reise", "2", "10.00", "7")]))
    data = render_invoice_pdf(view, company)
    text = pdf_text(data)
    for expected in ["RECHNUNG", "Nr. INV-2025-00042", "Rechnungsdatum", "1. März 2025", "Fällig am", "31. März 2025",
                     "1.234,56\xa0€", "USt. 19\xa0%", "USt. 7\xa0%", "Offener Betrag", "Bitte zahlen Sie",
                     "bis zum 31. März 2025", "Seite 1 von 1", "USt-IdNr.: DE123456789", "Deutschland"]:
        assert expected in text, expected
    for english in ENGLISH_WORDS:
        assert english not in text, english


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="pdftotext (poppler-utils) is not installed")
def test_pdftotext_reads_the_german_invoice(company: dict[str, Any], tmp_path: Any) -> None:
    path = tmp_path / "rechnung.pdf"
    path.write_bytes(render_invoice_pdf(german(make_view([line("Beratung", "1", "1234.56")])), company))
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True,
                          check=True).stdout
    assert "RECHNUNG" in text and "1.234,56 €" in text.replace("\xa0", " ") and "31. März 2025" in text


@pytest.mark.parametrize("language", sorted(i18n.LANGUAGES))
def test_every_language_prints_its_own_words(company: dict[str, Any], language: str) -> None:
    view = make_view([line("Consulting", "2", "150.00", discount_percent="10"), line("Export", "1", "80.00", "0", "Z")],
                     allowance_charges=[allowance_charge("Loyalty", percent="10")], paid="10.00",
                     status="partially_paid")
    view = replace(view, customer=replace(view.customer, language=language))
    text = pdf_text(render_invoice_pdf(view, company))
    words = i18n.Wording(language, i18n.document_locale(language, "PL"))
    for key in ["invoice.title", "document.issue_date", "document.due_date", "total.net", "total.total",
                "total.balance", "column.description", "column.unit_price", "category.Z", "allowances.title",
                "payment.scan"]:
        assert words.text(key).upper() in text.upper(), key
    if language != "en":
        for english in ENGLISH_WORDS:
            assert english not in text, english


@pytest.mark.parametrize("language", sorted(i18n.LANGUAGES))
def test_every_language_prints_a_credit_note(company: dict[str, Any], language: str) -> None:
    view = make_view([line("Consulting")], kind="credit_note", status="credit_note")
    view = replace(view, customer=replace(view.customer, language=language))
    text = pdf_text(render_invoice_pdf(view, company))
    assert i18n.translate(language, "credit_note.title") in text
    assert i18n.translate(language, "credit_note.reduces", number="INV-2025-00041") in " ".join(text.split())


def statement(language: str) -> Statement:
    entries = pd.DataFrame([
        {"date": date(2026, 12, 4), "kind": "invoice", "number": "INV-1", "description": "Invoice",
         "debit": Decimal("1234.56"), "credit": None, "balance": Decimal("1234.56")},
        {"date": date(2026, 12, 10), "kind": "credit_note", "number": "CN-1",
         "description": "Credit note for invoice INV-1", "debit": None, "credit": Decimal("34.56"),
         "balance": Decimal("1200.00")},
        {"date": date(2026, 12, 11), "kind": "payment", "number": "", "description": "Payment (bank transfer): X1",
         "debit": None, "credit": Decimal("200.00"), "balance": Decimal("1000.00")}])
    return Statement(customer={"name": "Muster GmbH", "address": "Weg 1", "country": "DE", "language": language},
                     currency="EUR", date_from=date(2026, 12, 1), date_to=date(2026, 12, 31),
                     opening_balance=Decimal("0.00"), entries=entries, closing_balance=Decimal("1000.00"),
                     notes=["Voided invoice INV-0 is not shown."], voided=("INV-0",))


def test_a_german_statement_is_german(company: dict[str, Any]) -> None:
    text = pdf_text(statement_pdf(statement("de"), company, today=date(2026, 12, 31)))
    for expected in ["Kontoauszug", "Anfangssaldo", "Endsaldo", "1.234,56\xa0€", "04.12.2026", "Gutschrift zu "
                     "Rechnung INV-1", "Zahlung (bank transfer): X1", "Stornierte Rechnungen nicht aufgeführt: INV-0",
                     "Offener Betrag: 1.000,00\xa0€", "Seite 1 von 1"]:
        assert expected in text, expected
    for english in ENGLISH_WORDS:
        assert english not in text, english


@pytest.mark.parametrize("language", sorted(i18n.LANGUAGES))
def test_every_language_prints_a_statement(company: dict[str, Any], language: str) -> None:
    text = pdf_text(statement_pdf(statement(language), company, today=date(2026, 12, 31)))
    for key in ["statement.title", "statement.opening", "statement.closing", "kind.invoice"]:
        assert i18n.translate(language, key) in text, key


def test_the_reverse_charge_text_prints_in_the_invoice_language(company: dict[str, Any]) -> None:
    view = german(make_view([line("Beratung", "1", "1000.00", "0", "AE")]))
    view = replace(view, exemption_reasons={"AE": i18n.translate("en", "vat.reverse_charge")})
    text = " ".join(pdf_text(render_invoice_pdf(view, company)).split())
    assert "Reverse Charge: Steuerschuldnerschaft des Leistungsempfängers" in text
    assert "Article 196" not in text
