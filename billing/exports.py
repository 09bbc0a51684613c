"""Table exports: CSV that spreadsheets open safely, and paginated PDF tables."""

from __future__ import annotations

import heapq
import math
import numbers
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, TypeVar

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
from fpdf.enums import Align

from billing.errors import ValidationError
from billing.pdf_document import FONT_FAMILY, LIGHT_FILL, Document, build_pdf
from billing.permissions import Actor, require
from billing.store.db import Database

T = TypeVar("T")

BOM = b"\xef\xbb\xbf"  # without it, Excel reads UTF-8 CSV as the local code page
# A spreadsheet runs a cell that starts with one of these as a formula (OWASP "CSV injection"); the first
# four also after leading blanks, which spreadsheets skip (" =1+1" is a formula to LibreOffice and Excel).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
FORMULA_SIGNS = ("=", "+", "-", "@")


@dataclass(frozen=True)
class CsvFormat:
    """How a CSV file separates its fields and writes the decimal mark of its numbers.

    Excel opens a CSV file with the separator and decimal mark of the computer's regional settings:
    comma and point in English, semicolon and comma in German, French, Spanish, Italian, Dutch, Polish.
    """

    separator: str = ","
    decimal: str = "."

    def __post_init__(self) -> None:
        if self.separator not in SEPARATORS:
            raise ValidationError(f"A CSV separator is one of {', '.join(map(repr, SEPARATORS))}.")
        if self.decimal not in (".", ","):
            raise ValidationError("A decimal mark is '.' or ','.")
        if self.separator == self.decimal:
            raise ValidationError("The decimal mark cannot be the separator too: with a decimal comma, separate "
                                  "fields with semicolons or tabs.")


SEPARATORS = {",": "comma", ";": "semicolon", "\t": "tab"}
# The formats an export offers, by name: what Excel expects in which regional settings.
CSV_FORMATS = {
    "Comma, decimal point (Excel in English, most programs)": CsvFormat(",", "."),
    "Semicolon, decimal comma (Excel in German, French, Spanish, Italian, Dutch, Polish)": CsvFormat(";", ","),
    "Tab, decimal point": CsvFormat("\t", "."),
    "Tab, decimal comma": CsvFormat("\t", ","),
}



def export_rows(db: Database, actor: Actor, fetch: Callable[[], T]) -> T:
    """The rows of an export, fetched only if the actor may export now.

    A download button's file is made when it is clicked, long after the page that showed it ran:
    this is the check at that moment (the session still live, the role still allowed to export),
    whatever `fetch` itself checks (a short list may be rows the page already holds).
    """
    require(db, actor, "exports.run")
    return fetch()


# --- CSV ---------------------------------------------------------------------------------------

def table_to_csv(df: pd.DataFrame, csv_format: CsvFormat | None = None) -> bytes:
    """The table as CSV for spreadsheets: UTF-8 with a BOM, formulas neutralised, numbers left numbers,
    fields separated and decimals marked as `csv_format` says (comma and point by default).

    Text cells starting with = + - @ (also after blanks), TAB or CR get a leading apostrophe, so a
    spreadsheet shows them instead of running them. Numeric columns (int, float, Decimal) are written as
    numbers, so a negative amount stays a number; Decimals exactly; dates and times in ISO 8601.
    Only text and mixed columns are scanned, with vectorised string operations.
    """
    csv_format = csv_format or CsvFormat()
    arrays = [_csv_column(df.iloc[:, position]) for position in range(df.shape[1])]
    if csv_format.decimal != ".":
        arrays = [_with_decimal_comma(array) for array in arrays]
    names = [_neutralised_text(str(name)) for name in df.columns]
    sink = pa.BufferOutputStream()
    pa_csv.write_csv(pa.Table.from_arrays(arrays, names=names), sink,
                     write_options=pa_csv.WriteOptions(eol="\r\n", batch_size=64 * 1024,
                                                       delimiter=csv_format.separator))
    return BOM + bytes(sink.getvalue())


def _neutralised_text(text: str) -> str:
    risky = text.startswith(FORMULA_PREFIXES) or text.lstrip().startswith(FORMULA_SIGNS)
    return "'" + text if risky else text


