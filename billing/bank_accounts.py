"""Bank codes (IBAN, BIC, SEPA creditor id): checked with python-stdnum, stored compact; IBANs printed by four."""

from __future__ import annotations

import re

from stdnum import bic as stdnum_bic
from stdnum import iban as stdnum_iban
from stdnum.eu import at_02 as stdnum_creditor_id
from stdnum.exceptions import InvalidChecksum, InvalidComponent
from stdnum.exceptions import ValidationError as NumberError

from billing.errors import ValidationError

# ISO 13616: a country code, two check digits, then up to 30 letters and digits.
_IBAN_SHAPE = re.compile(r"^[A-Z]{2}[0-9]{2}[A-Z0-9]{1,30}$")
# EPC262-08: a country code, two check digits, a creditor business code, then the national id (at most 35 in all).
_CREDITOR_ID_SHAPE = re.compile(r"^[A-Z]{2}[0-9]{2}[A-Z0-9]{3}[A-Z0-9]{1,28}$")


def compact_iban(value: str) -> str:
    """An IBAN as stored: without blanks, upper case ('' stays ''). Raises ValidationError saying what is wrong."""
    number = stdnum_iban.compact(value)
    if not number:
        return ""
    if not _IBAN_SHAPE.match(number):
        raise ValidationError("an IBAN starts with a two-letter country code and two check digits, followed by "
                              "the account in letters and digits")
    country = number[:2]
    try:
        return str(stdnum_iban.validate(number))
    except InvalidChecksum:
        raise ValidationError("the check digits are wrong (a character is mistyped, missing or extra)") from None
    except InvalidComponent:
        raise ValidationError(f"{country} is not a country with IBANs") from None
    except NumberError:
        raise ValidationError(f"the account part is not in the format of an IBAN of {country}") from None


def compact_bic(value: str) -> str:
    """A BIC (SWIFT code) as stored: 8 or 11 characters, upper case ('' stays ''). Raises ValidationError."""
    code = stdnum_bic.compact(value)
    if not code:
        return ""
    if len(code) not in (8, 11):
        raise ValidationError("a BIC has 8 or 11 letters and digits")
    try:
        return str(stdnum_bic.validate(code))
    except InvalidComponent:
        raise ValidationError(f"{code[4:6]} is not a country code") from None
    except NumberError:
        raise ValidationError("a BIC is four letters (the bank), two letters (the country), then two and "
                              "optionally three more letters or digits") from None


def compact_creditor_id(value: str) -> str:
    """A SEPA creditor identifier (BT-90, e.g. 'DE98 ZZZ0 9999 9999 99') as stored: compact, upper case ('' stays
    ''). Raises ValidationError saying what is wrong."""
    number = str(stdnum_creditor_id.compact(value))
    if not number:
        return ""
    if not _CREDITOR_ID_SHAPE.match(number):
        raise ValidationError("a SEPA creditor identifier starts with a two-letter country code and two check digits, "
                              "then a three-character business code (ZZZ if none) and the national identifier, "
                              "e.g. DE98ZZZ09999999999")
    try:
        return str(stdnum_creditor_id.validate(number))
    except InvalidChecksum:
        raise ValidationError("the check digits are wrong (a character is mistyped, missing or extra)") from None
    except NumberError:
        raise ValidationError("it is not in the format of a SEPA creditor identifier") from None


def format_iban(iban: str) -> str:
    """An IBAN grouped by four as printed on paper: 'DE89 3704 0044 0532 0130 00'."""
    return str(stdnum_iban.format(iban)) if iban else ""
