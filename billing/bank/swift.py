"""SWIFT MT940 statements, parsed with the `mt-940` library (structured German :86: fields included)."""

from __future__ import annotations

import logging
import re
from datetime import date
from typing import Any

import mt940

from billing.bank.lines import (
    StatementFormatError,
    StatementLine,
    check_count,
    check_size,
    clean_iban,
    clean_text,
    statement_amount,
)
from billing.money import check_currency

_TAG = re.compile(r"^:(\d{2}[A-Z]?|NS):")
# Fields whose value may go on over several lines (SWIFT 6*65x); any other line must start with a tag.
_CONTINUED = frozenset({"61", "86", "NS"})
# German GVC codes of returns (SEPA credit transfer return, direct debit return / reversal).
_RETURN_GVC = frozenset({"109", "159", "184"})
_NO_REFERENCE = frozenset({"", "NONREF", "NOTPROVIDED"})
# A balance (its date and currency), and a :61: field as written: value date, entry date, mark, funds code and
# amount, as the mt-940 library reads it.
_BALANCE = re.compile(r"^:6([0-5])[FM]?:[CD](\d{6})([A-Z]{3})", re.I)
_FIELD_61 = re.compile(r"^:61:(\d{6})(\d{4}|\s{4})?R?[DC][A-Z]? ?([0-9,.]+)", re.I)


def is_mt940(data: bytes) -> bool:
    head = data[:2048].lstrip(b"\xef\xbb\xbf \r\n")
    return head.startswith((b":20:", b"{1:", b":940:")) or b"\n:20:" in head or b"\r\n:20:" in head


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("latin-1")  # SWIFT's character set is a subset; German banks often send ISO 8859-1


def _check_layout(text: str) -> None:
    """Every line a field, a continuation of a field that may have several lines, or a block marker."""
    current = ""
    seen = False
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.rstrip()
        tag = _TAG.match(line)
        if tag:
            current, seen = tag.group(1)[:2] if tag.group(1) != "NS" else "NS", True
        elif line in ("", "-", "-}") or line.startswith(("{1:", "{2:", "{3:", "{4:", "{5:", "}")):
            current = ""
        elif current not in _CONTINUED:
            raise StatementFormatError(f"Line {number}: '{clean_text(line, 40)}' is not an MT940 field "
                                       "(fields start with a tag such as :61:).")
    if not seen:
        raise StatementFormatError("The file holds no MT940 fields.")


def _line_of(text: str, value: str) -> int:
    for number, line in enumerate(text.splitlines(), start=1):
        if value and value.strip() in line:
            return number
    return 0


def _check_values(text: str) -> None:
    """Every date of a balance or :61: field a date, and every :61: amount as written by the statement amount
    rule in the currency of the opening balance before it: the mt-940 library's errors do not name the line."""
    currency = ""
    for number, line in enumerate(text.splitlines(), start=1):
        balance = _BALANCE.match(line)
        field = _FIELD_61.match(line)
        if balance:
            _check_date(balance.group(2), number)
            currency = balance.group(3).upper() if balance.group(1) == "0" else currency
        elif field:
            _check_date(field.group(1), number)
            if field.group(2) and field.group(2).strip():
                _check_date("00" + field.group(2), number)  # the entry date's year is the value date's or next
            if currency:
                statement_amount(field.group(3), currency, f"Line {number}", ",")


def _check_date(yymmdd: str, number: int) -> None:
    try:
        date(2000 + int(yymmdd[:2]), int(yymmdd[2:4]), int(yymmdd[4:]))
    except ValueError:
        raise StatementFormatError(f"Line {number}: '{yymmdd}' is not a date (YYMMDD).") from None


def _field_lines(text: str) -> list[int]:
    return [number for number, line in enumerate(text.splitlines(), start=1) if line.startswith(":61:")]


def parse_mt940(data: bytes) -> list[StatementLine]:
    """Every transaction (:61: with its :86:) of an MT940 file as statement lines. Raises
    StatementFormatError naming the line in the file."""
    check_size(data)
    text = _decode(data).replace("\r\n", "\n")
    _check_layout(text)
    _check_values(text)
    transactions = mt940.models.Transactions(options=mt940.Options.all())
    quiet = logging.getLogger("mt940")
    level, quiet.level = quiet.level, logging.CRITICAL  # it logs every regex attempt of a bad field
    try:
        transactions.parse(text)
    except (RuntimeError, ValueError, KeyError, AttributeError, IndexError, ArithmeticError) as exc:
        value = next((arg for arg in reversed(exc.args) if isinstance(arg, str)), "")
        number = _line_of(text, value)
        if not value:
            raise StatementFormatError("The file could not be read as MT940: a field holds a value that is not valid "
                                       f"({type(exc).__name__}).") from None
        where = f"Line {number}" if number else "The file"
        raise StatementFormatError(f"{where}: '{clean_text(value, 60)}' could not be read as an MT940 field.") \
            from None
    finally:
        quiet.level = level
    account = clean_iban(str(transactions.data.get("account_identification") or ""))
    if not account:
        raise StatementFormatError("The statement names no account (field :25:).")
    lines = []
    fields = _field_lines(text)
    for index, item in enumerate(transactions, start=1):
        where = f"Transaction {index}" + (f" (line {fields[index - 1]})" if index <= len(fields) else "")
        lines.append(_line(item.data, account, where))
        check_count(len(lines))
    return lines


def _line(data: dict[str, Any], account: str, where: str) -> StatementLine:
    amount = data.get("amount")
    booked = data.get("entry_date") or data.get("date")
    if amount is None or booked is None:
        raise StatementFormatError(f"{where}: the :61: field has no amount or date.")
    try:
        currency = check_currency(str(amount.currency or data.get("currency") or ""))
    except ValueError:
        raise StatementFormatError(f"{where}: the currency '{clean_text(str(amount.currency), 10)}' (of the opening "
                                   "balance, :60F:) is not an ISO 4217 code.") from None
    value = statement_amount(format(amount.amount, "f"), currency, where)
    status = str(data.get("status") or "")
    if status.startswith("R"):  # a reversal mark: RC reverses a credit (money leaves), RD a debit
        value = -abs(value) if status == "RC" else abs(value)
    details = data.get("transaction_details")
    purpose = " ".join(str(data.get(key) or "") for key in ("purpose", "additional_purpose"))
    remittance = clean_text(purpose if purpose.strip() else str(details or ""))
    reference = str(data.get("customer_reference") or "")
    code = str(data.get("transaction_code") or "")
    return StatementLine(
        account_iban=account, booking_date=_as_date(booked), value_date=_as_date(data.get("date")),
        amount=value, currency=currency,
        counterparty_name=clean_text(str(data.get("applicant_name") or ""), 200),
        counterparty_iban=clean_iban(str(data.get("applicant_iban") or data.get("gvc_applicant_iban") or "")),
        remittance=remittance,
        bank_reference=clean_text(str(data.get("bank_reference") or ""), 100)
        or (reference if reference.upper() not in _NO_REFERENCE else ""),
        end_to_end_id=clean_text(str(data.get("end_to_end_reference") or ""), 100),
        is_return=status.startswith("R") or str(data.get("id") or "").upper() == "NRTI" or code in _RETURN_GVC,
        where=where[:1].lower() + where[1:])


def _as_date(value: Any) -> date:
    return date(value.year, value.month, value.day)