def _with_decimal_comma(array: pa.Array) -> pa.Array:
    """A column of fractional numbers as text with a decimal comma ('-1234,50'); any other column as it is.
    The text is written unquoted, so a spreadsheet reading a decimal comma still reads a number."""
    if not (pa.types.is_decimal(array.type) or pa.types.is_floating(array.type)):
        return array
    return pc.replace_substring(pc.cast(array, pa.string()), ".", ",")


def _csv_column(column: pd.Series[Any]) -> pa.Array:
    if isinstance(column.dtype, pd.CategoricalDtype):
        column = column.astype(object)
    try:
        array = _arrow_column(column)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, OverflowError):
        array = None  # e.g. integers beyond 64 bits, complex numbers, Decimal infinities
    return array if array is not None else pa.array(column.map(_csv_cell), type=pa.string(), from_pandas=True)


def _arrow_column(column: pd.Series[Any]) -> pa.Array | None:
    """The column as Arrow data that the CSV writer prints right, or None to write it cell by cell."""
    if pd.api.types.is_bool_dtype(column.dtype) or pd.api.types.is_numeric_dtype(column.dtype):
        return pa.array(column, from_pandas=True)
    if pd.api.types.is_datetime64_any_dtype(column.dtype):
        return _iso_times(pa.array(column, from_pandas=True))
    kind = pd.api.types.infer_dtype(column, skipna=True)
    if kind == "empty":
        return pa.nulls(len(column), pa.string())
    if kind == "string":
        text = column.astype("str")
        risky = text.str.startswith(FORMULA_PREFIXES, na=False) | text.str.lstrip().str.startswith(FORMULA_SIGNS,
                                                                                                     na=False)
        if risky.any():
            text = text.where(~risky, "'" + text)
        return pa.array(text, type=pa.string(), from_pandas=True)
    if kind == "datetime":
        return _iso_times(pa.array(pd.to_datetime(column), from_pandas=True))
    if kind == "decimal":
        return _decimal_array(column)
    if kind in ("integer", "floating", "mixed-integer-float", "boolean", "date"):
        return pa.array(column, from_pandas=True)
    return None


def _decimal_array(column: pd.Series[Any]) -> pa.Array:
    """Decimals as an Arrow decimal column, exactly, by way of their text (4x faster than pa.array)."""
    values = column.tolist()
    missing = column.isna().to_numpy()
    text = pa.array([str(value) for value in values], type=pa.string(), mask=missing)
    if pc.any(pc.match_substring(text, "E")).as_py():  # exponent notation, as str(Decimal("1E+2")) is
        text = pa.array([None if gap else format(value, "f") for value, gap in zip(values, missing, strict=True)],
                        type=pa.string())
    point = pc.find_substring(text, ".")
    decimals = pc.if_else(pc.greater_equal(point, 0), pc.subtract(pc.subtract(pc.utf8_length(text), point), 1), 0)
    return pc.cast(text, pa.decimal128(38, pc.max(decimals).as_py() or 0))


def _iso_times(times: pa.Array) -> pa.Array:
    """Timestamps as ISO 8601 text: dates only when every one of them is at midnight."""
    seconds = pc.cast(times, pa.timestamp("s", tz=times.type.tz), safe=False)
    if times.type.tz:
        return pc.strftime(seconds, format="%Y-%m-%dT%H:%M:%S%z")
    dates = pc.cast(seconds, pa.date32())
    if pc.all(pc.equal(pc.cast(dates, seconds.type), seconds)).as_py() is not False:
        return dates
    return pc.strftime(seconds, format="%Y-%m-%dT%H:%M:%S")


def _csv_cell(value: object) -> str | None:
    """One cell of a column of mixed types: text neutralised, numbers and dates as such."""
    if _is_missing(value):
        return None
    if isinstance(value, str):
        return _neutralised_text(value)
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, date):  # datetime too
        return value.isoformat()
    return str(value)


def _is_missing(value: object) -> bool:
    return value is None or value is pd.NA or value is pd.NaT or (isinstance(value, float) and math.isnan(value))


# --- PDF ---------------------------------------------------------------------------------------

ROW_HEIGHT = 5.0
FONT_SIZE = 8.0
LANDSCAPE_ABOVE_COLUMNS = 6
ZEBRA_FILL = (247, 247, 247)


