"""Bank CSV exports read through a column mapping the user saves per bank."""

from __future__ import annotations

import csv
import io
import re
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from pydantic import Field, ValidationInfo, field_validator

from billing.bank.lines import (
    StatementFormatError,
    StatementLine,
    check_count,
    check_size,
    clean_iban,
    clean_text,
    statement_amount,
)
from billing.errors import ValidationError
from billing.models import OneLine, Record
from billing.money import check_currency, round_money

ENCODINGS = ("utf-8", "cp1252", "latin-1")
DELIMITERS = (";", ",", "\t")
DATE_FORMATS = ("%d.%m.%Y", "%d.%m.%y", "%Y-%m-%d", "%d/%m/%Y", "%m/%d/%Y")
_CHOICES = {"encoding": ENCODINGS, "delimiter": DELIMITERS, "date_format": DATE_FORMATS}
# The statement columns a mapping may name (a header of the file each).
# The whole part of an amount with thousands separators: '1.234.567' (decimal comma) or '1,234,567'.
_GROUPED = {sep: re.compile(rf"[+-]?[0-9]{{1,3}}(?:\{sep}[0-9]{{3}})+") for sep in ".,"}
COLUMNS = ("booking_date", "value_date", "amount", "debit", "credit", "currency", "counterparty_name",
           "counterparty_iban", "remittance", "bank_reference", "end_to_end_id")


class CsvMapping(Record):
    """How one bank's CSV export reads: its encoding, delimiter, date format and decimal mark, the header
    of each column we use, and the account and currency when the file does not say. Either `amount`
    (signed) or `debit` and `credit` (two unsigned columns) must be named."""

    bank: OneLine = Field(min_length=1, max_length=100)
    account_iban: OneLine = Field(min_length=1, max_length=34)
    currency: str = "EUR"
    encoding: str = "utf-8"
    delimiter: str = ";"
    date_format: str = "%d.%m.%Y"
    decimal_comma: bool = True
    skip_rows: int = Field(default=0, ge=0, le=50)
    columns: dict[str, OneLine] = Field(default_factory=dict)

    @field_validator("currency")
    @classmethod
    def _currency(cls, value: str) -> str:
        return check_currency(value)

    @field_validator("encoding", "delimiter", "date_format")
    @classmethod
    def _choice(cls, value: str, info: ValidationInfo) -> str:
        choices = _CHOICES[str(info.field_name)]
        if value not in choices:
            shown = ", ".join(repr(c) for c in choices)
            raise ValidationError(f"{str(info.field_name).replace('_', ' ').capitalize()} must be one of {shown}.")
        return value

    @field_validator("columns")
    @classmethod
    def _columns(cls, value: dict[str, str]) -> dict[str, str]:
        unknown = set(value) - set(COLUMNS)
        if unknown:
            raise ValidationError(f"Unknown statement column {', '.join(sorted(unknown))}.")
        named = {key: header for key, header in value.items() if header}
        if "booking_date" not in named:
            raise ValidationError("Name the column of the booking date.")
        if "amount" not in named and not {"debit", "credit"} <= set(named):
            raise ValidationError("Name the amount column, or both the debit and the credit column.")
        return named

    def model_post_init(self, _context: Any) -> None:
        check_iban = clean_iban(self.account_iban)
        if len(check_iban) < 5:
            raise ValidationError("Account: give the IBAN or account number of the statement.")


def _amount(text: str, decimal_comma: bool, currency: str, where: str) -> Decimal:
    """An amount as the mapping's decimal mark writes it, thousands grouped by threes ('1.234,56'); '59.50' under a
    decimal comma is refused, not read as 5950 (a mapping with the wrong decimal mark would multiply amounts)."""
    value = text.strip().replace(" ", "").replace("\u00a0", "").replace("'", "")
    group, mark = (".", ",") if decimal_comma else (",", ".")
    negative = value.endswith("-")  # some banks write 12,50-
    value = value.removesuffix("-") if negative else value
    whole = value.partition(mark)[0]
    if (group in whole and not _GROUPED[group].fullmatch(whole)) or (negative and value[:1] in "+-"):
        raise StatementFormatError(f"{where}: the amount '{clean_text(text, 30)}' is not a number with a decimal "
                                   f"{'comma' if decimal_comma else 'point'} (is the mapping's decimal mark right?).")
    amount = statement_amount(value.replace(group, "").removeprefix("+"), currency, where, mark)
    return -amount if negative else amount


