"""Table exports (billing.exports): safe CSV for spreadsheets and paginated PDF tables."""

from __future__ import annotations

import io
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pandas as pd
import pytest
from pypdf import PdfReader

from billing.errors import ValidationError
from billing.exports import BOM, column_totals, table_to_csv, table_to_pdf
from billing.pdf_document import MissingGlyphWarning

# fpdf2 only logs missing glyphs; billing.pdf_document turns them into MissingGlyphWarning, an error here.
pytestmark = pytest.mark.filterwarnings("error::billing.pdf_document.MissingGlyphWarning")

INJECTIONS = ['=HYPERLINK("http://evil.example","click")', "+1+1", "-1+2", "@SUM(1,1)", "\tleading tab",
              "\rleading return"]


def invoices_table(rows: int = 4) -> pd.DataFrame:
    return pd.DataFrame({
        "number": [f"INV-2025-{n:05d}" for n in range(1, rows + 1)],
        "customer": [("Zakład Łączności", "Müller GmbH", "Ωμέγα ΑΕ", "ООО Привет")[n % 4] for n in range(rows)],
        "issue_date": [date(2025, 1, 1 + n % 28) for n in range(rows)],
        "amount": [Decimal("1234.50") - 100 * n for n in range(rows)],
        "lines": [n + 1 for n in range(rows)],
        "rate": [0.5 * n for n in range(rows)],
    })


def read_back(data: bytes, **options: Any) -> pd.DataFrame:
    frame: pd.DataFrame = pd.read_csv(io.BytesIO(data), encoding="utf-8-sig", keep_default_na=False, **options)
    return frame


# --- CSV ---------------------------------------------------------------------------------------

def test_csv_starts_with_a_bom_so_excel_reads_utf8() -> None:
    data = table_to_csv(invoices_table())
    assert data.startswith(BOM) and "Zakład Łączności".encode() in data


def test_csv_round_trips_through_pandas() -> None:
    table = invoices_table()
    back = read_back(table_to_csv(table), converters={"amount": Decimal},
                     parse_dates=["issue_date"], dtype={"number": str, "customer": str})
    expected = table.assign(issue_date=pd.to_datetime(table["issue_date"]))
    pd.testing.assert_frame_equal(back, expected, check_dtype=False)
    assert back["issue_date"].dt.date.tolist() == table["issue_date"].tolist()


@pytest.mark.parametrize("text", INJECTIONS)
def test_csv_neutralises_formula_cells(text: str) -> None:
    table = pd.DataFrame({"customer": ["Safe GmbH", text], "amount": [Decimal("1.00"), Decimal("-2.00")]})
    back = read_back(table_to_csv(table), dtype={"customer": str})
    assert back["customer"].tolist() == ["Safe GmbH", "'" + text]


def test_csv_neutralises_formulas_in_headers_and_in_mixed_columns() -> None:
    table = pd.DataFrame({"=cmd": ["a", "b"], "mixed": ["=1+1", Decimal("-3.50")]})
    data = table_to_csv(table).decode("utf-8-sig")
    assert data.splitlines() == ['"\'=cmd","mixed"', '"a","\'=1+1"', '"b","-3.50"']


def test_csv_leaves_negative_numbers_numeric() -> None:
    table = pd.DataFrame({"amount": [Decimal("-7.10"), Decimal("12.00")], "count": [-5, 3], "ratio": [-2.5, 1.0]})
    data = table_to_csv(table)
    assert data.decode("utf-8-sig").splitlines() == ["\"amount\",\"count\",\"ratio\"", "-7.10,-5,-2.5", "12.00,3,1"]
    back = read_back(data)
    assert all(pd.api.types.is_numeric_dtype(back[name]) for name in back.columns)
    assert back["amount"].tolist() == [-7.1, 12.0] and back["count"].tolist() == [-5, 3]


def test_csv_writes_decimals_exactly() -> None:
    amounts = [Decimal("12345678901234.5678"), Decimal("0.1"), Decimal("1E+2"), Decimal("-0.0001"), None]
    data = table_to_csv(pd.DataFrame({"amount": amounts})).decode("utf-8-sig")
    assert data.splitlines() == ['"amount"', "12345678901234.5678", "0.1000", "100.0000", "-0.0001", ""]
    back = read_back(data.encode(), converters={"amount": lambda text: Decimal(text) if text else None},
                     skip_blank_lines=False)
    assert back["amount"].tolist() == amounts