def column_totals(df: pd.DataFrame, columns: Sequence[str]) -> dict[str, Decimal]:
    """Exact sums of Decimal or whole-number columns, for the totals row of `table_to_pdf`.

    Refuses to add up amounts of different currencies when the table has a `currency` column.
    """
    if "currency" in df.columns and df["currency"].nunique(dropna=True) > 1:
        raise ValidationError("The table mixes currencies: filter it to one currency to get totals.")
    totals = {}
    for name in columns:
        total = Decimal(0)
        for value in df[name].tolist():
            if isinstance(value, Decimal | numbers.Integral) and not isinstance(value, bool):
                total += Decimal(value) if isinstance(value, Decimal) else Decimal(int(value))
            elif not _is_missing(value):
                raise TypeError(f"column {name!r}: {type(value).__name__} values are not summed as money")
        totals[name] = total
    return totals


def table_to_pdf(df: pd.DataFrame, title: str, filters: str = "", totals: dict[str, Decimal] | None = None, *,
                 company: str = "", printed_on: str = "") -> bytes:
    """The table as a PDF: title, a line naming the filters, the header repeated on every page,
    "Page X of Y", and a bold totals row holding `totals` (column name to total) when given. The footer
    names the company and the day the report was made (`printed_on`, as the portal shows dates).

    Landscape when the table has more than six columns; column widths fitted to the content.
    """
    names = [str(name) for name in df.columns]
    unknown = sorted(set(totals or {}) - set(names))
    if unknown:
        raise ValueError(f"totals for columns the table does not have: {unknown}")
    texts = [_pdf_texts(df.iloc[:, position]) for position in range(df.shape[1])]
    right = [_is_numeric(df.iloc[:, position]) for position in range(df.shape[1])]
    total_row = _total_row(names, totals) if totals else None
    sample = "".join(cell for column in texts for cell in column) + "".join(names) + title + filters

    def draw(pdf: Document) -> None:
        widths = _fitted_widths(pdf, names, texts, right, total_row)
        _draw_table(pdf, title, filters, names, texts, right, widths, total_row)

    footer = " · ".join(part for part in (company, title, printed_on and f"Printed {printed_on}") if part)
    return build_pdf(draw, text=sample, landscape=len(names) > LANDSCAPE_ABOVE_COLUMNS, footer_text=footer)


def _is_numeric(column: pd.Series[Any]) -> bool:
    if pd.api.types.is_bool_dtype(column.dtype):
        return False
    return bool(pd.api.types.is_numeric_dtype(column.dtype)) or pd.api.types.infer_dtype(
        column, skipna=True) in ("integer", "floating", "mixed-integer-float", "decimal")


def _number_text(value: Decimal | float) -> str:
    if isinstance(value, float) and value.is_integer():  # a whole number in a column with gaps (NaN)
        return f"{int(value):,}"
    return f"{value:,f}" if isinstance(value, Decimal) else f"{value:,}"


def _pdf_cell(value: object) -> str:
    if _is_missing(value):
        return ""
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, Decimal | float):
        return _number_text(value)
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec="minutes")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _pdf_texts(column: pd.Series[Any]) -> list[str]:
    """The column's cells as text: vectorised for text and whole-number columns."""
    if column.hasnans:
        return [_pdf_cell(value) for value in column.tolist()]
    if pd.api.types.is_integer_dtype(column.dtype) or pd.api.types.infer_dtype(column) == "string":
        return [str(text) for text in column.astype("str").tolist()]  # no thousands separators in ids
    return [_pdf_cell(value) for value in column.tolist()]


def _total_row(names: list[str], totals: dict[str, Decimal]) -> list[str]:
    row = [_number_text(totals[name]) if name in totals else "" for name in names]
    label_at = next((position for position, name in enumerate(names) if name not in totals), None)
    if label_at is not None:
        row[label_at] = "Total"
    return row


def _fitted_widths(pdf: Document, names: list[str], texts: list[list[str]], right: list[bool],
                   total_row: list[str] | None) -> list[float]:
    """Each column as wide as its widest cell, scaled to the page width.

    When the page is too narrow, text columns give way (their cells are shortened with "…");
    number columns keep their width unless they alone are wider than the page.
    """
    padding = 2 * pdf.c_margin
    natural = []
    for position, name in enumerate(names):
        pdf.set_font(FONT_FAMILY, "B", FONT_SIZE)
        widest = pdf.text_width(name)
        if total_row:
            widest = max(widest, pdf.text_width(total_row[position]))
        pdf.set_font(FONT_FAMILY, "", FONT_SIZE)
        longest = heapq.nlargest(8, texts[position], key=len)  # the widest is among the longest
        widest = max([widest, *(pdf.text_width(text) for text in longest)])
        natural.append(widest + padding + 0.5)
    available = pdf.epw
    if sum(natural) <= available:
        return [width * available / sum(natural) for width in natural]
    fixed = sum(width for width, numeric in zip(natural, right, strict=True) if numeric)
    flexible = sum(natural) - fixed
    if fixed >= available or flexible == 0:
        return [width * available / sum(natural) for width in natural]
    scale = (available - fixed) / flexible
    return [width if numeric else width * scale for width, numeric in zip(natural, right, strict=True)]


