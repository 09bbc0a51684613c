"""The statement line every parser returns, the limits of an import, the one amount rule, and the error naming
the bad line."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from billing.errors import ValidationError
from billing.money import MAX_AMOUNT, minor_unit, round_money

MAX_FILE_BYTES = 30_000_000  # a camt.053 entry is ~1.5 kB: room for 20,000 of them
MAX_LINES = 50_000
MAX_TEXT = 1000  # remittance text is 140 characters per SEPA field; several fields joined stay far below
_SPACES = re.compile(r"\s+")
# A plain decimal number: digits, one decimal point at most, no exponent, no grouping.
_AMOUNT = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)", re.ASCII)


class StatementFormatError(ValidationError):
    """The statement file could not be read: nothing was imported."""


@dataclass(frozen=True, slots=True)
class StatementLine:
    """One booked movement on a bank account, as a statement states it.

    amount: signed, in `currency` (credits to the account positive, debits negative).
    counterparty_*: who paid (a credit) or was paid (a debit), as far as the bank tells.
    remittance: the free text and structured reference the payer gave, joined.
    bank_reference / end_to_end_id: the bank's id of the booking and the payer's id of the transfer
    (a return carries the id of the transfer it returns). is_return: an R-transaction (return, reversal).
    where: the place in the file ("line 12", "entry 3"), for messages.
    """

    account_iban: str
    booking_date: date
    value_date: date | None
    amount: Decimal
    currency: str
    counterparty_name: str = ""
    counterparty_iban: str = ""
    remittance: str = ""
    bank_reference: str = ""
    end_to_end_id: str = ""
    is_return: bool = False
    return_code: str = ""
    where: str = ""


def clean_text(value: str | None, limit: int = MAX_TEXT) -> str:
    """Text from a file as one line: control characters and runs of blanks become one space."""
    text = "".join(" " if ord(ch) < 32 or ord(ch) == 127 else ch for ch in (value or ""))
    return _SPACES.sub(" ", text).strip()[:limit]


def clean_iban(value: str | None) -> str:
    """An IBAN or account number without blanks, upper case ('' if none)."""
    return re.sub(r"\s+", "", value or "").upper()[:34]


def check_size(data: bytes) -> None:
    if len(data) > MAX_FILE_BYTES:
        raise StatementFormatError(f"The file is larger than {MAX_FILE_BYTES // 1_000_000} MB: split the statement.")
    if not data.strip():
        raise StatementFormatError("The file is empty.")


def check_count(count: int) -> None:
    if count > MAX_LINES:
        raise StatementFormatError(f"The statement has more than {MAX_LINES:,} lines: split it.")


def statement_amount(text: str, currency: str, where: str, mark: str = ".") -> Decimal:
    """The amount rule of every statement format: a plain decimal number written with `mark` for decimals (no
    exponent), at most the currency's decimals, below the books' maximum. Returns it in the currency's minor unit;
    otherwise StatementFormatError naming `where` ("Line 12", "Entry 3 (line 40)") and the amount as written."""
    shown = clean_text(text, 30)
    plain = text.strip().replace(mark, ".") if mark != "." else text.strip()
    if (mark != "." and "." in text) or not _AMOUNT.fullmatch(plain):
        point = "comma" if mark == "," else "point"
        raise StatementFormatError(f"{where}: the amount '{shown}' is not a number with a decimal {point}.")
    allowed = minor_unit(currency)
    if len(plain.partition(".")[2].rstrip("0")) > allowed:
        raise StatementFormatError(f"{where}: the amount {shown} has more decimals than {currency} allows "
                                   f"({allowed}).")
    amount = Decimal(plain)
    if abs(amount) >= MAX_AMOUNT:
        raise StatementFormatError(f"{where}: the amount {shown} is too large (the books hold amounts below "
                                   f"{MAX_AMOUNT:,}).")
    return round_money(amount, currency) + 0  # + 0: '-0' is 0, as a line of no money is shown
