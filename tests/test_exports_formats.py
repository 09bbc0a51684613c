"""CSV exports in a chosen format (billing.exports.CsvFormat): semicolons and decimal commas for Excel in a
German locale, read back by pandas; formula cells neutralised in every format, blanks before them too."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal
from typing import Any

import pandas as pd
import pytest
from pypdf import PdfReader

from billing.errors import ValidationError
from billing.exports import CSV_FORMATS, CsvFormat, table_to_csv, table_to_pdf

SPACED_INJECTIONS = [" =1+1", "   +1+1", " -1+2", "\u00a0@SUM(1,1)", " \t=1"]


def table() -> pd.DataFrame:
    return pd.DataFrame({
        "number": ["INV-1", "INV-2", "INV-3"],
        "customer": ["Müller GmbH", "Zakład; Łączności", 'Say "hi"'],
        "issue_date": [date(2026, 12, 4), date(2026, 12, 5), date(2026, 12, 6)],
        "amount": [Decimal("1234.56"), Decimal("-20.50"), None],
        "lines": [1, 2, 3],
        "rate": [0.5, None, -1.25],
    })


def read_back(data: bytes, **options: Any) -> pd.DataFrame:
    frame: pd.DataFrame = pd.read_csv(io.BytesIO(data), encoding="utf-8-sig", **options)
    return frame


def test_semicolons_and_decimal_commas_read_back_by_pandas() -> None:
    data = table_to_csv(table(), CsvFormat(";", ","))
    text = data.decode("utf-8-sig")
    assert text.splitlines()[0] == '"number";"customer";"issue_date";"amount";"lines";"rate"'
    assert "1234,56" in text and "1234.56" not in text
    back = read_back(data, sep=";", decimal=",")
    assert back["amount"].tolist()[:2] == [1234.56, -20.5] and pd.isna(back["amount"][2])
    assert back["rate"].tolist()[0] == 0.5 and back["rate"].tolist()[2] == -1.25
    assert back["lines"].tolist() == [1, 2, 3]
    assert back["customer"].tolist() == ["Müller GmbH", "Zakład; Łączności", 'Say "hi"']
    assert back["issue_date"].tolist() == ["2026-12-04", "2026-12-05", "2026-12-06"]


def test_exact_decimals_survive_the_decimal_comma() -> None:
    data = table_to_csv(table(), CsvFormat(";", ","))
    back = read_back(data, sep=";", dtype={"amount": str}, keep_default_na=False)
    assert [Decimal(value.replace(",", ".")) for value in back["amount"][:2]] == [Decimal("1234.56"),
                                                                                   Decimal("-20.50")]


@pytest.mark.parametrize("csv_format", list(CSV_FORMATS.values()), ids=list(CSV_FORMATS))
def test_every_offered_format_reads_back(csv_format: CsvFormat) -> None:
    back = read_back(table_to_csv(table(), csv_format), sep=csv_format.separator, decimal=csv_format.decimal)
    assert back["amount"].tolist()[0] == 1234.56 and back["number"].tolist() == ["INV-1", "INV-2", "INV-3"]


def test_the_default_format_is_unchanged() -> None:
    assert table_to_csv(table()) == table_to_csv(table(), CsvFormat(",", "."))
    assert "1234.56" in table_to_csv(table()).decode("utf-8-sig")


@pytest.mark.parametrize("csv_format", [CsvFormat(), CsvFormat(";", ",")])
@pytest.mark.parametrize("payload", SPACED_INJECTIONS)
def test_formulas_after_blanks_are_neutralised(payload: str, csv_format: CsvFormat) -> None:
    for frame in (pd.DataFrame({"note": [payload, "plain"]}),  # a text column: the vectorised path
                  pd.DataFrame({"note": [payload, 7]}),  # a mixed column: cell by cell
                  pd.DataFrame({payload: [1]})):  # a column name
        back = read_back(table_to_csv(frame, csv_format), sep=csv_format.separator, dtype=str, keep_default_na=False)
        cells = [*back.columns, *back.iloc[:, 0].tolist()]
        assert "'" + payload in cells, cells
        assert payload not in cells


def test_blanks_before_ordinary_text_stay_as_typed() -> None:
    back = read_back(table_to_csv(pd.DataFrame({"note": ["  hello", " 12"]})), dtype=str, keep_default_na=False)
    assert back["note"].tolist() == ["  hello", " 12"]


@pytest.mark.parametrize(("separator", "decimal", "problem"), [
    (",", ",", "cannot be the separator"), ("|", ".", "separator is one of"), (";", ";", "decimal mark is"),
])
def test_impossible_formats_are_refused(separator: str, decimal: str, problem: str) -> None:
    with pytest.raises(ValidationError, match=problem):
        CsvFormat(separator, decimal)


def test_a_report_pdf_names_the_company_and_the_day() -> None:
    data = table_to_pdf(table(), "Invoices", company="Acme Consulting GmbH", printed_on="07 Dec 2026")
    footer = PdfReader(io.BytesIO(data)).pages[0].extract_text().splitlines()[-1]
    assert "Acme Consulting GmbH · Invoices · Printed 07 Dec 2026" in footer