def _shortener(pdf: Document, width: float) -> Callable[[str], str]:
    """A function cutting text to the longest start that fits `width` with "…" (current font)."""
    room = width - 2 * pdf.c_margin

    def shorten(text: str) -> str:
        if pdf.text_width(text) <= room:
            return text
        low, high = 0, len(text)
        while low < high:
            middle = (low + high + 1) // 2
            if pdf.text_width(text[:middle] + "…") <= room:
                low = middle
            else:
                high = middle - 1
        return text[:low] + "…"

    return shorten


def _draw_table(pdf: Document, title: str, filters: str, names: list[str], texts: list[list[str]],
                right: list[bool], widths: list[float], total_row: list[str] | None) -> None:
    pdf.set_title(title)
    pdf.add_page()
    pdf.set_font(FONT_FAMILY, "B", 14)
    pdf.cell(pdf.epw, 8, title, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FONT_FAMILY, "", 9)
    pdf.cell(pdf.epw, 6, f"Filters: {filters}" if filters else "All records", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    aligns = [Align.R if numeric else Align.L for numeric in right]
    pdf.set_font(FONT_FAMILY, "B", FONT_SIZE)
    titles = [_shortener(pdf, width)(name) for name, width in zip(names, widths, strict=True)]
    pdf.set_font(FONT_FAMILY, "", FONT_SIZE)
    columns = []
    for column, width in zip(texts, widths, strict=True):
        shorten = _shortener(pdf, width)
        fits = all(shorten(text) == text for text in heapq.nlargest(8, column, key=len))
        columns.append(column if fits else [shorten(text) for text in column])

    table_width, padding = sum(widths), pdf.c_margin
    lefts = [pdf.l_margin + sum(widths[:position]) for position in range(len(widths))]
    baseline = 0.5 * ROW_HEIGHT + 0.3 * pdf.font_size  # where cell() puts it

    def header() -> float:
        pdf.set_font(FONT_FAMILY, "B", FONT_SIZE)
        with pdf.local_context(fill_color=LIGHT_FILL):
            for name, width, align in zip(titles, widths, aligns, strict=True):
                pdf.cell(width, ROW_HEIGHT + 1, name, align=align, fill=True)
        pdf.ln(ROW_HEIGHT + 1)
        pdf.set_font(FONT_FAMILY, "", FONT_SIZE)
        return pdf.get_y()

    # Body cells go through text(), not cell(): cell() costs ~50 µs a call, which alone makes
    # 10,000 rows of 8 columns take ~4 s; text() plus a width lookup costs ~10 µs.
    y = header()
    pdf.set_fill_color(*ZEBRA_FILL)
    for index, row in enumerate(zip(*columns, strict=True)):
        if y + ROW_HEIGHT > pdf.page_break_trigger:
            pdf.add_page()
            y = header()
            pdf.set_fill_color(*ZEBRA_FILL)
        if index % 2:
            pdf.rect(pdf.l_margin, y, table_width, ROW_HEIGHT, style="F")
        for text, left, width, numeric in zip(row, lefts, widths, right, strict=True):
            if text:
                x = left + width - padding - pdf.text_width(text) if numeric else left + padding
                pdf.text(x, y + baseline, text)
        y += ROW_HEIGHT
    pdf.set_y(y)
    if total_row:
        if y + ROW_HEIGHT + 1 > pdf.page_break_trigger:
            pdf.add_page()
            header()
        pdf.set_font(FONT_FAMILY, "B", FONT_SIZE)
        pdf.line(pdf.l_margin, pdf.get_y(), pdf.l_margin + table_width, pdf.get_y())
        for text, width, align in zip(total_row, widths, aligns, strict=True):
            pdf.cell(width, ROW_HEIGHT + 1, text, align=align)
        pdf.ln(ROW_HEIGHT + 1)