def parse_csv(data: bytes, mapping: CsvMapping) -> list[StatementLine]:
    """The rows of a bank's CSV export as statement lines. Raises StatementFormatError naming the line
    of the file and the column."""
    check_size(data)
    try:
        text = data.decode("utf-8-sig" if mapping.encoding == "utf-8" else mapping.encoding)
    except UnicodeDecodeError as exc:
        raise StatementFormatError(f"The file is not {mapping.encoding} text (byte {exc.start}); choose the "
                                   "encoding of this bank's files in the mapping.") from None
    rows = list(csv.reader(io.StringIO(text), delimiter=mapping.delimiter))
    body = rows[mapping.skip_rows:]
    if not body:
        raise StatementFormatError("The file has no header row.")
    header = [cell.strip() for cell in body[0]]
    where = {key: header.index(name) for key, name in mapping.columns.items() if name in header}
    missing = [name for name in mapping.columns.values() if name not in header]
    if missing:
        raise StatementFormatError(f"Line {mapping.skip_rows + 1}: the header has no column "
                                   f"{', '.join(repr(clean_text(m, 40)) for m in missing)} (found: "
                                   f"{', '.join(clean_text(h, 40) for h in header[:12])}).")
    check_count(len(body) - 1)
    lines = []
    for offset, row in enumerate(body[1:], start=mapping.skip_rows + 2):
        if not any(cell.strip() for cell in row):
            continue
        lines.append(_row(row, where, mapping, offset))
    return lines


def _row(row: list[str], where: dict[str, int], mapping: CsvMapping, number: int) -> StatementLine:
    def cell(key: str) -> str:
        index = where.get(key)
        return row[index].strip() if index is not None and index < len(row) else ""

    def day(key: str) -> date | None:
        value = cell(key)
        if not value:
            return None
        try:
            return datetime.strptime(value, mapping.date_format).date()
        except ValueError:
            raise StatementFormatError(f"Line {number}, column '{mapping.columns[key]}': '{clean_text(value, 30)}' "
                                       f"is not a date in the format {mapping.date_format}.") from None

    def money(key: str, currency: str) -> Decimal | None:
        value = cell(key)
        return _amount(value, mapping.decimal_comma, currency, f"Line {number}, column '{mapping.columns[key]}'") \
            if value else None

    if len(row) < len(where) and len(row) <= max(where.values()):
        raise StatementFormatError(f"Line {number}: {len(row)} columns, the header has more (a missing delimiter?).")
    booked = day("booking_date")
    if booked is None:
        raise StatementFormatError(f"Line {number}, column '{mapping.columns['booking_date']}': the date is empty.")
    currency = cell("currency") or mapping.currency
    try:
        currency = check_currency(currency)
    except ValidationError:
        raise StatementFormatError(f"Line {number}: the currency '{clean_text(currency, 10)}' is not an ISO 4217 "
                                   "code.") from None
    if "amount" in mapping.columns:
        amount = money("amount", currency)
        if amount is None:
            raise StatementFormatError(f"Line {number}, column '{mapping.columns['amount']}': the amount is empty.")
    else:
        credit, debit = money("credit", currency), money("debit", currency)
        if credit is None and debit is None:
            raise StatementFormatError(f"Line {number}: both the debit column '{mapping.columns['debit']}' and the "
                                       f"credit column '{mapping.columns['credit']}' are empty.")
        amount = round_money(abs(credit if credit is not None else Decimal(0))
                             - abs(debit if debit is not None else Decimal(0)), currency) + 0
    remittance = clean_text(cell("remittance"))
    return StatementLine(
        account_iban=clean_iban(mapping.account_iban), booking_date=booked, value_date=day("value_date"),
        amount=amount, currency=currency, counterparty_name=clean_text(cell("counterparty_name"), 200),
        counterparty_iban=clean_iban(cell("counterparty_iban")), remittance=remittance,
        bank_reference=clean_text(cell("bank_reference"), 100), end_to_end_id=clean_text(cell("end_to_end_id"), 100),
        is_return=bool(re.search(r"\b(retoure|r[üu]ckbuchung|r[üu]cklastschrift|return)\b", remittance, re.I))
        and amount < 0, where=f"line {number}")
