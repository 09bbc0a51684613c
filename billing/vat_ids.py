"""VAT identifiers (EN 16931 BT-31/BT-48): checked by country with python-stdnum, stored compact with the prefix."""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from babel import Locale
from stdnum import get_cc_module
from stdnum.eu import vat as eu_vat
from stdnum.exceptions import InvalidChecksum, InvalidComponent, InvalidFormat, InvalidLength, ValidationError

from billing.errors import ValidationError as BillingValidationError

# What a VAT identifier of a country stdnum has no checker for must at least look like (BT-31: the ISO 3166
# prefix, Greece EL, then letters and digits).
_SHAPE = re.compile(r"^[A-Z]{2}[0-9A-Z]{2,18}$")
_WHY = {InvalidChecksum: "its check digit is wrong", InvalidLength: "it has the wrong number of characters",
        InvalidFormat: "it has characters that do not belong there", InvalidComponent: "a part of it is not valid"}


def _country_checker(prefix: str) -> Any:
    """The stdnum module checking VAT numbers of a country outside the EU (GB, CH, NO, ...), None when none."""
    try:
        return get_cc_module(prefix.lower(), "vat")
    except (ImportError, ValueError):
        return None


@cache
def _countries() -> frozenset[str]:
    """The ISO 3166 alpha-2 country codes (CLDR's territories without the numeric regions)."""
    return frozenset(code for code in Locale("en").territories if isinstance(code, str) and len(code) == 2
                     and code.isalpha())


def _reason(exc: ValidationError) -> str:
    return next((why for kind, why in _WHY.items() if isinstance(exc, kind)), "it is not valid")


def compact_vat_id(value: str, field: str = "VAT ID") -> str:
    """The VAT identifier compact and upper case with its country prefix ("EL 094 014 201" -> "EL094014201"), ''
    for ''; ValidationError naming `field` when it lacks the prefix or fails its country's check."""
    text = re.sub(r"[\s.\-/]", "", value or "").upper()
    if not text:
        return ""
    if not re.match(r"^[A-Z]{2}", text):
        raise BillingValidationError(f"{field}: '{value.strip()}' must start with its two-letter country code, "
                                     "for example DE136695976 or EL094014201.")
    prefix = text[:2]
    if prefix not in _countries() and prefix != "EL":
        raise BillingValidationError(f"{field}: '{value.strip()}' must start with its two-letter country code "
                                     f"({prefix} is none), for example DE136695976 or EL094014201.")
    try:
        if prefix.lower() in eu_vat.MEMBER_STATES or prefix == "EL":
            return str(eu_vat.validate(text))
        checker = _country_checker(prefix)
        if checker is None or checker.__name__.rsplit(".", 1)[-1] not in ("vat", "mva", "tva", "mwst", "iva"):
            if not _SHAPE.match(text):
                raise InvalidFormat()
            return text
        number = str(checker.validate(text))
    except ValidationError as exc:
        raise BillingValidationError(f"{field}: '{value.strip()}' is not a valid {prefix} VAT number "
                                     f"({_reason(exc)}).") from exc
    return number if number.startswith(prefix) else prefix + number


def is_vat_id(value: str) -> bool:
    """Whether the text is a valid VAT identifier with its country prefix."""
    try:
        return bool(compact_vat_id(value))
    except BillingValidationError:
        return False
