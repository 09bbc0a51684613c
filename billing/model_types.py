"""Field types every input record shares: exact decimals, one-line and multi-line texts, bank codes, book dates."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

from billing import bank_accounts
from billing.errors import ValidationError
from billing.logic import date_problem
from billing.money import to_decimal
from billing.text import text_problem
from billing.vat_ids import compact_vat_id


def _exact(value: Any) -> Decimal:
    if isinstance(value, float):
        raise ValidationError("Amounts must be entered as text or whole numbers, not floating point.")
    return to_decimal("" if value is None else value)


Dec = Annotated[Decimal, BeforeValidator(_exact)]


def text_field(max_len: int) -> Any:
    """An optional text field of at most `max_len` characters ('' by default)."""
    return Field(default="", max_length=max_len)


def _one_line(value: str) -> str:
    """A name, number or code: one line, no control characters (a stray quote in a CSV file would
    otherwise pull the rows after it into one customer's name), nothing an e-invoice cannot carry."""
    problem = text_problem(value, multiline=False)
    if problem:
        raise ValidationError(problem)
    return value


def _lines_of_text(value: str) -> str:
    """An address, a description or a note: line breaks and tabs are fine, other control characters are not."""
    problem = text_problem(value, multiline=True)
    if problem:
        raise ValidationError(problem)
    return value


OneLine = Annotated[str, AfterValidator(_one_line)]
Lines = Annotated[str, AfterValidator(_lines_of_text)]
# A bank account's codes as typed ('de89 3704 ...'), checked and kept compact and upper case.
Iban = Annotated[str, AfterValidator(bank_accounts.compact_iban)]
Bic = Annotated[str, AfterValidator(bank_accounts.compact_bic)]
CreditorId = Annotated[str, AfterValidator(bank_accounts.compact_creditor_id)]


def _in_books(value: date) -> date:
    """A date the books take (billing.logic.FIRST_DATE to LAST_DATE)."""
    problem = date_problem(value)
    if problem:
        raise ValidationError(problem)
    return value


BookDate = Annotated[date, AfterValidator(_in_books)]


def email_address(value: str) -> str:
    """The e-mail address as typed; ValidationError when it cannot be one."""
    if value and ("@" not in value or " " in value):
        raise ValidationError(f"'{value}' is not an email address.")
    return value


def with_compact_vat_id(data: Any, field: str) -> Any:
    """The input with its VAT id checked and compact; the message names `field` (a model-level check: pydantic
    would put the column name before it)."""
    if isinstance(data, dict) and isinstance(data.get("tax_id"), str):
        return {**data, "tax_id": compact_vat_id(data["tax_id"], field)}
    return data


class Record(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid", frozen=True)