def test_csv_writes_dates_and_times_in_iso_8601() -> None:
    table = pd.DataFrame({
        "day": [date(2025, 3, 1), None],
        "midnight": pd.to_datetime(["2025-03-01", "2025-03-02"]),
        "moment": pd.to_datetime(pd.Series(["2025-03-01 10:30:05", None])),
        "aware": pd.to_datetime(["2025-03-01 10:30", "2025-03-02 00:00"]).tz_localize("Europe/Berlin"),
        "python": [datetime(2025, 3, 1, 8, 0), datetime(2025, 3, 2, 9, 15)],
    })
    assert table_to_csv(table).decode("utf-8-sig").splitlines() == [
        '"day","midnight","moment","aware","python"',
        '2025-03-01,2025-03-01,"2025-03-01T10:30:05","2025-03-01T10:30:00+0100","2025-03-01T08:00:00"',
        ',2025-03-02,,"2025-03-02T00:00:00+0100","2025-03-02T09:15:00"',
    ]


def test_csv_writes_missing_values_as_empty_cells() -> None:
    table = pd.DataFrame({"text": ["a", None], "number": [1.5, None], "whole": pd.array([1, None], dtype="Int64")})
    assert table_to_csv(table).decode("utf-8-sig").splitlines() == ['"text","number","whole"', '"a",1.5,1', ",,"]


def test_csv_of_an_empty_table_is_its_header() -> None:
    assert table_to_csv(invoices_table(0)).decode("utf-8-sig").splitlines() == [
        '"number","customer","issue_date","amount","lines","rate"']


# --- PDF ---------------------------------------------------------------------------------------

def pages_text(data: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(data)).pages]


def test_pdf_has_title_filters_rows_and_a_totals_row() -> None:
    table = invoices_table()
    totals = column_totals(table, ["amount", "lines"])
    assert totals == {"amount": Decimal("4338.00"), "lines": Decimal(10)}
    [text] = pages_text(table_to_pdf(table, "Open invoices", "Status: unpaid · Customer: all", totals))
    for expected in ["Open invoices", "Filters: Status: unpaid · Customer: all", "INV-2025-00001", "INV-2025-00004",
                     "Zakład Łączności", "Ωμέγα ΑΕ", "ООО Привет", "2025-01-04", "1,234.50", "934.50",
                     "Total", "4,338.00", "Page 1 of 1"]:
        assert expected in text
    assert text.index("INV-2025-00004") < text.index("4,338.00")


def test_pdf_without_totals_or_filters() -> None:
    [text] = pages_text(table_to_pdf(invoices_table(), "Invoices"))
    assert "All records" in text and "Total" not in text


def test_multi_page_pdf_repeats_the_header_on_every_page() -> None:
    data = table_to_pdf(invoices_table(200), "Invoices", "All", column_totals(invoices_table(200), ["amount"]))
    pages = pages_text(data)
    assert len(pages) >= 4
    for number, text in enumerate(pages, start=1):
        assert "number" in text and "customer" in text and "issue_date" in text
        assert f"Page {number} of {len(pages)}" in text
    assert "INV-2025-00200" in pages[-1] and "Total" in pages[-1]


def test_pdf_is_landscape_beyond_six_columns() -> None:
    narrow = PdfReader(io.BytesIO(table_to_pdf(invoices_table(), "Narrow"))).pages[0]
    wide_table = invoices_table().assign(due=date(2025, 4, 1))
    wide = PdfReader(io.BytesIO(table_to_pdf(wide_table, "Wide"))).pages[0]
    assert narrow.mediabox.width < narrow.mediabox.height
    assert wide.mediabox.width > wide.mediabox.height


def test_pdf_shortens_text_too_wide_for_its_column() -> None:
    table = pd.DataFrame({"note": ["x" * 400], "amount": [Decimal("5.00")]})
    [text] = pages_text(table_to_pdf(table, "Notes"))
    assert "…" in text and "5.00" in text and "x" * 400 not in text


def test_pdf_totals_must_name_columns_of_the_table() -> None:
    with pytest.raises(ValueError, match="nope"):
        table_to_pdf(invoices_table(), "Invoices", totals={"nope": Decimal(1)})


def test_pdf_with_a_glyph_the_font_lacks_is_an_error_under_the_test_filter() -> None:
    with pytest.raises(MissingGlyphWarning):
        table_to_pdf(pd.DataFrame({"customer": ["東京商事"]}), "Customers")


def test_column_totals_refuse_to_mix_currencies() -> None:
    table = pd.DataFrame({"amount": [Decimal("1.00"), Decimal("2.00")], "currency": ["EUR", "USD"]})
    with pytest.raises(ValidationError, match="currencies"):
        column_totals(table, ["amount"])


def test_column_totals_refuse_floats() -> None:
    with pytest.raises(TypeError, match="float"):
        column_totals(pd.DataFrame({"amount": [0.1, 0.2]}), ["amount"])


def test_whole_numbers_in_a_column_with_gaps_print_without_a_decimal_point() -> None:
    frame = pd.DataFrame({"Customer": ["A", "B"], "Usually pays in": [88, None]})  # pandas makes it 88.0, NaN
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(table_to_pdf(frame, "Habits"))).pages)
    assert "88" in text and "88.0" not in text and "nan" not in text.lower()
